import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BadRequestError, InvalidParameterError } from '../../platform/errors';
import type { DuckDbEngine } from '../offline/duckdb-engine';
import { literal, q } from '../offline/render-sql';
import { sqlType } from '../offline/sql-types';
import type { FeatureRepo } from './repo';
import type { OnDemandRow, ValueType } from './schema';
import type { FeatureSelection } from './selection';

const CHUNK = 10_000;

/**
 * Runs the on-demand transforms of a selection over a computed table (`source`, keyed by
 * `rowId`) and stores their outputs in `target` (row id + one column per output). A
 * transform sees the request columns and its input features by feature name (and by
 * `view:feature`); each output is checked against the declared type.
 *
 * @example
 * await applyOnDemand(engine, repo, selection, '__ts_raw', '__od', '__row_id');
 */
export async function applyOnDemand(
  engine: DuckDbEngine,
  repo: FeatureRepo,
  selection: FeatureSelection,
  source: string,
  target: string,
  rowId: string,
): Promise<void> {
  const outputs = selection.features.filter((f) => f.kind === 'onDemand');
  const spec: [string, string][] = [
    [rowId, 'BIGINT'],
    ...outputs.map((f): [string, string] => [f.output, sqlType(f.type)]),
  ];
  const cols = spec.map(([n, t]) => `${q(n)} ${t}`);
  const file = join(tmpdir(), `mlops-ondemand-${randomUUID()}.ndjson`);
  const lines: string[] = [];
  try {
    const n = Number((await engine.query(`SELECT count(*) AS n FROM ${q(source)}`))[0]?.['n'] ?? 0);
    for (let offset = 0; offset < n; offset += CHUNK) {
      const rows = await engine.query(
        `SELECT * FROM ${q(source)} ORDER BY ${q(rowId)} LIMIT ${CHUNK} OFFSET ${offset}`,
      );
      for (const row of rows) {
        const id = Number(row[rowId]);
        const out: Record<string, unknown> = {
          [rowId]: id,
          ...computeOnDemandRow(repo, selection, (column) => row[column], `entity row ${id}`),
        };
        lines.push(JSON.stringify(out));
      }
    }
    await writeFile(file, lines.join('\n'));
    const columns = spec.map(([n, t]) => `${literal(n)}: '${t}'`);
    await engine.run(
      lines.length > 0
        ? `CREATE OR REPLACE TEMP TABLE ${q(target)} AS SELECT * FROM read_json(${literal(file)}, format = 'newline_delimited', columns = {${columns.join(', ')}})`
        : `CREATE OR REPLACE TEMP TABLE ${q(target)} (${cols.join(', ')})`,
    );
  } finally {
    await rm(file, { force: true });
  }
}

/**
 * Runs every on-demand transform of a selection for one row and returns its outputs by output
 * column, type-checked (timestamps as ISO strings). `readColumn` reads a request column by name or
 * an input feature by its output column. Training sets and online retrieval both call this, so
 * the two cannot compute an on-demand feature differently.
 *
 * @example
 * computeOnDemandRow(repo, selection, (c) => row[c], 'entity row 3');
 */
export function computeOnDemandRow(
  repo: FeatureRepo,
  selection: FeatureSelection,
  readColumn: (column: string) => unknown,
  rowLabel: string,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const outputs = selection.features.filter((f) => f.kind === 'onDemand');
  for (const name of selection.onDemandViews) {
    const od = repo.onDemand.get(name);
    if (!od?.transform) {
      throw new InvalidParameterError(
        `on-demand feature view '${name}' has no transform here; load the repo from its TypeScript definitions (--repo)`,
      );
    }
    const input: OnDemandRow = {};
    for (const r of od.def.request) input[r.name] = jsValue(readColumn(r.name));
    for (const ref of od.def.features) {
      const [view = '', feat = ''] = ref.split(':');
      const f = selection.features.find(
        (s) => s.kind !== 'onDemand' && s.view.def.name === view && s.name === feat,
      );
      const v = f ? jsValue(readColumn(f.output)) : null;
      input[feat] = v;
      input[ref] = v;
    }
    const result = od.transform(input);
    for (const f of outputs.filter((o) => o.view === name)) {
      out[f.output] = checkValue(
        result?.[f.name] ?? null,
        f.type,
        `on-demand feature '${name}:${f.name}'`,
        rowLabel,
      );
    }
  }
  return out;
}

function jsValue(v: unknown): string | number | boolean | Date | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  return String(v);
}

function checkValue(v: unknown, type: ValueType, what: string, row: string): unknown {
  if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) return null;
  const ok =
    (type === 'string' && typeof v === 'string') ||
    (type === 'int64' && typeof v === 'number' && Number.isInteger(v)) ||
    (type === 'float64' && typeof v === 'number') ||
    (type === 'bool' && typeof v === 'boolean') ||
    (type === 'timestamp' && v instanceof Date);
  if (!ok)
    throw new BadRequestError(
      `${what} returned ${JSON.stringify(v)} for ${row}; its declared type is ${type}`,
    );
  return v instanceof Date ? v.toISOString() : v;
}

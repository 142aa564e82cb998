import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { InvalidParameterError, InvalidStateError } from '../../platform/errors';
import type { ObjectStore } from '../../platform/object-store';
import type { FeatureRepo } from '../definitions/repo';
import { digestFromBlocks } from '../offline/digest';
import type { DuckDbEngine } from '../offline/duckdb-engine';
import { dropEntityRows, ENTITY_TABLE, fileFormat, ROW_ID } from '../offline/entity-rows';
import { committedBatches } from '../offline/offline-store';
import { type DateRange, dateRangeOf } from '../offline/partition-dates';
import { literal, q } from '../offline/render-sql';
import type { SqlEngine } from '../offline/sql-engine';
import { prepareTrainingSet } from '../offline/training-prep';
import type { TrainingSetRequest, TrainingSetResult } from '../offline/training-set';
import { type AthenaStep, planAthenaTrainingSet } from './athena-plan';
import type { GlueColumn } from './glue-tables';
import type { TableCatalog } from './table-catalog';

/** What a training set on Athena needs: the local engine only checks and reformats entity rows. */
export interface AthenaTrainingSetDeps {
  readonly repo: FeatureRepo;
  /** Local DuckDB: entity-row checks, the upload file, the optional local copy. */
  readonly engine: DuckDbEngine;
  /** The features bucket's store (S3 on AWS). */
  readonly store: ObjectStore;
  readonly bucket: string;
  /** Glue database holding the views' tables (`features_<stage>`). */
  readonly database: string;
  readonly catalog: TableCatalog;
  /** Athena (or a stand-in speaking its dialect). */
  readonly athena: SqlEngine;
  readonly progress?: (message: string) => void;
}

/** `buildTrainingSet`'s request; `output` (a local file) is optional, `id` names the S3 folder. */
export type AthenaTrainingSetRequest = Omit<TrainingSetRequest, 'output' | 'dialect'> & {
  /** Also write the set, ordered, to this local `.csv`/`.parquet` file. @default - S3 only */
  readonly output?: string;
  /** Folder under `training-sets/`. @default a fresh `<time>-<random>` id */
  readonly id?: string;
};

/** `buildTrainingSet`'s result, plus where the set lives on S3. */
export interface AthenaTrainingSetResult extends TrainingSetResult {
  readonly id: string;
  /** `s3://bucket/training-sets/<id>/data/`: Parquet files, `__row_id` first (sort by it). */
  readonly dataUri: string;
  readonly entityRowsUri: string;
}

const GLUE_OF_DUCKDB: Record<string, string> = {
  BIGINT: 'bigint',
  INTEGER: 'int',
  SMALLINT: 'smallint',
  TINYINT: 'tinyint',
  DOUBLE: 'double',
  FLOAT: 'float',
  VARCHAR: 'string',
  BOOLEAN: 'boolean',
  DATE: 'date',
  TIMESTAMP: 'timestamp',
  'TIMESTAMP WITH TIME ZONE': 'timestamp',
};

/** The Glue type an entity-row column is registered with; unsupported types name the column. */
export function entityColumnGlueType(name: string, duckType: string): string {
  const t =
    GLUE_OF_DUCKDB[duckType] ?? (/^DECIMAL\(\d+,\d+\)$/.test(duckType) ? duckType.toLowerCase() : undefined);
  if (!t)
    throw new InvalidParameterError(
      `entity rows: column '${name}' has type ${duckType}, which Athena cannot read back; cast it to a number, string, boolean, date or timestamp`,
    );
  return t;
}

/** The `date=` partitions a view's committed manifests list. */
export async function committedDateRange(
  store: ObjectStore,
  bucket: string,
  view: string,
): Promise<DateRange> {
  return dateRangeOf((await committedBatches(store, bucket, view)).flatMap((m) => m.files));
}

/**
 * Builds a point-in-time training set on Athena with the same request and result as
 * `buildTrainingSet`: entity rows are checked locally first (nothing is written before),
 * then the plan of `planAthenaTrainingSet` runs: upload, temporary Glue tables, UNLOAD of
 * the Athena-dialect query to `training-sets/<id>/data/`, digest in Athena. The temporary
 * tables are dropped whatever happens; the data and entity rows stay on S3.
 *
 * @example
 * const r = await buildTrainingSetOnAthena(deps, { entityRows: 'rows.csv', featureService: 'fraud_v1', id: 'exec-1' });
 */
export async function buildTrainingSetOnAthena(
  deps: AthenaTrainingSetDeps,
  req: AthenaTrainingSetRequest,
): Promise<AthenaTrainingSetResult> {
  const { engine, store, bucket } = deps;
  const progress = deps.progress ?? (() => undefined);
  const format = req.output !== undefined ? fileFormat(req.output, 'output') : undefined;
  const id = req.id ?? `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`;
  const prep = await prepareTrainingSet(deps.repo, engine, req, progress);
  const described = await engine.query(`DESCRIBE ${q(ENTITY_TABLE)}`);
  const entityColumns: GlueColumn[] = described
    .map((r) => ({ name: String(r['column_name']), type: String(r['column_type']) }))
    .filter((c) => c.name !== ROW_ID)
    .map((c) => ({ Name: c.name, Type: entityColumnGlueType(c.name, c.type) }));
  const committedDates = new Map<string, DateRange>();
  for (const v of prep.selection.views)
    committedDates.set(v.def.name, await committedDateRange(store, bucket, v.def.name));
  const plan = planAthenaTrainingSet({
    id,
    bucket,
    database: deps.database,
    selection: prep.selection,
    timestampColumn: prep.timestampColumn,
    entityColumns,
    committedDates,
    entityTimes: prep.loaded.times ?? { min: 0, max: 0 },
  });

  const scratch = await mkdtemp(join(tmpdir(), 'mlops-athena-ts-'));
  let digest = '';
  try {
    try {
      for (const step of plan.steps) {
        progress(describeStep(step));
        const blocks = await runStep(deps, step, scratch);
        if (blocks) digest = digestOf(plan.columns, blocks, prep.loaded.rows);
      }
    } finally {
      for (const step of plan.cleanup) {
        try {
          await runStep(deps, step, scratch);
        } catch (err) {
          progress(`could not ${describeStep(step)}: ${String(err)}`);
        }
      }
    }
    if (req.output !== undefined && format) {
      progress(`copying the set to ${req.output}`);
      await copyLocally(deps, plan.dataPrefix, req.output, format, scratch);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
    await dropEntityRows(engine);
  }
  return {
    output: req.output ?? plan.dataUri,
    rows: prep.loaded.rows,
    columns: plan.columns,
    digest,
    sql: plan.sql,
    id,
    dataUri: plan.dataUri,
    entityRowsUri: store.uri(bucket, plan.entityRowsKey),
  };
}

function describeStep(step: AthenaStep): string {
  switch (step.op) {
    case 'upload-entity-rows':
      return `uploading entity rows to ${step.key}`;
    case 'create-table':
      return `registering table ${step.request.TableInput.Name}`;
    case 'clear-prefix':
      return `clearing ${step.prefix}`;
    case 'unload':
      return `running the point-in-time join on Athena into ${step.uri}`;
    case 'digest':
      return 'computing the content digest on Athena';
    case 'drop-table':
      return `dropping table ${step.name}`;
  }
}

/** Runs one step; a digest step returns its block rows. */
async function runStep(
  deps: AthenaTrainingSetDeps,
  step: AthenaStep,
  scratch: string,
): Promise<{ b: number; h: string }[] | undefined> {
  const { engine, store, bucket } = deps;
  switch (step.op) {
    case 'upload-entity-rows': {
      const file = join(scratch, 'entity-rows.parquet');
      await engine.write(`SELECT * FROM ${q(ENTITY_TABLE)} ORDER BY ${q(ROW_ID)}`, file, 'parquet');
      await store.put(bucket, step.key, await readFile(file), {
        contentType: 'application/vnd.apache.parquet',
      });
      return undefined;
    }
    case 'create-table':
      await deps.catalog.upsertTable(step.request);
      return undefined;
    case 'clear-prefix':
      for (const o of await store.list(bucket, step.prefix)) await store.delete(bucket, o.key);
      return undefined;
    case 'unload':
      await deps.athena.write(step.sql, step.uri, 'parquet');
      return undefined;
    case 'digest':
      return (await deps.athena.query(step.sql)).map((r) => ({ b: Number(r['b']), h: String(r['h']) }));
    case 'drop-table':
      await deps.catalog.dropTable(step.database, step.name);
      return undefined;
  }
}

/** The digest from Athena's block rows, refusing a gap (a lost block would change nothing visibly). */
function digestOf(columns: readonly string[], blocks: { b: number; h: string }[], rows: number): string {
  const sorted = [...blocks].sort((x, y) => x.b - y.b);
  const expected = Math.ceil(rows / 65_536);
  if (sorted.length !== expected || sorted.some((x, i) => x.b !== i)) {
    throw new InvalidStateError(
      `the unloaded training set has ${sorted.length} digest block(s), expected ${expected}: rows are missing`,
    );
  }
  return digestFromBlocks(
    columns,
    sorted.map((x) => x.h),
  );
}

/** Downloads the unloaded files and writes them, ordered by row id, to one local file. */
async function copyLocally(
  deps: AthenaTrainingSetDeps,
  dataPrefix: string,
  output: string,
  format: 'csv' | 'parquet',
  scratch: string,
): Promise<void> {
  const files: string[] = [];
  for (const [i, o] of (await deps.store.list(deps.bucket, dataPrefix)).entries()) {
    const body = await deps.store.get(deps.bucket, o.key);
    if (!body || body.length === 0) continue;
    const f = join(scratch, `part-${i}.parquet`);
    await writeFile(f, body);
    files.push(f);
  }
  if (files.length === 0) throw new InvalidStateError(`no files under ${dataPrefix} after UNLOAD`);
  await mkdir(dirname(output), { recursive: true });
  const tmp = `${output}.tmp-${randomUUID()}`;
  try {
    await deps.engine.write(
      `SELECT * EXCLUDE (${q(ROW_ID)}) FROM read_parquet([${files.map(literal).join(', ')}]) ORDER BY ${q(ROW_ID)}`,
      tmp,
      format,
    );
    await rename(tmp, output);
  } finally {
    await rm(tmp, { force: true });
  }
}

import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DIGEST_BLOCK_ROWS,
  type DigestColumn,
  digestFromBlocks,
  digestRelation,
  renderDigestQuery,
} from '../../lambdas/features/offline/digest';
import { DuckDbEngine } from '../../lambdas/features/offline/duckdb-engine';
import { literal } from '../../lambdas/features/offline/render-sql';
import { TRINO_MACROS, trinoOnDuckDb } from './athena-standin';

let engine: DuckDbEngine;
beforeAll(async () => {
  engine = await DuckDbEngine.create({ threads: 2 });
  // Trino's names for what DuckDB calls otherwise; the SQL around them is the Athena text.
  for (const m of TRINO_MACROS) await engine.run(`CREATE MACRO ${m}`);
});
afterAll(() => engine.close());

const COLS: DigestColumn[] = [
  { name: 'i', kind: 'integer' },
  { name: 'f', kind: 'float' },
  { name: 's', kind: 'string' },
  { name: 'b', kind: 'bool' },
  { name: 't', kind: 'timestamp' },
  { name: 'd', kind: 'text' },
];

async function bothDialects(table: string, cols = COLS): Promise<{ duckdb: string; athena: string }> {
  const run = async (sql: string) =>
    digestFromBlocks(
      cols.map((c) => c.name),
      (await engine.query(sql)).map((r) => String(r['h'])),
    );
  return {
    duckdb: await run(renderDigestQuery('duckdb', table, 'rid', cols)),
    athena: await run(trinoOnDuckDb(renderDigestQuery('athena', table, 'rid', cols))),
  };
}

/** The definition in plain JS, written independently of the SQL and of digest-stream.ts. */
function referenceDigest(cols: readonly DigestColumn[], rows: unknown[][]): string {
  const hex = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
  const digest = createHash('sha256').update(JSON.stringify(cols.map((c) => c.name)));
  for (let i = 0; i < rows.length; i += DIGEST_BLOCK_ROWS) {
    const block = rows.slice(i, i + DIGEST_BLOCK_ROWS);
    const text = cols
      .map((c, k) => {
        const values = Buffer.concat(block.map((r) => valueBytes(c.kind, r[k])));
        const flags = Buffer.from(block.map((r) => (r[k] === null ? 0 : 1)));
        return hex(values) + hex(flags);
      })
      .join('');
    digest.update(`\n${hex(text)}`);
  }
  return `sha256:${digest.digest('hex')}`;
}

function valueBytes(kind: DigestColumn['kind'], v: unknown): Buffer {
  if (kind === 'bool') return Buffer.from([v === true ? 1 : 0]);
  if (kind === 'string' || kind === 'text') {
    const utf8 = Buffer.from(v === null ? '' : String(v), 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(utf8.length);
    return Buffer.concat([len, utf8]);
  }
  const b = Buffer.alloc(8);
  if (v === null) return b;
  if (kind === 'float') {
    const x = v as number;
    if (Number.isNaN(x)) b.writeBigUInt64BE(0x7ff8000000000000n);
    else if (x !== 0) b.writeDoubleBE(x);
  } else if (kind === 'timestamp') b.writeBigInt64BE(BigInt((v as Date).getTime()) * 1000n);
  else b.writeBigInt64BE(BigInt(v as bigint | number));
  return b;
}

describe('content digest across dialects', () => {
  it('hashes the same bytes in the Athena and DuckDB renderings for values whose text differs between engines', async () => {
    // DuckDB prints 1e20 as 100000000000000000000.0 and Trino as 1.0E20: IEEE bytes do not care.
    await engine.run(`CREATE OR REPLACE TABLE tricky AS SELECT * FROM (VALUES
      (0, 9223372036854775807, 1e20::DOUBLE, 'quote " back \\ slash', true, TIMESTAMPTZ '2024-03-10 12:00:00.123+00', DATE '2024-03-10'),
      (1, -9223372036854775808, 0.1::DOUBLE, 'new' || chr(10) || 'line' || chr(1) || chr(31) || ' tab' || chr(9), false, TIMESTAMPTZ '1969-12-31 23:59:59+00', NULL),
      (2, 0, -0.0::DOUBLE, 'ünïcødé ✓ 😀', NULL, NULL, DATE '1970-01-01'),
      (3, NULL, 'nan'::DOUBLE, '', true, TIMESTAMPTZ '2255-01-01 00:00:00+00', NULL),
      (4, 1, 'inf'::DOUBLE, NULL, true, TIMESTAMPTZ '2024-03-10 12:00:00+00', NULL),
      (5, 2, '-inf'::DOUBLE, '/', true, TIMESTAMPTZ '2024-03-10 12:00:00+00', NULL),
      (6, 3, 5e-324::DOUBLE, 'x', true, TIMESTAMPTZ '2024-03-10 12:00:00+00', NULL),
      (7, 4, 1.7976931348623157e308::DOUBLE, 'y', true, TIMESTAMPTZ '2024-03-10 12:00:00+00', NULL),
      (8, 5, 1024.0::DOUBLE, 'z', true, TIMESTAMPTZ '2024-03-10 12:00:00+00', NULL),
      (9, 6, NULL, 'w', true, TIMESTAMPTZ '2024-03-10 12:00:00+00', NULL)
    ) v(rid, i, f, s, b, t, d)`);
    const { duckdb, athena } = await bothDialects('tricky');
    expect(athena).toBe(duckdb);
    expect(await digestRelation(engine, 'tricky', 'rid', ['i', 'f', 's', 'b', 't', 'd'])).toBe(duckdb);
  });

  it('cuts rows into 65,536-row blocks in row order, the same in both renderings', async () => {
    // Stored shuffled: the row id, not storage order, decides the blocks.
    await engine.run(
      `CREATE OR REPLACE TABLE many AS SELECT rid, rid * 7 AS i, rid / 3 AS f, 'r' || rid AS s, rid % 2 = 0 AS b, TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(rid) AS t, NULL::DATE AS d FROM range(70000) r(rid) ORDER BY hash(rid)`,
    );
    const blocks = await engine.query(renderDigestQuery('duckdb', 'many', 'rid', COLS));
    expect(blocks).toHaveLength(2);
    const { duckdb, athena } = await bothDialects('many');
    expect(athena).toBe(duckdb);
    const rows = await engine.query('SELECT i, f, s, b, t, d FROM many ORDER BY rid');
    expect(duckdb).toBe(
      referenceDigest(
        COLS,
        rows.map((r) => Object.values(r)),
      ),
    );
  });

  it('matches the plain-JS definition for arbitrary doubles, strings and booleans', async () => {
    const row = fc.record({
      f: fc.oneof(fc.double(), fc.constant(null)),
      s: fc.oneof(
        fc.string({ unit: 'grapheme', maxLength: 12 }),
        fc.string({ unit: 'binary-ascii', maxLength: 12 }),
      ),
      b: fc.oneof(fc.boolean(), fc.constant(null)),
    });
    const cols: DigestColumn[] = [
      { name: 'f', kind: 'float' },
      { name: 's', kind: 'string' },
      { name: 'b', kind: 'bool' },
    ];
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 25 }), async (rows) => {
        const clean = rows.map((r) => ({ ...r, s: r.s.replaceAll('\0', '') }));
        const values = clean.map(
          (r, i) =>
            `(${i}, ${r.f === null ? 'NULL' : `CAST(${literal(Object.is(r.f, -0) ? '-0.0' : String(r.f))} AS DOUBLE)`}, ${literal(r.s)}, ${r.b === null ? 'NULL' : r.b})`,
        );
        await engine.run(
          `CREATE OR REPLACE TABLE prop AS SELECT * FROM (VALUES ${values.join(', ')}) v(rid, f, s, b)`,
        );
        const { duckdb, athena } = await bothDialects('prop', cols);
        expect(athena).toBe(duckdb);
        expect(duckdb).toBe(
          referenceDigest(
            cols,
            clean.map((r) => [r.f, r.s, r.b]),
          ),
        );
      }),
      { numRuns: 40 },
    );
  });

  it('changes when one double changes in its last bit', async () => {
    const one = 0.30000000000000004;
    const next = 0.3000000000000001; // the next double up
    expect(next).toBeGreaterThan(one);
    const digestOf = async (x: number) => {
      await engine.run(
        `CREATE OR REPLACE TABLE bit AS SELECT 0 AS rid, CAST(${literal(String(x))} AS DOUBLE) AS f`,
      );
      return (await bothDialects('bit', [{ name: 'f', kind: 'float' }])).athena;
    };
    expect(await digestOf(one)).not.toBe(await digestOf(next));
  });
});

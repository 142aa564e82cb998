import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestRelation } from '../../lambdas/features/offline/digest';
import { digestTable } from '../../lambdas/features/offline/digest-stream';
import { DuckDbEngine } from '../../lambdas/features/offline/duckdb-engine';
import { literal } from '../../lambdas/features/offline/render-sql';
import { createInRowIdOrder } from '../../lambdas/features/offline/training-set';

let engine: DuckDbEngine;
beforeAll(async () => {
  engine = await DuckDbEngine.create({ threads: 2 });
});
afterAll(() => engine.close());

/** The SQL rendering of the definition (checked against plain JS in digest.test.ts) is the oracle. */
async function bothWays(table: string, columns: string[]): Promise<{ fast: string; sql: string }> {
  return {
    fast: await digestTable(engine, table, 'rid', columns),
    sql: await digestRelation(engine, table, 'rid', columns),
  };
}

describe('digest computed in JS over the column vectors', () => {
  it('gives the SQL definition digest for edge values of every column kind', async () => {
    await engine.run(`CREATE OR REPLACE TABLE edge AS SELECT * FROM (VALUES
      (0, 9223372036854775807, 9007199254740993::BIGINT, 1e20::DOUBLE, 'quote " back \\ slash', true, TIMESTAMPTZ '2024-03-10 12:00:00.123456+00', DATE '2024-03-10', 12.50::DECIMAL(6,2), 170141183460469231731687303715884105727::HUGEINT, 7::TINYINT, 1.5::FLOAT),
      (1, -9223372036854775808, -9007199254740993::BIGINT, 0.1::DOUBLE, 'new' || chr(10) || 'line' || chr(1) || chr(31) || ' tab' || chr(9) || chr(127), false, TIMESTAMPTZ '1969-12-31 23:59:59.999999+00', NULL, -0.01::DECIMAL(6,2), -5::HUGEINT, (-128)::TINYINT, NULL),
      (2, 0, 9007199254740992::BIGINT, -0.0::DOUBLE, 'ünïcødé ✓ 😀 ' || chr(8232), NULL, NULL, DATE '1970-01-01', NULL, NULL, 0::TINYINT, 3.4e38::FLOAT),
      (3, NULL, -1::BIGINT, 'nan'::DOUBLE, '', true, TIMESTAMPTZ '2255-01-01 00:00:00+00', NULL, 0::DECIMAL(6,2), 0::HUGEINT, NULL, -1e-40::FLOAT),
      (4, 1, 99999999::BIGINT, 'inf'::DOUBLE, NULL, true, TIMESTAMPTZ '1685-01-01 00:00:00+00', NULL, NULL, NULL, NULL, NULL),
      (5, 2, 100000000::BIGINT, '-inf'::DOUBLE, '/', true, NULL, NULL, NULL, NULL, NULL, NULL),
      (6, 3, 4294967296::BIGINT, 5e-324::DOUBLE, 'x', true, NULL, NULL, NULL, NULL, NULL, NULL),
      (7, 4, -4294967297::BIGINT, -5e-324::DOUBLE, 'y', true, NULL, NULL, NULL, NULL, NULL, NULL),
      (8, 5, 2147483648::BIGINT, 1.7976931348623157e308::DOUBLE, 'z', true, NULL, NULL, NULL, NULL, NULL, NULL),
      (9, 6, -2147483649::BIGINT, -3.5e-300::DOUBLE, 'w', true, NULL, NULL, NULL, NULL, NULL, NULL),
      (10, 7, 10::BIGINT, 2.2250738585072014e-308::DOUBLE, 'v', true, NULL, NULL, NULL, NULL, NULL, NULL),
      (11, 8, 9::BIGINT, -1024.0::DOUBLE, 'u', true, NULL, NULL, NULL, NULL, NULL, NULL),
      (12, 9, NULL, NULL, 'a', true, NULL, NULL, NULL, NULL, NULL, NULL)
    ) v(rid, i, big, f, s, b, t, d, dec, huge, tiny, f32)`);
    const cols = ['i', 'big', 'f', 's', 'b', 't', 'd', 'dec', 'huge', 'tiny', 'f32'];
    const { fast, sql } = await bothWays('edge', cols);
    expect(fast).toBe(sql);
    // A different value in one cell changes it: the JS path really reads the data.
    await engine.run('UPDATE edge SET big = big + 1 WHERE rid = 0');
    expect(await digestTable(engine, 'edge', 'rid', cols)).not.toBe(fast);
  });

  it('cuts blocks by row id value, also when the table is stored out of order or ids have gaps', async () => {
    // Shuffled storage: the first read sees ids going down and reads again sorted.
    await engine.run(
      `CREATE OR REPLACE TABLE shuffled AS SELECT rid, rid * 7 AS i, rid / 3 AS f, 'r' || rid AS s FROM range(140000) r(rid) ORDER BY hash(rid)`,
    );
    const a = await bothWays('shuffled', ['i', 'f', 's']);
    expect(a.fast).toBe(a.sql);
    // Gaps: ids 0..9, 65535, 65536 and 300000 make blocks 0, 1 and 4 (2 and 3 are empty).
    await engine.run(
      `CREATE OR REPLACE TABLE gaps AS SELECT rid, rid % 11 AS i FROM (SELECT unnest([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 65535, 65536, 300000]) AS rid) ORDER BY rid`,
    );
    const b = await bothWays('gaps', ['i']);
    expect(b.fast).toBe(b.sql);
  });

  it('matches the SQL definition for arbitrary doubles, 64-bit integers and strings', async () => {
    const row = fc.record({
      f: fc.oneof(fc.double(), fc.constant(null)),
      i: fc.oneof(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.constant(null)),
      s: fc.oneof(
        fc.string({ unit: 'grapheme', maxLength: 12 }),
        fc.string({ unit: 'binary-ascii', maxLength: 12 }),
      ),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 25 }), async (rows) => {
        const values = rows.map(
          (r, k) =>
            `(${k}, ${r.f === null ? 'NULL' : `CAST(${literal(Object.is(r.f, -0) ? '-0.0' : String(r.f))} AS DOUBLE)`}, ${r.i === null ? 'NULL' : `CAST('${r.i}' AS BIGINT)`}, ${literal(r.s.replaceAll('\0', ''))})`,
        );
        await engine.run(
          `CREATE OR REPLACE TABLE prop AS SELECT * FROM (VALUES ${values.join(', ')}) v(rid, f, i, s)`,
        );
        const { fast, sql } = await bothWays('prop', ['f', 'i', 's']);
        expect(fast).toBe(sql);
      }),
      { numRuns: 40 },
    );
  });

  it('rejects a column type the digest does not define, naming the column', async () => {
    await engine.run(`CREATE OR REPLACE TABLE odd AS SELECT 0 AS rid, [1, 2] AS l`);
    await expect(digestTable(engine, 'odd', 'rid', ['l'])).rejects.toThrow(/column 'l' has type INTEGER\[\]/);
  });
});

describe('the training table is stored in row-id order', () => {
  it('is sorted again when the query did not leave its rows in row-id order', async () => {
    // Ordered by something else: the check finds rows away from their ids and sorts them.
    await createInRowIdOrder(
      engine,
      'scrambled',
      'SELECT r AS __row_id, r * 3 AS v FROM range(200000) t(r) ORDER BY hash(r)',
    );
    const [row] = await engine.query(
      'SELECT count(*) FILTER (WHERE rowid <> __row_id) AS misplaced, count(*) AS n FROM scrambled',
    );
    expect(row).toEqual({ misplaced: 0n, n: 200000n });
  });
});

import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRepo } from '../../lambdas/features/definitions/repo';
import { literal } from '../../lambdas/features/offline/render-sql';
import { buildTrainingSet, type TrainingSetRequest } from '../../lambdas/features/offline/training-set';
import { InvalidParameterError, NotFoundError } from '../../lambdas/platform/errors';
import { BUCKET, fixture, ingestAll, makeWorld, readRows, type World } from './support';

let w: World;
beforeAll(async () => {
  w = await makeWorld('pit-definitions.yaml');
  await ingestAll(w, [['risk_scores', 'risk.csv']]);
});
afterAll(() => w.close());

async function rejects(
  req: Partial<TrainingSetRequest>,
  message: RegExp,
  type: unknown = InvalidParameterError,
) {
  const output = join(w.dir, 'out', `${Math.random().toString(36).slice(2)}.parquet`);
  const run = buildTrainingSet(
    { repo: w.repo, engine: w.engine, store: w.store, bucket: BUCKET },
    { entityRows: fixture('entity-rows.csv'), features: ['risk:score'], output, ...req },
  );
  await expect(run).rejects.toThrow(message);
  await expect(run).rejects.toBeInstanceOf(type);
  expect(existsSync(output)).toBe(false);
}

describe('training-set bad input is named and nothing is written', () => {
  it('rejects an unknown feature naming it and listing the view features', () =>
    rejects({ features: ['risk:scoree'] }, /unknown feature 'scoree' in view 'risk'; it has: score/));

  it('rejects an unknown feature view', () =>
    rejects({ features: ['riks:score'] }, /unknown feature view 'riks'/));

  it('rejects an unknown feature service', () =>
    rejects(
      { features: undefined, featureService: 'nope' },
      /feature service 'nope' not found/,
      NotFoundError,
    ));

  it('rejects a join key of the wrong type naming the column', () =>
    rejects(
      { entityRows: fixture('rows-string-key.csv') },
      /join key 'user_id' has type VARCHAR but feature view 'risk' expects int64/,
    ));

  it('rejects timestamps without a time zone naming the column and value', () =>
    rejects(
      { entityRows: fixture('rows-naive-ts.csv') },
      /'event_timestamp' has a value without a time zone \('2024-03-10T12:00:00'\)/,
    ));

  it('rejects a duplicate column in the entity rows', () =>
    rejects({ entityRows: fixture('rows-dup-column.csv') }, /duplicate column 'label'/));

  it('rejects a feature whose output name clashes with an entity-row column', () =>
    rejects({ entityRows: fixture('rows-score-column.csv') }, /duplicate column 'score'/));

  it('rejects two features with the same output name', () => {
    const repo = buildRepo({
      file: {
        ...w.repo.definitions,
        featureViews: [
          ...w.repo.definitions.featureViews,
          { ...w.repo.definitions.featureViews.find((v) => v.name === 'risk')!, name: 'risk2' },
        ],
      },
    });
    const run = buildTrainingSet(
      { repo, engine: w.engine, store: w.store, bucket: BUCKET },
      {
        entityRows: fixture('entity-rows.csv'),
        features: ['risk:score', 'risk2:score'],
        output: join(w.dir, 'x.parquet'),
      },
    );
    return expect(run).rejects.toThrow(/duplicate column 'score': both 'risk:score' and 'risk2:score'/);
  });

  it('rejects entity rows without the timestamp column, listing the columns it has', () =>
    rejects(
      { entityRows: fixture('rows-no-ts.csv') },
      /missing timestamp column 'event_timestamp'; columns are: user_id, when, label/,
    ));

  it('rejects an output that is neither csv nor parquet', () =>
    expect(
      buildTrainingSet(
        { repo: w.repo, engine: w.engine, store: w.store, bucket: BUCKET },
        { entityRows: fixture('entity-rows.csv'), features: ['risk:score'], output: join(w.dir, 'x.json') },
      ),
    ).rejects.toThrow(/output '.*x.json' must end in .csv or .parquet/));
});

describe('Parquet entity rows are checked like CSV ones', () => {
  /** Writes the CSV fixture's rows to Parquet through a select over it, for one test. */
  async function parquetRows(name: string, select: string): Promise<string> {
    const path = join(w.dir, 'in', `${name}.parquet`);
    await mkdir(dirname(path), { recursive: true });
    await w.engine.run(
      `COPY (${select.replace('$rows', `read_csv(${literal(fixture('entity-rows.csv'))}, header = true)`)}) TO ${literal(path)} (FORMAT parquet)`,
    );
    return path;
  }

  it('rejects timestamps stored without a time zone', async () =>
    rejects(
      {
        entityRows: await parquetRows(
          'naive',
          'SELECT user_id, CAST(event_timestamp AS TIMESTAMP) AS event_timestamp, label FROM $rows',
        ),
      },
      /timestamp column 'event_timestamp' has type TIMESTAMP, which has no time zone/,
    ));

  it('rejects rows without an event timestamp, counting them', async () =>
    rejects(
      {
        entityRows: await parquetRows(
          'missing-ts',
          'SELECT user_id, CASE WHEN label = 1 THEN NULL ELSE CAST(event_timestamp AS TIMESTAMPTZ) END AS event_timestamp, label FROM $rows',
        ),
      },
      /timestamp column 'event_timestamp' is empty in \d+ row\(s\)/,
    ));

  it('rejects a join key of the wrong type', async () =>
    rejects(
      {
        entityRows: await parquetRows(
          'string-key',
          'SELECT CAST(user_id AS VARCHAR) AS user_id, CAST(event_timestamp AS TIMESTAMPTZ) AS event_timestamp FROM $rows',
        ),
      },
      /join key 'user_id' has type VARCHAR but feature view 'risk' expects int64/,
    ));

  it("keeps input order when the file has its own 'file_row_number' column", async () => {
    const path = await parquetRows(
      'own-row-number',
      'SELECT user_id, CAST(event_timestamp AS TIMESTAMPTZ) AS event_timestamp, 100 - user_id AS file_row_number FROM $rows',
    );
    const output = join(w.dir, 'out', 'own-row-number.parquet');
    await buildTrainingSet(
      { repo: w.repo, engine: w.engine, store: w.store, bucket: BUCKET },
      { entityRows: path, features: ['risk:score'], output },
    );
    const input = await readRows(w.engine, path);
    const rows = await readRows(w.engine, output);
    expect(rows.map((r) => [r['user_id'], r['file_row_number']])).toEqual(
      input.map((r) => [r['user_id'], r['file_row_number']]),
    );
  });
});

describe('definition errors name the object and field', () => {
  const base = () => structuredClone(w.repo.definitions);
  it('rejects a view whose feature is not a column of its source', () => {
    const d = base();
    d.featureViews[0]!.features.push({ name: 'colour', type: 'string' });
    expect(() => buildRepo({ file: d })).toThrow(
      /feature view '.*': feature 'colour' is not a column of source/,
    );
  });
  it('rejects a view whose join key type differs from the source column type', () => {
    const d = base();
    d.entities[0]!.joinKeys[0]!.type = 'string';
    expect(() => buildRepo({ file: d })).toThrow(
      /join key of entity 'user' 'user_id' has type int64 in source '.*'; expected string/,
    );
  });
  it('rejects a malformed window duration', () => {
    const d = base();
    d.featureViews.find((v) => v.name === 'purchases')!.aggregations[0]!.window = '7 days';
    expect(() => buildRepo({ file: d })).toThrow(
      /aggregation 'purchase_count_7d' window: '7 days' is not a duration/,
    );
  });
});

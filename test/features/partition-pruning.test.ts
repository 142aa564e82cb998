import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestBatch } from '../../lambdas/features/ingestion/ingest';
import { buildTrainingSet } from '../../lambdas/features/offline/training-set';
import { BUCKET, makeWorld, readRows, type World } from './support';

// Risk scores (TTL 1 h) every day of March 2024, one batch a day: a file per date partition.
let w: World;
beforeAll(async () => {
  w = await makeWorld('pit-definitions.yaml');
  for (let day = 1; day <= 20; day++) {
    const d = String(day).padStart(2, '0');
    const rows = [
      'user_id,ts,score',
      `1,2024-03-${d}T12:00:00Z,${day}`,
      `2,2024-03-${d}T23:45:00Z,${100 + day}`,
    ];
    const file = join(w.dir, `risk-${d}.csv`);
    await writeFile(file, `${rows.join('\n')}\n`);
    const r = await ingestBatch(
      { repo: w.repo, engine: w.engine, store: w.store, bucket: BUCKET },
      { source: 'risk_scores', file },
    );
    expect(r.status).toBe('ingested');
  }
});
afterAll(() => w.close());

async function build(rows: string[], features: string[]) {
  const entityRows = join(w.dir, `rows-${Math.random().toString(36).slice(2)}.csv`);
  await writeFile(entityRows, `user_id,event_timestamp\n${rows.join('\n')}\n`);
  const messages: string[] = [];
  const output = join(w.dir, 'out', `${Math.random().toString(36).slice(2)}.parquet`);
  await buildTrainingSet(
    { repo: w.repo, engine: w.engine, store: w.store, bucket: BUCKET, progress: (m) => messages.push(m) },
    { entityRows, features, output },
  );
  return { rows: await readRows(w.engine, output), messages };
}

describe('a training set reads only the date partitions its entity rows can reach', () => {
  it('reads the dates within the TTL of the entity rows, and finds a value across midnight', async () => {
    const { rows, messages } = await build(
      // User 2's latest score is from 23:45 the day before, within the 1 h TTL.
      ['2,2024-03-10T00:30:00Z', '1,2024-03-10T12:30:00Z'],
      ['risk:score'],
    );
    expect(rows.map((r) => r['score'])).toEqual([109, 10]);
    expect(messages).toContain('risk: reading 2 of 20 committed file(s) (dates 2024-03-09 to 2024-03-10)');
  });

  it('reads nothing when every entity row is older than the data', async () => {
    const { rows, messages } = await build(['1,2024-02-01T00:00:00Z'], ['risk:score']);
    expect(rows.map((r) => r['score'])).toEqual([null]);
    expect(messages).toContain('risk: reading 0 of 20 committed file(s)');
  });

  it('gives the rows a full read gives (every date reachable)', async () => {
    // Entity rows spread over the whole month: every partition is read, no message.
    const times = Array.from(
      { length: 20 },
      (_, i) => `1,2024-03-${String(i + 1).padStart(2, '0')}T12:30:00Z`,
    );
    const { rows, messages } = await build(times, ['risk:score']);
    expect(rows.map((r) => r['score'])).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(messages.some((m) => m.startsWith('risk: reading'))).toBe(false);
  });
});

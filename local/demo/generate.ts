import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDbEngine } from '../../lambdas/features/offline/duckdb-engine';
import { literal } from '../../lambdas/features/offline/render-sql';

export interface DemoDataOptions {
  /** @default 2000 */
  readonly users?: number;
  /** Days of purchase history. @default 180 */
  readonly days?: number;
  /** @default 42 */
  readonly seed?: number;
  /**
   * End of the history. Fixed by default, so every run generates the same batches and a
   * rerun ingests nothing new (batch ids come from content).
   * @default 2026-06-30T00:00:00Z
   */
  readonly end?: Date;
  /** Days between label snapshots per user. @default 14 */
  readonly snapshotEveryDays?: number;
}

export interface DemoData {
  readonly users: string;
  readonly purchases: string;
  readonly entityRows: string;
  readonly counts: { users: number; purchases: number; entityRows: number; positiveRate: number };
}

const COUNTRIES = ['US', 'DE', 'FR', 'IN', 'BR'] as const;
const COUNTRY_EFFECT: Record<(typeof COUNTRIES)[number], number> = {
  US: 0.3,
  DE: 0.1,
  FR: 0,
  IN: -0.2,
  BR: -0.1,
};
const CHANNELS = ['web', 'app', 'store'] as const;
const DAY = 86_400_000;

/** Mulberry32: small, fast, seedable. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Generates a realistic, learnable dataset: users (age, country, plan, sign-up time) and
 * their purchases over time, where buying depends on the profile and on recent activity
 * (purchases excite more purchases for two weeks), and entity rows with the label "buys
 * within the next 7 days" at regular snapshots. Writes CSV batches and Parquet entity rows.
 *
 * @example
 * const data = await generateDemoData('/tmp/demo', { users: 500 });
 */
export async function generateDemoData(dir: string, options: DemoDataOptions = {}): Promise<DemoData> {
  const users = options.users ?? 2000;
  const days = options.days ?? 180;
  const end = (options.end ?? new Date('2026-06-30T00:00:00Z')).getTime();
  const start = end - days * DAY;
  const every = options.snapshotEveryDays ?? 14;
  const rand = rng(options.seed ?? 42);
  mkdirSync(dir, { recursive: true });

  const userLines = ['user_id,signup_ts,age,country,plan'];
  const purchaseLines = ['user_id,ts,amount,channel'];
  const rowLines = ['user_id,event_timestamp,label'];
  let purchases = 0;
  let positives = 0;
  for (let u = 1; u <= users; u++) {
    const age = 18 + Math.floor(rand() * 57);
    const country = COUNTRIES[Math.floor(rand() * COUNTRIES.length)] as (typeof COUNTRIES)[number];
    const pro = rand() < 0.3;
    const signup = start - Math.floor(rand() * 60 * DAY);
    userLines.push(`${u},${new Date(signup).toISOString()},${age},${country},${pro ? 'pro' : 'free'}`);
    // Base daily rate from the profile; a user's taste varies too.
    const base = Math.exp(
      -3.6 + (pro ? 0.9 : 0) + COUNTRY_EFFECT[country] - Math.abs(age - 35) / 40 + (rand() - 0.5),
    );
    const times: number[] = [];
    for (let d = 0; d < days; d++) {
      const dayStart = start + d * DAY;
      const recent = times.filter((t) => t > dayStart - 14 * DAY).length;
      const rate = Math.min(0.9, base * (1 + 0.9 * recent));
      if (rand() < rate) {
        const t = dayStart + Math.floor(rand() * DAY);
        times.push(t);
        const amount = Math.round(Math.exp(3 + (pro ? 0.5 : 0) + rand()) * 100) / 100;
        const channel = rand() < 0.03 ? '' : CHANNELS[Math.floor(rand() * CHANNELS.length)];
        purchaseLines.push(`${u},${new Date(t).toISOString()},${amount},${channel}`);
        purchases++;
      }
    }
    // Snapshots from day 60 on (so 90-day windows have history), label = buys in (t, t+7d].
    for (let d = 60; d + 7 <= days; d += every) {
      const t = start + d * DAY + Math.floor(rand() * DAY);
      const label = times.some((p) => p > t && p <= t + 7 * DAY) ? 1 : 0;
      positives += label;
      rowLines.push(`${u},${new Date(t).toISOString()},${label}`);
    }
  }
  const usersCsv = join(dir, 'users.csv');
  const purchasesCsv = join(dir, 'purchases.csv');
  const rowsCsv = join(dir, 'entity-rows.csv');
  writeFileSync(usersCsv, `${userLines.join('\n')}\n`);
  writeFileSync(purchasesCsv, `${purchaseLines.join('\n')}\n`);
  writeFileSync(rowsCsv, `${rowLines.join('\n')}\n`);
  // Entity rows as Parquet with a zoned timestamp, as a warehouse export would be.
  const entityRows = join(dir, 'entity-rows.parquet');
  const engine = await DuckDbEngine.create();
  try {
    await engine.write(
      `SELECT user_id::BIGINT AS user_id, event_timestamp::TIMESTAMPTZ AS event_timestamp, label::INTEGER AS label FROM read_csv(${literal(rowsCsv)}, header = true, columns = {'user_id': 'BIGINT', 'event_timestamp': 'VARCHAR', 'label': 'INTEGER'}) ORDER BY event_timestamp, user_id`,
      entityRows,
      'parquet',
    );
  } finally {
    engine.close();
  }
  const entityCount = rowLines.length - 1;
  return {
    users: usersCsv,
    purchases: purchasesCsv,
    entityRows,
    counts: { users, purchases, entityRows: entityCount, positiveRate: positives / entityCount },
  };
}

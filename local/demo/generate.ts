import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDbEngine } from '../../lambdas/features/offline/duckdb-engine';
import { literal } from '../../lambdas/features/offline/render-sql';
import { InvalidParameterError } from '../../lambdas/platform/errors';

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

export interface StoryDataOptions {
  /** Users of the reference population. @default 2000 */
  readonly users?: number;
  /** Days of purchase history before `end`. @default 180 */
  readonly days?: number;
  /** @default 42 */
  readonly seed?: number;
  /**
   * Where the history ends: "now" for the story. Online features are read at the wall clock
   * (windows and TTLs end at the request time), so the story anchors its data to today.
   * @default today 00:00 UTC
   */
  readonly end?: Date;
  /** Length of the shifted period before `end`, in days. @default 28 */
  readonly shiftDays?: number;
  /** Users who arrive in the shifted period. @default half of `users` */
  readonly cohort?: number;
  /** Days between label snapshots of a reference user. @default 14 */
  readonly snapshotEveryDays?: number;
}

/** What a user does in the 7 days after `end`: the outcomes and labels that arrive later. */
export interface FutureOutcome {
  readonly bought: boolean;
  readonly value: number;
}

export interface StoryData {
  readonly end: Date;
  /** The reference period: users, purchases and labelled entity rows (Parquet). */
  readonly reference: { users: string; purchases: string; entityRows: string };
  /** A purchases batch that breaks the source's checks (negative amounts, an unknown channel). */
  readonly badBatch: string;
  /** The shifted period's new users and their purchases, and every labelled row (reference and shifted). */
  readonly shifted: { users: string; purchases: string; entityRows: string };
  readonly referenceUsers: readonly number[];
  readonly cohortUsers: readonly number[];
  /** Per user: purchases in (end, end + 7 days], never written to the batches. */
  readonly future: ReadonlyMap<number, FutureOutcome>;
  readonly counts: {
    users: number;
    cohort: number;
    purchases: number;
    shiftedPurchases: number;
    entityRows: number;
    shiftedEntityRows: number;
    positiveRate: number;
  };
}

/** Today 00:00 UTC. */
export function startOfTodayUtc(now: Date = new Date()): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
}

const SHIFT_COUNTRIES: readonly [(typeof COUNTRIES)[number], number][] = [
  ['BR', 0.45],
  ['IN', 0.35],
  ['US', 0.1],
  ['DE', 0.05],
  ['FR', 0.05],
];
/** In the shifted period buying depends on other things: these countries buy more, the young buy more. */
const SHIFT_COUNTRY_EFFECT: Record<(typeof COUNTRIES)[number], number> = {
  US: -0.4,
  DE: -0.2,
  FR: 0,
  IN: 0.3,
  BR: 0.5,
};

function pick<T>(rand: () => number, weighted: readonly [T, number][]): T {
  let r = rand();
  for (const [v, w] of weighted) {
    r -= w;
    if (r < 0) return v;
  }
  return weighted[weighted.length - 1]![0];
}

interface Behaviour {
  /** Daily base purchase rate. */
  readonly base: number;
  /** How much each purchase of the last 14 days changes the rate (negative: buyers pause; at least 0.1 of base). */
  readonly excitation: number;
  readonly amount: () => number;
  readonly channel: () => string;
}

/** One user's purchase times and lines from `from` to `to` (epoch ms, whole days). */
function simulatePurchases(
  rand: () => number,
  b: Behaviour,
  from: number,
  to: number,
): { t: number; amount: number; channel: string }[] {
  const out: { t: number; amount: number; channel: string }[] = [];
  for (let dayStart = from; dayStart < to; dayStart += DAY) {
    const recent = out.filter((p) => p.t > dayStart - 14 * DAY).length;
    const rate = b.base * Math.max(0.1, 1 + b.excitation * recent);
    if (rand() < Math.min(0.9, rate)) {
      out.push({ t: dayStart + Math.floor(rand() * DAY), amount: b.amount(), channel: b.channel() });
    }
  }
  return out;
}

/**
 * Generates the story's world, anchored at `end` (now): a reference population with a
 * history of `days` days (users and purchases as `generateDemoData`, with an age peak and a
 * country-by-plan effect that trees can find and a linear model cannot), a bad batch, and a
 * shifted period, the last `shiftDays` days, in which a campaign brought new users who
 * behave differently (mostly Brazil and India, on the app, baskets 2.5 times larger, younger
 * buyers, and a pause after each purchase instead of a streak), so a model trained before it
 * both sees drifted inputs and ranks these users worse. Each user's next 7 days are
 * simulated too and kept apart: the outcomes and labels that arrive after predictions.
 * The same options give the same files.
 *
 * @example
 * const data = await generateStoryData('/tmp/story', { users: 500, end: new Date('2026-12-01T00:00:00Z') });
 */
export async function generateStoryData(dir: string, options: StoryDataOptions = {}): Promise<StoryData> {
  const users = options.users ?? 2000;
  const days = options.days ?? 180;
  const shiftDays = options.shiftDays ?? 28;
  const cohort = options.cohort ?? Math.ceil(users / 2);
  const every = options.snapshotEveryDays ?? 14;
  const endDate = options.end ?? startOfTodayUtc();
  const end = endDate.getTime();
  const start = end - days * DAY;
  if (days < 70)
    throw new InvalidParameterError(`--days must be at least 70 (labels start at day 60), got ${days}`);
  const rand = rng(options.seed ?? 42);
  mkdirSync(dir, { recursive: true });
  const iso = (t: number) => new Date(t).toISOString();
  const label = (times: { t: number }[], t: number) =>
    times.some((p) => p.t > t && p.t <= t + 7 * DAY) ? 1 : 0;

  const future = new Map<number, FutureOutcome>();
  const refUsers = ['user_id,signup_ts,age,country,plan'];
  const refPurchases = ['user_id,ts,amount,channel'];
  const rows: { line: string; t: number }[] = [];
  const referenceUsers: number[] = [];
  let positives = 0;
  for (let u = 1; u <= users; u++) {
    const age = 18 + Math.floor(rand() * 57);
    const country = COUNTRIES[Math.floor(rand() * COUNTRIES.length)] as (typeof COUNTRIES)[number];
    const pro = rand() < 0.3;
    const signup = start - Math.floor(rand() * 60 * DAY);
    refUsers.push(`${u},${iso(signup)},${age},${country},${pro ? 'pro' : 'free'}`);
    referenceUsers.push(u);
    // Buying peaks in the mid-thirties and pro users in the US buy most: effects a linear
    // model cannot draw, so trees have something to win.
    const base = Math.exp(
      -3.2 +
        (pro ? 0.6 : 0) +
        (pro && country === 'US' ? 0.8 : 0) +
        COUNTRY_EFFECT[country] -
        0.5 * ((age - 35) / 12) ** 2 +
        (rand() - 0.5),
    );
    const all = simulatePurchases(
      rand,
      {
        base,
        excitation: 0.9,
        amount: () => Math.round(Math.exp(3 + (pro ? 0.5 : 0) + rand()) * 100) / 100,
        channel: () => (rand() < 0.03 ? '' : (CHANNELS[Math.floor(rand() * CHANNELS.length)] as string)),
      },
      start,
      end + 7 * DAY,
    );
    const past = all.filter((p) => p.t <= end);
    for (const p of past) refPurchases.push(`${u},${iso(p.t)},${p.amount},${p.channel}`);
    const next = all.filter((p) => p.t > end);
    future.set(u, { bought: next.length > 0, value: next.reduce((s, p) => s + p.amount, 0) });
    for (let d = 60; d + 7 <= days; d += every) {
      const t = start + d * DAY + Math.floor(rand() * DAY);
      const y = label(all, t);
      positives += y;
      rows.push({ line: `${u},${iso(t)},${y}`, t });
    }
  }
  const referenceRows = rows.length;

  // The shifted period: a campaign's new users sign up in its first half.
  const shiftStart = end - shiftDays * DAY;
  const cohortUsers: number[] = [];
  const newUsers = ['user_id,signup_ts,age,country,plan'];
  const newPurchases = ['user_id,ts,amount,channel'];
  let shiftedPurchases = 0;
  for (let i = 1; i <= cohort; i++) {
    const u = users + i;
    const age = 18 + Math.floor(rand() * rand() * 40);
    const country = pick(rand, SHIFT_COUNTRIES);
    const pro = rand() < 0.15;
    const signup = shiftStart + Math.floor(rand() * (shiftDays / 2) * DAY);
    newUsers.push(`${u},${iso(signup)},${age},${country},${pro ? 'pro' : 'free'}`);
    cohortUsers.push(u);
    const base = Math.exp(
      -2.3 + (pro ? 0.2 : 0) + SHIFT_COUNTRY_EFFECT[country] - (age - 18) / 15 + (rand() - 0.5),
    );
    const firstDay = Math.floor((signup - start) / DAY) * DAY + start + DAY;
    const all = simulatePurchases(
      rand,
      {
        base,
        // Campaign buyers pause after a purchase: recent activity, the old models' best
        // signal, now points the other way.
        excitation: -0.7,
        amount: () => Math.round(Math.exp(3.9 + rand()) * 100) / 100,
        channel: () => (rand() < 0.8 ? 'app' : rand() < 0.5 ? 'web' : 'store'),
      },
      firstDay,
      end + 7 * DAY,
    );
    const past = all.filter((p) => p.t <= end);
    for (const p of past) newPurchases.push(`${u},${iso(p.t)},${p.amount},${p.channel}`);
    shiftedPurchases += past.length;
    const next = all.filter((p) => p.t > end);
    future.set(u, { bought: next.length > 0, value: next.reduce((s, p) => s + p.amount, 0) });
    for (let t = signup + 2 * DAY; t + 7 * DAY <= end; t += 7 * DAY) {
      const y = label(all, t);
      rows.push({ line: `${u},${iso(t)},${y}`, t });
    }
  }

  // A batch a broken export produced: negative amounts and a channel the source does not allow.
  const bad = ['user_id,ts,amount,channel'];
  for (let i = 0; i < 40; i++) {
    const u = 1 + Math.floor(rand() * users);
    const t = end - Math.floor(rand() * 3 * DAY);
    bad.push(
      `${u},${iso(t)},${i % 4 === 0 ? -Math.round(rand() * 5000) / 100 : Math.round(rand() * 9000) / 100},${i % 3 === 0 ? 'fax' : 'web'}`,
    );
  }

  const write = (name: string, lines: string[]) => {
    const path = join(dir, name);
    writeFileSync(path, `${lines.join('\n')}\n`);
    return path;
  };
  const header = 'user_id,event_timestamp,label';
  const refRowsCsv = write('entity-rows-reference.csv', [
    header,
    ...rows.slice(0, referenceRows).map((r) => r.line),
  ]);
  const allRowsCsv = write('entity-rows-all.csv', [header, ...rows.map((r) => r.line)]);
  const engine = await DuckDbEngine.create();
  const toParquet = async (csv: string, out: string) => {
    await engine.write(
      `SELECT user_id::BIGINT AS user_id, event_timestamp::TIMESTAMPTZ AS event_timestamp, label::INTEGER AS label FROM read_csv(${literal(csv)}, header = true, columns = {'user_id': 'BIGINT', 'event_timestamp': 'VARCHAR', 'label': 'INTEGER'}) ORDER BY event_timestamp, user_id`,
      out,
      'parquet',
    );
    return out;
  };
  try {
    return {
      end: endDate,
      reference: {
        users: write('users.csv', refUsers),
        purchases: write('purchases.csv', refPurchases),
        entityRows: await toParquet(refRowsCsv, join(dir, 'entity-rows-reference.parquet')),
      },
      badBatch: write('purchases-bad-export.csv', bad),
      shifted: {
        users: write('users-campaign.csv', newUsers),
        purchases: write('purchases-campaign.csv', newPurchases),
        entityRows: await toParquet(allRowsCsv, join(dir, 'entity-rows-all.parquet')),
      },
      referenceUsers,
      cohortUsers,
      future,
      counts: {
        users,
        cohort,
        purchases: refPurchases.length - 1,
        shiftedPurchases,
        entityRows: referenceRows,
        shiftedEntityRows: rows.length - referenceRows,
        positiveRate: positives / referenceRows,
      },
    };
  } finally {
    engine.close();
  }
}

/**
 * The benchmark contract. Every `bench/**\/*.bench.ts` default-exports a function that
 * measures ours and a baseline in the same run and returns one or more results; the
 * runner (`bench/run.ts`) computes ratio and pass, prints a table and writes
 * `bench/results/latest.json`.
 *
 * @example
 * export default (async (ctx) => {
 *   const baseline = await measureBaseline();
 *   const ours = await measureOurs();
 *   return [{ id: 'gateway.noop.rps', ours, baseline, unit: 'req/s', goal: { ratioAtLeast: 0.5 } }];
 * }) satisfies Benchmark;
 */
export interface BenchGoal {
  /** ours / baseline must be at least this (for throughput-like units). */
  readonly ratioAtLeast?: number;
  /** ours / baseline must be at most this (for time-like units). */
  readonly ratioAtMost?: number;
}

export interface BenchMeasurement {
  readonly id: string;
  readonly ours: number;
  readonly baseline: number;
  readonly unit: string;
  readonly goal: BenchGoal;
  /** Other figures worth reporting (peak memory, p50, row counts...). */
  readonly extra?: Record<string, number | string>;
}

export interface BenchResult extends BenchMeasurement {
  readonly ratio: number;
  readonly goalText: string;
  readonly pass: boolean;
}

export interface BenchContext {
  /** Prints a progress line; long benchmarks call it so a person sees they are alive. */
  progress(message: string): void;
  /** Set by `npm run bench -- --quick`: smaller sizes for a smoke run. */
  readonly quick: boolean;
  /** A scratch directory that the runner removes afterwards. */
  readonly workDir: string;
}

export type Benchmark = (ctx: BenchContext) => Promise<BenchMeasurement[]>;

/** Computes ratio and verdict for one measurement. */
export function judge(m: BenchMeasurement): BenchResult {
  const ratio = m.baseline === 0 ? Number.POSITIVE_INFINITY : m.ours / m.baseline;
  const parts: string[] = [];
  let pass = Number.isFinite(ratio);
  if (m.goal.ratioAtLeast !== undefined) {
    parts.push(`ratio >= ${m.goal.ratioAtLeast}`);
    pass &&= ratio >= m.goal.ratioAtLeast;
  }
  if (m.goal.ratioAtMost !== undefined) {
    parts.push(`ratio <= ${m.goal.ratioAtMost}`);
    pass &&= ratio <= m.goal.ratioAtMost;
  }
  return { ...m, ratio, goalText: parts.join(' and ') || 'report only', pass };
}

/** Peak resident set size of this process so far, in MiB. */
export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

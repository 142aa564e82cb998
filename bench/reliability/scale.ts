/**
 * Sizes of the reliability runs, from `MLOPS_RELIABILITY_SCALE` (`ci` by default, or
 * `full`); each number can be overridden on its own for a focused run.
 */
export interface ReliabilityScale {
  readonly name: 'ci' | 'full';
  /** fast-check cases per route, beside the fixed corpus (about 80 per route). */
  readonly generatedPerRoute: number;
  /** Load: how long the workload runs, and the most requests it sends. */
  readonly loadSeconds: number;
  readonly loadMaxRequests: number;
  /** Load: connections per route kind. */
  readonly loadConnections: number;
  /** Fault suite: crash/restart cycles. */
  readonly faultCycles: number;
  readonly seed: number;
}

const SIZES = {
  ci: { generatedPerRoute: 25, loadSeconds: 4, loadMaxRequests: 3_000, loadConnections: 2, faultCycles: 3 },
  full: {
    generatedPerRoute: 2_000,
    loadSeconds: 20,
    loadMaxRequests: 50_000,
    loadConnections: 4,
    faultCycles: 20,
  },
} as const;

function num(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got '${v}'`);
  return n;
}

export function reliabilityScale(env: NodeJS.ProcessEnv = process.env): ReliabilityScale {
  const raw = env.MLOPS_RELIABILITY_SCALE ?? 'ci';
  if (raw !== 'ci' && raw !== 'full')
    throw new Error(`MLOPS_RELIABILITY_SCALE must be 'ci' or 'full', got '${raw}'`);
  const s = SIZES[raw];
  return {
    name: raw,
    generatedPerRoute: num('MLOPS_RELIABILITY_CASES', s.generatedPerRoute),
    loadSeconds: num('MLOPS_RELIABILITY_LOAD_SECONDS', s.loadSeconds),
    loadMaxRequests: num('MLOPS_RELIABILITY_LOAD_REQUESTS', s.loadMaxRequests),
    loadConnections: num('MLOPS_RELIABILITY_LOAD_CONNECTIONS', s.loadConnections),
    faultCycles: num('MLOPS_RELIABILITY_FAULT_CYCLES', s.faultCycles),
    seed: num('MLOPS_RELIABILITY_SEED', 20_240_617),
  };
}

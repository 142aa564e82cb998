import type { SequentialMinima } from '../analysis/analyze';
import type { AnalysisReport, Metric } from '../analysis/result';

/** Days of looks kept in the state (the running minimum itself covers every look). */
export const LOOKS_KEPT = 400;

/** One day's look: the running minimum of each metric and treatment as that day ended. */
export interface Look {
  /** UTC date, `yyyy-mm-dd`. */
  readonly day: string;
  /** Exposed units at the day's last analysis. */
  readonly units: number;
  readonly p: SequentialMinima;
}

/**
 * The always-valid p-values an experiment carries across analysis calls, for one mixing
 * setting (the p-values depend on the relative MDE through τ, so each MDE has its own state).
 */
export interface SequentialState {
  readonly mde: number;
  /** The minimum over every look so far, per metric and treatment. */
  readonly min: SequentialMinima;
  /** One entry per day with a look, oldest first, at most {@link LOOKS_KEPT}. */
  readonly looks: readonly Look[];
}

const METRICS: readonly Metric[] = ['conversion', 'value'];

/**
 * The state after a look whose report carries the running minima (it was computed with
 * `state.min` as `previousSequentialP`). Calls on the same UTC day are one look: the day's
 * entry is replaced, so repeating a call changes nothing.
 *
 * @example
 * const next = afterLook(undefined, report, '2026-12-04');
 */
export function afterLook(
  state: SequentialState | undefined,
  report: AnalysisReport,
  day: string,
): SequentialState {
  const min: Partial<Record<Metric, Record<string, number>>> = {};
  for (const metric of METRICS) {
    const row: Record<string, number> = { ...(state?.min[metric] ?? {}) };
    for (const c of report.comparisons) {
      const p = c[metric].sequential_p_value ?? 1;
      row[c.treatment] = Math.min(row[c.treatment] ?? 1, p);
    }
    min[metric] = row;
  }
  const units = report.variants.reduce((s, v) => s + v.units, 0);
  const looks = (state?.looks ?? []).filter((l) => l.day !== day);
  looks.push({ day, units, p: min });
  looks.sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
  return { mde: report.mde_relative, min, looks: looks.slice(-LOOKS_KEPT) };
}

/** Whether two states hold the same minima and looks (a repeated call writes nothing). */
export function sameState(a: SequentialState | undefined, b: SequentialState): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

/** The state's key among an experiment's states: one per relative MDE. */
export const stateKey = (mde: number): string => `mde=${mde}`;

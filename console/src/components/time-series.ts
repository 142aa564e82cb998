import type uPlot from 'uplot';

/** One line's points: epoch ms and a value (null for a gap). */
export type Points = readonly { at: number; value: number | null }[];

/**
 * Lines on one time axis (uPlot wants seconds and one shared x): a line without a value at
 * another line's time has a gap there.
 */
export function alignByTime(lines: readonly Points[]): uPlot.AlignedData {
  const times = [...new Set(lines.flatMap((l) => l.map((p) => p.at)))].sort((a, b) => a - b);
  const at = new Map(times.map((t, i) => [t, i]));
  const ys = lines.map((l) => {
    const y: (number | null)[] = new Array(times.length).fill(null);
    for (const p of l) y[at.get(p.at) as number] = p.value;
    return y;
  });
  return [times.map((t) => t / 1000), ...ys] as uPlot.AlignedData;
}

/** A y axis showing shares as percentages. */
export const percentAxis = {
  values: (_: uPlot, ticks: number[]) => ticks.map((t) => `${+(t * 100).toFixed(2)}%`),
};

/**
 * An x scale in seconds over [from, to] when given (the range the data were asked for) and the
 * data, else over the data, widened by `pad` seconds each side when it is one instant (uPlot
 * would widen one point to a thousand days).
 */
export function timeScale(fromMs?: number, toMs?: number, pad = 1800) {
  return {
    time: true,
    range: (u: uPlot, min: number, max: number): [number, number] => {
      const xs = u.data[0];
      const first = xs[0];
      const last = xs[xs.length - 1];
      // A zoom (a range inside the data) is kept as it is.
      if (first === undefined || last === undefined || min > first || max < last) return [min, max];
      if (fromMs !== undefined && toMs !== undefined) {
        return [Math.min(first, fromMs / 1000), Math.max(last, toMs / 1000)];
      }
      return first === last ? [first - pad, last + pad] : [first, last];
    },
  };
}

import { esc, formatNumber } from './html';

/** One line of a chart: a run's points of one metric. */
export interface Series {
  /** Written as `data-run` so the page's data can be read back exactly. */
  id: string;
  label: string;
  color: string;
  points: { x: number; y: number }[];
}

const W = 560;
const H = 260;
const M = { top: 16, right: 16, bottom: 34, left: 58 };

/** Round tick values covering [lo, hi]: steps of 1, 2 or 5 × 10^k, about `count` of them. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? 10 * mag) as number;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step)
    ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function domain(values: number[], integer: boolean): [number, number] {
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (lo === hi) {
    const pad = integer ? 1 : Math.abs(lo) * 0.1 || 1;
    lo -= pad;
    hi += pad;
  } else if (!integer) {
    const pad = (hi - lo) * 0.05;
    lo -= pad;
    hi += pad;
  }
  return [lo, hi];
}

/**
 * An inline SVG line chart of one metric against step, one line per run (points marked
 * when few, each with a hover title). Non-finite values are left out of the line. Each
 * line carries its exact points as `data-points="step:value ..."` for readers and tests.
 *
 * @example
 * lineChartSvg('loss', [{ label: 'run a', color: '#4e79a7', points: [{ x: 0, y: 1.2 }, { x: 1, y: 0.9 }] }]);
 */
export function lineChartSvg(title: string, series: Series[]): string {
  const finite = series.map((s) => ({
    ...s,
    points: s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)).sort((a, b) => a.x - b.x),
  }));
  const all = finite.flatMap((s) => s.points);
  if (all.length === 0)
    return `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}: no finite values"><text x="${W / 2}" y="${H / 2}" text-anchor="middle" class="empty">no finite values</text></svg>`;
  const [x0, x1] = domain(
    all.map((p) => p.x),
    true,
  );
  const [y0, y1] = domain(
    all.map((p) => p.y),
    false,
  );
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sx = (x: number) => M.left + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number) => M.top + ph - ((y - y0) / (y1 - y0)) * ph;
  const f = (n: number) => n.toFixed(1);
  const parts: string[] = [];
  for (const t of niceTicks(y0, y1)) {
    parts.push(
      `<line class="grid" x1="${M.left}" x2="${W - M.right}" y1="${f(sy(t))}" y2="${f(sy(t))}"/>`,
      `<text class="tick" x="${M.left - 6}" y="${f(sy(t) + 4)}" text-anchor="end">${esc(formatNumber(t))}</text>`,
    );
  }
  for (const t of niceTicks(x0, x1, 6).filter((t) => Number.isInteger(t))) {
    parts.push(
      `<line class="axis" x1="${f(sx(t))}" x2="${f(sx(t))}" y1="${M.top + ph}" y2="${M.top + ph + 4}"/>`,
      `<text class="tick" x="${f(sx(t))}" y="${M.top + ph + 17}" text-anchor="middle">${esc(formatNumber(t))}</text>`,
    );
  }
  parts.push(
    `<line class="axis" x1="${M.left}" x2="${W - M.right}" y1="${M.top + ph}" y2="${M.top + ph}"/>`,
    `<text class="label" x="${M.left + pw / 2}" y="${H - 4}" text-anchor="middle">step</text>`,
  );
  for (const s of finite) {
    if (s.points.length === 0) continue;
    const d = s.points.map((p, i) => `${i ? 'L' : 'M'}${f(sx(p.x))},${f(sy(p.y))}`).join('');
    const data = s.points.map((p) => `${p.x}:${p.y}`).join(' ');
    parts.push(
      `<path data-metric="${esc(title)}" data-run="${esc(s.id)}" data-points="${data}" d="${d}" fill="none" stroke="${s.color}" stroke-width="2" stroke-linejoin="round" stroke-linecap="round"><title>${esc(s.label)}</title></path>`,
    );
    if (s.points.length <= 40) {
      for (const p of s.points)
        parts.push(
          `<circle cx="${f(sx(p.x))}" cy="${f(sy(p.y))}" r="3" fill="${s.color}"><title>${esc(`${s.label} · step ${p.x}: ${formatNumber(p.y)}`)}</title></circle>`,
        );
    }
  }
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)} by step">${parts.join('')}</svg>`;
}

import { colorOf, esc } from '../../tracking/report/html';
import type { TrafficTimeline } from './timeline';

const W = 1000;
const H = 300;
const M = { top: 30, right: 20, bottom: 40, left: 50 };
const ROLLBACK = '#cf222e';

/** `13:02:05` within a day, else `12-04 13:02`. */
function timeLabel(t: number, span: number): string {
  const iso = new Date(t).toISOString();
  return span < 86_400_000 ? iso.slice(11, 19) : `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
}

/**
 * The deployment timeline as an inline SVG: the traffic share of each model version (a step
 * line per version, 0–100%) against time, a dot where a canary step moved traffic, and a red
 * line where a version was rolled back (its reason in the hover title). Each version's line
 * carries its points as `data-points="<ms>:<percent> ..."` for readers and tests.
 *
 * @example
 * timelineChartSvg(trafficTimeline(status.deployments), Date.now());
 */
export function timelineChartSvg(t: TrafficTimeline, until: number): string {
  if (t.points.length === 0)
    return `<svg class="chart" viewBox="0 0 ${W} 60" role="img" aria-label="no deployments"><text x="${W / 2}" y="30" text-anchor="middle" class="empty">no deployment recorded</text></svg>`;
  const first = t.points[0]?.at as number;
  const last = Math.max(until, t.points[t.points.length - 1]?.at as number, first + 1000);
  const pad = (last - first) * 0.02;
  const x0 = first - pad;
  const x1 = last + pad;
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sx = (x: number) => M.left + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number) => M.top + ph - (y / 100) * ph;
  const f = (n: number) => n.toFixed(1);
  const parts: string[] = [];
  for (const y of [0, 25, 50, 75, 100]) {
    parts.push(
      `<line class="grid" x1="${M.left}" x2="${W - M.right}" y1="${f(sy(y))}" y2="${f(sy(y))}"/>`,
      `<text class="tick" x="${M.left - 6}" y="${f(sy(y) + 4)}" text-anchor="end">${y}%</text>`,
    );
  }
  const span = last - first;
  for (let i = 0; i <= 5; i++) {
    const at = first + (span * i) / 5;
    parts.push(
      `<line class="axis" x1="${f(sx(at))}" x2="${f(sx(at))}" y1="${M.top + ph}" y2="${M.top + ph + 4}"/>`,
      `<text class="tick" x="${f(sx(at))}" y="${M.top + ph + 17}" text-anchor="middle">${esc(timeLabel(at, span))}</text>`,
    );
  }
  parts.push(
    `<line class="axis" x1="${M.left}" x2="${W - M.right}" y1="${M.top + ph}" y2="${M.top + ph}"/>`,
    `<text class="label" x="${M.left + pw / 2}" y="${H - 4}" text-anchor="middle">time (UTC)</text>`,
  );
  t.versions.forEach((v, i) => {
    const pts = t.points.map((p) => ({ at: p.at, w: p.weights[v] ?? 0 }));
    let d = '';
    let prev: number | undefined;
    for (const p of pts) {
      if (prev === undefined) d += `M${f(sx(p.at))},${f(sy(p.w))}`;
      else d += `L${f(sx(p.at))},${f(sy(prev))}L${f(sx(p.at))},${f(sy(p.w))}`;
      prev = p.w;
    }
    d += `L${f(sx(last))},${f(sy(prev ?? 0))}`;
    const data = pts.map((p) => `${p.at}:${p.w}`).join(' ');
    parts.push(
      `<path data-version="${esc(v)}" data-points="${data}" d="${d}" fill="none" stroke="${colorOf(i)}" stroke-width="2.5" stroke-linejoin="round"><title>${esc(v)}</title></path>`,
    );
  });
  for (const m of t.marks) {
    const color = colorOf(Math.max(0, t.versions.indexOf(m.version)));
    const when = new Date(m.at).toISOString().replace('T', ' ').slice(0, 19);
    if (m.kind === 'step' && m.percent !== undefined)
      parts.push(
        `<circle cx="${f(sx(m.at))}" cy="${f(sy(m.percent))}" r="4" fill="${color}"><title>${esc(`${m.version} → ${m.percent}% at ${when} UTC`)}</title></circle>`,
      );
    if (m.kind === 'rollback' || m.kind === 'refused') {
      const what = m.kind === 'rollback' ? 'rolled back' : 'refused';
      parts.push(
        `<line x1="${f(sx(m.at))}" x2="${f(sx(m.at))}" y1="${M.top - 8}" y2="${M.top + ph}" stroke="${ROLLBACK}" stroke-width="1.5" stroke-dasharray="4 3"><title>${esc(`${m.version} ${what} at ${when} UTC: ${m.reason ?? ''}`)}</title></line>`,
        `<text class="mark" x="${f(sx(m.at) + 4)}" y="${M.top - 12}" fill="${ROLLBACK}">${esc(`${m.version} ${what}`)}</text>`,
      );
    }
  }
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="traffic share per version over time">${parts.join('')}</svg>`;
}

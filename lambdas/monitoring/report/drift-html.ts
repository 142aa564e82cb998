import { esc, formatNumber } from '../../tracking/report/html';
import type { CategoricalSummary, NumericSummary } from '../drift/accumulators';
import type { CategoricalScores, DriftReport, FeatureDrift, NumericScores } from '../drift/compare';
import { histogramOf } from './histogram';

const BASE_COLOR = '#4e79a7';
const CURRENT_COLOR = '#f28e2b';

/** Two overlaid histograms (baseline and current) as an inline SVG. */
export function histogramSvg(
  title: string,
  labels: readonly string[],
  baseline: readonly number[],
  current: readonly number[],
): string {
  const width = 460;
  const height = 200;
  const left = 44;
  const bottom = 170;
  const top = 26;
  const plotW = width - left - 10;
  const max = Math.max(1e-12, ...baseline, ...current);
  const barW = plotW / Math.max(1, labels.length);
  const y = (v: number) => bottom - (v / max) * (bottom - top);
  let body = `<line class="axis" x1="${left}" y1="${bottom}" x2="${width - 10}" y2="${bottom}"/>`;
  body += `<text class="tick" x="${left - 4}" y="${top + 4}" text-anchor="end">${esc(formatNumber(max))}</text>`;
  body += `<text class="tick" x="${left - 4}" y="${bottom}" text-anchor="end">0</text>`;
  labels.forEach((label, i) => {
    const x = left + i * barW;
    const b = baseline[i] ?? 0;
    const c = current[i] ?? 0;
    body += `<rect x="${(x + 1).toFixed(1)}" y="${y(b).toFixed(1)}" width="${Math.max(1, barW / 2 - 1).toFixed(1)}" height="${(bottom - y(b)).toFixed(1)}" fill="${BASE_COLOR}"><title>${esc(label)}: baseline ${esc(formatNumber(b))}</title></rect>`;
    body += `<rect x="${(x + barW / 2).toFixed(1)}" y="${y(c).toFixed(1)}" width="${Math.max(1, barW / 2 - 1).toFixed(1)}" height="${(bottom - y(c)).toFixed(1)}" fill="${CURRENT_COLOR}"><title>${esc(label)}: current ${esc(formatNumber(c))}</title></rect>`;
  });
  const first = labels[0] ?? '';
  const last = labels[labels.length - 1] ?? '';
  body += `<text class="tick" x="${left}" y="${bottom + 14}">${esc(first)}</text>`;
  body += `<text class="tick" x="${width - 10}" y="${bottom + 14}" text-anchor="end">${esc(last)}</text>`;
  return (
    `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" role="img" font-family="sans-serif" font-size="12">` +
    `<title>${esc(title)}</title><text x="${width / 2}" y="16" text-anchor="middle" font-weight="bold">${esc(title)}</text>${body}</svg>`
  );
}

/** The histogram of one feature, baseline against current (lambdas/monitoring/report/histogram.ts). */
export function featureHistogram(
  name: string,
  baseline: NumericSummary | CategoricalSummary,
  current: NumericSummary | CategoricalSummary,
): string {
  const h = histogramOf(name, baseline, current);
  const labels = [...h.labels];
  // The last numeric bar is labelled with the range's top, as the axis ends there.
  if (h.edges?.length && labels.length)
    labels[labels.length - 1] = formatNumber(h.edges[h.edges.length - 1]!);
  return histogramSvg(name, labels, h.baseline, h.current);
}

const STYLE = `
body{margin:0;background:#f6f8fa;color:#1f2328;font:14px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",Helvetica,Arial,sans-serif}
main{max-width:1240px;margin:0 auto;padding:28px 24px 48px}
h1{font-size:22px;margin:0 0 2px}h2{font-size:16px;margin:28px 0 10px}
.sub{color:#656d76;margin:0 0 14px}
.tw{overflow-x:auto;background:#fff;border:1px solid #d8dee4;border-radius:8px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:6px 12px;border-bottom:1px solid #d8dee4;white-space:nowrap}
thead th{background:#f0f3f6}
td{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:13px}
.v{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;font-family:inherit}
.v-drift{background:#ffebe9;color:#cf222e}.v-no_drift{background:#dafbe1;color:#1a7f37}.v-insufficient_data{background:#eaeef2;color:#656d76}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:14px}
.card{background:#fff;border:1px solid #d8dee4;border-radius:8px;padding:12px}
.chart{width:100%;height:auto;display:block}.chart .axis{stroke:#8c959f}.chart .tick{font-size:11px;fill:#656d76}
.sw{display:inline-block;width:12px;height:12px;border-radius:3px;vertical-align:middle;margin:0 4px 0 12px}
`;

const fmt = (v: number | null | undefined) => (v === null || v === undefined ? '—' : esc(formatNumber(v)));
const verdict = (v: string) => `<span class="v v-${esc(v)}">${esc(v.replace('_', ' '))}</span>`;

function row(f: FeatureDrift): string {
  const s = f.scores;
  const numeric = s && 'ks' in s ? (s as NumericScores) : undefined;
  const cat = s && 'chiSquare' in s ? (s as CategoricalScores) : undefined;
  const cells = [
    `<th>${esc(f.name)}</th>`,
    `<td>${esc(f.type)}</td>`,
    `<td>${verdict(f.verdict)}</td>`,
    `<td>${esc(f.test.method)} ${P_SIGN[f.test.method] ?? '>'} ${fmt(f.test.threshold)}</td>`,
    `<td>${fmt(f.test.score)}</td>`,
    `<td>${fmt(s?.psi)}</td>`,
    `<td>${numeric ? `${fmt(numeric.ks.statistic)} (p ${fmt(numeric.ks.pValue)})` : '—'}</td>`,
    `<td>${numeric ? fmt(numeric.wassersteinNormalized) : '—'}</td>`,
    `<td>${cat ? `${fmt(cat.chiSquare.statistic)} (p ${fmt(cat.chiSquare.pValue)})` : '—'}</td>`,
    `<td>${cat ? fmt(cat.jensenShannon) : '—'}</td>`,
    `<td>${cat ? `${cat.unseen.count}` : '—'}</td>`,
    `<td>${fmt(f.baseline.missingRate)} → ${fmt(f.current.missingRate)}</td>`,
    `<td>${f.baseline.count} / ${f.current.count}</td>`,
  ];
  return `<tr>${cells.join('')}</tr>`;
}

const P_SIGN: Record<string, string> = { ks: 'p <', chisquare: 'p <' };

/** One hour of the window: how many predictions and their mean. */
export interface TimelinePoint {
  readonly hour: string;
  readonly count: number;
  readonly mean: number | null;
}

/** The prediction's hourly mean over the window (a line) over its hourly count (bars), as an inline SVG. */
export function timelineSvg(points: readonly TimelinePoint[]): string {
  const width = 880;
  const height = 220;
  const left = 50;
  const right = width - 10;
  const top = 28;
  const bottom = height - 26;
  const n = Math.max(1, points.length);
  const step = (right - left) / n;
  const maxCount = Math.max(1, ...points.map((p) => p.count));
  const means = points.map((p) => p.mean).filter((m): m is number => m !== null);
  const lo = means.length ? Math.min(...means) : 0;
  const hi = means.length ? Math.max(...means) : 1;
  const span = hi > lo ? hi - lo : 1;
  let body = `<line class="axis" x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}"/>`;
  points.forEach((p, i) => {
    const h = ((bottom - top) * p.count) / maxCount;
    body += `<rect x="${(left + i * step + 1).toFixed(1)}" y="${(bottom - h).toFixed(1)}" width="${Math.max(1, step - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="#d0d7de"><title>${esc(p.hour)}: ${p.count} predictions</title></rect>`;
  });
  const path = points
    .map((p, i) =>
      p.mean === null
        ? ''
        : `${(left + (i + 0.5) * step).toFixed(1)},${(bottom - ((bottom - top) * (p.mean - lo)) / span).toFixed(1)}`,
    )
    .filter(Boolean);
  if (path.length)
    body += `<polyline fill="none" stroke="${CURRENT_COLOR}" stroke-width="2" points="${path.join(' ')}"/>`;
  body += `<text class="tick" x="${left - 4}" y="${top + 4}" text-anchor="end">${esc(formatNumber(hi))}</text>`;
  body += `<text class="tick" x="${left - 4}" y="${bottom}" text-anchor="end">${esc(formatNumber(lo))}</text>`;
  body += `<text class="tick" x="${left}" y="${bottom + 14}">${esc(points[0]?.hour.slice(0, 13) ?? '')}</text>`;
  body += `<text class="tick" x="${right}" y="${bottom + 14}" text-anchor="end">${esc(points[points.length - 1]?.hour.slice(0, 13) ?? '')}</text>`;
  return (
    `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" role="img" font-family="sans-serif" font-size="12">` +
    `<title>Prediction mean per hour</title><text x="${width / 2}" y="16" text-anchor="middle" font-weight="bold">Prediction mean per hour (line) and predictions per hour (bars)</text>${body}</svg>`
  );
}

/**
 * The table of scores, one row per feature (the prediction first): verdict, the test with
 * its threshold, and every score. What the drift page shows and other reports embed.
 *
 * @example
 * const table = driftScoresTable(report);
 */
export function driftScoresTable(report: DriftReport): string {
  const all = report.prediction ? [report.prediction, ...report.features] : report.features;
  const head = [
    'feature',
    'type',
    'verdict',
    'test',
    'score',
    'PSI',
    'KS (p)',
    'Wasserstein (norm.)',
    'chi² (p)',
    'Jensen–Shannon',
    'unseen',
    'missing rate',
    'count (base / current)',
  ];
  return `<div class="tw"><table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>
${all.map(row).join('\n')}
</tbody></table></div>`;
}

/**
 * A self-contained HTML drift report (inline CSS and SVG, no scripts, no network): the
 * verdict, a table of scores per feature, and each feature's histogram, baseline against
 * current.
 *
 * @example
 * writeFileSync('report.html', renderDriftHtml(report, summaries, { baseline: 'a.csv', current: 'b.csv' }));
 */
export function renderDriftHtml(
  report: DriftReport,
  summaries: {
    baseline: ReadonlyMap<string, NumericSummary | CategoricalSummary>;
    current: ReadonlyMap<string, NumericSummary | CategoricalSummary>;
  },
  names: { baseline: string; current: string },
  options: { title?: string; timeline?: readonly TimelinePoint[] } = {},
): string {
  const all = report.prediction ? [report.prediction, ...report.features] : report.features;
  const sm = report.summary;
  const charts = all
    .map(
      (f) =>
        `<div class="card">${featureHistogram(
          f === report.prediction ? `${f.name} (prediction)` : f.name,
          summaries.baseline.get(f.name)!,
          summaries.current.get(f.name)!,
        )}</div>`,
    )
    .join('');
  const title = options.title ?? 'Drift report';
  const timeline = options.timeline?.length
    ? `<h2>Predictions over the window</h2><div class="card">${timelineSvg(options.timeline)}</div>`
    : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><style>${STYLE}</style></head><body><main>
<h1>${esc(title)} ${verdict(sm.verdict)}</h1>
<p class="sub">baseline <code>${esc(names.baseline)}</code> (${report.baselineRows} rows) against current <code>${esc(names.current)}</code> (${report.currentRows} rows).
${sm.drifted} of ${sm.judged} judged features drifted (share ${fmt(sm.driftedShare)}; the dataset drifts at ${fmt(sm.driftShareThreshold)}).</p>
<h2>Scores</h2>
${driftScoresTable(report)}
<h2>Distributions <span class="sw" style="background:${BASE_COLOR}"></span>baseline<span class="sw" style="background:${CURRENT_COLOR}"></span>current</h2>
<div class="charts">${charts}</div>
${timeline}
</main></body></html>
`;
}

import type { Run } from '../client/types';
import type { ComparedRun } from './compare-data';
import { colorOf, esc, formatDuration, formatNumber } from './html';
import { lineChartSvg } from './line-chart';
import { type DiffRow, valueDiff } from './value-diff';

const STYLE = `
:root{--fg:#1f2328;--muted:#656d76;--line:#d8dee4;--bg:#f6f8fa;--card:#fff;--diff:#fff8c5;--diff-edge:#d4a72c}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",Helvetica,Arial,sans-serif}
main{max-width:1240px;margin:0 auto;padding:28px 24px 48px}
h1{font-size:22px;margin:0 0 2px}h2{font-size:16px;margin:32px 0 10px}h3{font-size:14px;margin:0 0 6px;font-family:ui-monospace,SFMono-Regular,Menlo,monospace}
.sub{color:var(--muted);margin:0 0 14px}
.legend{display:flex;flex-wrap:wrap;gap:6px 16px;margin:0;padding:0;list-style:none}
.legend li{display:flex;align-items:center;gap:6px}
.sw{display:inline-block;width:12px;height:12px;border-radius:3px;flex:none}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:14px}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(460px,1fr));gap:14px}
.chart{width:100%;height:auto;display:block}
.chart .grid{stroke:#eaeef2}.chart .axis{stroke:#8c959f}
.chart .tick{font-size:11px;fill:var(--muted)}.chart .label{font-size:11px;fill:var(--muted)}.chart .empty{fill:var(--muted)}
.legend.small{font-size:12px;margin-top:6px}
.tw{overflow-x:auto;background:var(--card);border:1px solid var(--line);border-radius:8px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:7px 12px;border-bottom:1px solid var(--line);vertical-align:top;white-space:nowrap}
tr:last-child>*{border-bottom:none}
thead th{background:#f0f3f6;font-weight:600}
tbody th{font-weight:500;font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:13px}
td{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:13px}
tr.differs>*{background:var(--diff)}tr.differs>th{box-shadow:inset 3px 0 var(--diff-edge)}
.missing{color:var(--muted)}
.id{color:var(--muted);font-weight:400;font-size:12px;font-family:ui-monospace,SFMono-Regular,Menlo,monospace}
.status{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-family:inherit;font-weight:600}
.s-FINISHED{background:#dafbe1;color:#1a7f37}.s-FAILED,.s-KILLED{background:#ffebe9;color:#cf222e}
.s-RUNNING,.s-SCHEDULED{background:#ddf4ff;color:#0969da}
.note{color:var(--muted);font-size:13px;margin:-4px 0 10px}
`;

const tagsOf = (run: Run) => Object.fromEntries(run.data.tags.map((t) => [t.key, t.value]));
const paramsOf = (run: Run) => Object.fromEntries(run.data.params.map((p) => [p.key, p.value]));
const metricNumber = (v: number | string) => (typeof v === 'number' ? v : Number(v));

/** How a run is named on the page: its name, or its id's head when it has none. */
function labelOf(run: Run): string {
  return run.info.run_name || run.info.run_id.slice(0, 8);
}

function legend(runs: ComparedRun[]): string {
  const items = runs.map(
    (r, i) =>
      `<li><span class="sw" style="background:${colorOf(i)}"></span>${esc(labelOf(r.run))} <span class="id">${esc(r.run.info.run_id.slice(0, 8))}</span></li>`,
  );
  return `<ul class="legend">${items.join('')}</ul>`;
}

function runHeader(runs: ComparedRun[], first: string): string {
  const cells = runs.map(
    (r, i) =>
      `<th><span class="sw" style="background:${colorOf(i)}"></span> ${esc(labelOf(r.run))}<br><span class="id">${esc(r.run.info.run_id)}</span></th>`,
  );
  return `<thead><tr><th>${esc(first)}</th>${cells.join('')}</tr></thead>`;
}

const cell = (v: string | undefined, title?: string) =>
  v === undefined || v === ''
    ? '<td class="missing">—</td>'
    : `<td${title ? ` title="${esc(title)}"` : ''}>${esc(v)}</td>`;

function infoTable(runs: ComparedRun[]): string {
  const short = (v: string | undefined, n: number) => (v && v.length > n ? `${v.slice(0, n)}…` : v);
  // Digests can share a long prefix (`sha256:`): keep both ends so different ones look different.
  const ends = (v: string | undefined) => (v && v.length > 24 ? `${v.slice(0, 14)}…${v.slice(-8)}` : v);
  const rows: [string, (r: Run) => string][] = [
    ['status', (r) => `<td><span class="status s-${esc(r.info.status)}">${esc(r.info.status)}</span></td>`],
    ['experiment', (r) => cell(r.info.experiment_id)],
    ['started (UTC)', (r) => cell(new Date(r.info.start_time).toISOString().replace('T', ' ').slice(0, 19))],
    [
      'duration',
      (r) => (r.info.end_time ? cell(formatDuration(r.info.end_time - r.info.start_time)) : cell(undefined)),
    ],
    ['user', (r) => cell(tagsOf(r)['mlflow.user'] ?? r.info.user_id)],
    [
      'git commit',
      (r) => cell(short(tagsOf(r)['mlflow.source.git.commit'], 12), tagsOf(r)['mlflow.source.git.commit']),
    ],
    [
      'dataset digest',
      (r) => cell(ends(tagsOf(r)['mlops.dataset.digest']), tagsOf(r)['mlops.dataset.digest']),
    ],
    ['source', (r) => cell(tagsOf(r)['mlflow.source.name'])],
  ];
  const body = rows.map(([name, f]) => `<tr><th>${esc(name)}</th>${runs.map((r) => f(r.run)).join('')}</tr>`);
  return `<div class="tw"><table>${runHeader(runs, 'run')}<tbody>${body.join('')}</tbody></table></div>`;
}

function diffTable(runs: ComparedRun[], rows: DiffRow[], what: string): string {
  if (rows.length === 0) return `<p class="note">No ${what}.</p>`;
  const differing = rows.filter((r) => r.differs).length;
  const body = rows.map(
    (row) =>
      `<tr${row.differs ? ' class="differs"' : ''} data-key="${esc(row.key)}"><th>${esc(row.key)}</th>${row.values.map((v) => cell(v)).join('')}</tr>`,
  );
  return `<p class="note">${differing} of ${rows.length} ${what} differ${differing ? ' (highlighted, listed first)' : ''}.</p><div class="tw"><table>${runHeader(runs, 'key')}<tbody>${body.join('')}</tbody></table></div>`;
}

function charts(runs: ComparedRun[]): string {
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.history)))].sort();
  if (keys.length === 0) return '<p class="note">These runs logged no metrics.</p>';
  const cards = keys.map((key) => {
    const series = runs
      .map((r, i) => ({
        id: r.run.info.run_id,
        label: labelOf(r.run),
        color: colorOf(i),
        points: (r.history[key] ?? []).map((m) => ({ x: m.step, y: metricNumber(m.value) })),
      }))
      .filter((s) => s.points.length > 0);
    const legendItems = series.map(
      (s) => `<li><span class="sw" style="background:${s.color}"></span>${esc(s.label)}</li>`,
    );
    return `<div class="card"><h3>${esc(key)}</h3>${lineChartSvg(key, series)}<ul class="legend small">${legendItems.join('')}</ul></div>`;
  });
  return `<div class="charts">${cards.join('')}</div>`;
}

function latestTable(runs: ComparedRun[], h: string): string {
  const latest = runs.map((r) =>
    Object.fromEntries(r.run.data.metrics.map((m) => [m.key, formatNumber(metricNumber(m.value))])),
  );
  const keys = [...new Set(latest.flatMap((l) => Object.keys(l)))].sort();
  if (keys.length === 0) return '';
  const body = keys.map(
    (k) => `<tr data-key="${esc(k)}"><th>${esc(k)}</th>${latest.map((l) => cell(l[k])).join('')}</tr>`,
  );
  return `<${h}>Latest metric values</${h}><div class="tw"><table>${runHeader(runs, 'metric')}<tbody>${body.join('')}</tbody></table></div>`;
}

/**
 * The compare page's sections (legend, runs, metric charts, latest values, parameters and
 * tags), under headings of level `heading`: the page's body, and what other reports embed.
 *
 * @example
 * const body = compareSections(await loadComparison(tracking, ids), 'h3');
 */
export function compareSections(runs: ComparedRun[], heading: 'h2' | 'h3' = 'h2'): string {
  const h = heading;
  const params = valueDiff(runs.map((r) => paramsOf(r.run)));
  const tags = valueDiff(
    runs.map((r) =>
      Object.fromEntries(Object.entries(tagsOf(r.run)).filter(([k]) => k !== 'mlflow.runName')),
    ),
  );
  return `${legend(runs)}
<${h}>Runs</${h}>
${infoTable(runs)}
<${h}>Metrics by step</${h}>
${charts(runs)}
${latestTable(runs, h)}
<${h}>Parameters</${h}>
${diffTable(runs, params, 'parameters')}
<${h}>Tags</${h}>
${diffTable(runs, tags, 'tags')}`;
}

/**
 * The compare page: one self-contained HTML file (inline CSS and SVG, no script) with
 * the runs' info, a chart per metric against step with a line per run, the latest
 * values, and params and tags side by side with differing values highlighted.
 *
 * @example
 * await writeFile('compare.html', renderComparePage(await loadComparison(tracking, ids)));
 */
export function renderComparePage(runs: ComparedRun[], generatedAt = new Date()): string {
  const title = `Compare ${runs.map((r) => labelOf(r.run)).join(' · ')}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><style>${STYLE}</style></head>
<body><main>
<h1>Run comparison</h1>
<p class="sub">${runs.length} run${runs.length === 1 ? '' : 's'} · generated ${esc(generatedAt.toISOString().replace('T', ' ').slice(0, 19))} UTC</p>
${compareSections(runs)}
</main></body></html>
`;
}

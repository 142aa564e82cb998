import { shadowFlag, shadowSections } from '../../experiments/shadow/html';
import { driftScoresTable } from '../../monitoring/report/drift-html';
import { compareSections } from '../../tracking/report/compare-page';
import { colorOf, esc, formatNumber } from '../../tracking/report/html';
import { abSection } from './ab-html';
import { STYLE } from './style';
import { parseSteps, trafficTimeline } from './timeline';
import { timelineChartSvg } from './timeline-svg';
import type {
  DeploymentStatus,
  DriftEntry,
  LifecycleReportData,
  PerformanceRow,
  RegistryHistory,
  Section,
  StepRow,
} from './types';

const utc = (ms: number | string | undefined) => {
  const t = typeof ms === 'string' ? Date.parse(ms) : ms;
  return t === undefined || !Number.isFinite(t)
    ? '—'
    : new Date(t).toISOString().replace('T', ' ').slice(0, 19);
};
const pill = (s: string) => `<span class="pill p-${esc(s)}">${esc(s.replace('_', ' '))}</span>`;
const table = (head: string[], rows: string[]) =>
  `<div class="tw"><table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
const empty = (text: string) => `<p class="empty-section">${esc(text)}</p>`;

/** A section's body, or what stands in for it: why there is nothing, or the error reading it. */
function body<T>(s: Section<T>, render: (data: T) => string): string {
  if ('data' in s) return render(s.data);
  if ('missing' in s) return empty(s.missing);
  return `<p class="empty-section error">Could not be read: ${esc(s.error)}</p>`;
}

function stepsSection(steps: StepRow[]): string {
  if (steps.length === 0) return empty('No steps were given.');
  const total = steps.reduce((n, s) => n + (Number.isFinite(s.seconds) ? s.seconds : 0), 0);
  const rows = steps.map(
    (s, i) =>
      `<tr><td>${i + 1}</td><th>${esc(s.name)}</th><td class="wrap">${esc(s.outcome)}</td><td>${Number.isFinite(s.seconds) ? s.seconds.toFixed(1) : '—'}</td></tr>`,
  );
  rows.push(`<tr><td></td><th>total</th><td></td><td>${total.toFixed(1)}</td></tr>`);
  return table(['#', 'step', 'outcome', 'seconds'], rows);
}

function registrySection(h: RegistryHistory): string {
  const aliases = h.model.aliases.map((a) => `${a.alias} → v${a.version}`).join(', ') || 'none';
  const versions = h.versions.map((v) => {
    const tags = Object.fromEntries(v.tags.map((t) => [t.key, t.value]));
    const deployment = tags['mlops.deployment.status'];
    return `<tr data-version="${esc(v.version)}"><th>v${esc(v.version)}</th><td>${esc(utc(v.creation_timestamp))}</td><td>${esc(v.status)}</td><td>${esc(v.current_stage)}</td><td>${esc(v.aliases.join(', ') || '—')}</td><td>${deployment ? pill(deployment) : '—'}</td><td><span class="id" title="${esc(v.run_id)}">${esc(v.run_id.slice(0, 12) || '—')}</span></td><td class="wrap">${esc(v.status_message || v.description || '')}</td></tr>`;
  });
  const changes = h.changes.map(
    (c) =>
      `<tr><td>${esc(utc(c.timestamp))}</td><th>v${esc(c.version)}</th><td>${esc(c.kind === 'alias' ? `alias ${c.alias ?? ''}` : 'stage')}</td><td>${esc(c.from || '—')} → ${esc(c.to || '—')}</td><td>${esc(c.user_id)}</td></tr>`,
  );
  return `<p class="sub">${esc(h.model.name)}: ${h.versions.length} version${h.versions.length === 1 ? '' : 's'}, created ${esc(utc(h.model.creation_timestamp))} UTC; aliases: ${esc(aliases)}.</p>
${h.versions.length ? table(['version', 'registered (UTC)', 'status', 'stage', 'aliases', 'deployment', 'run', 'message'], versions) : empty('No version is registered.')}
<h3>Stage transitions and alias changes</h3>
${changes.length ? table(['when (UTC)', 'version', 'what', 'from → to', 'by'], changes) : empty('No stage transition or alias change is recorded.')}`;
}

function deploymentsSection(d: DeploymentStatus, until: number): string {
  const timeline = trafficTimeline(d.deployments);
  const weights = Object.entries(d.live.weights)
    .map(([v, w]) => `Lambda version ${v} at ${formatNumber(w * 100)}%`)
    .join(', ');
  const legend = timeline.versions.map(
    (v, i) => `<li><span class="sw" style="background:${colorOf(i)}"></span>${esc(v)}</li>`,
  );
  const records = [...d.deployments].sort(
    (a, b) => Date.parse(a.started_at ?? '') - Date.parse(b.started_at ?? ''),
  );
  const rows = records.map((r) => {
    const steps = parseSteps(r.steps)
      .map((s) => esc(`${s.percent}% ${utc(s.at).slice(11)}`))
      .join('<br>');
    const ended = r.rolled_back_at ?? r.refused_at ?? r.promoted_at;
    const reason = r.rollback_reason ?? r.refusal_reason ?? '';
    const failed = r.status === 'rolled_back' || r.status === 'refused';
    return `<tr${failed ? ' class="fail"' : ''} data-version="${esc(r.version ?? '')}"><th>v${esc(r.version ?? '?')}</th><td>${pill(r.status ?? 'unknown')}</td><td>${esc(r.variant ?? '—')}</td><td>${esc(`${r.previous_lambda_version ?? '?'} → ${r.lambda_version ?? '?'}`)}</td><td>${esc(utc(r.started_at))}</td><td>${steps || '—'}</td><td>${esc(utc(ended))}</td><td class="wrap">${esc(reason)}</td></tr>`;
  });
  return `<p class="sub">Now: the live alias points at Lambda version ${esc(d.live.lambda_version)}${d.live.model_version ? `, serving model version ${esc(d.live.model_version)}` : ''}${weights ? `; canary weights: ${esc(weights)}` : ''}.</p>
<div class="card"><h3>Traffic share per version</h3>${timelineChartSvg(timeline, until)}<ul class="legend small">${legend.join('')}<li><span class="sw" style="background:#cf222e"></span>rollback or refusal</li></ul></div>
<h3>Deployments</h3>
${records.length ? table(['version', 'status', 'variant', 'Lambda version', 'started (UTC)', 'traffic steps (UTC)', 'ended (UTC)', 'reason'], rows) : empty('No deployment is recorded: versions went live without the canary workflow.')}`;
}

function driftSection(entries: DriftEntry[]): string {
  if (entries.length === 0)
    return empty('No drift report was given: the drift job has not run, or found nothing to report.');
  return entries
    .map((e) => {
      const s = e.report?.summary;
      const head = `<h3>${esc(e.title)} ${s ? `<span class="v v-${esc(s.verdict)}">${esc(s.verdict.replace('_', ' '))}</span>` : ''}</h3>`;
      const sub = e.report
        ? `<p class="sub">${e.window ? `Window ${esc(e.window.from)} – ${esc(e.window.to)}: ` : ''}${e.report.currentRows} rows against a baseline of ${e.report.baselineRows}; ${s?.drifted} of ${s?.judged} judged features drifted (the dataset drifts at a share of ${esc(formatNumber(s?.driftShareThreshold ?? 0))}). Each feature's test and threshold are in the table.</p>`
        : '';
      const reasons = e.reasons?.length
        ? `<ul>${e.reasons.map((r) => `<li>${esc(r)}</li>`).join('')}</ul>`
        : '';
      const plots = e.plots.length
        ? `<p class="note">Distributions: <span class="sw" style="background:#4e79a7"></span>baseline <span class="sw" style="background:#f28e2b"></span>current</p><div class="charts">${e.plots.map((p) => `<div class="card"${p.includes('<title>Prediction mean per hour</title>') ? ' style="grid-column:1/-1"' : ''}>${p}</div>`).join('')}</div>`
        : '';
      const notes = e.notes.map((n) => `<p class="note">${esc(n)}</p>`).join('');
      return `${head}${sub}${reasons}${e.report ? driftScoresTable(e.report) : ''}${plots}${notes}`;
    })
    .join('\n');
}

function performanceSection(rows: PerformanceRow[]): string {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r.metrics ?? {})))].sort();
  const body = rows.map((r) => {
    const metrics = keys.map((k) => {
      const v = r.metrics?.[k];
      return `<td>${v === null || v === undefined ? '—' : esc(formatNumber(v))}</td>`;
    });
    const training =
      r.training?.value !== undefined ? `${r.training.metric ?? ''} ${formatNumber(r.training.value)}` : '—';
    return `<tr><th>v${esc(r.version)}</th><td>${r.labelledRows}${r.rows !== undefined ? ` / ${r.rows}` : ''}</td>${metrics.join('')}<td>${esc(training)}</td><td>${r.drop === null ? '—' : `${(r.drop * 100).toFixed(1)}%`}</td></tr>`;
  });
  return `${table(['version', 'labelled rows', ...keys.map((k) => `live ${k}`), 'at training', 'drop'], body)}
<p class="note">Rows with a label that arrived later, scored as training scored its test set; no metrics below the job's minimum of labelled rows.</p>`;
}

const SECTIONS = [
  ['steps', 'Steps'],
  ['runs', 'Runs compared'],
  ['registry', 'Registry history'],
  ['deployments', 'Deployment timeline'],
  ['ab', 'A/B analysis'],
  ['shadow', 'Shadow report'],
  ['drift', 'Drift'],
  ['performance', 'Performance from delayed labels'],
] as const;

/**
 * The lifecycle report: one self-contained HTML page (inline CSS and SVG, no script, nothing
 * loaded from elsewhere, so it opens offline) with the steps, the runs compared, the
 * registry's history, the deployment timeline with its traffic steps and rollbacks, the A/B
 * analysis, the shadow report, drift and live performance. A section without data says so.
 *
 * @example
 * writeFileSync('lifecycle.html', renderLifecycleReport(await loadLifecycleReport({ apiUrl, modelName })));
 */
export function renderLifecycleReport(data: LifecycleReportData): string {
  const until = Date.parse(data.generatedAt);
  const content: Record<(typeof SECTIONS)[number][0], string> = {
    steps: stepsSection(data.steps),
    runs: body(data.runs, (runs) => compareSections(runs, 'h3')),
    registry: body(data.registry, registrySection),
    deployments: body(data.deployments, (d) => deploymentsSection(d, until)),
    ab: body(data.ab, abSection),
    shadow: body(
      data.shadow,
      (r) =>
        `<p class="sub">v${esc(r.shadow_version)} scored a copy of live traffic of ${esc(r.model)} (${esc(r.since ? `since ${r.since}` : 'all stored pairs')}; ${esc(r.task)}): ${shadowFlag(r)}</p>${shadowSections(r, 'h3')}`,
    ),
    drift: driftSection(data.drift),
    performance: body(data.performance, performanceSection),
  };
  const nav = SECTIONS.map(([id, title]) => `<li><a href="#${id}">${esc(title)}</a></li>`).join('');
  const sections = SECTIONS.map(
    ([id, title]) => `<section id="${id}">
<h2>${esc(title)}</h2>
${content[id]}
</section>`,
  ).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(data.modelName)}: the lifecycle</title><style>${STYLE}</style></head>
<body><main>
<h1>${esc(data.modelName)}: the lifecycle</h1>
<p class="sub">Read from the platform's API at <code>${esc(data.apiUrl)}</code> · generated ${esc(utc(data.generatedAt))} UTC</p>
<nav><ul>${nav}</ul></nav>
${sections}
</main></body></html>
`;
}

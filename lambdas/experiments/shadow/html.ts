import { histogramSvg } from '../../monitoring/report/drift-html';
import { esc, formatNumber } from '../../tracking/report/html';
import type { ShadowReportAnswer } from './service';

const LIVE_COLOR = '#4e79a7';
const SHADOW_COLOR = '#f28e2b';
const STYLE = `body{font-family:system-ui,sans-serif;margin:0;color:#222}main{max-width:960px;margin:0 auto;padding:24px}
table{border-collapse:collapse}td,th{padding:4px 12px;border-bottom:1px solid #ddd;text-align:left}
.sw{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px}.chart{max-width:640px}
.flag{padding:2px 8px;border-radius:4px;color:#fff}.bad{background:#c0392b}.ok{background:#27ae60}
.axis{stroke:#888}.tick{fill:#555}`;

const num = (v: number | null) => (v === null ? '–' : esc(formatNumber(v)));

/**
 * The shadow report as one self-contained HTML page: the figures, the divergence flag and the
 * two prediction distributions side by side (live, then shadow, per bin).
 *
 * @example
 * writeFileSync('shadow.html', renderShadowHtml(report));
 */
export function renderShadowHtml(r: ShadowReportAnswer): string {
  const labels = r.histogram.edges.slice(0, -1).map((e) => formatNumber(e));
  const flag = r.divergence.divergent
    ? '<span class="flag bad">divergent</span>'
    : '<span class="flag ok">within threshold</span>';
  const rows: [string, string][] = [
    ['live version(s)', esc(r.live_versions.join(', ') || '–')],
    ['shadow version', esc(r.shadow_version)],
    ['rows compared', String(r.rows)],
    ['scored by the shadow', String(r.scored)],
    ['shadow failures', String(r.shadow_errors)],
    [`agreement (${esc(r.agreement_rule)})`, num(r.agreement_rate)],
    ['mean |live - shadow|', num(r.mean_abs_diff)],
    ['max |live - shadow|', num(r.max_abs_diff)],
    ['divergence', esc(r.divergence.reason)],
  ];
  const errors = r.errors.length
    ? `<h2>Shadow failures</h2><ul>${r.errors.map((e) => `<li><code>${esc(e)}</code></li>`).join('')}</ul>`
    : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shadow report: ${esc(r.model)}</title><style>${STYLE}</style></head><body><main>
<h1>Shadow report: ${esc(r.model)} ${flag}</h1>
<p>${r.since ? `Since ${esc(r.since)}` : 'All stored pairs'}; ${esc(r.task)}.</p>
<table><tbody>${rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('')}</tbody></table>
<h2>Predictions <span class="sw" style="background:${LIVE_COLOR}"></span>live<span class="sw" style="background:${SHADOW_COLOR}"></span>shadow</h2>
${labels.length ? histogramSvg('Prediction distribution (rows per bin)', labels, r.histogram.live, r.histogram.shadow) : '<p>No scored pairs yet.</p>'}
${errors}
</main></body></html>
`;
}

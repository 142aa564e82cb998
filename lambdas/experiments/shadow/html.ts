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
 * The drift report's histogram names its two series baseline and current in each bar's
 * tooltip; here they are live and shadow.
 */
function liveShadowSvg(svg: string): string {
  return svg
    .replace(/(<title>[^<]*): baseline /g, '$1: live ')
    .replace(/(<title>[^<]*): current /g, '$1: shadow ');
}

/** The divergence flag: divergent, or within threshold. */
export function shadowFlag(r: ShadowReportAnswer): string {
  return r.divergence.divergent
    ? '<span class="flag bad">divergent</span>'
    : '<span class="flag ok">within threshold</span>';
}

/**
 * The shadow report's body: the figures, the two prediction distributions side by side
 * (live, then shadow, per bin) and the shadow's failures, under headings of level `heading`.
 * What the shadow page shows and other reports embed.
 *
 * @example
 * const body = shadowSections(report, 'h3');
 */
export function shadowSections(r: ShadowReportAnswer, heading: 'h2' | 'h3' = 'h2'): string {
  const h = heading;
  const labels = r.histogram.edges.slice(0, -1).map((e) => formatNumber(e));
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
    ? `<${h}>Shadow failures</${h}><ul>${r.errors.map((e) => `<li><code>${esc(e)}</code></li>`).join('')}</ul>`
    : '';
  return `<table><tbody>${rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('')}</tbody></table>
<${h}>Predictions <span class="sw" style="background:${LIVE_COLOR}"></span>live<span class="sw" style="background:${SHADOW_COLOR}"></span>shadow</${h}>
${labels.length ? liveShadowSvg(histogramSvg('Prediction distribution (rows per bin)', labels, r.histogram.live, r.histogram.shadow)) : '<p>No scored pairs yet.</p>'}
${errors}`;
}

/**
 * The shadow report as one self-contained HTML page: the figures, the divergence flag and the
 * two prediction distributions side by side (live, then shadow, per bin).
 *
 * @example
 * writeFileSync('shadow.html', renderShadowHtml(report));
 */
export function renderShadowHtml(r: ShadowReportAnswer): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shadow report: ${esc(r.model)}</title><style>${STYLE}</style></head><body><main>
<h1>Shadow report: ${esc(r.model)} ${shadowFlag(r)}</h1>
<p>${r.since ? `Since ${esc(r.since)}` : 'All stored pairs'}; ${esc(r.task)}.</p>
${shadowSections(r)}
</main></body></html>
`;
}

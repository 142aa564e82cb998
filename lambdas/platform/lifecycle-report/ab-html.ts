import type { AnalysisReport, Comparison } from '../../experiments/analysis/result';
import { colorOf, esc, formatNumber } from '../../tracking/report/html';
import type { AbTest } from './types';

const pct = (x: number | null, digits = 2) => (x === null ? 'n/a' : `${(x * 100).toFixed(digits)}%`);
const num = (x: number | null) => (x === null ? 'n/a' : formatNumber(x));
const pValue = (x: number | null) => (x === null ? 'n/a' : x < 1e-4 ? x.toExponential(2) : x.toFixed(4));
const ci = (i: readonly [number | null, number | null]) =>
  i[0] === null || i[1] === null ? 'n/a' : `[${pct(i[0])}, ${pct(i[1])}]`;

/** A decision as a coloured pill. */
export const decisionPill = (d: string) =>
  `<span class="pill p-${esc(d)}">${esc(d.replace('_', ' '))}</span>`;

/**
 * The relative lift of each metric with its confidence interval, as an inline SVG around a
 * zero line: an interval clear of zero is significant at the report's level.
 */
export function liftChartSvg(c: Comparison, level: number): string {
  const rows = (['conversion', 'value'] as const).map((m) => ({ metric: m, ...c[m] }));
  const W = 640;
  const rowH = 34;
  const H = 40 + rows.length * rowH;
  const left = 110;
  const right = W - 20;
  const ends = rows
    .flatMap((r) => [r.relative_lift, ...r.relative_lift_ci])
    .filter((v): v is number => v !== null);
  const span = Math.max(0.01, ...ends.map((v) => Math.abs(v))) * 1.15;
  const sx = (v: number) => left + ((v + span) / (2 * span)) * (right - left);
  const parts: string[] = [
    `<line class="axis" x1="${sx(0).toFixed(1)}" x2="${sx(0).toFixed(1)}" y1="10" y2="${H - 24}"/>`,
    `<text class="tick" x="${left}" y="${H - 8}">${esc(pct(-span, 1))}</text>`,
    `<text class="tick" x="${sx(0).toFixed(1)}" y="${H - 8}" text-anchor="middle">0</text>`,
    `<text class="tick" x="${right}" y="${H - 8}" text-anchor="end">${esc(pct(span, 1))}</text>`,
  ];
  rows.forEach((r, i) => {
    const y = 24 + i * rowH;
    const color = colorOf(i);
    parts.push(`<text class="tick" x="${left - 8}" y="${y + 4}" text-anchor="end">${esc(r.metric)}</text>`);
    const [lo, hi] = r.relative_lift_ci;
    if (lo !== null && hi !== null)
      parts.push(
        `<line x1="${sx(lo).toFixed(1)}" x2="${sx(hi).toFixed(1)}" y1="${y}" y2="${y}" stroke="${color}" stroke-width="3"><title>${esc(`${r.metric}: ${Math.round(level * 100)}% interval ${ci(r.relative_lift_ci)}`)}</title></line>`,
      );
    if (r.relative_lift !== null)
      parts.push(
        `<circle cx="${sx(r.relative_lift).toFixed(1)}" cy="${y}" r="5" fill="${color}"><title>${esc(`${r.metric}: lift ${pct(r.relative_lift)}, p ${pValue(r.p_value)}`)}</title></circle>`,
      );
    else parts.push(`<text class="tick" x="${sx(0) + 6}" y="${y + 4}">undefined (too few units)</text>`);
  });
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="relative lift with ${Math.round(level * 100)}% intervals" style="max-width:${W}px">${parts.join('')}</svg>`;
}

function variantsTable(ab: AbTest): string {
  const e = ab.experiment;
  const versionOf = (name: string) =>
    name === 'control' ? e.control_version : name === 'treatment' ? e.treatment_version : '';
  const head = [
    'variant',
    'version',
    'planned',
    'observed',
    'units',
    'conversions',
    'conv. rate',
    'value mean',
    'value sd',
  ];
  const body = ab.analysis.variants.map(
    (v) =>
      `<tr><th>${esc(v.name)}</th><td>${esc(versionOf(v.name) ? `v${versionOf(v.name)}` : '—')}</td><td>${pct(v.planned_share)}</td><td>${pct(v.observed_share)}</td><td>${v.units}</td><td>${v.conversions}</td><td>${pct(v.conversion_rate, 3)}</td><td>${num(v.value_mean)}</td><td>${num(v.value_sd)}</td></tr>`,
  );
  return `<div class="tw"><table><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${body.join('')}</tbody></table></div>`;
}

function comparisonTable(r: AnalysisReport, c: Comparison): string {
  const level = `${Math.round(r.confidence_level * 100)}%`;
  const head = [
    'metric',
    'control',
    'treatment',
    'difference',
    'relative lift',
    `lift ${level} CI`,
    'test',
    'p-value',
    'always-valid p',
    'significant',
    'units needed (progress)',
  ];
  const need = (s: Comparison['sample_size']['conversion']) =>
    s.control_units === null
      ? 'n/a'
      : `${formatNumber(s.control_units)} + ${formatNumber(s.treatment_units ?? 0)} (${pct(s.progress, 0)})`;
  const rows = [
    [
      'conversion',
      pct(c.conversion.control, 3),
      pct(c.conversion.treatment, 3),
      pct(c.conversion.difference, 3),
      pct(c.conversion.relative_lift),
      ci(c.conversion.relative_lift_ci),
      `z ${num(c.conversion.z)}`,
      pValue(c.conversion.p_value),
      pValue(c.conversion.sequential_p_value),
      c.conversion.significant ? 'yes' : 'no',
      need(c.sample_size.conversion),
    ],
    [
      'value',
      num(c.value.control),
      num(c.value.treatment),
      num(c.value.difference),
      pct(c.value.relative_lift),
      ci(c.value.relative_lift_ci),
      `t ${num(c.value.t)} (df ${num(c.value.df)})`,
      pValue(c.value.p_value),
      pValue(c.value.sequential_p_value),
      c.value.significant ? 'yes' : 'no',
      need(c.sample_size.value),
    ],
  ];
  const body = rows.map(
    (cells) =>
      `<tr data-metric="${cells[0]}"><th>${cells[0]}</th>${cells
        .slice(1)
        .map((v) => `<td>${esc(v ?? '')}</td>`)
        .join('')}</tr>`,
  );
  return `<div class="tw"><table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${body.join('')}</tbody></table></div>`;
}

/**
 * The A/B section: the experiment, the decision and its reason, per-variant rates, the sample
 * ratio check, and per comparison the lifts with their intervals, p-values and a lift chart.
 *
 * @example
 * abSection({ experiment, analysis });
 */
export function abSection(ab: AbTest): string {
  const e = ab.experiment;
  const r = ab.analysis;
  const srm = r.srm;
  const when = [
    e.started_at ? `started ${e.started_at}` : `created ${e.created_at}`,
    e.stopped_at ? `stopped ${e.stopped_at}` : '',
  ].filter(Boolean);
  const comparisons = r.comparisons.map(
    (c) => `<h3>${esc(c.treatment)} against ${esc(r.control)}</h3>
${comparisonTable(r, c)}
<div class="card" style="margin-top:10px">${liftChartSvg(c, r.confidence_level)}</div>
<p>${decisionPill(c.decision)} ${esc(c.reason)}</p>`,
  );
  return `<p class="sub">Experiment <code>${esc(e.id)}</code> on ${esc(e.model)}: control v${esc(e.control_version)} (${pct(e.allocation.control, 0)}) against treatment v${esc(e.treatment_version)} (${pct(e.allocation.treatment, 0)}); ${esc(e.status)}, ${esc(when.join(', '))}. Primary metric ${esc(r.primary_metric)}, alpha ${formatNumber(r.alpha)}, power ${pct(r.power, 0)}, minimum detectable effect ${pct(r.mde_relative, 1)} relative.</p>
<p class="decision" data-decision="${esc(r.decision)}">Decision: ${decisionPill(r.decision)} ${esc(r.reason)}</p>
<h3>Variants</h3>
${variantsTable(ab)}
<p class="note">Sample ratio: chi² ${num(srm.chi_square)} (df ${srm.df}), p ${pValue(srm.p_value)}: ${srm.mismatch ? `<span class="pill p-stop">mismatch</span> (p below ${formatNumber(srm.threshold)}): the assignment is broken and the results are not to be trusted` : `no mismatch (threshold p &lt; ${formatNumber(srm.threshold)})`}.</p>
${comparisons.join('\n')}`;
}

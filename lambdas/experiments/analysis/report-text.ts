import type { AnalysisReport } from './result';

/**
 * The analysis as a plain-text table for a terminal (`--format table`).
 *
 * @example
 * console.log(reportText(analyzeExperiment(allocation, totals)));
 */
export function reportText(r: AnalysisReport): string {
  const out: string[] = [];
  out.push(
    table(
      ['variant', 'planned', 'observed', 'units', 'conversions', 'conv. rate', 'value mean', 'value sd'],
      r.variants.map((v) => [
        v.name,
        pct(v.planned_share),
        pct(v.observed_share),
        String(v.units),
        String(v.conversions),
        pct(v.conversion_rate, 3),
        num(v.value_mean),
        num(v.value_sd),
      ]),
    ),
  );
  out.push(
    '',
    `sample ratio mismatch: chi-square ${num(r.srm.chi_square)} (df ${r.srm.df}), p = ${p(r.srm.p_value)}${r.srm.mismatch ? `  MISMATCH (p < ${r.srm.threshold})` : ''}`,
  );
  for (const c of r.comparisons) {
    out.push('', `${c.treatment} vs ${r.control}  (${pct(r.confidence_level, 0)} intervals)`);
    out.push(
      table(
        [
          'metric',
          'control',
          'treatment',
          'lift',
          'lift CI',
          'test',
          'p-value',
          'always-valid p',
          'units needed',
        ],
        [
          [
            'conversion',
            pct(c.conversion.control, 3),
            pct(c.conversion.treatment, 3),
            pct(c.conversion.relative_lift),
            ci(c.conversion.relative_lift_ci),
            `z ${num(c.conversion.z)}`,
            p(c.conversion.p_value),
            p(c.conversion.sequential_p_value),
            need(c.sample_size.conversion),
          ],
          [
            'value',
            num(c.value.control),
            num(c.value.treatment),
            pct(c.value.relative_lift),
            ci(c.value.relative_lift_ci),
            `t ${num(c.value.t)} (df ${num(c.value.df)})`,
            p(c.value.p_value),
            p(c.value.sequential_p_value),
            need(c.sample_size.value),
          ],
        ],
      ),
    );
    out.push(`${c.decision}: ${c.reason}`);
  }
  out.push(
    '',
    `decision: ${r.decision.toUpperCase().replace('_', ' ')} (primary metric: ${r.primary_metric}, MDE ${pct(r.mde_relative)} relative, power ${pct(r.power, 0)})`,
  );
  return out.join('\n');
}

function need(s: { control_units: number | null; treatment_units: number | null }): string {
  return s.control_units === null ? 'n/a' : `${s.control_units} + ${s.treatment_units}`;
}
function ci(i: [number | null, number | null]): string {
  return i[0] === null ? 'n/a' : `[${pct(i[0])}, ${pct(i[1])}]`;
}
function pct(x: number | null, digits = 2): string {
  return x === null ? 'n/a' : `${(x * 100).toFixed(digits)}%`;
}
function num(x: number | null): string {
  return x === null ? 'n/a' : Number(x.toPrecision(6)).toString();
}
function p(x: number | null): string {
  return x === null ? 'n/a' : x < 1e-4 ? x.toExponential(2) : x.toFixed(4);
}
function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

import { z } from 'zod';
import type { DriftReport } from '../../monitoring/drift/compare';
import type { DriftEntry } from './types';

/** A drift report as the monitoring jobs and `mlops monitor drift` write it (the fields the table reads). */
const side = z.object({ count: z.number(), missingRate: z.number() }).passthrough();
const feature = z
  .object({
    name: z.string(),
    type: z.string(),
    verdict: z.string(),
    baseline: side,
    current: side,
    scores: z.record(z.string(), z.unknown()).nullable(),
    test: z.object({ method: z.string(), threshold: z.number(), score: z.number().nullable() }).passthrough(),
  })
  .passthrough();
const DriftReportShape = z
  .object({
    baselineRows: z.number(),
    currentRows: z.number(),
    features: z.array(feature),
    prediction: feature.nullable(),
    summary: z
      .object({
        judged: z.number(),
        drifted: z.number(),
        driftedShare: z.number().nullable(),
        driftShareThreshold: z.number(),
        verdict: z.string(),
      })
      .passthrough(),
  })
  .passthrough();

/** The drift job's result for one version (`reports/model=<m>/version=<v>/<time>.json`). */
const JobResult = z
  .object({
    report: DriftReportShape.nullable(),
    reasons: z.array(z.string()).optional(),
    window: z.object({ from: z.string(), to: z.string() }).optional(),
    error: z.string().optional(),
  })
  .passthrough();

/** An inline chart of the drift job's page: its histograms and its timeline. */
const CHART = /<svg class="chart"[\s\S]*?<\/svg>/g;
/** Anything that would run, or load from elsewhere, if it were in a chart. */
const UNSAFE = /<script|<foreignObject|<iframe|<image|<use|\son[a-z]+\s*=|href\s*=|src\s*=|url\(/i;

/**
 * The charts of a drift HTML report written by `renderDriftHtml` (the monitoring job's page):
 * each inline `<svg class="chart">`, as it is. Charts are our renderer's output, already
 * escaped; any with script, links or loads is refused.
 */
export function driftCharts(html: string): { plots: string[]; refused: number } {
  const found = html.match(CHART) ?? [];
  const plots = found.filter((svg) => !UNSAFE.test(svg));
  return { plots, refused: found.length - plots.length };
}

/**
 * One drift report for the lifecycle report: scores from its JSON (the drift job's result,
 * or a bare drift report as `mlops monitor drift --format json` prints it), plots from its
 * HTML. What is missing or unreadable is said in `notes`.
 *
 * @example
 * driftEntry({ title: 'Drift of v1', html, data: JSON.parse(json) });
 */
export function driftEntry(input: { title: string; html?: string; data?: unknown }): DriftEntry {
  const notes: string[] = [];
  let report: DriftReport | undefined;
  let reasons: string[] | undefined;
  let window: { from: string; to: string } | undefined;
  if (input.data !== undefined) {
    const job = JobResult.safeParse(input.data);
    const bare = DriftReportShape.safeParse(input.data);
    if (job.success) {
      if (job.data.report) report = job.data.report as unknown as DriftReport;
      else notes.push(`The job wrote no scores: ${job.data.error ?? 'no baseline profile or no rows'}.`);
      reasons = job.data.reasons;
      window = job.data.window;
    } else if (bare.success) report = bare.data as unknown as DriftReport;
    else
      notes.push(
        `The drift data is not a drift report (${bare.error.issues
          .slice(0, 2)
          .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
          .join('; ')}).`,
      );
  } else notes.push('No drift scores were given (the job’s JSON report).');
  let plots: string[] = [];
  if (input.html !== undefined) {
    const charts = driftCharts(input.html);
    plots = charts.plots;
    if (charts.refused) notes.push(`${charts.refused} chart(s) left out: they held script or links.`);
    if (charts.plots.length === 0 && charts.refused === 0) notes.push('The HTML report holds no charts.');
  } else notes.push('No histograms: the job’s HTML report was not given.');
  return {
    title: input.title,
    ...(report ? { report } : {}),
    ...(reasons ? { reasons } : {}),
    ...(window ? { window } : {}),
    plots,
    notes,
  };
}

import { z } from 'zod';
import { AnalysisReportSchema } from '../../experiments/analysis/result';
import { ExperimentSchema } from '../../experiments/api/routes';
import { shadowReportRoute } from '../../experiments/shadow/api/routes';
import { deploymentStatusRoute } from '../../serving/deploy/routes';
import { listChanges } from '../../tracking/api/registry-routes';
import { connect, resolveConnection } from '../../tracking/client/connection';
import { RegistryClient } from '../../tracking/client/registry-client';
import { type MlflowCall, mlflowCaller } from '../../tracking/client/rest';
import { TrackingClient } from '../../tracking/client/tracking-client';
import { loadComparison } from '../../tracking/report/compare-data';
import { driftEntry } from './drift';
import type { LifecycleReportData, PerformanceRow, Section, StepRow } from './types';

/** Adds authentication headers to a request (SigV4 on AWS: `sigv4Signer(region)`). */
export type RequestSigner = NonNullable<Parameters<typeof mlflowCaller>[1]>;

export interface LifecycleReportOptions {
  /** The platform's API (the local gateway, or the API Gateway stage URL). */
  apiUrl: string;
  modelName: string;
  /** Runs to compare (metric curves, parameters). */
  runIds?: string[];
  /** The A/B test's id (its name). */
  abExperimentId?: string;
  /** The model whose shadow report to show. @default modelName when `shadowVersion` is given */
  shadowId?: string;
  /** The shadow version: needed once the shadow has been removed (its pairs stay). @default the configured shadow */
  shadowVersion?: string;
  /** The monitoring jobs' drift reports: the HTML page (plots) and its JSON (scores). */
  driftReports?: { title: string; html?: string; data?: unknown }[];
  /** The main job's steps for the summary table. */
  steps?: { name: string; outcome: string; seconds: number }[];
  /** The performance job's result (`{ versions: [...] }`) or its `versions`: live metrics from delayed labels. */
  performance?: unknown;
  /** Signs each request; without it requests are signed as the CLI signs them (`MLOPS_API_SIGV4`, `execute-api` hosts). */
  signer?: RequestSigner;
  /** @default new Date() */
  now?: Date;
}

const PerformanceRows = z.array(
  z
    .object({
      version: z.string(),
      labelledRows: z.number(),
      rows: z.number().optional(),
      metrics: z.record(z.string(), z.number().nullable().optional()).nullable(),
      training: z.object({ metric: z.string().optional(), value: z.number().optional() }).nullable(),
      drop: z.number().nullable(),
    })
    .passthrough(),
);

/** A section with nothing to show, and why. */
class Missing {
  constructor(readonly why: string) {}
}
const missing = (why: string) => new Missing(why);

/** Runs `read`; its failure becomes the section's error, so one unreadable part does not lose the report. */
async function section<T>(read: () => Promise<T | Missing>): Promise<Section<T>> {
  try {
    const value = await read();
    return value instanceof Missing ? { missing: value.why } : { data: value };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** An API answer checked against the route's own response schema. */
function parsed<S extends z.ZodType>(schema: S | undefined, value: unknown, what: string): z.infer<S> {
  if (!schema) throw new Error(`${what}: the route declares no response`);
  const r = schema.safeParse(value);
  if (!r.success)
    throw new Error(
      `${what}: unexpected answer (${r.error.issues
        .slice(0, 2)
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ')})`,
    );
  return r.data;
}

function performanceSection(value: unknown): Section<PerformanceRow[]> {
  if (value === undefined)
    return { missing: 'No performance from delayed labels was given (the performance job’s result).' };
  const rows = PerformanceRows.safeParse(
    value && typeof value === 'object' && 'versions' in value
      ? (value as { versions: unknown }).versions
      : value,
  );
  if (!rows.success) return { error: 'the performance data is not the performance job’s result' };
  return rows.data.length
    ? { data: rows.data as PerformanceRow[] }
    : { missing: 'The performance job scored no version (no labelled predictions in its window).' };
}

/**
 * Reads what the lifecycle report shows through the platform's public APIs only: the runs
 * and the registry through MLflow's REST API (with the registry's change log), the deployment
 * status route, the experiment and its analysis, and the shadow report; the drift reports the
 * monitoring jobs wrote and the performance job's result come from the caller. A section that
 * cannot be read carries the API's message instead of failing the report.
 *
 * @example
 * const data = await loadLifecycleReport({ apiUrl: 'http://127.0.0.1:4566', modelName: 'purchase-propensity', runIds });
 * writeFileSync('lifecycle.html', renderLifecycleReport(data));
 */
export async function loadLifecycleReport(opts: LifecycleReportOptions): Promise<LifecycleReportData> {
  const call: MlflowCall = opts.signer
    ? mlflowCaller(opts.apiUrl, opts.signer)
    : connect(resolveConnection({ apiUrl: opts.apiUrl }));
  const tracking = new TrackingClient(call);
  const registry = new RegistryClient(call);
  const model = opts.modelName;
  const enc = encodeURIComponent;

  const [runs, history, deployments, ab, shadow] = await Promise.all([
    section(async () =>
      opts.runIds?.length ? loadComparison(tracking, opts.runIds) : missing('No runs were named to compare.'),
    ),
    section(async () => {
      const [registered, versions, changes] = await Promise.all([
        registry.getModel(model),
        registry.listVersions(model),
        call('GET', listChanges.path, { name: model }),
      ]);
      const log = parsed(listChanges.response, changes, 'registry changes').changes;
      return {
        model: registered,
        versions: versions.sort((a, b) => Number(a.version) - Number(b.version)),
        changes: [...log].sort((a, b) => a.timestamp - b.timestamp),
      };
    }),
    section(async () =>
      parsed(
        deploymentStatusRoute.response,
        await call('GET', `/v1/deployments/${enc(model)}`),
        'deployment status',
      ),
    ),
    section(async () => {
      if (!opts.abExperimentId) return missing('No A/B test was named.');
      const id = enc(opts.abExperimentId);
      const [experiment, analysis] = await Promise.all([
        call('GET', `/v1/experiments/${id}`),
        call('GET', `/v1/experiments/${id}/analysis`),
      ]);
      return {
        experiment: parsed(z.object({ experiment: ExperimentSchema }), experiment, 'experiment').experiment,
        analysis: parsed(AnalysisReportSchema, analysis, 'A/B analysis'),
      };
    }),
    section(async () => {
      if (!opts.shadowId && !opts.shadowVersion) return missing('No shadow was named.');
      const answer = await call(
        'GET',
        `/v1/models/${enc(opts.shadowId ?? model)}/shadow/report`,
        opts.shadowVersion ? { version: opts.shadowVersion } : undefined,
      );
      return parsed(shadowReportRoute.response, answer, 'shadow report');
    }),
  ]);
  const steps: StepRow[] = (opts.steps ?? []).map((s) => ({
    name: String(s.name),
    outcome: String(s.outcome),
    seconds: Number(s.seconds),
  }));
  return {
    modelName: model,
    apiUrl: opts.apiUrl,
    generatedAt: (opts.now ?? new Date()).toISOString(),
    steps,
    runs,
    registry: history,
    deployments,
    ab,
    shadow,
    drift: (opts.driftReports ?? []).map(driftEntry),
    performance: performanceSection(opts.performance),
  };
}

import { InvalidParameterError } from '../../platform/errors';
import { bind, type RouteBinding } from '../../platform/http/route';
import { storagePrefixOf } from '../artifacts/artifact-paths';
import type { ArtifactService } from '../artifacts/artifact-service';
import type { ExperimentService } from '../domain/experiments';
import { IDEMPOTENCY_HEADER, onceFor } from '../domain/idempotency';
import type { RunSearch } from '../domain/run-search';
import type { RunService } from '../domain/runs';
import type { TrackingStore } from '../store/tracking-store';
import { guardText } from './text-guard';
import * as r from './tracking-routes';
import { experimentJson, metricJson, runJson } from './wire';

export interface TrackingDeps {
  readonly store: TrackingStore;
  readonly experiments: ExperimentService;
  readonly runs: RunService;
  readonly search: RunSearch;
  readonly artifacts: ArtifactService;
}

/** The run id of a request: `run_id`, or the legacy `run_uuid`. */
export function runIdOf(input: { run_id?: string; run_uuid?: string }): string {
  const id = input.run_id || input.run_uuid;
  if (!id) throw new InvalidParameterError("Missing value for required parameter 'run_id'.");
  return id;
}

/** Binds MLflow's tracking endpoints to the domain services; handlers only translate. */
export function trackingBindings(d: TrackingDeps): RouteBinding[] {
  return guardText([
    bind(r.createExperiment, async (req) => ({ experiment_id: await d.experiments.create(req) })),
    bind(r.getExperiment, async (req) => ({
      experiment: experimentJson(await d.experiments.get(req.experiment_id)),
    })),
    bind(r.getExperimentByName, async (req) => ({
      experiment: experimentJson(await d.experiments.getByName(req.experiment_name)),
    })),
    bind(r.searchExperiments, async (req) => {
      const res = await d.experiments.search(req);
      return { experiments: res.experiments.map(experimentJson), next_page_token: res.next_page_token };
    }),
    bind(r.searchExperimentsGet, async (req) => {
      const res = await d.experiments.search(req);
      return { experiments: res.experiments.map(experimentJson), next_page_token: res.next_page_token };
    }),
    bind(r.updateExperiment, async (req) => {
      await d.experiments.rename(req.experiment_id, req.new_name);
      return {};
    }),
    bind(r.deleteExperiment, async (req) => {
      await d.experiments.delete(req.experiment_id);
      return {};
    }),
    bind(r.restoreExperiment, async (req) => {
      await d.experiments.restore(req.experiment_id);
      return {};
    }),
    bind(r.setExperimentTag, async (req) => {
      await d.experiments.setTag(req.experiment_id, req.key, req.value);
      return {};
    }),
    bind(r.createRun, async (req, ctx) => {
      // Each call is a new run, as in MLflow; a retry carrying the same Idempotency-Key is not.
      const key = ctx.headers[IDEMPOTENCY_HEADER];
      const run = await onceFor(
        d.store,
        { endpoint: 'runs/create', caller: ctx.caller, key, request: req },
        () => d.runs.create(req, ctx.caller),
      );
      return { run: runJson(run) };
    }),
    bind(r.getRun, async (req) => ({ run: runJson(await d.runs.get(runIdOf(req))) })),
    bind(r.updateRun, async (req) => {
      const info = await d.runs.update({ ...req, run_id: runIdOf(req) });
      return { run_info: { ...info, run_uuid: info.run_id } };
    }),
    bind(r.deleteRun, async (req) => {
      await d.runs.delete(runIdOf(req));
      return {};
    }),
    bind(r.restoreRun, async (req) => {
      await d.runs.restore(runIdOf(req));
      return {};
    }),
    bind(r.logMetric, async (req) => {
      await d.runs.logBatch(runIdOf(req), { metrics: [req] });
      return {};
    }),
    bind(r.logParam, async (req) => {
      await d.runs.logBatch(runIdOf(req), { params: [req] });
      return {};
    }),
    bind(r.setRunTag, async (req) => {
      await d.runs.logBatch(runIdOf(req), { tags: [req] });
      return {};
    }),
    bind(r.deleteRunTag, async (req) => {
      await d.runs.deleteTag(runIdOf(req), req.key);
      return {};
    }),
    bind(r.logBatch, async (req) => {
      await d.runs.logBatch(runIdOf(req), req);
      return {};
    }),
    bind(r.logInputs, async (req) => {
      await d.runs.logInputs(runIdOf(req), req.datasets ?? []);
      return {};
    }),
    bind(r.searchRuns, async (req) => {
      const res = await d.search.search(req);
      return { runs: res.runs.map(runJson), next_page_token: res.next_page_token };
    }),
    bind(r.getMetricHistory, async (req) => {
      const res = await d.runs.history({ ...req, run_id: runIdOf(req) });
      return { metrics: res.metrics.map(metricJson), next_page_token: res.next_page_token };
    }),
    bind(r.listArtifacts, async (req) => {
      const run = await d.runs.get(runIdOf(req));
      const root = storagePrefixOf(run.info.artifact_uri, d.artifacts.bucket);
      if (!root) return { root_uri: run.info.artifact_uri, files: [] };
      return { root_uri: run.info.artifact_uri, files: await d.artifacts.listUnder(root, req.path) };
    }),
  ]);
}

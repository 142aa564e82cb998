import { randomUUID } from 'node:crypto';
import { NotFoundError } from '../../platform/errors';
import { bind, type RouteBinding } from '../../platform/http/route';
import type { ObjectStore } from '../../platform/object-store';
import { type ModelLoaderDeps, resolvePin } from '../domain/served-model';
import { checkJobLocations, pinOf } from './job';
import { batchScoringStatusRoute, startBatchScoringRoute } from './routes';

/** An execution of the batch-scoring workflow as the API sees it. */
export interface BatchExecution {
  readonly status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';
  readonly startDate?: string;
  readonly stopDate?: string;
  readonly output?: string;
  readonly error?: string;
  readonly cause?: string;
}

/** The workflow port: start an execution by name, describe one by name. */
export interface BatchWorkflow {
  start(name: string, input: unknown): Promise<{ executionArn: string }>;
  describe(name: string): Promise<BatchExecution | undefined>;
}

export interface BatchApiDeps {
  readonly registry: ModelLoaderDeps['registry'];
  readonly store: ObjectStore;
  readonly workBucket: string;
  readonly inputBuckets: readonly string[];
  readonly workflow: BatchWorkflow;
}

/** The batch-scoring API: start a job, read its status and manifest. */
export function batchScoringBindings(d: BatchApiDeps): RouteBinding[] {
  return [
    bind(startBatchScoringRoute, async (req) => {
      // Refused here with a 4xx (no such model, version or alias; input missing; output
      // outside the writable prefix) rather than as a failed execution; the plan step checks again.
      const pin = pinOf(req);
      const { input } = checkJobLocations(req, d);
      await resolvePin(d.registry, pin);
      if (!(await d.store.head(input.bucket, input.key)))
        throw new NotFoundError(`input ${req.input} does not exist`);
      const id = `batch-${req.model.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40)}-${Date.now()}-${randomUUID().slice(0, 8)}`;
      const { executionArn } = await d.workflow.start(id, { request: req });
      return {
        id,
        execution_arn: executionArn,
        model: req.model,
        ...(req.version ? { version: req.version } : {}),
        ...(req.alias ? { alias: req.alias } : {}),
        output: req.output,
      };
    }),
    bind(batchScoringStatusRoute, async (req) => {
      const e = await d.workflow.describe(req.id);
      if (!e) throw new NotFoundError(`No batch-scoring job '${req.id}'`);
      let manifest: Record<string, unknown> | undefined;
      if (e.status === 'SUCCEEDED' && e.output) {
        const out = JSON.parse(e.output) as { manifest?: Record<string, unknown> };
        manifest = out.manifest;
      }
      return {
        id: req.id,
        status: e.status,
        ...(e.startDate ? { started_at: e.startDate } : {}),
        ...(e.stopDate ? { stopped_at: e.stopDate } : {}),
        ...(manifest ? { manifest } : {}),
        ...(e.status !== 'RUNNING' && e.status !== 'SUCCEEDED'
          ? { error: { error: e.error ?? e.status, cause: (e.cause ?? '').slice(0, 2000) } }
          : {}),
      };
    }),
  ];
}

import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FeatureRepo } from '../../features/definitions/repo';
import type { DuckDbEngine } from '../../features/offline/duckdb-engine';
import { buildTrainingSet } from '../../features/offline/training-set';
import { InvalidParameterError } from '../../platform/errors';
import type { ObjectStore } from '../../platform/object-store';
import { loadServedModel, type ModelLoaderDeps } from '../domain/served-model';
import { type BatchModelRef, pinOf } from './job';
import { type BatchProgress, openInput, type RowRange, type ScoreFileResult, scoreFile } from './score-file';

export interface BatchScoreRequest extends BatchModelRef {
  readonly input: string;
  readonly output: string;
  readonly batchSize?: number;
  readonly keys?: readonly string[];
  /** Join the input's entity keys and event timestamps to this feature service's features, point in time. */
  readonly featureService?: string;
  /** Event timestamp column of the entity rows. @default 'event_timestamp' */
  readonly timestampColumn?: string;
  readonly range?: RowRange;
  readonly progress?: (p: BatchProgress) => void;
  /** Messages from the feature join. */
  readonly log?: (message: string) => void;
}

/** What a batch run needs: the registry and artifacts (as serving loads models), DuckDB, the feature store. */
export interface BatchScoreDeps {
  readonly models: Omit<ModelLoaderDeps, 'variant'>;
  readonly engine: DuckDbEngine;
  /** The offline store, for `featureService`. */
  readonly features?: {
    readonly repo: () => Promise<FeatureRepo>;
    readonly store: ObjectStore;
    readonly bucket: string;
  };
}

export interface BatchScoreResult extends ScoreFileResult {
  readonly model: string;
  readonly version: string;
}

/**
 * Scores a file with a registered version or alias, resolved and loaded as serving loads
 * it (so a version that is not READY, or whose files do not load, is refused). With a
 * feature service, the input is entity rows: they are joined to features point in time by
 * the training-set builder (the same query plan training sets use) into a temporary
 * Parquet file, which is scored with the entity rows' columns as keys.
 *
 * @example
 * await batchScore(deps, { model: 'churn', alias: 'champion', input: 'rows.csv', output: 'scores.parquet' });
 */
export async function batchScore(deps: BatchScoreDeps, req: BatchScoreRequest): Promise<BatchScoreResult> {
  const pin = pinOf(req);
  const model = await loadServedModel({ ...deps.models, variant: 'batch' }, pin);
  try {
    const base = {
      output: req.output,
      ...(req.batchSize !== undefined ? { batchSize: req.batchSize } : {}),
      ...(req.range ? { range: req.range } : {}),
      ...(req.progress ? { progress: req.progress } : {}),
    };
    if (!req.featureService) {
      const r = await scoreFile(deps.engine, model, {
        ...base,
        input: req.input,
        ...(req.keys ? { keys: req.keys } : {}),
      });
      return { ...r, model: model.name, version: model.version };
    }
    if (!deps.features)
      throw new InvalidParameterError('this runtime has no feature store to join features from');
    const entityColumns = (await openInput(deps.engine, req.input)).columns.map((c) => c.name);
    const joined = join(tmpdir(), `mlops-batch-${randomUUID()}.parquet`);
    try {
      await buildTrainingSet(
        {
          repo: await deps.features.repo(),
          engine: deps.engine,
          store: deps.features.store,
          bucket: deps.features.bucket,
          ...(req.log ? { progress: req.log } : {}),
        },
        {
          entityRows: req.input,
          featureService: req.featureService,
          output: joined,
          ...(req.timestampColumn ? { timestampColumn: req.timestampColumn } : {}),
        },
      );
      const r = await scoreFile(deps.engine, model, {
        ...base,
        input: joined,
        keys: req.keys ?? entityColumns,
      });
      return { ...r, model: model.name, version: model.version };
    } finally {
      await rm(joined, { force: true });
    }
  } finally {
    await model.scorer.release();
  }
}

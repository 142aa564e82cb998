import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadRegistryRepo } from '../../features/definitions/feature-registry-store';
import { ingestBatch } from '../../features/ingestion/ingest';
import { DuckDbEngine } from '../../features/offline/duckdb-engine';
import { fileFormat } from '../../features/offline/entity-rows';
import { literal, q } from '../../features/offline/render-sql';
import { InvalidParameterError, MlopsError, NotFoundError } from '../../platform/errors';
import type { PipelineState, TaskEvent, TrainingSetRef } from '../contract';
import { localFile, type PipelineDeps, scratchDir } from '../deps';

/** A batch failed its checks: the pipeline stops, the report is in quarantine. */
export class DataValidationError extends MlopsError {
  constructor(message: string) {
    super('INVALID_PARAMETER_VALUE', message);
  }
}

async function repoOf(deps: PipelineDeps) {
  const repo = await loadRegistryRepo(deps.store, deps.bucket);
  if (!repo) throw new NotFoundError('No feature registry: run `mlops features apply --repo <dir>` first');
  return repo;
}

/**
 * Validates and ingests the newest raw batches named in the input, with the same checks
 * as `mlops features ingest`. A failing batch is quarantined with its report and stops the
 * pipeline, so nothing trains on data that broke its expectations. Re-ingesting a batch
 * that already landed is a no-op (batch ids come from content).
 */
export async function validateData(
  deps: PipelineDeps,
  event: TaskEvent<PipelineState>,
): Promise<NonNullable<PipelineState['data']>> {
  const { input } = event.state;
  const ingested: { source: string; batchId: string; rows: number; status: string }[] = [];
  if (input.landing.length === 0) return { ingested };
  const repo = await repoOf(deps);
  const engine = await DuckDbEngine.create();
  try {
    for (const batch of input.landing) {
      const file = await localFile(deps, batch.key);
      const r = await ingestBatch(
        { repo, engine, store: deps.store, bucket: deps.bucket, progress: deps.progress },
        {
          source: batch.source,
          file,
        },
      );
      if (r.status === 'quarantined') {
        const failed = r.report.checks.filter((c) => !c.passed).map((c) => c.message ?? c.check);
        throw new DataValidationError(
          `Batch '${batch.key}' of source '${batch.source}' failed validation (${failed.slice(0, 3).join('; ')}); report: ${r.reportKey}`,
        );
      }
      ingested.push({ source: batch.source, batchId: r.batchId, rows: r.rows, status: r.status });
    }
  } finally {
    engine.close();
  }
  return { ingested };
}

/**
 * Builds the point-in-time training set for the input's entity rows (filtered to its time
 * window) and feature service, stores it under `training-sets/<execution>/`, and records
 * its content digest on the parent run as the dataset version. An empty window fails here,
 * before any training.
 */
export async function buildPipelineTrainingSet(
  deps: PipelineDeps,
  event: TaskEvent<PipelineState>,
): Promise<TrainingSetRef> {
  const { input, run } = event.state;
  const repo = await repoOf(deps);
  const rowsFile = await localFile(deps, input.entityRows);
  const scratch = await scratchDir();
  const engine = await DuckDbEngine.create();
  try {
    const format = fileFormat(rowsFile, 'entity rows');
    const reader =
      format === 'csv' ? `read_csv_auto(${literal(rowsFile)})` : `read_parquet(${literal(rowsFile)})`;
    const ts = q(input.timestampColumn);
    const conditions: string[] = [];
    if (input.window?.start)
      conditions.push(`CAST(${ts} AS TIMESTAMPTZ) >= CAST(${literal(input.window.start)} AS TIMESTAMPTZ)`);
    if (input.window?.end)
      conditions.push(`CAST(${ts} AS TIMESTAMPTZ) < CAST(${literal(input.window.end)} AS TIMESTAMPTZ)`);
    const windowed = join(scratch, `entity-rows.${format}`);
    // Keep the file's row order: the training set follows it, and the time split reads it.
    await engine.write(
      `SELECT * FROM ${reader}${conditions.length ? ` WHERE ${conditions.join(' AND ')}` : ''}`,
      windowed,
      format,
    );
    const [count] = await engine.query(
      `SELECT COUNT(*)::INTEGER AS n FROM ${format === 'csv' ? `read_csv_auto(${literal(windowed)})` : `read_parquet(${literal(windowed)})`}`,
    );
    if (!count || Number(count['n']) === 0) {
      throw new InvalidParameterError(
        `Empty data window: no entity rows in '${input.entityRows}' between ${input.window?.start ?? 'the beginning'} and ${input.window?.end ?? 'now'}`,
      );
    }
    const entityColumns = new Set(
      (await engine.query(`DESCRIBE SELECT * FROM ${reader}`)).map((r) => String(r['column_name'])),
    );
    const output = join(scratch, 'training-set.parquet');
    const request = {
      entityRows: windowed,
      timestampColumn: input.timestampColumn,
      featureService: input.featureService,
      output,
    };
    // The composition root picks the engine: DuckDB over local files, or Athena over S3.
    // Both run the one query plan, in their own dialect.
    const result = await deps.trainingSets(
      { repo, engine, store: deps.store, bucket: deps.bucket, progress: deps.progress },
      { ...request, id: event.execution.name },
    );
    const key = `training-sets/${event.execution.name}/training-set.parquet`;
    await deps.store.put(deps.bucket, key, await readFile(output), {
      contentType: 'application/vnd.apache.parquet',
    });
    const recorder = deps.tracking.recorder(run.runId, run.experimentId);
    await recorder.setTags({
      'mlops.dataset.digest': result.digest,
      'mlops.dataset.uri': deps.store.uri(deps.bucket, key),
      'mlops.dataset.rows': String(result.rows),
    });
    return {
      key,
      digest: result.digest,
      rows: result.rows,
      columns: result.columns,
      featureColumns: result.columns.filter((c) => !entityColumns.has(c)),
    };
  } finally {
    engine.close();
  }
}

import { isAbsolute, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { cliAction } from '../platform/cli-action';
import { InvalidStateError } from '../platform/errors';
import { FsObjectStore } from '../platform/fs-object-store';
import type { ObjectStore } from '../platform/object-store';
import { athenaBackend, athenaSettings } from './athena/athena-backend';
import { buildTrainingSetOnAthena } from './athena/athena-training-set';
import { applyCatalog } from './athena/table-catalog';
import { loadRegistryRepo, readRegistry, writeRegistry } from './definitions/feature-registry-store';
import { diffDefinitions, formatChange } from './definitions/plan-diff';
import { buildRepo, type FeatureRepo } from './definitions/repo';
import { loadRepo } from './definitions/repo-loader';
import { ingestBatch } from './ingestion/ingest';
import { DuckDbEngine } from './offline/duckdb-engine';
import { buildTrainingSet } from './offline/training-set';

/** The local bucket holding the registry, the offline store and quarantined batches. */
export const FEATURES_BUCKET = 'features';

interface Common {
  dataDir: string;
  athena?: boolean;
}

/**
 * Adds `features plan | apply | ingest | training-set` to the `mlops` CLI. Locally the store
 * is `<data-dir>/s3/features`. User mistakes print their message (no stack) and exit 1.
 *
 * @example
 * const program = new Command('mlops');
 * registerFeatureCommands(program);
 * @returns the `features` command, so other modules can add subcommands to it.
 */
export function registerFeatureCommands(program: Command): Command {
  const features = program
    .command('features')
    .description('feature store: definitions, ingestion, training sets');
  const withData = (c: Command) =>
    c
      .option('--data-dir <dir>', 'local data folder', '.mlops')
      .option(
        '--athena',
        'use the AWS feature store (S3, Glue, Athena) named by MLOPS_ATHENA_WORKGROUP, MLOPS_FEATURES_DATABASE, MLOPS_FEATURES_BUCKET',
      );

  withData(features.command('plan').description('show what apply would change'))
    .requiredOption('--repo <dir>', 'feature repo folder (*.ts, *.yaml, *.yml, *.json)')
    .action(
      cliAction(async (o: Common & { repo: string }) => {
        const repo = await loadRepo(o.repo);
        const { store, bucket } = storeOf(o);
        const stored = await readRegistry(store, bucket);
        const changes = diffDefinitions(stored?.definitions, repo.definitions);
        console.log(changes.length ? changes.map(formatChange).join('\n') : 'No changes.');
      }),
    );

  withData(features.command('apply').description('validate the repo and store it as the registry'))
    .requiredOption('--repo <dir>', 'feature repo folder')
    .action(
      cliAction(async (o: Common & { repo: string }) => {
        const repo = await loadRepo(o.repo);
        const { store, bucket } = storeOf(o);
        const previous = await loadRegistryRepo(store, bucket);
        const stored = await readRegistry(store, bucket);
        const changes = diffDefinitions(stored?.definitions, repo.definitions);
        if (changes.length === 0 && stored) {
          console.log(`No changes; registry stays at version ${stored.serial}.`);
        } else {
          const doc = await writeRegistry(store, bucket, repo, stored?.serial ?? 0);
          console.log(`${changes.map(formatChange).join('\n')}\nApplied registry version ${doc.serial}.`);
        }
        const settings = athenaSettings(o.athena);
        if (settings) {
          // Idempotent: also repairs tables missing from an earlier apply.
          const c = await applyCatalog(
            athenaBackend(settings).catalog,
            repo,
            previous,
            bucket,
            settings.database,
          );
          console.log(
            `Glue tables in ${settings.database}: ${c.upserts.length} created or updated, ${c.drops.length} dropped.`,
          );
        }
      }),
    );

  withData(features.command('ingest').description('check a batch and write it to the offline store'))
    .requiredOption('--source <name>', 'source the batch belongs to')
    .option('--file <path>', "CSV or Parquet batch (default: a file source's own path)")
    .option('--repo <dir>', "repo folder, to resolve a file source's relative path")
    .action(
      cliAction(async (o: Common & { source: string; file?: string; repo?: string }) => {
        const { store, bucket } = storeOf(o);
        const repo = await registryRepo(store, bucket);
        const src = repo.sources.get(o.source);
        let file = o.file;
        if (!file && src?.kind === 'file')
          file = isAbsolute(src.path) ? src.path : join(o.repo ?? '.', src.path);
        if (!file) throw new InvalidStateError(`source '${o.source}' is a push source: pass --file <path>`);
        const engine = await DuckDbEngine.create();
        try {
          const r = await ingestBatch({ repo, engine, store, bucket, progress }, { source: o.source, file });
          if (r.status === 'quarantined') {
            const failed = r.report.checks.filter((c) => !c.passed);
            console.error(`Batch ${r.batchId} rejected and quarantined (${store.uri(bucket, r.reportKey)}):`);
            for (const c of failed)
              console.error(`  ${c.check}${c.column ? ` ${c.column}` : ''}: ${c.message}`);
            process.exitCode = 1;
          } else console.log(`Batch ${r.batchId}: ${r.status} (${r.rows} rows) into ${r.views.join(', ')}.`);
        } finally {
          engine.close();
        }
      }),
    );

  withData(features.command('training-set').description('build a point-in-time correct training set'))
    .requiredOption('--entity-rows <file>', 'CSV or Parquet entity rows (join keys, event timestamp, labels)')
    .requiredOption('--output <file>', 'output .csv or .parquet')
    .option('--repo <dir>', 'repo folder (needed for on-demand features; must match the applied registry)')
    .option('--features <refs>', 'comma-separated view:feature references')
    .option('--feature-service <name>', 'feature service to use instead of --features')
    .option('--timestamp-column <name>', 'event timestamp column of the entity rows', 'event_timestamp')
    .option('--full-feature-names', 'name outputs view__feature')
    .option('--id <id>', 'with --athena: folder under training-sets/ (default: time and a random suffix)')
    .action(
      cliAction(async (o: Common & TrainingOpts) => {
        if (!o.features === !o.featureService)
          throw new InvalidStateError('pass exactly one of --features or --feature-service');
        const { store, bucket } = storeOf(o);
        const repo = o.repo
          ? await repoMatchingRegistry(store, bucket, o.repo)
          : await registryRepo(store, bucket);
        const settings = athenaSettings(o.athena);
        const engine = await DuckDbEngine.create();
        try {
          const t0 = performance.now();
          const request = {
            entityRows: o.entityRows,
            output: o.output,
            timestampColumn: o.timestampColumn,
            fullFeatureNames: o.fullFeatureNames ?? false,
            ...(o.features
              ? {
                  features: o.features
                    .split(',')
                    .map((s) => s.trim())
                    .filter(Boolean),
                }
              : {}),
            ...(o.featureService ? { featureService: o.featureService } : {}),
          };
          if (settings) {
            const b = athenaBackend(settings);
            const r = await buildTrainingSetOnAthena(
              {
                repo,
                engine,
                store,
                bucket,
                database: settings.database,
                catalog: b.catalog,
                athena: b.athena,
                progress,
              },
              { ...request, ...(o.id ? { id: o.id } : {}) },
            );
            console.log(
              `Wrote ${r.rows} rows x ${r.columns.length} columns to ${r.dataUri} and ${resolve(r.output)} in ${((performance.now() - t0) / 1000).toFixed(2)} s\ndigest ${r.digest}`,
            );
            return;
          }
          const r = await buildTrainingSet({ repo, engine, store, bucket, progress }, request);
          console.log(
            `Wrote ${r.rows} rows x ${r.columns.length} columns to ${resolve(r.output)} in ${((performance.now() - t0) / 1000).toFixed(2)} s\ndigest ${r.digest}`,
          );
        } finally {
          engine.close();
        }
      }),
    );
  return features;
}

interface TrainingOpts {
  entityRows: string;
  output: string;
  repo?: string;
  features?: string;
  featureService?: string;
  timestampColumn: string;
  fullFeatureNames?: boolean;
  id?: string;
}

/** The local data dir's store, or the AWS features bucket with --athena. */
function storeOf(o: Common): { store: ObjectStore; bucket: string } {
  const settings = athenaSettings(o.athena);
  if (settings) return { store: athenaBackend(settings).store, bucket: settings.bucket };
  return { store: new FsObjectStore(join(o.dataDir, 's3')), bucket: FEATURES_BUCKET };
}

function progress(message: string): void {
  console.error(`... ${message}`);
}

async function registryRepo(store: ObjectStore, bucket: string): Promise<FeatureRepo> {
  const doc = await readRegistry(store, bucket);
  if (!doc)
    throw new InvalidStateError('no feature registry yet: run `mlops features apply --repo <dir>` first');
  return buildRepo({ file: doc.definitions });
}

/** The repo from disk (with its transforms), refused when it differs from what was applied. */
async function repoMatchingRegistry(store: ObjectStore, bucket: string, dir: string): Promise<FeatureRepo> {
  const repo = await loadRepo(dir);
  const doc = await readRegistry(store, bucket);
  const changes = diffDefinitions(doc?.definitions, repo.definitions);
  if (!doc || changes.length > 0) {
    throw new InvalidStateError(
      `the repo differs from the applied registry (${changes.map(formatChange).join('; ') || 'none applied'}): run \`mlops features apply --repo ${dir}\` first`,
    );
  }
  return repo;
}

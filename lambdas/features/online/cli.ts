import { join } from 'node:path';
import type { Command } from 'commander';
import { localDynamoClients, startDynamoDb } from '../../../local/engines/dynamodb';
import { cliAction } from '../../platform/cli-action';
import { InvalidParameterError, InvalidStateError } from '../../platform/errors';
import { FsObjectStore } from '../../platform/fs-object-store';
import { loadRegistryRepo } from '../definitions/feature-registry-store';
import { DuckDbEngine } from '../offline/duckdb-engine';
import { DynamoOnlineTable, ensureOnlineTable } from './dynamo-online-table';
import {
  type MaterializeDeps,
  type MaterializeSummary,
  materialize,
  materializeIncremental,
} from './materialize';

/** The local names the platform template gives the features bucket and the online table. */
const BUCKET = 'features';
const TABLE = 'features-online';

interface Common {
  dataDir: string;
  views?: string;
}

/**
 * Adds `materialize` and `materialize-incremental` to `mlops features`: they run on the local
 * data dir (the offline store under `<data-dir>/s3/features`, the online table in the data
 * dir's dynalite, started in-process for the command), print progress to stderr and one
 * summary line per view to stdout. User mistakes print their message and exit 1.
 *
 * @example
 * const features = registerFeatureCommands(program);
 * registerOnlineFeatureCommands(features);
 */
export function registerOnlineFeatureCommands(features: Command): Command {
  const common = (c: Command) =>
    c
      .option('--views <names>', 'comma-separated feature views (default: every view)')
      .option('--data-dir <dir>', 'local data folder', '.mlops');

  common(
    features
      .command('materialize')
      .description('load the latest feature values of a time window into the online store'),
  )
    .requiredOption('--start <time>', 'window start, ISO 8601 with a zone (2024-05-01T00:00:00Z)')
    .requiredOption('--end <time>', 'window end, ISO 8601 with a zone')
    .action(
      cliAction(async (o: Common & { start: string; end: string }) => {
        const start = micros('--start', o.start);
        const end = micros('--end', o.end);
        if (end < start) throw new InvalidParameterError(`--end ${o.end} is before --start ${o.start}`);
        const summary = await withDeps(o.dataDir, (deps) => materialize(deps, { start, end, ...viewsOf(o) }));
        print(summary);
      }),
    );

  common(
    features
      .command('materialize-incremental')
      .description('materialize each view from where its last run ended (its watermark) up to --end'),
  )
    .requiredOption('--end <time>', 'window end, ISO 8601 with a zone')
    .action(
      cliAction(async (o: Common & { end: string }) => {
        const end = micros('--end', o.end);
        const summary = await withDeps(o.dataDir, (deps) =>
          materializeIncremental(deps, { end, ...viewsOf(o) }),
        );
        print(summary);
      }),
    );
  return features;
}

/** Runs `fn` with the data dir's registry, DuckDB and online table; the engines stop afterwards. */
async function withDeps<T>(dataDir: string, fn: (deps: MaterializeDeps) => Promise<T>): Promise<T> {
  const store = new FsObjectStore(join(dataDir, 's3'));
  const repo = await loadRegistryRepo(store, BUCKET);
  if (!repo)
    throw new InvalidStateError('no feature registry yet: run `mlops features apply --repo <dir>` first');
  const path = join(dataDir, 'dynamodb');
  progress(`opening the online store in ${path}`);
  const ddb = await startDynamoDb({ path }).catch((err: Error) => {
    throw new InvalidStateError(
      `cannot open ${path}: ${err.message}. Is 'mlops up' using this data dir? Stop it, or materialize through it.`,
    );
  });
  const { client, doc } = localDynamoClients(ddb.endpoint);
  const engine = await DuckDbEngine.create();
  try {
    await ensureOnlineTable(client, TABLE);
    return await fn({
      repo,
      engine,
      store,
      bucket: BUCKET,
      table: new DynamoOnlineTable(doc, TABLE),
      progress,
    });
  } finally {
    engine.close();
    client.destroy();
    await ddb.close();
  }
}

/** An ISO 8601 time with a zone as epoch microseconds; anything else names the option. */
function micros(option: string, text: string): number {
  const ms = /(Z|[+-]\d{2}:?\d{2})$/i.test(text.trim()) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new InvalidParameterError(
      `${option} '${text}' is not an ISO 8601 time with a zone; write e.g. 2024-05-01T00:00:00Z`,
    );
  }
  return ms * 1000;
}

function viewsOf(o: Common): { views?: string[] } {
  if (o.views === undefined) return {};
  const views = o.views
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  if (views.length === 0) throw new InvalidParameterError('--views is empty; name at least one feature view');
  return { views };
}

function print(summary: MaterializeSummary): void {
  for (const v of summary.views) {
    console.log(
      `${v.view}: ${v.keys} key(s) in ${v.start} .. ${v.end}, ${v.written} written, ${v.skipped} unchanged, ${v.chunks} chunk(s)`,
    );
  }
}

function progress(message: string): void {
  console.error(`... ${message}`);
}

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  loadRegistryRepo,
  readRegistry,
  writeRegistry,
} from '../../lambdas/features/definitions/feature-registry-store';
import { diffDefinitions } from '../../lambdas/features/definitions/plan-diff';
import { loadRepo } from '../../lambdas/features/definitions/repo-loader';
import { ingestBatch } from '../../lambdas/features/ingestion/ingest';
import { DuckDbEngine } from '../../lambdas/features/offline/duckdb-engine';
import { buildTrainingSet } from '../../lambdas/features/offline/training-set';
import { FsObjectStore } from '../../lambdas/platform/fs-object-store';
import { generateStoryData } from '../demo/generate';
import { DEMO_REPO } from '../start';
import { type StoryContext, StoryStepError } from './context';
import { ENTITY_ROWS_KEY } from './train';

const BUCKET = 'features';

function storeOf(ctx: StoryContext) {
  return new FsObjectStore(join(ctx.rt.dataDir, 's3'));
}

/** Generates the dataset (reference period, a bad batch, the shifted period) for the seed. */
export async function generate(ctx: StoryContext): Promise<void> {
  const data = await generateStoryData(join(ctx.rt.dataDir, 'demo'), {
    users: ctx.options.users,
    days: ctx.options.days,
    seed: ctx.options.seed,
  });
  ctx.facts.data = data;
  const c = data.counts;
  ctx.say(
    `reference period: ${c.users} users, ${c.purchases} purchases over ${ctx.options.days} days to ${data.end.toISOString().slice(0, 10)}, ${c.entityRows} labelled rows (${(100 * c.positiveRate).toFixed(1)}% buy within 7 days)`,
  );
  ctx.say(
    `shifted period (held back for later): ${c.cohort} campaign users, ${c.shiftedPurchases} purchases, ${c.shiftedEntityRows} more labelled rows`,
  );
  ctx.say(`files in ${join(ctx.rt.dataDir, 'demo')} (seed ${ctx.options.seed})`);
}

/**
 * Applies the demo feature repo (local/demo/repo) to the registry, as `mlops features apply`
 * does, and builds one point-in-time training set with the on-demand feature from the repo's code.
 */
export async function applyRepo(ctx: StoryContext): Promise<void> {
  const store = storeOf(ctx);
  const repo = await loadRepo(DEMO_REPO);
  const stored = await readRegistry(store, BUCKET);
  const changes = diffDefinitions(stored?.definitions, repo.definitions);
  if (changes.length || !stored) {
    const doc = await writeRegistry(store, BUCKET, repo, stored?.serial ?? 0);
    ctx.say(`applied ${DEMO_REPO} → registry version ${doc.serial} (${changes.length} change(s))`);
  } else ctx.say(`registry already at version ${stored.serial}: no changes`);
  const views = [...repo.views.values()].map(
    (v) =>
      `${v.def.name} (${[...v.def.features.map((f) => f.name), ...(v.def.aggregations ?? []).map((a) => a.name)].join(', ')})`,
  );
  ctx.say(`feature views: ${views.join('; ')}`);
  ctx.say(
    `on-demand: ${[...repo.onDemand.keys()].join(', ')}; services: ${[...repo.services.keys()].join(', ')}`,
  );
}

/**
 * Ingests batches as `mlops features ingest` does (schema and expectation checks first): the
 * reference period's users and purchases, and a bad export, which is quarantined with its report.
 */
export async function ingestReference(ctx: StoryContext): Promise<void> {
  const data = ctx.facts.data;
  if (!data) throw new StoryStepError('ingest', 'no generated data');
  await ingestFiles(ctx, [
    { source: 'users', file: data.reference.users },
    { source: 'purchases', file: data.reference.purchases },
    { source: 'purchases', file: data.badBatch, expectQuarantine: true },
  ]);
  // The labels of the reference period, where the pipeline's rules read them.
  await storeOf(ctx).put(BUCKET, ENTITY_ROWS_KEY, await readFile(data.reference.entityRows));
  ctx.say(`labelled entity rows → s3://features/${ENTITY_ROWS_KEY}`);
}

export async function ingestFiles(
  ctx: StoryContext,
  batches: { source: string; file: string; expectQuarantine?: boolean }[],
): Promise<void> {
  const store = storeOf(ctx);
  const repo = await loadRegistryRepo(store, BUCKET);
  if (!repo) throw new StoryStepError('ingest', 'no feature registry');
  const engine = await DuckDbEngine.create();
  try {
    for (const b of batches) {
      const r = await ingestBatch(
        { repo, engine, store, bucket: BUCKET },
        { source: b.source, file: b.file },
      );
      const name = b.file.split('/').pop();
      if (r.status === 'quarantined') {
        const failed = r.report.checks.filter((c) => !c.passed);
        const reason = failed
          .slice(0, 3)
          .map((c) => `${c.check}${c.column ? ` ${c.column}` : ''}: ${c.message}`)
          .join('; ');
        const reportPath = join(ctx.rt.dataDir, 's3', BUCKET, r.reportKey);
        ctx.say(`✗ ${name} (${b.source}) QUARANTINED: ${reason}`);
        ctx.say(`  report: ${reportPath}`);
        if (!b.expectQuarantine)
          throw new StoryStepError('ingest', `batch ${name} was quarantined: ${reason}`);
        ctx.facts.quarantine = { reportKey: r.reportKey, reportPath, reason };
      } else {
        ctx.say(`✓ ${name} (${b.source}): ${r.status}, ${r.rows} rows into ${r.views.join(', ')}`);
        if (b.expectQuarantine)
          throw new StoryStepError('ingest', `the bad batch ${name} passed validation (${r.status})`);
      }
    }
  } finally {
    engine.close();
  }
}

/**
 * Materializes every view into the online store by running the template's materialization
 * state machine over the whole history (the window aggregations need their events online).
 */
export async function materialize(ctx: StoryContext, step: string): Promise<void> {
  const machine = ctx.rt.stepFunctions.find('Materialization').logicalId;
  const days = ctx.options.days + 120;
  const end = Date.now();
  ctx.say(`running the materialization state machine over the last ${days} days…`);
  const r = await ctx.rt.stepFunctions.run(machine, {
    name: `story-materialize-${end}`,
    input: { action: 'plan', start: (end - days * 86_400_000) * 1000, end: end * 1000 } as never,
  });
  if (r.status !== 'SUCCEEDED')
    throw new StoryStepError(
      step,
      `materialization ${r.status}: ${r.error?.Error}: ${String(r.error?.Cause)}`,
    );
  // biome-ignore lint/suspicious/noExplicitAny: the execution's output is read field by field
  const runs = ((r.output as any)?.plan?.runs ?? []) as { view: string; keys?: number }[];
  ctx.say(
    `materialization state machine SUCCEEDED: ${runs.map((v) => v.view).join(', ') || 'every view'} → DynamoDB online table`,
  );
}

/** A training set with the on-demand feature, built point in time from the repo's code (`training-set --repo`). */
export async function onDemandTrainingSet(ctx: StoryContext): Promise<void> {
  const data = ctx.facts.data;
  if (!data) return;
  const store = storeOf(ctx);
  const repo = await loadRepo(DEMO_REPO);
  const engine = await DuckDbEngine.create();
  try {
    const output = join(ctx.rt.dataDir, 'demo', 'training-set-basket.parquet');
    const r = await buildTrainingSet(
      { repo, engine, store, bucket: BUCKET },
      {
        entityRows: data.reference.entityRows,
        featureService: 'purchase_propensity_basket',
        timestampColumn: 'event_timestamp',
        output,
      },
    );
    const [row] = await engine.query(
      `SELECT avg(basket_vs_30d_average)::DOUBLE AS m, count(basket_vs_30d_average)::INTEGER AS n FROM read_parquet('${output.replaceAll("'", "''")}')`,
    );
    ctx.say(
      `point-in-time training set with the on-demand feature: ${r.rows} rows, basket_vs_30d_average present on ${row?.n} (mean ${Number(row?.m).toFixed(2)}) → ${output}`,
    );
  } finally {
    engine.close();
  }
}

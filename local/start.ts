import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { readRegistry, writeRegistry } from '../lambdas/features/definitions/feature-registry-store';
import { diffDefinitions } from '../lambdas/features/definitions/plan-diff';
import { loadRepo } from '../lambdas/features/definitions/repo-loader';
import { FsObjectStore } from '../lambdas/platform/fs-object-store';
import { resolvePlatformConfig } from '../lib/config';
import { generateDemoData } from './demo/generate';
import { runPipeline } from './pipeline';
import type { LocalRuntime } from './runtime';

export const DEMO_REPO = resolve(new URL('./demo/repo', import.meta.url).pathname);

export interface DemoSeed {
  readonly landing: { source: string; key: string }[];
  readonly entityRows: string;
  readonly counts: Awaited<ReturnType<typeof generateDemoData>>['counts'];
}

/**
 * Puts the demo's data where the pipeline reads it (raw batches under `landing/`, entity
 * rows under `labels/`) and applies the demo feature repo to the registry.
 */
export async function seedDemo(
  rt: LocalRuntime,
  options: { users?: number; seed?: number; progress?: (m: string) => void } = {},
): Promise<DemoSeed> {
  const progress = options.progress ?? (() => undefined);
  const store = new FsObjectStore(join(rt.dataDir, 's3'));
  const dir = join(rt.dataDir, 'demo');
  const data = await generateDemoData(dir, { users: options.users, seed: options.seed });
  progress(
    `generated ${data.counts.users} users, ${data.counts.purchases} purchases, ${data.counts.entityRows} labelled rows (${(100 * data.counts.positiveRate).toFixed(1)}% buy within 7 days)`,
  );
  const tag = `seed-${options.seed ?? 42}-users-${data.counts.users}`;
  const landing = [
    { source: 'users', key: `landing/users/${tag}.csv` },
    { source: 'purchases', key: `landing/purchases/${tag}.csv` },
  ];
  await store.put('features', landing[0]!.key, await readFile(data.users));
  await store.put('features', landing[1]!.key, await readFile(data.purchases));
  const entityRows = `labels/${tag}.parquet`;
  await store.put('features', entityRows, await readFile(data.entityRows));
  const repo = await loadRepo(DEMO_REPO);
  const stored = await readRegistry(store, 'features');
  const changes = diffDefinitions(stored?.definitions, repo.definitions);
  if (changes.length || !stored) {
    const doc = await writeRegistry(store, 'features', repo, stored?.serial ?? 0);
    progress(`applied the feature repo (registry version ${doc.serial}, ${changes.length} change(s))`);
  } else progress(`feature registry up to date (version ${stored.serial})`);
  return { landing, entityRows, counts: data.counts };
}

/** The pipeline input for the demo, from the platform configuration's pipeline defaults. */
export function demoInput(seed: DemoSeed, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const p = resolvePlatformConfig({}).pipeline;
  return {
    trigger: 'manual',
    reason: 'npm start',
    featureService: p.featureService,
    entityRows: seed.entityRows,
    label: p.label,
    landing: seed.landing,
    modelName: p.modelName,
    training: { algorithm: p.algorithm, strategy: p.strategy, maxTrials: p.maxTrials },
    ...overrides,
  };
}

export { runPipeline };

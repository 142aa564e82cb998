import { buildRepo, type FeatureRepo } from '../../lambdas/features/definitions/repo';
import type { DynamoOnlineTable } from '../../lambdas/features/online/dynamo-online-table';
import { featureAttr, itemKey } from '../../lambdas/features/online/online-item';
import type { ModelSignature } from '../../lambdas/serving/inference/signature';
import { datasetOf } from '../../lambdas/training/data/dataset';
import { createRng } from '../../lambdas/training/random';
import { builtInSignature, fitModel } from '../../lambdas/training/trained-model';
import { prepareTraining } from '../../lambdas/training/trial/prepare';

/** The serving benchmarks' model and features: a GBDT over `features` float features of one entity. */
export interface ServingFixture {
  readonly names: string[];
  readonly onnx: Uint8Array;
  readonly signature: ModelSignature;
  readonly repo: FeatureRepo;
}

/** Trains a `trees`-tree GBDT on `features` synthetic features and the repo that serves them (service `svc`). */
export function servingFixture(features: number, trees: number): ServingFixture {
  const names = Array.from({ length: features }, (_, i) => `f${i}`);
  const rng = createRng(3);
  const n = 2_000;
  const cols: Record<string, Float64Array> = Object.fromEntries(names.map((f) => [f, new Float64Array(n)]));
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (const [j, f] of names.entries()) {
      const v = rng.normal();
      cols[f]![i] = v;
      s += (j % 3 === 0 ? 1 : -0.5) * v;
    }
    y[i] = rng.next() < 1 / (1 + Math.exp(-s)) ? 1 : 0;
  }
  const prep = prepareTraining({
    dataset: datasetOf({ ...cols, t: Float64Array.from({ length: n }, (_, i) => i), y }),
    label: 'y',
    algorithm: 'gbdt',
    timeColumn: 't',
    options: { maxIterations: trees, earlyStopping: 'false', maxLeafNodes: 15 },
  });
  const trained = fitModel(
    prep.parsed,
    prep.task,
    prep.features,
    prep.train.X,
    prep.train.y,
    undefined,
    () => {},
  );
  const repo = buildRepo({
    file: {
      entities: [{ name: 'user', joinKeys: [{ name: 'user_id', type: 'int64' }] }],
      sources: [
        {
          name: 'wide',
          kind: 'push',
          columns: [
            { name: 'user_id', type: 'int64' },
            { name: 'ts', type: 'timestamp' },
            ...names.map((name) => ({ name, type: 'float64' })),
          ],
        },
      ],
      featureViews: [
        {
          name: 'wide',
          entities: ['user'],
          source: 'wide',
          timestampField: 'ts',
          ttl: '30d',
          features: names.map((name) => ({ name, type: 'float64' })),
        },
      ],
      featureServices: [{ name: 'svc', features: ['wide'] }],
    },
  });
  return { names, onnx: trained.exportOnnx(), signature: builtInSignature(prep.features, prep.task), repo };
}

/** Writes `population` entities of the `wide` view, fresh, with values from their id. */
export async function writeEntities(
  table: DynamoOnlineTable,
  names: readonly string[],
  population: number,
): Promise<void> {
  const now = Date.now() * 1000;
  await table.putItems(
    Array.from({ length: population }, (_, u) => ({
      pk: itemKey('wide', String(u)),
      ets: now - 1e6,
      cts: Number.MIN_SAFE_INTEGER,
      asof: 0,
      attrs: Object.fromEntries(names.map((f, j) => [featureAttr(f), ((u * 7 + j * 13) % 100) / 25 - 2])),
    })),
  );
}

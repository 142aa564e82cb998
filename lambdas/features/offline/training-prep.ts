import { InvalidParameterError } from '../../platform/errors';
import type { FeatureRepo } from '../definitions/repo';
import { type FeatureSelection, selectFeatures } from '../definitions/selection';
import type { DuckDbEngine } from './duckdb-engine';
import { type EntityRowsRequirements, type LoadedEntityRows, loadEntityRows } from './entity-rows';

/** What a training-set request asks for, independent of the engine that builds it. */
export interface TrainingSelectionRequest {
  readonly entityRows: string;
  readonly timestampColumn?: string;
  readonly features?: readonly string[];
  readonly featureService?: string;
  readonly fullFeatureNames?: boolean;
}

/** A checked request: the selection and the entity rows loaded into `__entity_rows`. */
export interface PreparedTrainingSet {
  readonly selection: FeatureSelection;
  readonly timestampColumn: string;
  readonly loaded: LoadedEntityRows;
  /** Output columns: entity-row columns, then the visible features in request order. */
  readonly columns: readonly string[];
}

/**
 * Resolves the features and loads and checks the entity rows (local DuckDB) for either
 * engine: unknown features, missing or mistyped join keys, naive timestamps and a feature
 * that clashes with an entity-row column are all reported here, before anything is written.
 *
 * @example
 * const p = await prepareTrainingSet(repo, engine, { entityRows: 'rows.csv', featureService: 'fraud_v1' });
 */
export async function prepareTrainingSet(
  repo: FeatureRepo,
  engine: DuckDbEngine,
  req: TrainingSelectionRequest,
  progress: (message: string) => void = () => undefined,
): Promise<PreparedTrainingSet> {
  const timestampColumn = req.timestampColumn ?? 'event_timestamp';
  const selection = selectFeatures(repo, {
    ...(req.features ? { features: req.features } : {}),
    ...(req.featureService !== undefined ? { featureService: req.featureService } : {}),
    fullFeatureNames: req.fullFeatureNames ?? false,
  });
  const joinKeys = new Map<string, { type: 'string' | 'int64'; neededBy: string }>();
  for (const v of selection.views) {
    for (const k of v.joinKeys)
      if (!joinKeys.has(k.name))
        joinKeys.set(k.name, { type: k.type, neededBy: `feature view '${v.def.name}'` });
  }
  const requestColumns = new Map<string, { neededBy: string }>();
  for (const o of selection.onDemandViews) {
    for (const r of repo.onDemand.get(o)?.def.request ?? [])
      requestColumns.set(r.name, { neededBy: `on-demand feature view '${o}'` });
  }
  const requirements: EntityRowsRequirements = { timestampColumn, joinKeys, requestColumns };
  progress(`loading entity rows from ${req.entityRows}`);
  const loaded = await loadEntityRows(engine, req.entityRows, requirements);
  for (const f of selection.features) {
    if (loaded.columns.includes(f.output)) {
      throw new InvalidParameterError(
        `duplicate column '${f.output}': the entity rows have it and a requested feature produces it; rename the entity-row column or use full feature names`,
      );
    }
  }
  const visible = selection.features.filter((f) => !f.hidden);
  return {
    selection,
    timestampColumn,
    loaded,
    columns: [...loaded.columns, ...visible.map((f) => f.output)],
  };
}

import type { AggregationDef } from '../definitions/schema';
import type { FeatureSelection } from '../definitions/selection';

/**
 * The point-in-time query plan: one small IR that both SQL dialects render. It names
 * relations (tables or views the engine resolves), never files, so the same plan runs on
 * DuckDB over local Parquet and on Athena over Glue tables.
 */
export interface PitPlan {
  readonly entity: {
    /** Relation holding the entity rows with a unique row id (input order). */
    readonly table: string;
    readonly rowId: string;
    readonly timestampColumn: string;
    /** Entity-row columns copied to the output, in order (without the row id). */
    readonly columns: readonly string[];
  };
  readonly views: readonly ViewJoin[];
  /** Feature outputs after the entity columns, in request order. */
  readonly outputs: readonly { readonly alias: string; readonly column: string }[];
}

/** How one feature view joins to the entity rows. */
export interface ViewJoin {
  /** Alias prefix unique within the query (`v0`, `v1`...). */
  readonly alias: string;
  readonly table: string;
  readonly joinKeys: readonly string[];
  readonly timestampColumn: string;
  readonly createdColumn?: string;
  /** Seconds a value stays valid; 0 = forever. */
  readonly ttlSeconds: number;
  /** Latest-value lookups: source column and output name. */
  readonly features: readonly { readonly column: string; readonly output: string }[];
  readonly aggregations: readonly {
    readonly fn: AggregationDef['function'];
    readonly column?: string;
    readonly windowSeconds: number;
    readonly output: string;
    /** Result type of a sum, so both engines return the same type. */
    readonly sumType?: 'BIGINT' | 'DOUBLE';
  }[];
}

/**
 * Builds the plan for a selection. `relationOf` names the relation that holds a view's
 * offline rows (a DuckDB view locally, a Glue table on AWS).
 *
 * @example
 * buildPitPlan(selection, { table: 'entity_rows', rowId: '__row_id', timestampColumn: 'event_timestamp', columns }, (v) => `fv_${v}`);
 */
export function buildPitPlan(
  selection: FeatureSelection,
  entity: PitPlan['entity'],
  relationOf: (view: string) => string,
): PitPlan {
  const outputs: { alias: string; column: string }[] = [];
  const views: ViewJoin[] = selection.views.map((view, i) => {
    const alias = `v${i}`;
    const mine = selection.features.filter((f) => f.kind !== 'onDemand' && f.view === view);
    return {
      alias,
      table: relationOf(view.def.name),
      joinKeys: view.joinKeys.map((k) => k.name),
      timestampColumn: view.def.timestampField,
      ...(view.def.createdTimestampField ? { createdColumn: view.def.createdTimestampField } : {}),
      ttlSeconds: view.ttlSeconds,
      features: mine.flatMap((f) => (f.kind === 'feature' ? [{ column: f.name, output: f.output }] : [])),
      aggregations: mine.flatMap((f) =>
        f.kind === 'aggregation'
          ? [
              {
                fn: f.agg.function,
                ...(f.agg.column ? { column: f.agg.column } : {}),
                windowSeconds: f.agg.windowSeconds,
                output: f.output,
                ...(f.agg.function === 'sum' && f.agg.column
                  ? {
                      sumType:
                        view.columns.get(f.agg.column) === 'int64'
                          ? ('BIGINT' as const)
                          : ('DOUBLE' as const),
                    }
                  : {}),
              },
            ]
          : [],
      ),
    };
  });
  for (const f of selection.features) {
    if (f.kind === 'onDemand') continue;
    const i = selection.views.indexOf(f.view);
    outputs.push({ alias: f.kind === 'feature' ? `v${i}` : `v${i}_agg`, column: f.output });
  }
  return { entity, views, outputs };
}

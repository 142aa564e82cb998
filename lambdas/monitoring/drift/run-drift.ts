import { InvalidParameterError } from '../../platform/errors';
import {
  CategoricalAccumulator,
  type CategoricalSummary,
  NumericAccumulator,
  type NumericGrid,
  type NumericSummary,
  type SketchOptions,
} from './accumulators';
import { compareFeature, type DriftReport, gridOf, summarize } from './compare';
import { type DriftConfig, type DriftConfigInput, DriftConfigSchema } from './config';

export type ColumnType = 'numeric' | 'categorical';
/** One batch of rows: numeric columns as numbers (NaN = missing), others as strings (null = missing). */
export type ColumnBatch = ReadonlyMap<string, ArrayLike<number> | readonly (string | null)[]>;

export interface ColumnProfile {
  /** Non-missing values. */
  readonly present: number;
  /** Non-missing values that do not parse as a number, and one of them. */
  readonly nonNumeric: number;
  readonly example?: string;
}

/**
 * The port a table (a CSV file, a prediction-log partition) is read through: a first cheap
 * pass that names and profiles its columns, then a streamed scan in batches, so memory
 * never holds the whole table.
 */
export interface TableReader {
  /** Where the table is, for messages. */
  readonly label: string;
  describe(): Promise<{ rows: number; columns: ReadonlyMap<string, ColumnProfile> }>;
  scan(types: ReadonlyMap<string, ColumnType>, onBatch: (batch: ColumnBatch) => void): Promise<void>;
}

type Summary = NumericSummary | CategoricalSummary;

/** The report, and the per-column summaries it was computed from (for histograms). */
export interface DriftRun {
  readonly report: DriftReport;
  readonly summaries: { baseline: ReadonlyMap<string, Summary>; current: ReadonlyMap<string, Summary> };
}

async function summarizeTable(
  reader: TableReader,
  types: ReadonlyMap<string, ColumnType>,
  sketch: SketchOptions,
  gridFor?: (column: string) => NumericGrid,
): Promise<Map<string, Summary>> {
  const numeric = new Map<string, NumericAccumulator>();
  const categorical = new Map<string, CategoricalAccumulator>();
  for (const [name, type] of types) {
    if (type === 'numeric')
      numeric.set(name, new NumericAccumulator(sketch, gridFor && (() => gridFor(name))));
    else categorical.set(name, new CategoricalAccumulator(sketch));
  }
  await reader.scan(types, (batch) => {
    for (const [name, acc] of numeric) acc.addMany(batch.get(name) as ArrayLike<number>);
    for (const [name, acc] of categorical) {
      for (const v of batch.get(name) as readonly (string | null)[]) acc.add(v);
    }
  });
  const out = new Map<string, Summary>();
  for (const [name, acc] of numeric) out.set(name, acc.finish());
  for (const [name, acc] of categorical) out.set(name, acc.finish());
  return out;
}

/**
 * Compares a current window with a baseline, column by column, in bounded memory: both
 * tables are streamed once (after a profiling pass), each column into a summary that stays
 * exact up to `exactLimit` values and becomes a grid sketch beyond. Rejects, before any
 * statistic is computed, tables that are empty or whose columns differ, and current values
 * that are not numbers where the baseline's are.
 *
 * @example
 * const { report } = await computeDrift(csvTable('train.csv'), csvTable('today.csv'), { prediction: 'score' });
 * report.summary.verdict; // 'drift' | 'no_drift' | 'insufficient_data'
 */
export async function computeDrift(
  baseline: TableReader,
  current: TableReader,
  input: DriftConfigInput = {},
): Promise<DriftRun> {
  const parsed = DriftConfigSchema.safeParse(input);
  if (!parsed.success) {
    throw new InvalidParameterError(
      `Invalid drift configuration: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  }
  const config: DriftConfig = parsed.data;
  const [b, c] = await Promise.all([baseline.describe(), current.describe()]);
  if (b.rows === 0) throw new InvalidParameterError(`Baseline '${baseline.label}' has no rows`);
  if (c.rows === 0) throw new InvalidParameterError(`Current '${current.label}' has no rows`);
  const missing = [...b.columns.keys()].filter((k) => !c.columns.has(k));
  const extra = [...c.columns.keys()].filter((k) => !b.columns.has(k));
  if (missing.length || extra.length) {
    const parts = [
      missing.length ? `missing ${missing.map((m) => `'${m}'`).join(', ')}` : '',
      extra.length ? `unexpected ${extra.map((m) => `'${m}'`).join(', ')}` : '',
    ].filter(Boolean);
    throw new InvalidParameterError(
      `Current '${current.label}' must have the baseline's columns: ${parts.join('; ')}`,
    );
  }
  for (const name of [...Object.keys(config.features), ...(config.prediction ? [config.prediction] : [])]) {
    if (!b.columns.has(name)) {
      throw new InvalidParameterError(`Configured column '${name}' is not a column of '${baseline.label}'`);
    }
  }
  const types = new Map<string, ColumnType>();
  for (const [name, profile] of b.columns) {
    const numeric = profile.nonNumeric === 0 && profile.present > 0;
    types.set(name, config.features[name]?.type ?? (numeric ? 'numeric' : 'categorical'));
  }
  for (const [name, type] of types) {
    const profile = b.columns.get(name)!;
    if (type === 'numeric' && profile.nonNumeric > 0) {
      throw new InvalidParameterError(
        `Column '${name}' is configured numeric but '${baseline.label}' has non-numeric values such as '${profile.example}'`,
      );
    }
    const cur = c.columns.get(name)!;
    if (type === 'numeric' && cur.nonNumeric > 0) {
      throw new InvalidParameterError(
        `Column '${name}' is numeric in the baseline but '${current.label}' has ${cur.nonNumeric} non-numeric value(s) such as '${cur.example}'`,
      );
    }
  }
  const sketch: SketchOptions = config;
  const base = await summarizeTable(baseline, types, sketch);
  const grids = new Map<string, NumericGrid>();
  const gridFor = (name: string): NumericGrid => {
    let g = grids.get(name);
    if (!g) {
      g = gridOf(base.get(name) as NumericSummary, config.gridBins);
      grids.set(name, g);
    }
    return g;
  };
  const cur = await summarizeTable(current, types, sketch, gridFor);
  const compare = (name: string) => compareFeature(name, base.get(name)!, cur.get(name)!, config);
  const features = [...types.keys()].filter((n) => n !== config.prediction).map(compare);
  return {
    report: {
      baselineRows: b.rows,
      currentRows: c.rows,
      features,
      prediction: config.prediction ? compare(config.prediction) : null,
      summary: summarize(features, config.driftShare),
    },
    summaries: { baseline: base, current: cur },
  };
}

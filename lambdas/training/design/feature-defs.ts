import { z } from 'zod';
import { InvalidParameterError } from '../../platform/errors';
import { type Dataset, isNumericColumn } from '../data/dataset';

/**
 * Feature definitions: which columns feed the model and how categorical ones are encoded.
 * `onehot` expands a category into indicator columns; `ordinal` feeds its index in
 * `categories` as a number (trees split on it directly).
 */
export const FeatureDefSchema = z.object({
  name: z.string().min(1),
  type: z.enum(['numeric', 'categorical']),
  encoding: z.enum(['onehot', 'ordinal']).optional(),
  /** Known categories, in code order; learned from the training rows (most frequent first) when omitted. */
  categories: z.array(z.string()).optional(),
  /**
   * Missing values (point-in-time joins leave them where no feature row was known in time).
   * Numeric: filled with the training rows' `mean` (the default), `median` or `zero`, in
   * training and inside the exported model alike. Categorical: encoded as no known category,
   * like an unseen one. `reject`: a missing value is an error.
   */
  missing: z.enum(['mean', 'median', 'zero', 'reject']).optional(),
});
export type FeatureDef = z.infer<typeof FeatureDefSchema>;

/** A feature definition with every choice resolved (categories and encoding known). */
export interface ResolvedFeature {
  readonly name: string;
  readonly type: 'numeric' | 'categorical';
  readonly encoding: 'onehot' | 'ordinal';
  readonly categories: readonly string[];
  /** How missing values are handled; absent = `mean` for numeric features. */
  readonly missing?: 'mean' | 'median' | 'zero' | 'reject';
  /** Numeric: the value a missing one becomes (set by `withFills` when the data has gaps). */
  readonly fill?: number;
}

export const FeatureDefsSchema = z.array(FeatureDefSchema).min(1);

/** Most categories a feature may have; more usually means an identifier, not a category. */
export const MAX_CATEGORIES = 1000;

/**
 * Infers definitions from column types: numbers are numeric, text is categorical; the
 * excluded columns (label, split, time) are left out.
 */
export function inferFeatureDefs(ds: Dataset, exclude: readonly string[]): FeatureDef[] {
  const defs: FeatureDef[] = [];
  for (const [name, c] of ds.columns) {
    if (exclude.includes(name)) continue;
    defs.push({ name, type: isNumericColumn(c) ? 'numeric' : 'categorical' });
  }
  return defs;
}

/**
 * Checks every definition against the data (column exists, right kind, finite numbers, no
 * missing value where `missing: 'reject'`) and resolves categories and encodings. Throws
 * InvalidParameterError naming the culprit. Fills come later, from the training rows
 * (`withFills`).
 */
export function resolveFeatures(
  ds: Dataset,
  defs: readonly FeatureDef[],
  defaultEncoding: 'onehot' | 'ordinal',
): ResolvedFeature[] {
  if (defs.length === 0)
    throw new InvalidParameterError('No feature columns: the training set has only the label');
  const seen = new Set<string>();
  return defs.map((d) => {
    if (seen.has(d.name)) throw new InvalidParameterError(`Feature '${d.name}' is defined twice`);
    seen.add(d.name);
    const col = ds.columns.get(d.name);
    if (!col) {
      throw new InvalidParameterError(
        `Feature '${d.name}' is not a column of the training set (columns: ${[...ds.columns.keys()].join(', ')})`,
      );
    }
    if (d.type === 'numeric') {
      if (!isNumericColumn(col)) {
        throw new InvalidParameterError(
          `Feature '${d.name}' is declared numeric but holds text; declare it categorical or fix the column`,
        );
      }
      const missing = d.missing ?? 'mean';
      for (let i = 0; i < col.length; i++) {
        const x = col[i]!;
        if (Number.isFinite(x)) continue;
        if (!Number.isNaN(x)) {
          throw new InvalidParameterError(
            `Feature '${d.name}' has a non-finite value (${x}) at row ${i + 1}; fix or drop those rows`,
          );
        }
        if (missing === 'reject') {
          throw new InvalidParameterError(
            `Feature '${d.name}' has a missing value at row ${i + 1} and missing: 'reject'; fill or drop those rows, or let the model fill them (missing: 'mean', 'median' or 'zero')`,
          );
        }
      }
      return { name: d.name, type: 'numeric', encoding: 'ordinal', categories: [], missing };
    }
    if (d.missing !== undefined && d.missing !== 'reject') {
      throw new InvalidParameterError(
        `Feature '${d.name}' is categorical: missing: '${d.missing}' applies to numeric features; a categorical feature's missing values are encoded as no known category, or set missing: 'reject'`,
      );
    }
    const values: string[] = [];
    for (let i = 0; i < col.length; i++) {
      const v = isNumericColumn(col) ? (Number.isNaN(col[i]!) ? null : String(col[i])) : col[i];
      if (v === null || v === undefined) {
        if (d.missing === 'reject') {
          throw new InvalidParameterError(
            `Feature '${d.name}' has a missing value at row ${i + 1} and missing: 'reject'; fill or drop those rows`,
          );
        }
        continue;
      }
      values.push(v);
    }
    const categories = d.categories ?? categoriesByFrequency(values);
    if (categories.length > MAX_CATEGORIES) {
      throw new InvalidParameterError(
        `Categorical feature '${d.name}' has ${categories.length} categories (at most ${MAX_CATEGORIES}); it looks like an identifier: drop it`,
      );
    }
    return {
      name: d.name,
      type: 'categorical',
      encoding: d.encoding ?? defaultEncoding,
      categories,
      ...(d.missing ? { missing: d.missing } : {}),
    };
  });
}

/**
 * Sets the fill of every numeric feature that has a missing value anywhere in `all`, learned
 * from the `train` rows only (so the test rows do not leak into it): their mean, median, or
 * zero. A feature missing on every training row is an error naming it.
 */
export function withFills(
  features: readonly ResolvedFeature[],
  all: Dataset,
  train: Dataset,
): ResolvedFeature[] {
  return features.map((f) => {
    if (f.type !== 'numeric' || f.missing === 'reject') return f;
    const col = all.columns.get(f.name) as Float64Array;
    if (!col.some(Number.isNaN)) return f;
    const present = (train.columns.get(f.name) as Float64Array).filter((x) => !Number.isNaN(x));
    if (present.length === 0) {
      throw new InvalidParameterError(
        `Feature '${f.name}' is missing on every training row; drop it or fill it before training`,
      );
    }
    return { ...f, fill: fillValue(present, f.missing ?? 'mean') };
  });
}

function fillValue(present: Float64Array, how: 'mean' | 'median' | 'zero'): number {
  if (how === 'zero') return 0;
  if (how === 'mean') {
    let sum = 0;
    for (const x of present) sum += x;
    return sum / present.length;
  }
  const sorted = Float64Array.from(present).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function categoriesByFrequency(values: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([k]) => k);
}

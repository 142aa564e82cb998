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
});
export type FeatureDef = z.infer<typeof FeatureDefSchema>;

/** A feature definition with every choice resolved (categories and encoding known). */
export interface ResolvedFeature {
  readonly name: string;
  readonly type: 'numeric' | 'categorical';
  readonly encoding: 'onehot' | 'ordinal';
  readonly categories: readonly string[];
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
 * Checks every definition against the data (column exists, right kind, no missing value)
 * and resolves categories and encodings. Throws InvalidParameterError naming the culprit.
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
      for (let i = 0; i < col.length; i++) {
        if (!Number.isFinite(col[i]!)) {
          throw new InvalidParameterError(
            `Feature '${d.name}' has a missing or non-finite value (${col[i]}) at row ${i + 1}; every feature is required: fill or drop those rows`,
          );
        }
      }
      return { name: d.name, type: 'numeric', encoding: 'ordinal', categories: [] };
    }
    const values: string[] = [];
    for (let i = 0; i < col.length; i++) {
      const v = isNumericColumn(col) ? (Number.isNaN(col[i]!) ? null : String(col[i])) : col[i];
      if (v === null || v === undefined) {
        throw new InvalidParameterError(
          `Feature '${d.name}' has a missing value at row ${i + 1}; every feature is required: fill or drop those rows`,
        );
      }
      values.push(v);
    }
    const categories = d.categories ?? categoriesByFrequency(values);
    if (categories.length > MAX_CATEGORIES) {
      throw new InvalidParameterError(
        `Categorical feature '${d.name}' has ${categories.length} categories (at most ${MAX_CATEGORIES}); it looks like an identifier: drop it`,
      );
    }
    return { name: d.name, type: 'categorical', encoding: d.encoding ?? defaultEncoding, categories };
  });
}

function categoriesByFrequency(values: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([k]) => k);
}

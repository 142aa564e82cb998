import { sharedFloat64 } from '../parallel/shared-memory';

/**
 * The in-memory training table: one typed column per field. Numeric columns are
 * Float64Array (NaN marks a missing value); text columns are string arrays (null = missing).
 */
export type Column = Float64Array | (string | null)[];

export interface Dataset {
  readonly rowCount: number;
  /** Columns in file order. */
  readonly columns: ReadonlyMap<string, Column>;
}

/** True when the column holds numbers. */
export function isNumericColumn(c: Column): c is Float64Array {
  return c instanceof Float64Array;
}

/**
 * Builds a dataset from columns, checking they all have the same length.
 *
 * @example
 * const ds = datasetOf({ x: new Float64Array([1, 2]), y: ['a', 'b'] });
 */
export function datasetOf(columns: Record<string, Column>): Dataset {
  const entries = Object.entries(columns);
  const rowCount = entries[0]?.[1].length ?? 0;
  for (const [name, c] of entries) {
    if (c.length !== rowCount)
      throw new RangeError(`column '${name}' has ${c.length} rows, expected ${rowCount}`);
  }
  return { rowCount, columns: new Map(entries) };
}

/**
 * The rows at the given indices, in that order, as a new dataset. Numeric columns are in
 * shared memory, so a trainer's worker threads read them without a copy.
 */
export function takeRows(ds: Dataset, rows: ArrayLike<number>): Dataset {
  const out = new Map<string, Column>();
  for (const [name, c] of ds.columns) {
    if (isNumericColumn(c)) {
      const v = sharedFloat64(rows.length);
      for (let i = 0; i < rows.length; i++) v[i] = c[rows[i]!]!;
      out.set(name, v);
    } else {
      const v = new Array<string | null>(rows.length);
      for (let i = 0; i < rows.length; i++) v[i] = c[rows[i]!] ?? null;
      out.set(name, v);
    }
  }
  return { rowCount: rows.length, columns: out };
}

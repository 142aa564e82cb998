import { type Dataset, isNumericColumn } from '../data/dataset';
import { sharedFloat64 } from '../parallel/shared-memory';
import type { ResolvedFeature } from './feature-defs';

/**
 * Column-major numeric data the trainers read: one Float64Array per column. The columns
 * built here are in shared memory (see `inSharedMemory`), so trainers' threads read them in place.
 */
export interface DesignMatrix {
  readonly names: readonly string[];
  readonly columns: readonly Float64Array[];
  readonly rows: number;
}

/**
 * The model's raw input, one column per feature in definition order: numeric values as
 * they are (a missing one as the feature's fill, which the exported model applies to NaN
 * itself), categories as their index in `categories` (-1 for an unseen or missing one).
 * This is exactly what the exported ONNX model takes, so serving encodes the same way.
 */
export function rawInputs(ds: Dataset, features: readonly ResolvedFeature[]): DesignMatrix {
  const columns = features.map((f) => {
    const col = ds.columns.get(f.name)!;
    if (f.type === 'numeric') {
      const fill = f.fill;
      if (fill === undefined) return col as Float64Array;
      const out = sharedFloat64(ds.rowCount);
      const x = col as Float64Array;
      for (let i = 0; i < ds.rowCount; i++) out[i] = Number.isNaN(x[i]!) ? fill : x[i]!;
      return out;
    }
    const index = new Map(f.categories.map((c, i) => [c, i]));
    const out = sharedFloat64(ds.rowCount);
    for (let i = 0; i < ds.rowCount; i++) {
      const v = isNumericColumn(col) ? String(col[i]) : col[i];
      out[i] = v === null || v === undefined ? -1 : (index.get(v) ?? -1);
    }
    return out;
  });
  return { names: features.map((f) => f.name), columns, rows: ds.rowCount };
}

/**
 * Applies the declared encodings: one-hot categories become one indicator column per
 * category (`name=category`); ordinal ones and numeric features pass through.
 */
export function expandEncodings(raw: DesignMatrix, features: readonly ResolvedFeature[]): DesignMatrix {
  const names: string[] = [];
  const columns: Float64Array[] = [];
  features.forEach((f, j) => {
    const col = raw.columns[j]!;
    if (f.type === 'categorical' && f.encoding === 'onehot') {
      f.categories.forEach((c, k) => {
        const ind = sharedFloat64(raw.rows);
        for (let i = 0; i < raw.rows; i++) ind[i] = col[i] === k ? 1 : 0;
        names.push(`${f.name}=${c}`);
        columns.push(ind);
      });
    } else {
      names.push(f.name);
      columns.push(col);
    }
  });
  return { names, columns, rows: raw.rows };
}

/** Packs columns into one row-major buffer, the layout of an ONNX [N, D] input tensor. */
export function toRowMajor(m: DesignMatrix): Float64Array {
  const d = m.columns.length;
  const out = new Float64Array(m.rows * d);
  for (let j = 0; j < d; j++) {
    const col = m.columns[j]!;
    for (let i = 0; i < m.rows; i++) out[i * d + j] = col[i]!;
  }
  return out;
}

/** True when any feature needs expanding inside the model (a one-hot categorical). */
export function needsExpansion(features: readonly ResolvedFeature[]): boolean {
  return features.some((f) => f.type === 'categorical' && f.encoding === 'onehot');
}

import { InvalidParameterError } from '../platform/errors';
import { type Dataset, isNumericColumn } from './data/dataset';
import { createRng, shuffledIndices } from './random';

/** Row indices of each part. */
export interface Split {
  readonly train: Uint32Array;
  readonly test: Uint32Array;
  /** How the split was made, logged to the run. */
  readonly description: string;
}

/**
 * Splits by a column whose values are `train` or `test` (any other value is an error naming
 * the row), so results can be compared with other tools on the same rows.
 */
export function splitByColumn(ds: Dataset, column: string): Split {
  const col = ds.columns.get(column);
  if (!col) {
    throw new InvalidParameterError(
      `Split column '${column}' is not in the training set (columns: ${[...ds.columns.keys()].join(', ')})`,
    );
  }
  const train: number[] = [];
  const test: number[] = [];
  for (let i = 0; i < ds.rowCount; i++) {
    const v = isNumericColumn(col) ? String(col[i]) : col[i];
    if (v === 'train') train.push(i);
    else if (v === 'test') test.push(i);
    else
      throw new InvalidParameterError(
        `Split column '${column}' has '${v}' at row ${i + 1}; its values must be 'train' or 'test'`,
      );
  }
  if (train.length === 0 || test.length === 0) {
    throw new InvalidParameterError(
      `Split column '${column}' must mark at least one 'train' and one 'test' row`,
    );
  }
  return { train: Uint32Array.from(train), test: Uint32Array.from(test), description: `column:${column}` };
}

/**
 * Time-based hold-out: rows ordered by `timeColumn` (file order when absent, assumed
 * chronological); the latest `testFraction` are the test set, so the model is scored on
 * data newer than any it saw.
 */
export function splitByTime(ds: Dataset, timeColumn: string | undefined, testFraction: number): Split {
  const order = orderByTime(ds, timeColumn);
  const nTest = Math.round(ds.rowCount * testFraction);
  if (nTest < 1 || nTest >= ds.rowCount) {
    throw new InvalidParameterError(
      `A test fraction of ${testFraction} leaves no train or no test rows out of ${ds.rowCount}`,
    );
  }
  const cut = ds.rowCount - nTest;
  return {
    train: order.slice(0, cut),
    test: order.slice(cut),
    description: `time:${timeColumn ?? 'row-order'}:${testFraction}`,
  };
}

/** Row indices sorted by a numeric/time column (stable), or 0..n-1. */
export function orderByTime(ds: Dataset, timeColumn: string | undefined): Uint32Array {
  const order = new Uint32Array(ds.rowCount);
  for (let i = 0; i < order.length; i++) order[i] = i;
  if (!timeColumn) return order;
  const col = ds.columns.get(timeColumn);
  if (!col) throw new InvalidParameterError(`Time column '${timeColumn}' is not in the training set`);
  if (!isNumericColumn(col)) {
    throw new InvalidParameterError(`Time column '${timeColumn}' must hold dates, timestamps or numbers`);
  }
  for (let i = 0; i < col.length; i++) {
    if (Number.isNaN(col[i]!))
      throw new InvalidParameterError(`Time column '${timeColumn}' is empty at row ${i + 1}`);
  }
  return order.sort((a, b) => col[a]! - col[b]! || a - b);
}

/**
 * Holds out the last `fraction` of the (time-ordered) training rows for validation, or a
 * seeded random share when the order carries no time.
 */
export function holdOut(
  train: Uint32Array,
  fraction: number,
  ordered: boolean,
  seed: number,
): { fit: Uint32Array; validation: Uint32Array } {
  const nVal = Math.max(1, Math.round(train.length * fraction));
  const idx = ordered ? train : shuffledIndices(train.length, createRng(seed)).map((k) => train[k]!);
  return { fit: idx.slice(0, train.length - nVal), validation: idx.slice(train.length - nVal) };
}

import { InvalidParameterError } from '../platform/errors';
import { type Dataset, isNumericColumn } from './data/dataset';

export type Task = 'binary' | 'regression';

export interface EncodedLabel {
  readonly y: Float64Array;
  readonly task: Task;
  /** For binary: [negative, positive] as they appear in the data. */
  readonly classes?: readonly [string, string];
}

/**
 * Turns the label column into numbers. Two distinct values make a binary task (0/1, false/true,
 * or two strings where the later in sort order is the positive class); more numeric values make
 * a regression task. Missing, constant or unusable labels throw InvalidParameterError.
 */
export function encodeLabel(ds: Dataset, label: string, wanted?: Task): EncodedLabel {
  const col = ds.columns.get(label);
  if (!col) {
    throw new InvalidParameterError(
      `Label column '${label}' is not in the training set (columns: ${[...ds.columns.keys()].join(', ')})`,
    );
  }
  const text = (i: number): string | null => {
    if (isNumericColumn(col)) return Number.isNaN(col[i]!) ? null : String(col[i]);
    return col[i] ?? null;
  };
  const distinct = new Set<string>();
  for (let i = 0; i < ds.rowCount; i++) {
    const v = text(i);
    if (v === null)
      throw new InvalidParameterError(
        `Label column '${label}' is empty at row ${i + 1}; drop unlabeled rows`,
      );
    if (distinct.size <= 2) distinct.add(v);
  }
  if (distinct.size < 2) {
    throw new InvalidParameterError(
      `Label column '${label}' is constant (${[...distinct][0] ?? 'no rows'}); a model needs at least two label values`,
    );
  }
  const task: Task = wanted ?? (distinct.size === 2 ? 'binary' : 'regression');
  if (task === 'binary') {
    if (distinct.size > 2) {
      throw new InvalidParameterError(
        `Label column '${label}' has more than two values (${[...distinct].join(', ')}, ...); binary classification needs exactly two`,
      );
    }
    const classes = [...distinct].sort((a, b) =>
      isNumericColumn(col) ? Number(a) - Number(b) : a.toLowerCase() === 'false' || a < b ? -1 : 1,
    ) as [string, string];
    const y = new Float64Array(ds.rowCount);
    for (let i = 0; i < ds.rowCount; i++) y[i] = text(i) === classes[1] ? 1 : 0;
    return { y, task, classes };
  }
  if (!isNumericColumn(col)) {
    throw new InvalidParameterError(
      `Label column '${label}' holds text with more than two values; regression needs numbers`,
    );
  }
  return { y: Float64Array.from(col), task };
}

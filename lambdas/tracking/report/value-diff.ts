/** One key across runs: each run's value (undefined where the run lacks it). */
export interface DiffRow {
  key: string;
  values: (string | undefined)[];
  /** True when the runs disagree, a missing value counting as a different one. */
  differs: boolean;
}

/**
 * Lines up params (or tags) of several runs by key: differing keys first, then the rest,
 * each group in key order, so what changed between runs is what one reads first.
 *
 * @example
 * valueDiff([{ lr: '0.1', depth: '6' }, { lr: '0.3', depth: '6' }]);
 * // [{ key: 'lr', values: ['0.1', '0.3'], differs: true }, { key: 'depth', ..., differs: false }]
 */
export function valueDiff(records: Readonly<Record<string, string>>[]): DiffRow[] {
  const keys = [...new Set(records.flatMap((r) => Object.keys(r)))].sort();
  const rows = keys.map((key) => {
    const values = records.map((r) => (Object.hasOwn(r, key) ? r[key] : undefined));
    return { key, values, differs: new Set(values).size > 1 };
  });
  return [...rows.filter((r) => r.differs), ...rows.filter((r) => !r.differs)];
}

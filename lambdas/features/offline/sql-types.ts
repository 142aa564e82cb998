import type { ValueType } from '../definitions/schema';

const SQL: Record<ValueType, string> = {
  string: 'VARCHAR',
  int64: 'BIGINT',
  float64: 'DOUBLE',
  bool: 'BOOLEAN',
  timestamp: 'TIMESTAMPTZ',
};

/** The DuckDB type a value type is stored as (Trino: varchar, bigint, double, boolean, timestamp with time zone). */
export function sqlType(t: ValueType): string {
  return SQL[t];
}

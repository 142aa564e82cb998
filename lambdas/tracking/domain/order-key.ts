/**
 * Order-preserving string encodings. A metric's (step, timestamp, value) becomes one string
 * that sorts exactly as the tuple does, so storage can keep "the latest value" with a single
 * `stored < candidate` condition, and a history item key is the same for a retried point.
 */
const OFFSET = 1n << 63n;
const MASK64 = (1n << 64n) - 1n;

/** An int64 as 16 hex digits, offset so negative numbers sort first. */
export function encodeInt64(n: number): string {
  const v = (BigInt(Math.trunc(n)) + OFFSET) & MASK64;
  return v.toString(16).padStart(16, '0');
}

/** Reverses encodeInt64. */
export function decodeInt64(hex: string): number {
  return Number(BigInt(`0x${hex}`) - OFFSET);
}

/** A double as 16 hex digits in numeric order; NaN sorts below every number. */
export function encodeDouble(x: number): string {
  if (Number.isNaN(x)) return '0'.repeat(16);
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x === 0 ? 0 : x); // -0 and 0 are one value
  let bits = view.getBigUint64(0);
  bits = bits & (1n << 63n) ? ~bits & MASK64 : bits | (1n << 63n);
  return bits.toString(16).padStart(16, '0');
}

/** Reverses encodeDouble, bit for bit (NaN for the NaN code). */
export function decodeDouble(hex: string): number {
  let bits = BigInt(`0x${hex}`);
  bits = bits & (1n << 63n) ? bits & ~(1n << 63n) : ~bits & MASK64;
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, bits);
  return view.getFloat64(0);
}

/** The sort key of a metric point: greatest (step, timestamp, value) is the latest. */
export function metricOrderKey(m: { step: number; timestamp: number; value: number }): string {
  return `${encodeInt64(m.step)}${encodeInt64(m.timestamp)}${encodeDouble(m.value)}`;
}

/** Compares two metric points by (step, timestamp, value); NaN counts as the smallest value. */
export function compareMetricPoints(
  a: { step: number; timestamp: number; value: number },
  b: { step: number; timestamp: number; value: number },
): number {
  const ka = metricOrderKey(a);
  const kb = metricOrderKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/**
 * Inverts a run id's characters (hex digits and letters) so a descending index scan
 * returns equal start times in ascending run id order, MLflow's tie-break.
 */
export function invertId(id: string): string {
  let out = '';
  for (const ch of id) {
    const c = ch.charCodeAt(0);
    out += c >= 32 && c < 127 ? String.fromCharCode(126 - (c - 32)) : ch;
  }
  return out;
}

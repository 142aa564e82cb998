/**
 * The sample generator shared with reference/make_vectors.py: a 32-bit LCG, and samples
 * built from its uniforms with operations that round identically in Python and JavaScript.
 */
export type SampleSpec =
  | { kind: 'normal'; seed: number; n: number; shift: number; scale: number }
  | { kind: 'int'; seed: number; n: number; levels: number; shift: number };

export function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}

export function generate(spec: SampleSpec): Float64Array {
  const next = lcg(spec.seed);
  const out = new Float64Array(spec.n);
  const sqrt3 = Math.sqrt(3);
  for (let i = 0; i < spec.n; i++) {
    if (spec.kind === 'normal') {
      let z = next() + next();
      z = z + next();
      z = z + next();
      out[i] = (z - 2) * sqrt3 * spec.scale + spec.shift;
    } else {
      out[i] = Math.floor(next() * spec.levels) + spec.shift;
    }
  }
  return out;
}

export const sample = (s: number[] | SampleSpec): Float64Array =>
  Array.isArray(s) ? Float64Array.from(s) : generate(s);

import { lnGamma } from './special';

/**
 * P-values of the two-sample Kolmogorov–Smirnov test, computed as SciPy's
 * `ks_2samp(method='auto')` does: exact lattice-path probabilities when both samples have
 * at most 10,000 values, otherwise the one-sample Kolmogorov distribution of D_n with
 * n = round(n1·n2/(n1+n2)), evaluated with the method Simard & L'Ecuyer (2011) pick for
 * each region (exact Birnbaum–Tingey sums, the Durbin matrix of Marsaglia–Tsang–Wang,
 * the Pelz–Good expansion). Reference values: test/monitoring/reference/vectors.json.
 */

/** Largest sample for which 'auto' computes the exact two-sample distribution (as SciPy). */
export const EXACT_KS_MAX_N = 10_000;

const clip = (p: number): number => Math.min(1, Math.max(0, p));

/** numpy's round: halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * P(D_n⁺ ≥ x), the one-sided Smirnov survival function, by Birnbaum & Tingey's exact sum
 * Σ_v C(n,v) x (x + v/n)^(v−1) (1 − x − v/n)^(n−v); terms are formed in log space, so any
 * n works (O(n) time).
 */
export function smirnovSf(n: number, x: number): number {
  if (!(x > 0)) return 1;
  if (x >= 1) return 0;
  const last = Math.floor(n * (1 - x));
  let logC = 0;
  let sum = 0;
  for (let v = 0; v <= last; v++) {
    const a = x + v / n;
    const b = 1 - a;
    const logTerm = logC + (v - 1) * Math.log(a) + (n - v > 0 ? (n - v) * Math.log(b) : 0);
    if (logTerm > -745) sum += Math.exp(logTerm);
    logC += Math.log((n - v) / (v + 1));
  }
  return clip(x * sum);
}

type Matrix = { m: number; a: Float64Array };

function matMul(x: Matrix, y: Matrix): Matrix {
  const m = x.m;
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let k = 0; k < m; k++) {
      const xik = x.a[i * m + k]!;
      if (xik === 0) continue;
      const yo = k * m;
      const oo = i * m;
      for (let j = 0; j < m; j++) out[oo + j]! += xik * y.a[yo + j]!;
    }
  }
  return { m, a: out };
}

/**
 * P(D_n ≤ d) by the Durbin matrix (Marsaglia, Tsang & Wang 2003): n!/nⁿ · (Hⁿ)[k,k] with
 * powers scaled by 2^±128 to stay in range.
 */
export function kolmogorovCdfDurbin(n: number, d: number): number {
  if (d >= 1) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  const invFact = new Float64Array(m + 1);
  invFact[0] = 1;
  for (let i = 1; i <= m; i++) invFact[i] = invFact[i - 1]! / i;
  const H = new Float64Array(m * m);
  for (let i = 0; i < m; i++)
    for (let j = 0; j <= Math.min(m - 1, i + 1); j++) H[i * m + j] = invFact[i - j + 1]!;
  for (let i = 0; i < m; i++) {
    H[i * m]! -= h ** (i + 1) * invFact[i + 1]!;
    H[(m - 1) * m + i]! -= h ** (m - i) * invFact[m - i]!;
  }
  if (2 * h - 1 > 0) H[(m - 1) * m]! += (2 * h - 1) ** m * invFact[m]!;
  const SCALE = 2 ** 128;
  const centre = (k - 1) * m + (k - 1);
  // Square-and-multiply, keeping a power-of-two exponent beside each matrix.
  let result: Matrix | undefined;
  let resultExp = 0;
  let base: Matrix = { m, a: H };
  let baseExp = 0;
  for (let e = n; e > 0; e = Math.floor(e / 2)) {
    if (e % 2) {
      result = result ? matMul(result, base) : { m, a: Float64Array.from(base.a) };
      resultExp += baseExp;
      if (Math.abs(result.a[centre]!) > SCALE) {
        for (let i = 0; i < result.a.length; i++) result.a[i]! /= SCALE;
        resultExp += 128;
      }
    }
    if (e > 1) {
      base = matMul(base, base);
      baseExp *= 2;
      if (Math.abs(base.a[centre]!) > SCALE) {
        for (let i = 0; i < base.a.length; i++) base.a[i]! /= SCALE;
        baseExp += 128;
      }
    }
  }
  let p = result!.a[centre]!;
  for (let i = 1; i <= n; i++) {
    p = (p * i) / n;
    if (Math.abs(p) < 1 / SCALE) {
      p *= SCALE;
      resultExp -= 128;
    }
  }
  return clip(p * 2 ** resultExp);
}

/** P(D_n ≤ x) by the Pelz–Good (1976) asymptotic series in 1/√n (large n, small x). */
export function kolmogorovCdfPelzGood(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const z = Math.sqrt(n) * x;
  const z2 = z * z;
  const z4 = z2 * z2;
  const z6 = z4 * z2;
  const qlog = -(Math.PI ** 2) / 8 / z2;
  if (qlog < -708) return 0;
  const pi2 = Math.PI ** 2;
  const pi4 = pi2 * pi2;
  const pi6 = pi4 * pi2;
  const maxk = Math.ceil((16 * z) / Math.PI);
  const K = [0, 0, 0, 0];
  for (let k = maxk; k >= 1; k--) {
    const mo = 2 * k - 1;
    const m2 = mo * mo;
    const w = Math.exp(qlog * m2);
    K[0]! += w;
    K[1]! += w * (-z2 + (pi2 / 4) * m2);
    K[2]! += w * (6 * z6 + 2 * z4 + ((2 * z4 - 5 * z2) * pi2 * m2) / 4 + (pi4 * (1 - 2 * z2) * m2 * m2) / 16);
    K[3]! +=
      w *
      (-30 * z6 -
        90 * z4 * z4 +
        (pi2 * (135 * z4 - 96 * z6) * m2) / 4 +
        (pi4 * (-60 * z2 + 212 * z4) * m2 * m2) / 16 +
        (pi6 * (5 - 30 * z2) * m2 * m2 * m2) / 64);
  }
  const root2pi = Math.sqrt(2 * Math.PI);
  const div = [z, 6 * z4, 72 * z ** 7, 6480 * z ** 10];
  for (let i = 0; i < 4; i++) K[i] = (K[i]! * root2pi) / div[i]!;
  const q2log = -pi2 / 2 / z2;
  let extra2 = 0;
  let extra3 = 0;
  for (let k = 1; k <= maxk; k++) {
    const k2 = k * k;
    const w = k2 * Math.exp(q2log * k2);
    extra2 += w;
    extra3 += (3 * z2 - pi2 * k2) * w;
  }
  K[2]! += (extra2 * pi2 * root2pi) / (-36 * z ** 3);
  K[3]! += (extra3 * pi2 * root2pi) / (216 * z6);
  return K[0]! + K[1]! / Math.sqrt(n) + K[2]! / n + K[3]! / n ** 1.5;
}

/**
 * P(D_n ≥ x) for the two-sided one-sample statistic D_n, choosing the method per region as
 * Simard & L'Ecuyer (2011) do (and SciPy's `kstwo.sf`). Where SciPy uses Pomeranz's recursion
 * (n ≤ 140), the Durbin matrix is used: both are exact, so they agree to rounding.
 */
export function kolmogorovSf(n: number, x: number): number {
  if (x >= 1) return 0;
  if (x <= 0) return 1;
  const t = n * x;
  if (t <= 1) {
    if (t <= 0.5) return 1;
    // Ruben–Gambino: P(D_n ≤ x) = n!/nⁿ (2t − 1)ⁿ.
    const cdf = Math.exp(lnGamma(n + 1) - n * Math.log(n) + n * Math.log(2 * t - 1));
    return clip(1 - cdf);
  }
  if (t >= n - 1) return clip(2 * (1 - x) ** n);
  if (x >= 0.5) return clip(2 * smirnovSf(n, x));
  const nx2 = t * x;
  if (n <= 140) {
    if (nx2 <= 4) return clip(1 - kolmogorovCdfDurbin(n, x));
    return clip(2 * smirnovSf(n, x));
  }
  if (nx2 >= 370) return 0;
  if (nx2 >= 2.2) return clip(2 * smirnovSf(n, x));
  const cdf = n <= 100_000 && n * x ** 1.5 <= 1.4 ? kolmogorovCdfDurbin(n, x) : kolmogorovCdfPelzGood(n, x);
  return clip(1 - cdf);
}

/**
 * P(D_{n,n} ≥ h/n) for equal samples: 2 Σ_k (−1)^(k−1) C(2n, n−kh)/C(2n, n), nested
 * Horner-like so no large binomials are formed.
 */
function exactEqualSizes(n: number, h: number): number {
  let p = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let ratio = 1;
    for (let j = 0; j < h; j++) ratio = ((n - k * h - j) * ratio) / (n + k * h + j + 1);
    p = ratio * (1 - p);
  }
  return 2 * p;
}

/**
 * P(D ≥ h/lcm) for unequal samples: the probability that a uniformly random lattice path
 * from (0,0) to (m,n) leaves the band |x/m − y/n| < h/lcm (Hodges 1958), by Viehmann's
 * (2021) recursion on that probability itself, which needs no large numbers:
 * B(x,y) = (x·B(x−1,y) + y·B(x,y−1)) / (x+y) inside the band, 1 outside.
 */
function exactUnequalSizes(m0: number, n0: number, g: number, h: number): number {
  const m = Math.max(m0, n0);
  const n = Math.min(m0, n0);
  const mg = m / g;
  const ng = n / g;
  const col = new Float64Array(n + 1).fill(1);
  // Column x = 0: the one path up the axis stays inside while mg·y < h.
  for (let j = 0; j <= n && mg * j < h; j++) col[j] = 0;
  let lastLo = 0;
  for (let i = 1; i <= m; i++) {
    const lo = Math.max(0, Math.floor((ng * i - h) / mg) + 1);
    const hi = Math.min(n, Math.ceil((ng * i + h) / mg) - 1);
    for (let j = lastLo; j < Math.min(lo, n + 1); j++) col[j] = 1;
    lastLo = lo;
    if (hi < lo) return 1;
    let below = lo === 0 ? 0 : 1;
    for (let j = lo; j <= hi; j++) {
      const v = j === 0 ? col[0]! : (col[j]! * i + below * j) / (i + j);
      col[j] = v;
      below = v;
    }
  }
  return col[n]!;
}

export interface KsPValue {
  /** The statistic, snapped to the lattice h/lcm(n1, n2) when the exact method is used. */
  readonly statistic: number;
  readonly pValue: number;
  readonly method: 'exact' | 'asymp';
}

/**
 * The two-sided p-value of a two-sample KS statistic `d` (SciPy's `ks_2samp`, method 'auto').
 *
 * @example
 * ksTwoSamplePValue(0.3, 50, 60); // { statistic: 0.3, pValue: ..., method: 'exact' }
 */
export function ksTwoSamplePValue(d: number, n1: number, n2: number): KsPValue {
  if (Math.max(n1, n2) <= EXACT_KS_MAX_N) {
    const g = gcd(n1, n2);
    const lcm = (n1 / g) * n2;
    const h = Math.round(d * lcm);
    const statistic = h / lcm;
    if (h === 0) return { statistic, pValue: 1, method: 'exact' };
    const p = n1 === n2 ? exactEqualSizes(n1, h) : exactUnequalSizes(n1, n2, g, h);
    if (p >= 0 && p <= 1) return { statistic, pValue: p, method: 'exact' };
  }
  const en = (n1 * n2) / (n1 + n2);
  return { statistic: d, pValue: kolmogorovSf(roundHalfEven(en), d), method: 'asymp' };
}

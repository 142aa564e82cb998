/**
 * The distribution functions the analysis needs: normal, Student's t and chi-square tails
 * and quantiles. Written here rather than taken from npm because the candidates either
 * stop their continued fractions at ~3e-7 relative error (jstat) or would add dozens of
 * one-function packages (@stdlib); the tests check every function against SciPy to 1e-12.
 *
 * Everything reduces to two textbook kernels (Numerical Recipes, 3rd ed., §6.2 and §6.4):
 * the regularized incomplete gamma (series below a+1, Lentz continued fraction above) and
 * the regularized incomplete beta (Lentz continued fraction on the converging side).
 */

const EPS = 1e-16;
const TINY = 1e-300;
const MAX_ITER = 1_000_000;
const LN_SQRT_2PI = 0.9189385332046728;

/** Lanczos coefficients (g = 7, n = 9): ~1e-15 relative accuracy for x > 0. */
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/**
 * ln Γ(x) for x > 0.
 *
 * @example
 * logGamma(5); // ln 24
 */
export function logGamma(x: number): number {
  if (!(x > 0)) throw new RangeError(`logGamma needs x > 0, got ${x}`);
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0] as number;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += (LANCZOS[i] as number) / (z + i);
  return LN_SQRT_2PI + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/**
 * Regularized upper incomplete gamma Q(a, x) = Γ(a, x) / Γ(a), accurate in relative terms
 * in the upper tail (so tiny p-values keep their digits).
 *
 * @example
 * gammaQ(1, 2); // e^-2
 */
export function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  if (!Number.isFinite(x)) return 0;
  const prefix = Math.exp(-x + a * Math.log(x) - logGamma(a));
  if (x < a + 1) {
    // Series for P(a, x); Q = 1 - P.
    let ap = a;
    let del = 1 / a;
    let sum = del;
    for (let n = 0; n < MAX_ITER; n++) {
      ap += 1;
      del *= x / ap;
      sum += del;
      if (Math.abs(del) < Math.abs(sum) * EPS) break;
    }
    return 1 - sum * prefix;
  }
  // Continued fraction for Q (modified Lentz).
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_ITER; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) break;
  }
  return prefix * h;
}

/** Continued fraction of the incomplete beta (modified Lentz), converging for x < (a+1)/(a+b+2). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m < MAX_ITER; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) break;
  }
  return h;
}

/**
 * Regularized incomplete beta I_x(a, b). `y` is 1 - x, passed separately so a caller that
 * knows it exactly (x near 1) loses no digits.
 *
 * @example
 * betaReg(2, 3, 0.4, 0.6); // 0.5248
 */
export function betaReg(a: number, b: number, x: number, y = 1 - x): number {
  if (x <= 0) return 0;
  if (y <= 0) return 1;
  const lnX = x < 0.5 ? Math.log(x) : Math.log1p(-y);
  const lnY = y < 0.5 ? Math.log(y) : Math.log1p(-x);
  const front = Math.exp(a * lnX + b * lnY - (logGamma(a) + logGamma(b) - logGamma(a + b)));
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(a, b, x)) / a;
  return 1 - (front * betaContinuedFraction(b, a, y)) / b;
}

/**
 * P(|Z| >= |z|) for a standard normal Z: the two-sided p-value of a z statistic.
 *
 * @example
 * normalTwoSided(1.959963984540054); // 0.05
 */
export function normalTwoSided(z: number): number {
  return gammaQ(0.5, (z * z) / 2);
}

/** Φ(z), the standard normal CDF, accurate in relative terms in both tails. */
export function normalCdf(z: number): number {
  const half = 0.5 * normalTwoSided(z);
  return z < 0 ? half : 1 - half;
}

/** 1 - Φ(z), accurate in relative terms in the upper tail. */
export function normalUpper(z: number): number {
  const half = 0.5 * normalTwoSided(z);
  return z >= 0 ? half : 1 - half;
}

/** The standard normal density. */
export function normalPdf(z: number): number {
  return Math.exp(-0.5 * z * z - LN_SQRT_2PI);
}

/**
 * Φ⁻¹(p): Abramowitz & Stegun 26.2.23 as the start (error < 4.5e-4), then Newton steps
 * on the accurate CDF until the step is below 1e-10 relative (then the error is below 1 ulp).
 *
 * @example
 * normalQuantile(0.975); // 1.959963984540054
 */
export function normalQuantile(p: number): number {
  // The analysis asks for the same few quantiles (1 − α/2, the power) on every look.
  const known = quantileCache.get(p);
  if (known !== undefined) return known;
  const x = computeNormalQuantile(p);
  if (quantileCache.size >= 64) quantileCache.clear();
  quantileCache.set(p, x);
  return x;
}
const quantileCache = new Map<number, number>();

function computeNormalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) {
    if (p === 0) return Number.NEGATIVE_INFINITY;
    if (p === 1) return Number.POSITIVE_INFINITY;
    throw new RangeError(`normalQuantile needs 0 <= p <= 1, got ${p}`);
  }
  const lower = p < 0.5;
  const q = lower ? p : 1 - p;
  const t = Math.sqrt(-2 * Math.log(q));
  let x =
    t -
    (2.515517 + 0.802853 * t + 0.010328 * t * t) /
      (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t);
  // Solve for the upper-tail quantile: Q(x) = q with Q(x) = 1 - Φ(x), in the tail that keeps digits.
  for (let i = 0; i < 50; i++) {
    const err = normalUpper(x) - q;
    const step = err / normalPdf(x);
    x += step;
    // Newton converges quadratically: after a step this small the error is far below 1 ulp.
    if (Math.abs(step) <= 1e-10 * Math.max(1, Math.abs(x))) break;
  }
  return lower ? -x : x;
}

/**
 * P(|T| >= |t|) for Student's t with `df` degrees of freedom (df may be fractional, as
 * Welch's is): I_{df/(df+t²)}(df/2, 1/2).
 *
 * @example
 * studentTTwoSided(2.0, 10); // 0.0734...
 */
export function studentTTwoSided(t: number, df: number): number {
  if (!(df > 0)) throw new RangeError(`studentTTwoSided needs df > 0, got ${df}`);
  if (!Number.isFinite(t)) return 0;
  const t2 = t * t;
  return betaReg(df / 2, 0.5, df / (df + t2), t2 / (df + t2));
}

/** Student's t density. */
export function studentTPdf(t: number, df: number): number {
  return Math.exp(
    logGamma((df + 1) / 2) -
      logGamma(df / 2) -
      0.5 * Math.log(df * Math.PI) -
      ((df + 1) / 2) * Math.log1p((t * t) / df),
  );
}

/**
 * The t quantile: Newton steps on the two-sided tail from the normal quantile.
 *
 * @example
 * studentTQuantile(0.975, 10); // 2.228138851986274
 */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`studentTQuantile needs 0 < p < 1, got ${p}`);
  if (p === 0.5) return 0;
  const lower = p < 0.5;
  const q = lower ? p : 1 - p; // upper tail probability
  let x = Math.max(normalQuantile(1 - q), 1e-8);
  for (let i = 0; i < 200; i++) {
    const err = 0.5 * studentTTwoSided(x, df) - q;
    let step = err / studentTPdf(x, df);
    // Heavy tails (small df) can overshoot below zero from a far start; halve instead.
    if (x + step <= 0) step = -x / 2;
    x += step;
    if (Math.abs(step) <= 1e-10 * Math.max(1, Math.abs(x))) break;
  }
  return lower ? -x : x;
}

/**
 * P(X >= x) for a chi-square X with `df` degrees of freedom.
 *
 * @example
 * chiSquareSf(3.841458820694124, 1); // 0.05
 */
export function chiSquareSf(x: number, df: number): number {
  if (!(df > 0)) throw new RangeError(`chiSquareSf needs df > 0, got ${df}`);
  return gammaQ(df / 2, x / 2);
}

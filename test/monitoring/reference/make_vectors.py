#!/usr/bin/python3
"""Reference values for the drift statistics, computed with Debian's SciPy and numpy.

Run with Debian's Python (apt-get install python3-scipy):
    /usr/bin/python3 test/monitoring/reference/make_vectors.py
It writes vectors.json beside this file; test/monitoring/reference.test.ts regenerates the
same samples from the generator specs and compares.

Samples are either listed inline or described by a generator both sides implement exactly
(a 32-bit LCG; sums of uniforms and floors are exact in IEEE doubles), so large samples need
not be stored.
"""
import json
import math
import os

import numpy as np
import scipy
from scipy import stats
from scipy.spatial.distance import jensenshannon


def lcg(seed):
    state = seed & 0xFFFFFFFF
    while True:
        state = (state * 1664525 + 1013904223) & 0xFFFFFFFF
        yield state / 4294967296.0


def generate(spec):
    """kind 'normal': (u1+u2+u3+u4-2)*sqrt(3)*scale+shift; 'int': floor(u*levels)+shift."""
    rnd = lcg(spec["seed"])
    out = np.empty(spec["n"])
    sqrt3 = math.sqrt(3)
    for i in range(spec["n"]):
        if spec["kind"] == "normal":
            z = next(rnd) + next(rnd)
            z = z + next(rnd)
            z = z + next(rnd)
            out[i] = (z - 2) * sqrt3 * spec["scale"] + spec["shift"]
        else:
            out[i] = math.floor(next(rnd) * spec["levels"]) + spec["shift"]
    return out


def sample(s):
    return np.asarray(s, dtype=float) if isinstance(s, list) else generate(s)


def psi_edges(ref, bins=10):
    """Each decile (numpy linear) moved to the middle of the gap between the distinct baseline
    values around it (the gap below, when the decile is a baseline value); none at the minimum."""
    s = np.sort(ref)
    out = []
    for q in np.quantile(ref, np.arange(1, bins) / bins):
        i = int(np.searchsorted(s, q, side="left"))
        if i == 0 or i == len(s):
            continue
        below, above = s[i - 1], s[i]
        mid = (below + above) / 2
        e = mid if mid > below else above
        if not out or e > out[-1]:
            out.append(e)
    return np.array(out)


def psi_deciles(ref, cur, bins=10, eps=1e-4):
    """PSI on the unique deciles themselves (the definition before the tie fix), for contrast."""
    edges = np.unique(np.quantile(ref, np.arange(1, bins) / bins))
    r = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1) / len(ref)
    c = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=len(edges) + 1) / len(cur)
    r = np.maximum(r, eps)
    c = np.maximum(c, eps)
    return float(np.sum((c - r) * np.log(c / r)))


def psi(ref, cur, bins=10, eps=1e-4):
    """The documented PSI: cut points from psi_edges, bins closed on the left, shares floored at eps."""
    edges = psi_edges(ref, bins)
    r = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1) / len(ref)
    c = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=len(edges) + 1) / len(cur)
    r = np.maximum(r, eps)
    c = np.maximum(c, eps)
    return float(np.sum((c - r) * np.log(c / r)))


def numeric_case(name, a, b):
    x, y = sample(a), sample(b)
    ks = stats.ks_2samp(x, y, method="auto")
    n1, n2 = len(x), len(y)
    return {
        "name": name,
        "baseline": a,
        "current": b,
        "ks_statistic": float(ks.statistic),
        "ks_pvalue": float(ks.pvalue),
        "ks_method": "exact" if max(n1, n2) <= 10000 else "asymp",
        "psi": psi(x, y),
        "wasserstein": float(stats.wasserstein_distance(x, y)),
        "wasserstein_normalized": float(stats.wasserstein_distance(x, y) / max(np.std(x), 0.001)),
    }


def categorical_case(name, a, b):
    keys = list(dict.fromkeys(list(a.keys()) + list(b.keys())))
    ra = np.array([a.get(k, 0) for k in keys], dtype=float)
    rb = np.array([b.get(k, 0) for k in keys], dtype=float)
    chi2, p, dof, _ = stats.chi2_contingency(np.vstack([ra, rb]), correction=False)
    return {
        "name": name,
        "baseline": a,
        "current": b,
        "chi2_statistic": float(chi2),
        "chi2_pvalue": float(p),
        "dof": int(dof),
        "jensenshannon": float(jensenshannon(ra, rb, base=2)),
        "psi": psi_counts(ra, rb),
    }


def psi_counts(r, c, eps=1e-4):
    r = np.maximum(r / r.sum(), eps)
    c = np.maximum(c / c.sum(), eps)
    return float(np.sum((c - r) * np.log(c / r)))


def normal(seed, n, shift=0.0, scale=1.0):
    return {"kind": "normal", "seed": seed, "n": n, "shift": shift, "scale": scale}


def ints(seed, n, levels, shift=0):
    return {"kind": "int", "seed": seed, "n": n, "levels": levels, "shift": shift}


def tied_scores():
    """A tree model's scores: few distinct values, most tied; the live ones rounded to float32
    (served by ONNX Runtime) against the float64 scores the profile was made from."""
    scores = [0.0123456789, 0.0876543211, 0.1357913579, 0.246802468, 0.3141592654, 0.5772156649, 0.6931471806, 0.8414709848]
    ref = [v for v, k in zip(scores, [120, 40, 60, 30, 50, 40, 30, 30]) for _ in range(k)]
    cur = [float(np.float32(v)) for v, k in zip(scores, [90, 30, 45, 22, 38, 30, 22, 23]) for _ in range(k)]
    return ref, cur


numeric = [
    numeric_case("tiny, no ties, equal sizes", [0.1, 0.5, 0.9, 1.3, 2.2], [0.3, 0.7, 1.8, 2.5, 3.1]),
    numeric_case("tiny, unequal sizes", [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], [2.5, 3.5, 9.0]),
    numeric_case("ties within and across samples", [1, 1, 2, 2, 2, 3, 3, 4, 5, 5, 5, 5], [2, 2, 3, 3, 3, 3, 4, 4, 6, 6]),
    numeric_case("identical samples", [1, 2, 3, 4], [1, 2, 3, 4]),
    numeric_case("disjoint samples", [1, 2, 3], [10, 11, 12, 13]),
    numeric_case("exact, equal sizes 500, small shift", normal(1, 500), normal(2, 500, 0.2)),
    numeric_case("exact, 300 vs 700", normal(3, 300), normal(4, 700, 0.1, 1.3)),
    numeric_case("exact, integer ties 800 vs 600", ints(5, 800, 12), ints(6, 600, 12, 1)),
    numeric_case("exact at the limit, 10000 vs 1000", normal(7, 10000), normal(8, 1000, 0.05)),
    numeric_case("asymptotic, 10001 vs 50 (n = 50)", normal(9, 10001), normal(10, 50, 0.3)),
    numeric_case("asymptotic, 10001 vs 120, small D", normal(11, 10001), normal(12, 120)),
    numeric_case("asymptotic, 12000 vs 8000, slight shift", normal(13, 12000), normal(14, 8000, 0.03)),
    numeric_case("asymptotic, 20000 vs 15000, shift 0.1", normal(15, 20000), normal(16, 15000, 0.1)),
    numeric_case("asymptotic, integer ties 15000 vs 12000", ints(17, 15000, 50), ints(18, 12000, 50)),
    numeric_case("asymptotic, 300000 vs 300000, same law", normal(19, 300000), normal(20, 300000)),
    numeric_case("asymptotic, 300000 vs 250000, shift 0.01", normal(21, 300000), normal(22, 250000, 0.01)),
    numeric_case("constant baseline", [3, 3, 3, 3, 3, 3], [3, 3, 4, 3, 5]),
    numeric_case("first decile at a tied minimum, current below it", [1] * 25 + list(range(2, 77)), [0.5] * 5 + [1] * 20 + list(range(2, 77))),
    numeric_case("tied scores, current rounded to float32", *tied_scores()),
]

# The one-sample Kolmogorov survival function in each of its regions.
kstwo_points = [
    (5, 0.15), (5, 0.3), (5, 0.45), (5, 0.6), (5, 0.85),
    (50, 0.015), (50, 0.05), (50, 0.1), (50, 0.2), (50, 0.35), (50, 0.6),
    (140, 0.05), (140, 0.12), (140, 0.2),
    (141, 0.05), (141, 0.1), (141, 0.2),
    (1000, 0.001), (1000, 0.01), (1000, 0.02), (1000, 0.03), (1000, 0.05), (1000, 0.2),
    (5000, 0.003), (5000, 0.01), (5000, 0.02),
    (100000, 0.0005), (100000, 0.002), (100000, 0.005),
    (150000, 0.0005), (150000, 0.002), (150000, 0.005),
    (2000000, 0.0003), (2000000, 0.001), (2000000, 0.0015),
]
kstwo = [{"n": n, "x": x, "sf": float(stats.kstwo.sf(x, n))} for n, x in kstwo_points]

categorical = [
    categorical_case("same shares", {"a": 50, "b": 30, "c": 20}, {"a": 100, "b": 60, "c": 40}),
    categorical_case("shifted shares", {"a": 50, "b": 30, "c": 20}, {"a": 20, "b": 30, "c": 50}),
    categorical_case("unseen category", {"a": 500, "b": 300}, {"a": 400, "b": 250, "z": 90}),
    categorical_case("category gone", {"a": 40, "b": 40, "c": 20}, {"a": 55, "b": 45}),
    categorical_case("many categories", {str(i): 100 + 7 * i for i in range(30)}, {str(i): 130 - 3 * i for i in range(30)}),
]

chi2_sf = [
    {"x": x, "dof": k, "sf": float(stats.chi2.sf(x, k))}
    for x, k in [(0.5, 1), (3.841458820694124, 1), (10.0, 3), (2.0, 5), (50.0, 29), (300.0, 250), (1e-6, 2), (80.0, 10)]
]

out = {
    "generator": "test/monitoring/reference/make_vectors.py",
    "scipy": scipy.__version__,
    "numpy": np.__version__,
    "numeric": numeric,
    "kstwo": kstwo,
    "categorical": categorical,
    "chi2_sf": chi2_sf,
}
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "vectors.json"), "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
ref, cur = tied_scores()
print(f"tied scores rounded to float32: PSI {psi(np.array(ref), np.array(cur)):.4f}, on the bare deciles {psi_deciles(np.array(ref), np.array(cur)):.4f}")
print(f"wrote {len(numeric)} numeric, {len(categorical)} categorical, {len(kstwo)} kstwo, {len(chi2_sf)} chi2 vectors")

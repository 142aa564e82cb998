#!/usr/bin/python3
"""Writes vectors.json and outcomes.csv: reference values for every statistic of the
experiment analysis, computed with Debian's SciPy and statsmodels, independently of the
TypeScript code under lambdas/experiments/.

Run with Debian's interpreter (apt-get install python3-scipy python3-statsmodels):
    /usr/bin/python3 test/experiments/reference/make_vectors.py
"""
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import scipy
import statsmodels
from scipy import optimize, stats
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_effectsize,
    proportions_ztest,
)
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW, ttest_ind

HERE = Path(__file__).resolve().parent
ALPHA = 0.05
Z = stats.norm.isf(ALPHA / 2)


def t_quantile(p, df):
    # SciPy 1.10's t.ppf (cephes stdtrit) is off by ~1e-11 relative; solve its own sf instead.
    q = 1 - p
    return optimize.brentq(lambda x: stats.t.sf(x, df) - q, 0, 1e6, xtol=1e-15, rtol=4 * np.finfo(float).eps)


def delta_lift(m_t, se2_t, m_c, se2_c):
    """Relative lift m_t/m_c - 1 with the delta-method normal interval."""
    r = m_t / m_c
    se = math.sqrt(se2_t / m_c**2 + m_t**2 * se2_c / m_c**4)
    return {"lift": r - 1, "ci": [r - 1 - Z * se, r - 1 + Z * se]}


def special():
    zs = [0.0, 0.5, 1.0, 1.6448536269514722, 1.959963984540054, 2.5, 3.0, 4.0, 6.0, 8.0, -2.2]
    ps = [1e-12, 1e-6, 0.001, 0.025, 0.1, 0.3, 0.5, 0.7, 0.8, 0.975, 0.999]
    ts = [(0.0, 5), (0.3, 1), (2.0, 10), (2.0, 10.5), (-1.7, 3.3), (3.0, 30), (6.0, 4), (2.5, 2475.3), (1.96, 1e5), (3.0, 1e6), (0.1, 5e6)]
    tq = [(0.975, 1), (0.975, 1.5), (0.975, 10), (0.975, 37.2), (0.975, 2475.3), (0.995, 5), (0.975, 1e6)]
    chi = [(0.5, 1), (3.841458820694124, 1), (10.8, 1), (25.0, 1), (5.99, 2), (20.0, 3), (1.0, 4), (40.0, 9), (0.0, 2)]
    return {
        "normal_two_sided": [{"z": z, "p": 2 * stats.norm.sf(abs(z))} for z in zs],
        "normal_quantile": [{"p": p, "x": stats.norm.ppf(p)} for p in ps],
        "t_two_sided": [{"t": t, "df": df, "p": 2 * stats.t.sf(abs(t), df)} for t, df in ts],
        "t_quantile": [{"p": p, "df": df, "x": t_quantile(p, df)} for p, df in tq],
        "chi_square_sf": [{"x": x, "df": df, "p": stats.chi2.sf(x, df)} for x, df in chi],
    }


def proportions():
    cases = [(120, 1000, 100, 1000), (287, 2080, 1871, 17920), (50, 5000, 49, 45000), (3, 40, 9, 41), (10450, 100000, 10000, 100000)]
    out = []
    for xt, nt, xc, nc in cases:
        z, p = proportions_ztest([xt, xc], [nt, nc])
        lo, hi = confint_proportions_2indep(xt, nt, xc, nc, method="wald", compare="diff", alpha=ALPHA)
        pt, pc = xt / nt, xc / nc
        out.append({
            "xT": xt, "nT": nt, "xC": xc, "nC": nc,
            "z": float(z), "p": float(p), "diff_ci": [float(lo), float(hi)],
            **{f"lift_{k}": v for k, v in delta_lift(pt, pt * (1 - pt) / nt, pc, pc * (1 - pc) / nc).items()},
        })
    return out


def welch():
    rng = np.random.default_rng(20240513)
    specs = [(200, 10.5, 2.0, 300, 10.0, 3.0), (35, 1.0, 0.2, 900, 1.1, 1.5), (2000, 100.0, 40.0, 1800, 98.0, 10.0), (12, -3.0, 1.0, 9, -2.0, 4.0)]
    out = []
    for nt, mt, st_, nc, mc, sc in specs:
        t_vals = np.round(rng.normal(mt, st_, nt), 6)
        c_vals = np.round(rng.normal(mc, sc, nc), 6)
        tstat, p, df = ttest_ind(t_vals, c_vals, usevar="unequal")
        lo, hi = CompareMeans(DescrStatsW(t_vals), DescrStatsW(c_vals)).tconfint_diff(alpha=ALPHA, usevar="unequal")
        vt, vc = t_vals.var(ddof=1), c_vals.var(ddof=1)
        out.append({
            "treatment": t_vals.tolist(), "control": c_vals.tolist(),
            "mean_t": float(t_vals.mean()), "var_t": float(vt), "mean_c": float(c_vals.mean()), "var_c": float(vc),
            "t": float(tstat), "df": float(df), "p": float(p), "diff_ci": [float(lo), float(hi)],
            **{f"lift_{k}": v for k, v in delta_lift(t_vals.mean(), vt / nt, c_vals.mean(), vc / nc).items()},
        })
    return out


def srm():
    cases = [([9100, 900], [0.9, 0.1]), ([9000, 1000], [0.9, 0.1]), ([5050, 4950], [0.5, 0.5]), ([3400, 3300, 3100], [1 / 3, 1 / 3, 1 / 3]), ([50210, 49790], [0.5, 0.5]), ([900, 100, 120], [0.8, 0.1, 0.1])]
    out = []
    for obs, shares in cases:
        res = stats.chisquare(obs, f_exp=np.sum(obs) * np.array(shares))
        out.append({"observed": obs, "shares": shares, "chi_square": float(res.statistic), "df": len(obs) - 1, "p": float(res.pvalue)})
    return out


def sample_size():
    cases = [(0.10, 0.02, 0.05, 0.8, 1.0), (0.10, 0.02, 0.05, 0.8, 1 / 9), (0.05, 0.10, 0.05, 0.9, 1.0), (0.30, 0.05, 0.01, 0.8, 0.25), (0.50, 0.01, 0.05, 0.8, 1.0)]
    out = []
    power = NormalIndPower()
    for base, mde, alpha, pw, ratio in cases:
        h = float(proportion_effectsize(base * (1 + mde), base))
        # The exact root of statsmodels' own power function (solve_power stops at its brentq tolerance).
        f = lambda n: power.power(effect_size=h, nobs1=n, alpha=alpha, ratio=ratio, alternative="two-sided") - pw
        exact = optimize.brentq(f, 2, 1e10, xtol=1e-10, rtol=4 * np.finfo(float).eps)
        solved = float(power.solve_power(effect_size=h, nobs1=None, alpha=alpha, power=pw, ratio=ratio))
        out.append({"baseline": base, "mde_relative": mde, "alpha": alpha, "power": pw, "ratio": ratio,
                    "effect_size": h, "nobs1": exact, "nobs1_solve_power": solved})
    # Continuous metric: Cohen's d = mde * |mean| / sd into the same power function.
    for mean, sd, mde, ratio in [(20.0, 35.0, 0.05, 1.0), (2.1, 6.36, 0.02, 1 / 9)]:
        d = mde * abs(mean) / sd
        f = lambda n: power.power(effect_size=d, nobs1=n, alpha=ALPHA, ratio=ratio, alternative="two-sided") - 0.8
        exact = optimize.brentq(f, 2, 1e12, xtol=1e-10, rtol=4 * np.finfo(float).eps)
        out.append({"baseline": mean, "sd": sd, "mde_relative": mde, "alpha": ALPHA, "power": 0.8, "ratio": ratio,
                    "effect_size": d, "nobs1": exact, "nobs1_solve_power": float(power.solve_power(effect_size=d, nobs1=None, alpha=ALPHA, power=0.8, ratio=ratio))})
    return out


def msprt():
    """mSPRT p-value of one look, p = min(1, 1/Lambda), written from Johari et al. (eq. for a normal mixture)."""
    out = []
    for diff, var, tau2 in [(0.01, 2e-5, 1e-4), (0.0, 1e-4, 4e-6), (0.034, 5.2e-5, 4.4e-6), (-0.5, 0.01, 0.25), (2.0, 0.1, 0.04), (1e-3, 1e-8, 1e-6)]:
        lam = math.sqrt(var / (var + tau2)) * math.exp(tau2 * diff**2 / (2 * var * (var + tau2)))
        out.append({"diff": diff, "variance": var, "tau2": tau2, "p": min(1.0, 1 / lam)})
    return out


def point(salt, unit):
    return int.from_bytes(hashlib.sha256(f"{salt}:{unit}".encode("utf-8")).digest()[:8], "big") / 2**64


def assign(alloc, salt, unit):
    u, cum = point(salt, unit), 0.0
    for name, share in alloc:
        cum += share
        if u < cum:
            return name
    return alloc[-1][0]


def assignment():
    alloc = [("control", 0.9), ("treatment", 0.1)]
    units = ["user-1", "user-2", "42", "ünïcødé-用户", "a:b:c", "x" * 200]
    return {"allocation": dict(alloc), "cases": [
        {"salt": salt, "unit_id": u, "point": point(salt, u), "variant": assign(alloc, salt, u)}
        for salt in ["exp-42", "checkout-2024"] for u in units]}


def outcomes_csv():
    """A small CSV through the whole CLI path, and what SciPy/statsmodels make of it."""
    rng = np.random.default_rng(7)
    rows = []
    for i in range(3000):
        v = "control" if rng.random() < 0.8 else "treatment"
        conv = rng.random() < (0.10 if v == "control" else 0.14)
        value = round(float(rng.gamma(2.0, 15.0)), 4) if conv else 0.0
        rows.append((v, f"u{i}", int(conv), value))
    lines = ["variant,unit_id,converted,value"] + [f"{v},{u},{c},{x}" for v, u, c, x in rows]
    (HERE / "outcomes.csv").write_text("\n".join(lines) + "\n")
    by = {v: [r for r in rows if r[0] == v] for v in ("control", "treatment")}
    n = {v: len(by[v]) for v in by}
    x = {v: sum(r[2] for r in by[v]) for v in by}
    vals = {v: np.array([r[3] for r in by[v]]) for v in by}
    z, pz = proportions_ztest([x["treatment"], x["control"]], [n["treatment"], n["control"]])
    t, pt, df = ttest_ind(vals["treatment"], vals["control"], usevar="unequal")
    srm_ = stats.chisquare([n["control"], n["treatment"]], f_exp=np.array([0.8, 0.2]) * (n["control"] + n["treatment"]))
    return {"allocation": {"control": 0.8, "treatment": 0.2}, "units": n, "conversions": x,
            "value_mean": {v: float(vals[v].mean()) for v in by}, "value_sd": {v: float(vals[v].std(ddof=1)) for v in by},
            "z": float(z), "z_p": float(pz), "t": float(t), "t_p": float(pt), "df": float(df),
            "srm_chi_square": float(srm_.statistic), "srm_p": float(srm_.pvalue)}


if __name__ == "__main__":
    vectors = {
        "generated_by": f"make_vectors.py with SciPy {scipy.__version__}, statsmodels {statsmodels.__version__}, NumPy {np.__version__}",
        "alpha": ALPHA,
        "special": special(),
        "proportions": proportions(),
        "welch": welch(),
        "srm": srm(),
        "sample_size": sample_size(),
        "msprt": msprt(),
        "assignment": assignment(),
        "outcomes_csv": outcomes_csv(),
    }
    (HERE / "vectors.json").write_text(json.dumps(vectors, indent=1) + "\n")
    print(f"wrote {HERE / 'vectors.json'} and {HERE / 'outcomes.csv'}")

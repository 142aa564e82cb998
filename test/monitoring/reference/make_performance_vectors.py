#!/usr/bin/python3
"""Reference values for the performance job on delayed labels, computed with Debian's SciPy
and numpy (scikit-learn is not packaged on this machine; AUC is the Mann-Whitney U
statistic over n_pos * n_neg, which is what sklearn.metrics.roc_auc_score computes,
ties counted one half).

Run with Debian's Python (apt-get install python3-scipy):
    /usr/bin/python3 test/monitoring/reference/make_performance_vectors.py
It writes performance_vectors.json beside this file; test/monitoring/performance.test.ts
feeds the same data through the prediction index and the job and compares.

Binary metrics use the threshold 0.5 with P(y = 1) >= 0.5 predicting 1 (as training's
evaluation does); precision, recall and F1 are 0 when their denominator is 0.
"""
import json
import math
import os

import numpy as np
from scipy import stats


def lcg(seed):
    state = seed & 0xFFFFFFFF
    while True:
        state = (state * 1664525 + 1013904223) & 0xFFFFFFFF
        yield state / 4294967296.0


def binary(y, p):
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    pos = p[y == 1]
    neg = p[y == 0]
    if len(pos) == 0 or len(neg) == 0:
        auc = None
    else:
        u = stats.mannwhitneyu(pos, neg, alternative="two-sided", method="asymptotic").statistic
        auc = float(u) / (len(pos) * len(neg))
    pred = (p >= 0.5).astype(float)
    tp = float(np.sum((pred == 1) & (y == 1)))
    fp = float(np.sum((pred == 1) & (y == 0)))
    fn = float(np.sum((pred == 0) & (y == 1)))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "auc": auc,
        "accuracy": float(np.mean(pred == y)),
        "f1": f1,
        "precision": precision,
        "recall": recall,
    }


def regression(y, p):
    e = np.asarray(p, dtype=float) - np.asarray(y, dtype=float)
    return {"rmse": float(np.sqrt(np.mean(e * e))), "mae": float(np.mean(np.abs(e)))}


def binary_cases():
    cases = [
        {
            "name": "small with tied scores",
            "labels": [0, 0, 1, 1, 0, 1, 1, 0],
            "scores": [0.1, 0.4, 0.35, 0.8, 0.4, 0.5, 0.9, 0.5],
        },
        {"name": "one class only", "labels": [1, 1, 1], "scores": [0.2, 0.7, 0.5]},
    ]
    rnd = lcg(11)
    y, p = [], []
    for _ in range(500):
        label = 1 if next(rnd) < 0.2 else 0
        # Scores rounded to two decimals: many ties, as calibrated models give.
        score = round(min(0.99, max(0.01, 0.35 * label + 0.65 * next(rnd))), 2)
        y.append(label)
        p.append(score)
    cases.append({"name": "500 imbalanced rows, rounded scores", "labels": y, "scores": p})
    for c in cases:
        c["expected"] = binary(c["labels"], c["scores"])
    return cases


def regression_cases():
    rnd = lcg(5)
    y = [round(10 * next(rnd), 3) for _ in range(300)]
    p = [round(v + (next(rnd) - 0.5) * 3, 3) for v in y]
    return [{"name": "300 rows", "labels": y, "predictions": p, "expected": regression(y, p)}]


def join_scenario():
    """Requests over three days (and a few outside the range) on two versions; labels for
    most of them, arriving later; one request of 250 rows spans three log lines."""
    rnd = lcg(2026)
    start = 1767225600000  # 2026-01-01T00:00:00Z
    day = 86400000
    frm, to = start, start + 3 * day
    requests = []
    for i in range(300):
        t = frm - 2 * 3600000 + int(next(rnd) * (3 * day + 4 * 3600000))
        version = "1" if t < frm + int(1.5 * day) else "2"
        rows = 250 if i == 17 else (3 if i % 10 == 0 else 1)
        truth = [1 if next(rnd) < 0.3 else 0 for _ in range(rows)]
        skill = 0.45 if version == "1" else 0.2
        scores = [round(min(0.999, max(0.001, skill * y + (1 - skill) * next(rnd))), 3) for y in truth]
        labelled = next(rnd) < 0.7
        label = truth
        if labelled and i == 42:
            label = [2] * rows  # not a binary label: counted invalid
        requests.append(
            {
                "request_id": f"req-{i:04d}",
                "timestamp": t,
                "version": version,
                "predictions": scores,
                "label": label if labelled else None,
                # Labels arrive up to five days after their prediction.
                "label_delay_ms": int(next(rnd) * 5 * day),
            }
        )
    windows = []
    whole = {}
    for w in range(3):
        w_from, w_to = frm + w * day, frm + (w + 1) * day
        for version in ("1", "2"):
            rows = labelled = invalid = 0
            y, p = [], []
            for r in requests:
                if not (w_from <= r["timestamp"] < w_to) or r["version"] != version:
                    continue
                rows += len(r["predictions"])
                if r["label"] is None:
                    continue
                for yi, pi in zip(r["label"], r["predictions"]):
                    if yi in (0, 1):
                        y.append(yi)
                        p.append(pi)
                    else:
                        invalid += 1
            if rows == 0:
                continue
            acc = whole.setdefault(version, {"rows": 0, "invalid": 0, "y": [], "p": []})
            acc["rows"] += rows
            acc["invalid"] += invalid
            acc["y"] += y
            acc["p"] += p
            windows.append(
                {
                    "from": w_from,
                    "version": version,
                    "rows": rows,
                    "labelled_rows": len(y),
                    "invalid_labels": invalid,
                    "metrics": binary(y, p) if y else None,
                }
            )
    versions = [
        {
            "version": v,
            "rows": a["rows"],
            "labelled_rows": len(a["y"]),
            "invalid_labels": a["invalid"],
            "metrics": binary(a["y"], a["p"]),
        }
        for v, a in sorted(whole.items())
    ]
    return {
        "from": frm,
        "to": to,
        "window_ms": day,
        "requests": requests,
        "windows": windows,
        "versions": versions,
    }


def main():
    out = {
        "binary": binary_cases(),
        "regression": regression_cases(),
        "join": join_scenario(),
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "performance_vectors.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

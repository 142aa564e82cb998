"""Trains scikit-learn's counterparts of the built-in trainers on the benchmark's data.

Usage: python3 sklearn_reference.py <dir> <rows> <test_rows> <features> <rounds>
<dir> holds x_train.f64, y_train.f64, x_test.f64, y_test.f64 (row-major float64) written
by training.bench.ts, and optionally which fits to run (logistic,gbdt). Prints one JSON object:
wall and CPU seconds of each fit, test AUC, peak RSS and involuntary context switches (how often
another process took our core). Threads follow OMP_NUM_THREADS (the benchmark sets it).
Run by the benchmark with Debian's python3-sklearn; no other dependency.
"""
import json
import resource
import sys
import time

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def main():
    folder, rows, test_rows, features, rounds = sys.argv[1], *map(int, sys.argv[2:6])
    x = np.fromfile(f"{folder}/x_train.f64", dtype=np.float64).reshape(rows, features)
    y = np.fromfile(f"{folder}/y_train.f64", dtype=np.float64)
    x_test = np.fromfile(f"{folder}/x_test.f64", dtype=np.float64).reshape(test_rows, features)
    y_test = np.fromfile(f"{folder}/y_test.f64", dtype=np.float64)
    which = sys.argv[6].split(",") if len(sys.argv) > 6 else ["logistic", "gbdt"]
    out = {"version": __import__("sklearn").__version__}
    if "logistic" in which:
        # Our trainer standardizes, so the counterpart is a StandardScaler + LogisticRegression pipeline.
        model = make_pipeline(StandardScaler(), LogisticRegression())
        t, c = time.perf_counter(), time.process_time()
        model.fit(x, y)
        seconds, cpu = time.perf_counter() - t, time.process_time() - c
        auc = roc_auc_score(y_test, model.predict_proba(x_test)[:, 1])
        out["logistic"] = {
            "seconds": seconds,
            "cpu_seconds": cpu,
            "auc": auc,
            "iterations": int(model[-1].n_iter_[0]),
        }
    if "gbdt" in which:
        model = HistGradientBoostingClassifier(
            max_iter=rounds,
            max_leaf_nodes=31,
            max_bins=255,
            learning_rate=0.1,
            min_samples_leaf=20,
            l2_regularization=0.0,
            early_stopping=False,
            random_state=0,
        )
        t, c = time.perf_counter(), time.process_time()
        model.fit(x, y)
        seconds, cpu = time.perf_counter() - t, time.process_time() - c
        auc = roc_auc_score(y_test, model.predict_proba(x_test)[:, 1])
        out["gbdt"] = {"seconds": seconds, "cpu_seconds": cpu, "auc": auc, "trees": model.n_iter_}
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out["peak_rss_mib"] = usage.ru_maxrss / 1024
    out["involuntary_switches"] = usage.ru_nivcsw
    print(json.dumps(out))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Writes the scikit-learn reference the training tests compare against.

Dataset: breast cancer Wisconsin (ships with scikit-learn, 569 rows, 30 numeric features).
Split: stratified 25% test with random_state=42, written as a `split` column (train/test)
so our trainer uses exactly the same rows (`--split-column split`).
Models (defaults): LogisticRegression() after StandardScaler (our trainer standardizes, so
the objective is the same: L2, C=1, unpenalized intercept), and HistGradientBoostingClassifier()
(no early stopping below 10,000 rows).

Run with Debian's python (python3-sklearn):  /usr/bin/python3 scripts/reference/sklearn_reference.py
"""
import csv
import json
import os

import numpy as np
import sklearn
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "..", "test", "training", "fixtures")

data = load_breast_cancer()
features = [c.replace(" ", "_") for c in data.feature_names]
X, y = data.data, data.target
idx_train, idx_test = train_test_split(np.arange(len(y)), test_size=0.25, random_state=42, stratify=y)
split = np.array(["train"] * len(y), dtype=object)
split[idx_test] = "test"
os.makedirs(FIXTURES, exist_ok=True)
with open(os.path.join(FIXTURES, "breast_cancer.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(features + ["target", "split"])
    for i in range(len(y)):
        w.writerow([repr(float(v)) for v in X[i]] + [int(y[i]), split[i]])

X_train, y_train = X[idx_train], y[idx_train]
X_test, y_test = X[idx_test], y[idx_test]

results = {"sklearn_version": sklearn.__version__, "dataset": "breast_cancer", "test_rows": int(len(idx_test))}
models = {
    "logistic": make_pipeline(StandardScaler(), LogisticRegression()),
    "gbdt": HistGradientBoostingClassifier(),
}
for name, model in models.items():
    model.fit(X_train, y_train)
    p = model.predict_proba(X_test)[:, 1]
    results[name] = {
        "auc": float(roc_auc_score(y_test, p)),
        "log_loss": float(log_loss(y_test, p)),
        "accuracy": float(accuracy_score(y_test, (p > 0.5).astype(int))),
    }

with open(os.path.join(FIXTURES, "sklearn_reference.json"), "w") as f:
    json.dump(results, f, indent=2)
    f.write("\n")
print(json.dumps(results, indent=2))

"""Benchmark: what recording the kernel's calls (sandbox/runner/kernel_site/kernel_trace.py) costs.

Runs the same workloads in two fresh interpreters, one with the trace active and one without,
and prints seconds for each and the difference per call:

- `calls`: the cheapest traced calls, in a tight loop (a comparison on a 100-row Series, a
  groupby on a tiny frame, average_precision_score on 200 labels): the wrapper's cost per call;
- `audit`: an audit's numeric work on a 40-column, 12-month frame (PSI and KS per column and
  month, missingness by label, duplicates, churn rate by month, a single-feature ranking);
- `modeling`: an expanding-window search (LightGBM, 8 configurations x 2 folds) with a
  bootstrap of the test metric.

    .venv/bin/python benchmarks/bench_kernel_trace.py [--rows 60000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

KERNEL_SITE = Path(__file__).resolve().parents[1] / "sandbox" / "runner" / "kernel_site"

WORKLOAD = r"""
import json, os, sys, time
if os.environ.get("TRACE_ON") == "1":
    fd = os.open(os.environ["TRACE_PATH"], os.O_WRONLY | os.O_APPEND)
    sys.path.insert(0, os.environ["KERNEL_SITE"])
    import kernel_trace
    kernel_trace.activate(fd)
    import sitecustomize  # the import hook, as in the kernel
    sitecustomize._trace = kernel_trace
import numpy as np, pandas as pd, lightgbm as lgb
from scipy import stats
from sklearn.metrics import average_precision_score

rows, repeat = int(os.environ["ROWS"]), int(os.environ["REPEAT"])
rng = np.random.default_rng(0)
months = [f"2025-{m:02d}" for m in range(1, 13)]
frame = pd.DataFrame(rng.normal(size=(rows, 40)), columns=[f"f{i}" for i in range(40)])
frame.iloc[rng.integers(0, rows, rows // 20), 3] = np.nan
frame["month"] = rng.choice(months, rows)
frame["label"] = (rng.random(rows) < 0.05).astype(int)
timings = {}

def timed(name, work):
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    timings[name] = best

small = pd.Series(np.arange(100.0))
tiny = pd.DataFrame({"k": [1, 2] * 50, "v": np.arange(100.0)})
labels, scores = np.array([0, 1] * 100), np.linspace(0, 1, 200)
CALLS = 20000

def calls():
    for _ in range(CALLS):
        small < 50.0
    for _ in range(CALLS // 10):
        tiny.groupby("k")
    for _ in range(CALLS // 10):
        average_precision_score(labels, scores)

def psi(a, b):
    edges = np.unique(np.quantile(a, np.linspace(0, 1, 11)[1:-1]))
    p = np.bincount(np.searchsorted(edges, a), minlength=len(edges) + 1) / len(a)
    q = np.bincount(np.searchsorted(edges, b), minlength=len(edges) + 1) / len(b)
    p, q = np.clip(p, 1e-4, None), np.clip(q, 1e-4, None)
    return float(np.sum((q - p) * np.log(q / p)))

def audit():
    frame.duplicated().sum()
    frame.groupby("month")["label"].mean()
    frame.isna().groupby(frame["label"]).mean()
    first = frame[frame["month"] == months[0]]
    for month in months[1:]:
        current = frame[frame["month"] == month]
        for column in frame.columns[:40]:
            a, b = first[column].dropna().to_numpy(), current[column].dropna().to_numpy()
            psi(a, b)
            stats.ks_2samp(a, b)
    for column in frame.columns[:40]:
        average_precision_score(frame["label"], frame[column].fillna(-99))

def modeling():
    X, y, month = frame[frame.columns[:40]].to_numpy(), frame["label"].to_numpy(), frame["month"].to_numpy()
    for config in range(8):
        for valid in months[-3:-1]:
            fit, held = month < valid, month == valid
            booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 7 + config, "num_threads": 1},
                                lgb.Dataset(X[fit], y[fit]), 30)
            average_precision_score(y[held], booster.predict(X[held]))
    test = month == months[-1]
    p = booster.predict(X[test])
    for _ in range(200):
        sample = rng.integers(0, test.sum(), test.sum())
        average_precision_score(y[test][sample], p[sample])

timed("calls", calls)
timed("audit", audit)
timed("modeling", modeling)
print(json.dumps(timings))
"""

# Calls in the `calls` workload, to turn its difference into a per-call cost.
CALLS = 20000 + 2000 + 2000


def run(trace_on: bool, rows: int, repeat: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile(suffix=".jsonl") as trace:
        env = {
            **os.environ,
            "TRACE_ON": "1" if trace_on else "0",
            "TRACE_PATH": trace.name,
            "KERNEL_SITE": str(KERNEL_SITE),
            "ROWS": str(rows),
            "REPEAT": str(repeat),
            "OMP_NUM_THREADS": "1",
        }
        done = subprocess.run([sys.executable, "-c", WORKLOAD], env=env, capture_output=True, text=True, check=True)
        return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=60000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    off, on = run(False, args.rows, args.repeat), run(True, args.rows, args.repeat)
    for name in off:
        change = (on[name] - off[name]) / off[name] * 100
        print(f"{name:9s} without trace {off[name]:8.3f} s   with trace {on[name]:8.3f} s   ({change:+.1f} %)")
    print(f"per traced call (calls workload): {(on['calls'] - off['calls']) / CALLS * 1e6:+.2f} us")


if __name__ == "__main__":
    main()

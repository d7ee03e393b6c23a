"""Benchmark: packet + key + holdout generation against a make_classification baseline.

Each measurement runs in a fresh subprocess so its peak memory (max RSS) is its own.
Prints seconds, peak MB and the ratio to the baseline measured in the same run.
Target: at most 2x the baseline's time, under 300 MB peak, linear in --rows.

    .venv/bin/python benchmarks/bench_world.py [--rows 200000] [--scale 2000000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

_OURS = """
import json, resource, sys, time
from pathlib import Path
t0 = time.perf_counter()
from grader.world.packet import generate, write_key, write_packet
from grader.world.spec import load_spec
t1 = time.perf_counter()
seeded = generate(load_spec(), b"bench-secret", "bench-candidate", {rows}, False)
t2 = time.perf_counter()
write_packet(seeded, Path({out!r}) / "packet")
write_key(seeded, Path({out!r}) / "key")
t3 = time.perf_counter()
print(json.dumps({{"seconds": t3 - t1, "generate_s": t2 - t1, "write_s": t3 - t2, "import_s": t1 - t0,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

_BASELINE = """
import json, resource, time
from pathlib import Path
t0 = time.perf_counter()
import pandas as pd
from sklearn.datasets import make_classification
t1 = time.perf_counter()
x, y = make_classification(n_samples={rows}, n_features=40, n_informative=12, weights=[0.955], random_state=0)
frame = pd.DataFrame(x, columns=[f"f{{i}}" for i in range(40)])
frame["label"] = y
frame.to_parquet(Path({out!r}) / "baseline.parquet", index=False)
t2 = time.perf_counter()
print(json.dumps({{"seconds": t2 - t1, "import_s": t1 - t0,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def _run(code: str, rows: int) -> dict:
    with tempfile.TemporaryDirectory() as out:
        done = subprocess.run(
            [sys.executable, "-c", code.format(rows=rows, out=out)], capture_output=True, text=True, check=True
        )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _best(code: str, rows: int, repeats: int) -> dict:
    return min((_run(code, rows) for _ in range(repeats)), key=lambda r: r["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--scale", type=int, default=0, help="also time this many rows (e.g. 2000000)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    baseline = _best(_BASELINE, args.rows, args.repeats)
    ours = _best(_OURS, args.rows, args.repeats)
    ratio = ours["seconds"] / baseline["seconds"]
    print(f"rows: {args.rows:,} (best of {args.repeats}; imports excluded from seconds)")
    print(
        f"  baseline make_classification -> parquet : {baseline['seconds']:6.2f} s  peak {baseline['peak_mb']:6.0f} MB"
    )
    print(
        f"  packet + key + holdout                  : {ours['seconds']:6.2f} s  peak {ours['peak_mb']:6.0f} MB"
        f"  (generate {ours['generate_s']:.2f} s, write {ours['write_s']:.2f} s)"
    )
    print(
        f"  ratio to baseline: {ratio:.2f}x (target <= 2x); peak memory target < 300 MB: "
        f"{'met' if ours['peak_mb'] < 300 else 'NOT met'}"
    )
    if args.scale:
        big = _run(_OURS, args.scale)
        per_row_small = ours["seconds"] / args.rows
        per_row_big = big["seconds"] / args.scale
        print(
            f"rows: {args.scale:,}: {big['seconds']:.2f} s, peak {big['peak_mb']:.0f} MB; "
            f"time per row vs {args.rows:,} rows: {per_row_big / per_row_small:.2f}x (1.0 = linear)"
        )


if __name__ == "__main__":
    main()

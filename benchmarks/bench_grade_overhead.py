"""Benchmark: the grader's own overhead per submission, beside running the notebook bare.

Grades a minimal submission (one notebook: read the data, fit a tiny model, log it to
MLflow) at full size, then runs the same notebook with nbclient in this process, with no
sandbox, no world, no scoring: the baseline. The difference is what grading adds around
the candidate's code (world generation, copying, the sandbox, MLflow reading, holdout
scoring, the grader's reference model, evidence). Target: under 10 s.

    .venv/bin/python benchmarks/bench_grade_overhead.py [--rows 200000] [--backend docker|local]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from grader.grade import grade_submission
from grader.sandbox.docker import DockerSandbox
from grader.sandbox.local import LocalSandbox
from grader.world.packet import generate, write_packet
from grader.world.spec import load_spec

NOTEBOOK_CELLS = [
    "import pandas as pd, mlflow\nfrom sklearn.impute import SimpleImputer\n"
    "from sklearn.linear_model import LogisticRegression\nfrom sklearn.pipeline import make_pipeline\n"
    "df = pd.read_parquet('data/churn.parquet')\nnum = df.select_dtypes('number').drop(columns=['churned_next_30d'])",
    "with mlflow.start_run(run_name='baseline'):\n"
    "    model = make_pipeline(SimpleImputer(), LogisticRegression(max_iter=200))\n"
    "    model.fit(num.head(2000), df['churned_next_30d'].head(2000))\n"
    "    mlflow.sklearn.log_model(model, name='model', input_example=num.head(3), serialization_format='cloudpickle')",
]


def _submission(root: Path) -> Path:
    submission = root / "submission"
    submission.mkdir()
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in NOTEBOOK_CELLS]
    nbformat.write(notebook, submission / "audit.ipynb")
    return submission


def _bare_run(submission: Path, seeded, root: Path) -> float:
    """The baseline: the same notebook, executed directly, on the same data."""
    bare = root / "bare"
    shutil.copytree(submission, bare)
    write_packet(seeded, bare / "packet")
    (bare / "data").symlink_to(bare / "packet" / "data")
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{bare / 'mlflow.db'}"
    notebook = nbformat.read(bare / "audit.ipynb", as_version=4)
    started = time.perf_counter()
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(bare)}}).execute()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--backend", choices=["docker", "local"], default="docker")
    args = parser.parse_args()
    client = None
    if args.backend == "docker":
        from grader.engine.client import connect
        from grader.sandbox.docker.runner_image import ensure_runner_image

        client = connect()
        ensure_runner_image(client)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        submission = _submission(root)
        started = time.perf_counter()
        seeded = generate(load_spec(), b"bench-secret", "bench-overhead", args.rows, False)
        world_s = time.perf_counter() - started
        sandbox = DockerSandbox(client) if client is not None else LocalSandbox()
        evidence = grade_submission(submission, seeded, root / "report", sandbox)
        total = time.perf_counter() - started
        bare = _bare_run(submission, seeded, root)
    notebook_s = sum(n.seconds for n in evidence.notebook_run.notebooks)
    print(f"rows {args.rows:,}, backend {args.backend}")
    print(f"  baseline: the notebook run bare with nbclient : {bare:6.1f} s")
    print(f"  grading the same submission, in all         : {total:6.1f} s  ({total / bare:.1f}x the bare run)")
    print(f"    world generation                          : {world_s:6.1f} s")
    for name, outcome in evidence.stages.items():
        print(f"    stage {name:<12s}                      : {outcome.duration_s:6.1f} s  {outcome.status}")
    print(f"    of which the notebook itself ran          : {notebook_s:6.1f} s")
    overhead = total - bare
    print(
        f"  grader overhead (total - bare run)          : {overhead:6.1f} s  (target < 10 s: "
        f"{'met' if overhead < 10 else 'NOT met'})"
    )
    print(
        f"  everything but the notebook's own cells     : {total - notebook_s:6.1f} s  (includes loading and "
        "running the candidate's model on the holdout)"
    )


if __name__ == "__main__":
    main()

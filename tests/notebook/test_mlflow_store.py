"""Committed MLflow stores are read on a copy, with the candidate's absolute paths remapped."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.notebook.mlflow_store import prepare_committed_store, read_store

LOG_A_RUN = """
import sys, mlflow, numpy as np
from sklearn.linear_model import LogisticRegression
mlflow.set_tracking_uri(sys.argv[1])
with mlflow.start_run(run_name="tuned_model"):
    mlflow.log_param("C", 0.5)
    mlflow.log_metric("pr_auc", 0.31)
    mlflow.log_text("calibration table", "evaluation/calibration.txt")
    model = LogisticRegression().fit(np.array([[0.0], [1.0], [0.2], [0.9]]), [0, 1, 0, 1])
    mlflow.sklearn.log_model(model, name="model", serialization_format="cloudpickle")
"""


@pytest.mark.parametrize("kind", ["sqlite", "file"])
def test_a_store_committed_on_another_machine_is_read_from_its_copy(tmp_path: Path, kind: str) -> None:
    candidate_machine = tmp_path / "home" / "candidate" / "project"
    candidate_machine.mkdir(parents=True)
    uri = (
        f"sqlite:///{candidate_machine / 'mlflow.db'}" if kind == "sqlite" else (candidate_machine / "mlruns").as_uri()
    )
    env = {**os.environ, "MLFLOW_ALLOW_FILE_STORE": "true"}
    done = subprocess.run(
        [sys.executable, "-c", LOG_A_RUN, uri], cwd=candidate_machine, capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    # The submission arrives elsewhere; the candidate's absolute paths no longer exist.
    submission = tmp_path / "submission"
    shutil.move(candidate_machine, submission)
    store = submission / ("mlflow.db" if kind == "sqlite" else "mlruns")
    copy = tmp_path / "copy"
    copy.mkdir()
    before = sorted(p.read_bytes() for p in submission.rglob("*") if p.is_file())
    read = read_store(prepare_committed_store(store, copy), "committed")
    assert read.error is None
    assert [(r.name, r.metrics, r.params) for r in read.runs] == [("tuned_model", {"pr_auc": 0.31}, {"C": "0.5"})]
    assert "evaluation/calibration.txt" in read.runs[0].artifacts
    assert any("sklearn" in m.flavors for m in read.models), read.models
    assert sorted(p.read_bytes() for p in submission.rglob("*") if p.is_file()) == before, "the original is untouched"

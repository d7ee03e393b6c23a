"""Committed MLflow stores are read on a copy, with the candidate's absolute paths remapped; a logged plot
is an image by its bytes, not its name."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.notebook.mlflow_store import figure_kind, prepare_committed_store, read_store

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


LOG_PLOTS = """
import sys, mlflow, matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
mlflow.set_tracking_uri(sys.argv[1])
with mlflow.start_run(run_name="tuned_final"):
    figure, axis = plt.subplots()
    axis.plot([0, 1], [0, 1])
    mlflow.log_figure(figure, "plots/calibration.png")
    mlflow.log_figure(figure, "plots/pr_curve.svg")
    mlflow.log_text("Calibration plot: predicted vs observed per decile", "calibration_plot.png")
    mlflow.log_text("Precision-recall curve: PR-AUC 0.852", "pr_curve.txt")
    mlflow.log_text('<html><head><script src="https://cdn.plot.ly/plotly-2.35.2.min.js"></script></head></html>', "lift.html")
    mlflow.log_text("<html><body><p>PR curve to come</p></body></html>", "pr_curve.html")
"""


def test_a_plot_is_read_from_its_bytes_not_its_name(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    done = subprocess.run([sys.executable, "-c", LOG_PLOTS, uri], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    (run,) = read_store(uri, "fresh", [tmp_path]).runs
    assert "calibration_plot.png" in run.artifacts and "pr_curve.txt" in run.artifacts
    assert run.images == ["lift.html", "plots/calibration.png", "plots/pr_curve.svg"]
    # Outside the roots the store may name, nothing is read.
    (elsewhere,) = read_store(uri, "fresh", [tmp_path / "other"]).runs
    assert elsewhere.images == [] and elsewhere.artifacts == []


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "jpeg"),
        (b"GIF89a\x01\x00", "gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "webp"),
        (b"%PDF-1.7\n", "pdf"),
        (b'<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "x">\n<svg xmlns="x"><path d="M0 0L1 1"/></svg>', "svg"),
        (b"\xef\xbb\xbf<svg width='10'><rect width='5' height='5'/></svg>", "svg"),
        (b"<!DOCTYPE html><html><body><div id='v'></div><script>vegaEmbed('#v', spec)</script>", "html"),
        (b"<html><body><img src='data:image/png;base64,iVBOR'></body></html>", "html"),
        (b"Calibration plot (reliability diagram): ECE 0.021\n", None),
        (b"<svg></svg>", None),  # an SVG that draws nothing
        (b"<html><body>PR curve: see the notebook</body></html>", None),
        (b"decile,lift\n1,4.1\n", None),
        (b"\x80\x04\x95 pickle", None),
        (b"", None),
    ],
)
def test_figure_kind_reads_the_first_bytes(head: bytes, kind: str | None) -> None:
    assert figure_kind(head) == kind

"""Committed MLflow stores, made by MLflow itself, found and read without a single write."""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from submission_layouts import AUDIT_CELLS, mlflow_like_sqlite, write, write_notebook

from grader.submission import discover

# Runs in a fresh interpreter, so MLflow's global state never leaks into the test process.
_BUILD_SQLITE = """
import sys, mlflow
mlflow.set_tracking_uri("sqlite:///" + sys.argv[1] + "/mlflow.db")
mlflow.set_experiment("churn")
for auc in (0.71, 0.78):
    with mlflow.start_run():
        mlflow.log_param("model", "lgbm")
        mlflow.log_metric("pr_auc", auc)
"""
_BUILD_FILE_STORE = """
import sys
from pathlib import Path
import mlflow, numpy as np
from sklearn.linear_model import LogisticRegression
mlflow.set_tracking_uri((Path(sys.argv[1]) / "mlruns").as_uri())
mlflow.set_experiment("churn")
for auc in (0.71, 0.78):
    with mlflow.start_run():
        mlflow.log_param("model", "logreg")
        mlflow.log_metric("pr_auc", auc)
with mlflow.start_run():
    model = LogisticRegression().fit(np.array([[0.0], [1.0]]), [0, 1])
    mlflow.sklearn.log_model(model, name="model", serialization_format="pickle", pip_requirements=["scikit-learn"])
"""


class _StoreBuild:
    """A real MLflow SQLite store (sqlite/mlflow.db) and file store (file/mlruns/), built in two processes.

    MLflow takes seconds to import and migrate a database, so the builds start when this
    module is collected and run while the other tests do; the fixture only waits.
    """

    def __init__(self) -> None:
        scratch = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None  # SQLite migrations fsync a lot
        self.folder = Path(tempfile.mkdtemp(prefix="mlflow-stores-", dir=scratch))
        env = {
            **os.environ,
            "MLFLOW_ALLOW_FILE_STORE": "true",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "true",
        }
        self.builders = []
        # Each build gets its own folder: MLflow puts default artifact roots in the working directory.
        for kind, script in (("sqlite", _BUILD_SQLITE), ("file", _BUILD_FILE_STORE)):
            (self.folder / kind).mkdir()
            self.builders.append(
                subprocess.Popen(
                    [sys.executable, "-c", script, str(self.folder / kind)],
                    cwd=self.folder / kind,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                )
            )
        atexit.register(self.close)

    def wait(self) -> Path:
        for builder in self.builders:
            output, _ = builder.communicate(timeout=120)
            assert builder.returncode == 0, output.decode()
        return self.folder

    def close(self) -> None:
        for builder in self.builders:
            if builder.poll() is None:
                builder.kill()
                builder.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


_STORES = _StoreBuild()


@pytest.fixture(scope="session")
def real_stores() -> Iterator[Path]:
    """The folder holding the real stores, once both builds have finished."""
    yield _STORES.wait()
    _STORES.close()


def _snapshot(root: Path) -> dict[str, tuple[str, int]]:
    return {
        str(path.relative_to(root)): (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_real_sqlite_store_is_found_and_never_written(real_stores: Path, tmp_path: Path) -> None:
    shutil.copy2(real_stores / "sqlite" / "mlflow.db", tmp_path / "mlflow.db")
    before = _snapshot(tmp_path)
    found = discover(tmp_path)
    assert [(s.path, s.kind, s.experiments, s.runs, s.problem) for s in found.mlflow_stores] == [
        ("mlflow.db", "sqlite", 2, 2, None)
    ]
    assert _snapshot(tmp_path) == before  # no journal, WAL or shared-memory file appeared either


def test_real_file_store_is_found_by_its_structure(real_stores: Path, tmp_path: Path) -> None:
    shutil.copytree(real_stores / "file" / "mlruns", tmp_path / "mlruns")
    write_notebook(tmp_path, "audit.ipynb", AUDIT_CELLS)
    write_notebook(tmp_path, "mlruns/0/notebook_artifact.ipynb", AUDIT_CELLS)
    found = discover(tmp_path)
    [store] = found.mlflow_stores
    assert (store.path, store.kind, store.experiments, store.runs, store.logged_models, store.problem) == (
        "mlruns",
        "file",
        2,
        3,
        1,
        None,
    )
    [logged] = [m for m in found.model_files if m.in_mlflow_store]
    assert logged.format == "mlflow_model" and logged.path.startswith("mlruns/") and logged.path.endswith("/artifacts")
    assert [nb.path for nb in found.notebooks] == ["audit.ipynb"]
    assert found.skipped == {"mlruns": 1}
    assert found.model_loading.evidence == [
        "models only inside a committed MLflow store; the service names none of them"
    ]


def test_file_store_under_another_name_and_a_registry(real_stores: Path, tmp_path: Path) -> None:
    shutil.copytree(real_stores / "file" / "mlruns", tmp_path / "experiments" / "tracking")
    write(tmp_path, "experiments/tracking/models/churn/meta.yaml", "name: churn\n")
    found = discover(tmp_path)
    [store] = found.mlflow_stores
    assert (store.path, store.experiments, store.registered_models) == ("experiments/tracking", 2, 1)
    assert found.skipped == {"tracking": 1}


def test_sqlite_files_that_are_not_mlflow_stores(tmp_path: Path) -> None:
    mlflow_like_sqlite(tmp_path / "artifacts" / "tracking.sqlite", runs=4)
    with sqlite3.connect(tmp_path / "customers.db") as connection:
        connection.execute("CREATE TABLE customers (id TEXT)")
    connection.close()
    write(tmp_path, "notes.db", "just text")
    (tmp_path / "broken.db").write_bytes(b"SQLite format 3\x00" + b"\x00\xff" * 300)
    found = discover(tmp_path)
    stores = {store.path: store for store in found.mlflow_stores}
    assert set(stores) == {"artifacts/tracking.sqlite", "broken.db"}
    assert (stores["artifacts/tracking.sqlite"].experiments, stores["artifacts/tracking.sqlite"].runs) == (1, 4)
    assert stores["broken.db"].problem and stores["broken.db"].problem.startswith(
        "'broken.db' is not readable as SQLite"
    )
    assert stores["broken.db"].problem in found.problems


def test_empty_mlruns_is_recorded(tmp_path: Path) -> None:
    (tmp_path / "mlruns" / ".trash").mkdir(parents=True)
    found = discover(tmp_path)
    assert [(s.path, s.experiments, s.problem) for s in found.mlflow_stores] == [
        ("mlruns", 0, "'mlruns' holds no MLflow experiments")
    ]


def test_manifest_declares_a_store(tmp_path: Path) -> None:
    mlflow_like_sqlite(tmp_path / "a.db")
    mlflow_like_sqlite(tmp_path / "tracking" / "b.db")
    write(tmp_path, "takehome.toml", 'mlflow_tracking_uri = "sqlite:///tracking/b.db"\n')
    found = discover(tmp_path)
    assert [(s.path, s.declared) for s in found.mlflow_stores] == [("tracking/b.db", True), ("a.db", False)]
    assert found.mlflow_tracking_uri == "sqlite:///tracking/b.db" and found.problems == []
    write(tmp_path, "takehome.toml", 'mlflow_store = "a.db"\nmlflow_tracking_uri = "http://mlflow.internal:5000"\n')
    found = discover(tmp_path)
    assert [(s.path, s.declared) for s in found.mlflow_stores] == [("a.db", True), ("tracking/b.db", False)]
    assert any("'http://mlflow.internal:5000' is a remote server" in p for p in found.problems)


def test_manifest_store_outside_the_root_is_refused(tmp_path: Path) -> None:
    mlflow_like_sqlite(tmp_path / "outside.db")
    root = tmp_path / "submission"
    root.mkdir()
    os.symlink(tmp_path / "outside.db", root / "mlflow.db")
    write(root, "takehome.toml", 'mlflow_store = "mlflow.db"\n')
    found = discover(root)
    assert found.mlflow_stores == []
    assert (
        "takehome.toml: mlflow_store: 'mlflow.db' leads outside the submission through a symlink; not followed"
        in found.problems
    )

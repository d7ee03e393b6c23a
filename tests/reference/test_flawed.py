"""The flawed reference submissions run end to end and stay flawed the way they should.

reference/leaky trains on every column, the seeded leak included, with a random row split,
and judges itself by ROC-AUC alone: great offline, poor on the hidden holdout.
reference/minimal ran out of time: one logistic-regression run, no calibration, no lift.

Each variant runs on freshly generated data for a seed of its own, its notebooks execute
for real against a fresh MLflow store, and its logged model is scored on the hidden
holdout in this process (the notebooks never see the key). The services are started from
their own start command on loopback, and their Docker images are built and run when an
engine answers (skipped otherwise, a failure with GRADER_REQUIRE_DOCKER=1).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import joblib
import numpy as np
import pytest
from helpers import (
    ExecutedNotebook,
    LoggedModelInfo,
    LoggedRun,
    docker_client_or_skip,
    execute_notebooks,
    holdout_records,
    load_logged_model,
    read_logged_models,
    read_mlflow_runs,
    running_service,
    sqlite_tracking_uri,
    stage_submission,
    temp_dir,
)
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from grader import metrics
from grader.world.packet import SeededWorld

pytestmark = pytest.mark.slow

ROWS = 24_000
# One OpenMP thread per kernel: on a busy 2-core machine gradient boosting's spinning
# threads made leaky's search 4-15x slower, for identical results.
KERNEL_ENV = {"OMP_NUM_THREADS": "1"}
# Words that would mean a flawed variant grew the evaluation it is meant to lack.
PR_METRIC = re.compile(r"pr_auc|average_precision|\bap\b|precision_recall", re.IGNORECASE)
CALIBRATION_OR_LIFT = re.compile(r"calibrat|reliability|brier|lift|decile|qcut", re.IGNORECASE)


@dataclass
class VariantRun:
    """One flawed variant, executed on its own seed's data."""

    seeded: SeededWorld
    submission: Path
    tracking_uri: str
    notebooks: list[ExecutedNotebook]
    runs: list[LoggedRun]
    models: list[LoggedModelInfo]

    def code(self) -> str:
        return "\n".join(cell.source for nb in self.notebooks for cell in nb.code_cells())

    def written_text(self) -> str:
        """Everything the candidate wrote: code and markdown, not outputs."""
        return self.code() + "\n" + "\n".join(nb.markdown_text() for nb in self.notebooks)

    def holdout_labels(self) -> np.ndarray:
        return self.seeded.world.holdout_labels[self.seeded.key.label_column].to_numpy()

    def holdout_pr_auc(self, model: LoggedModelInfo) -> float:
        """PR-AUC of a logged model's probabilities on the hidden holdout."""
        estimator = load_logged_model(self.tracking_uri, model.model_uri).get_raw_model()
        columns = model.input_columns or list(estimator.feature_names_in_)
        scores = estimator.predict_proba(self.seeded.world.holdout_features[columns])[:, 1]
        return metrics.average_precision(self.holdout_labels(), scores)


def _run_variant(variant: str, seeded: SeededWorld, folder: Path) -> VariantRun:
    submission = stage_submission(variant, seeded, folder)
    tracking_uri = sqlite_tracking_uri(folder / "mlflow")
    notebooks = execute_notebooks(submission, tracking_uri, extra_env=KERNEL_ENV)
    for notebook in notebooks:
        print(f"[figures] {variant}: {notebook.path.name} ran in {notebook.seconds:.1f} s")
    return VariantRun(
        seeded=seeded,
        submission=submission,
        tracking_uri=tracking_uri,
        notebooks=notebooks,
        runs=read_mlflow_runs(tracking_uri),
        models=read_logged_models(tracking_uri),
    )


@contextlib.contextmanager
def _variant(variant: str, seeded: SeededWorld) -> Iterator[VariantRun]:
    folder = temp_dir(variant)
    try:
        yield _run_variant(variant, seeded, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def leaky(make_world) -> Iterator[VariantRun]:
    with _variant("leaky", make_world("reference-leaky", ROWS)) as run:
        yield run


@pytest.fixture(scope="module")
def minimal(make_world) -> Iterator[VariantRun]:
    with _variant("minimal", make_world("reference-minimal", ROWS)) as run:
        yield run


def _honest_holdout_pr_auc(seeded: SeededWorld) -> float:
    """Holdout PR-AUC of a plain logistic regression on every column but the leak.

    On these worlds it reaches about 0.9 of the oracle's PR-AUC: the bar the leaky model
    should have cleared with the same data.
    """
    world, key = seeded.world, seeded.key
    honest = [c for c in world.feature_columns if c != key.leak.column]
    categorical = [c for c in honest if world.train[c].dtype == object]
    numeric = [c for c in honest if c not in categorical]
    numeric_steps = Pipeline(
        [("impute", SimpleImputer(strategy="median", add_indicator=True)), ("scale", StandardScaler())]
    )
    model = Pipeline(
        [
            (
                "prep",
                ColumnTransformer(
                    [("num", numeric_steps, numeric), ("cat", OneHotEncoder(handle_unknown="ignore"), categorical)]
                ),
            ),
            ("clf", LogisticRegression(max_iter=2000)),
        ]
    )
    model.fit(world.train[honest], world.train[key.label_column])
    scores = model.predict_proba(world.holdout_features[honest])[:, 1]
    return metrics.average_precision(world.holdout_labels[key.label_column].to_numpy(), scores)


def _run_named(runs: list[LoggedRun], word: str) -> LoggedRun:
    matching = [run for run in runs if word in run.name.lower()]
    assert len(matching) == 1, f"expected one run named *{word}*, got {[r.name for r in runs]}"
    return matching[0]


# --------------------------------------------------------------------------- leaky


def test_leaky_notebooks_run_clean(leaky: VariantRun) -> None:
    assert [nb.path.name for nb in leaky.notebooks] == ["01_data_exploration.ipynb", "02_modeling.ipynb"]
    for notebook in leaky.notebooks:
        assert notebook.errors == [], f"{notebook.path.name}: {notebook.errors}"
    assert (leaky.submission / "models" / "model.joblib").is_file()


def test_leaky_audit_never_hunts_for_leakage_or_drift(leaky: VariantRun) -> None:
    written = leaky.written_text().lower()
    for word in ("leak", "drift", "psi", "duplicated", "groupshufflesplit", "timeseriessplit"):
        assert word not in written, f"the naive candidate should not mention {word!r}"
    assert leaky.seeded.key.leak.column not in written, "the leak is never singled out by name"
    assert "train_test_split" in leaky.code(), "a plain random row split"


def test_leaky_tracks_baseline_and_tuned_with_roc_auc_only(leaky: VariantRun) -> None:
    baseline, tuned = _run_named(leaky.runs, "baseline"), _run_named(leaky.runs, "tuned")
    assert len(leaky.runs) == 2
    for run in (baseline, tuned):
        assert "roc_auc" in run.metrics, run.metrics
        assert not [m for m in run.metrics if PR_METRIC.search(m)], run.metrics
        assert not [a for a in run.artifacts if CALIBRATION_OR_LIFT.search(a) or PR_METRIC.search(a)], run.artifacts
    assert not PR_METRIC.search(leaky.code()), "no PR curve or PR-AUC anywhere in the notebooks"
    assert not CALIBRATION_OR_LIFT.search(leaky.code()), "no calibration or lift anywhere in the notebooks"


def test_leaky_final_model_uses_the_leak(leaky: VariantRun) -> None:
    leak = leaky.seeded.key.leak.column
    assert len(leaky.models) == 1, [m.name for m in leaky.models]
    (model,) = leaky.models
    assert model.source_run_id == _run_named(leaky.runs, "tuned").run_id
    assert model.input_columns is not None and leak in model.input_columns
    served = joblib.load(leaky.submission / "models" / "model.joblib")
    assert leak in list(served.feature_names_in_), "the served model carries the leak too"


def test_leaky_great_offline_collapses_on_holdout(leaky: VariantRun) -> None:
    offline_roc_auc = _run_named(leaky.runs, "tuned").metrics["roc_auc"]
    holdout_pr_auc = leaky.holdout_pr_auc(leaky.models[0])
    honest_pr_auc = _honest_holdout_pr_auc(leaky.seeded)
    oracle = leaky.seeded.key.oracle
    print(
        f"[figures] leaky: offline ROC-AUC {offline_roc_auc:.3f}, holdout PR-AUC {holdout_pr_auc:.3f}, "
        f"honest model {honest_pr_auc:.3f}, oracle {oracle.pr_auc:.3f}, base rate {oracle.base_rate:.3f}"
    )
    assert offline_roc_auc >= 0.93, "the leak makes the random-split test set look great"
    assert holdout_pr_auc < 0.7 * honest_pr_auc
    assert holdout_pr_auc < 0.6 * oracle.pr_auc


# --------------------------------------------------------------------------- minimal


def test_minimal_notebook_runs_clean(minimal: VariantRun) -> None:
    assert len(minimal.notebooks) == 1
    assert minimal.notebooks[0].errors == [], minimal.notebooks[0].errors
    assert (minimal.submission / "models" / "model.joblib").is_file()


def test_minimal_logs_exactly_one_baseline_run(minimal: VariantRun) -> None:
    assert len(minimal.runs) == 1, [r.name for r in minimal.runs]
    (run,) = minimal.runs
    assert "tun" not in run.name.lower()
    assert {"roc_auc", "pr_auc"} <= set(run.metrics), run.metrics
    assert len(minimal.models) == 1 and minimal.models[0].source_run_id == run.run_id
    assert "RandomizedSearchCV" not in minimal.code() and "GridSearchCV" not in minimal.code()


def test_minimal_has_no_calibration_or_lift(minimal: VariantRun) -> None:
    (run,) = minimal.runs
    assert not [a for a in run.artifacts if CALIBRATION_OR_LIFT.search(a)], run.artifacts
    assert not CALIBRATION_OR_LIFT.search(minimal.code())
    assert sum(nb.image_count() for nb in minimal.notebooks) == 0, "no plots at all"
    assert not list(minimal.submission.rglob("*.png"))


def test_minimal_is_honest_but_thin_on_holdout(minimal: VariantRun) -> None:
    (model,) = minimal.models
    assert minimal.seeded.key.leak.column not in (model.input_columns or [])
    holdout_pr_auc = minimal.holdout_pr_auc(model)
    oracle = minimal.seeded.key.oracle
    print(
        f"[figures] minimal: holdout PR-AUC {holdout_pr_auc:.3f}, oracle {oracle.pr_auc:.3f}, base rate {oracle.base_rate:.3f}"
    )
    assert 2 * oracle.base_rate < holdout_pr_auc <= oracle.pr_auc + 0.02


# --------------------------------------------------------------------------- services


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def _local_service(submission: Path) -> Iterator[str]:
    """The Dockerfile's start command (uvicorn app.main:app), run from the submission root."""
    port = _free_port()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)],
            cwd=submission,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while not _answers(base_url + "/health"):
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise AssertionError(f"service did not come up: {log.read().decode(errors='replace')[-3000:]}")
                time.sleep(0.25)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _probabilities(answer: object, count: int) -> list[float]:
    """The one list of `count` numbers in a prediction answer, whatever its key."""
    assert isinstance(answer, dict), answer
    lists = [
        v for v in answer.values() if isinstance(v, list) and len(v) == count and all(isinstance(x, float) for x in v)
    ]
    assert len(lists) == 1, answer
    return lists[0]


def _check_predictions(base_url: str, records: list[dict], tenure: str) -> None:
    """One record and a batch both answer one probability per record; bad input is a 500.

    Neither flawed service validates its input: a wrong type (words in the `tenure` column,
    which both models use) fails inside the model.
    """
    assert httpx.get(base_url + "/health", timeout=5).json() == {"status": "ok"}
    assert "/predict" in httpx.get(base_url + "/openapi.json", timeout=5).json()["paths"]
    single = httpx.post(base_url + "/predict", json=records[0], timeout=30)
    assert single.status_code == 200, single.text
    batch = httpx.post(base_url + "/predict", json=records, timeout=30)
    assert batch.status_code == 200, batch.text
    probabilities = _probabilities(batch.json(), len(records))
    assert all(0.0 <= p <= 1.0 for p in probabilities)
    assert _probabilities(single.json(), 1)[0] == pytest.approx(probabilities[0], abs=1e-3)
    garbled = {**records[0], tenure: "twelve"}
    assert httpx.post(base_url + "/predict", json=garbled, timeout=30).status_code == 500


def _tenure_column(run: VariantRun) -> str:
    """What this world calls tenure (its name is drawn per seed)."""
    return run.seeded.world.choices.columns["tenure_months"]


@pytest.mark.parametrize("variant", ["leaky", "minimal"])
def test_service_answers_one_record_and_a_batch(variant: str, request: pytest.FixtureRequest) -> None:
    run: VariantRun = request.getfixturevalue(variant)
    with _local_service(run.submission) as base_url:
        _check_predictions(base_url, holdout_records(run.seeded, 25), _tenure_column(run))


@pytest.mark.docker
@pytest.mark.parametrize("variant", ["leaky", "minimal"])
def test_image_builds_and_serves_as_root(variant: str, request: pytest.FixtureRequest) -> None:
    client = docker_client_or_skip()
    run: VariantRun = request.getfixturevalue(variant)
    with running_service(client, run.submission) as service:
        print(
            f"[figures] {variant}: image built in {service.image.seconds:.0f} s, {service.image.size_bytes / 1e6:.0f} MB"
        )
        _check_predictions(service.base_url, holdout_records(run.seeded, 25), _tenure_column(run))
        assert service.exec_output("id", "-u") == "0", "no USER line: the service runs as root"
        assert not (service.image.image.attrs.get("Config") or {}).get("Healthcheck")

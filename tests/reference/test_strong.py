"""reference/strong does what a top candidate does, checked against the seed's answer key.

One staged and executed copy of the submission (24,000 real rows) serves every test in
this module; the Docker tests build and run its image once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from helpers import (
    ExecutedSubmission,
    LoggedRun,
    RunningService,
    audit_mismatches,
    docker_client_or_skip,
    executed_reference,
    holdout_records,
    load_logged_model,
    read_logged_models,
    read_mlflow_runs,
    running_service,
    runs_with_role,
)

from grader import metrics

pytestmark = pytest.mark.slow

CANDIDATE = "reference-strong"
ROWS = 24_000


@pytest.fixture(scope="module")
def strong(make_world) -> Iterator[ExecutedSubmission]:
    with executed_reference("strong", make_world(CANDIDATE, ROWS)) as run:
        yield run


@pytest.fixture(scope="module")
def strong_service(strong: ExecutedSubmission) -> Iterator[RunningService]:
    client = docker_client_or_skip()
    with running_service(client, strong.submission) as service:
        yield service


# --------------------------------------------------------------------------- notebooks


def test_notebooks_run_top_to_bottom_without_errors(strong: ExecutedSubmission) -> None:
    assert [nb.path.name for nb in strong.notebooks] == ["01_audit.ipynb", "02_modeling.ipynb"]
    for notebook in strong.notebooks:
        assert notebook.errors == [], f"{notebook.path.name}: {notebook.errors}"


def test_audit_names_this_seeds_leak_drift_missingness_and_duplicates(strong: ExecutedSubmission) -> None:
    text = strong.notebook("01").printed_text()
    assert audit_mismatches(text, strong.seeded.key) == []
    assert "only known after" in text


def test_audit_reports_imbalance_grouping_and_label_window_with_figures(strong: ExecutedSubmission) -> None:
    key = strong.seeded.key
    audit = strong.notebook("01")
    text = audit.printed_text()
    overall = float(re.search(r"^Churn rate: ([\d.]+)% overall", text, flags=re.M).group(1)) / 100
    true_rate = np.mean(list(key.churn_rate_by_month.values()))
    assert overall == pytest.approx(true_rate, abs=0.003)
    assert f"Grouping: {key.grouping.customers:,} customers" in text
    assert re.search(r"^Label window: 0\.00% of rows labelled churned reappear", text, flags=re.M)
    assert audit.image_count() >= 4


def test_audit_findings_drive_the_modeling_notebook(strong: ExecutedSubmission) -> None:
    text = strong.notebook("02").printed_text()
    assert f"dropped leakage column(s) ['{strong.seeded.key.leak.column}']" in text
    assert "compiled forest vs LightGBM" in text


# --------------------------------------------------------------------------- MLflow


def _run(runs: list[LoggedRun], role: str) -> LoggedRun:
    matching = runs_with_role(runs, role)
    assert len(matching) == 1, f"expected one {role} run, found {[r.name for r in runs]}"
    return matching[0]


def test_mlflow_has_baseline_and_tuned_runs_with_metrics_and_artifacts(strong: ExecutedSubmission) -> None:
    runs = read_mlflow_runs(strong.tracking_uri)
    baseline, tuned = _run(runs, "baseline"), _run(runs, "tuned")
    assert baseline.params["model"] == "logistic_regression"
    assert tuned.params["model"] == "lightgbm"
    assert tuned.params["validation"] == baseline.params["validation"] == "out-of-time"
    for run in (baseline, tuned):
        for metric in ("pr_auc", "brier", "ece", "top_decile_lift"):
            assert 0.0 <= run.metrics[metric] <= 20.0, (run.name, metric)
        names = {Path(path).name for path in run.artifacts}
        assert {"calibration.png", "pr_curve.png"} <= names, run.artifacts
        assert any(path.endswith("lift_table.csv") for path in run.artifacts), run.artifacts
    trials = runs_with_role(runs, "trial")
    assert 2 <= len(trials) <= 20, "the search is small and bounded"
    assert tuned.params["dropped_leak"] == strong.seeded.key.leak.column


def test_logged_model_excludes_the_leak_and_ranks_the_hidden_holdout(strong: ExecutedSubmission) -> None:
    key, world = strong.seeded.key, strong.seeded.world
    models = read_logged_models(strong.tracking_uri)
    assert len(models) == 1
    logged = models[0]
    assert logged.source_run_id == _run(read_mlflow_runs(strong.tracking_uri), "tuned").run_id
    assert logged.input_columns is not None
    assert key.leak.column not in logged.input_columns
    assert set(logged.input_columns) == set(key.feature_columns) - {key.leak.column}

    model = load_logged_model(strong.tracking_uri, logged.model_uri)
    probability = np.asarray(model.predict(world.holdout_features)).ravel()
    labels = world.holdout_labels[world.spec.label_column].to_numpy()
    assert probability.shape == labels.shape
    assert ((probability >= 0) & (probability <= 1)).all()
    pr_auc = metrics.average_precision(labels, probability)
    # Leak-free and out of time: well above the base rate, below the oracle's ceiling.
    assert key.oracle.base_rate * 3 < pr_auc < key.oracle.pr_auc + 0.02
    assert metrics.expected_calibration_error(labels, probability) < 0.03


# --------------------------------------------------------------------------- service


@pytest.mark.docker
def test_service_is_healthy_and_runs_unprivileged(strong_service: RunningService) -> None:
    health = httpx.get(strong_service.base_url + "/health", timeout=5)
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert strong_service.exec_output("id", "-u") != "0"
    config = strong_service.image.image.attrs["Config"]
    assert config.get("User") not in (None, "", "root", "0")
    assert config.get("Healthcheck", {}).get("Test")


@pytest.mark.docker
def test_service_scores_holdout_rows_like_the_logged_model(
    strong: ExecutedSubmission, strong_service: RunningService
) -> None:
    records = holdout_records(strong.seeded, 50)
    batch = httpx.post(strong_service.base_url + "/predict", json={"records": records}, timeout=10)
    assert batch.status_code == 200, batch.text
    served = np.array([p["churn_probability"] for p in batch.json()["predictions"]])
    assert served.shape == (50,)
    assert ((served >= 0) & (served <= 1)).all()
    single = httpx.post(strong_service.base_url + "/predict", json=records[0], timeout=10)
    assert single.status_code == 200, single.text
    assert single.json()["predictions"][0]["churn_probability"] == pytest.approx(served[0])

    logged = read_logged_models(strong.tracking_uri)[0]
    model = load_logged_model(strong.tracking_uri, logged.model_uri)
    offline = np.asarray(model.predict(strong.seeded.world.holdout_features.head(50))).ravel()
    np.testing.assert_allclose(served, offline, rtol=1e-9, atol=1e-12)


@pytest.mark.docker
def test_service_rejects_malformed_records_with_422(strong: ExecutedSubmission, strong_service: RunningService) -> None:
    record = holdout_records(strong.seeded, 1)[0]
    numeric = next(f["name"] for f in _contract(strong) if f["kind"] in ("int", "float"))
    category = next(f["name"] for f in _contract(strong) if f["kind"] == "category")
    malformed = [
        {**record, numeric: "not a number"},
        {k: v for k, v in record.items() if k != category},
        {**record, category: "no-such-value"},
        {"records": []},
        [1, 2, 3],
    ]
    for body in malformed:
        answer = httpx.post(strong_service.base_url + "/predict", json=body, timeout=10)
        assert answer.status_code == 422, (body if not isinstance(body, dict) else list(body)[:3], answer.text[:300])
    # Not JSON at all, and JSON's non-standard NaN (Python's parser accepts it; the contract does not).
    for raw in (b"{not json", json.dumps({**record, numeric: float("nan")}).encode()):
        answer = httpx.post(
            strong_service.base_url + "/predict", content=raw, headers={"content-type": "application/json"}, timeout=10
        )
        assert answer.status_code == 422, answer.text[:300]


def _contract(strong: ExecutedSubmission) -> list[dict]:
    return json.loads((strong.submission / "models" / "model.json").read_text())["features"]

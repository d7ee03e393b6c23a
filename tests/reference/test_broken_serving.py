"""reference/broken-serving: the strong notebooks and README, a sloppy service.

The service must keep its known flaws, since EXPECTED.toml grades them: it serves
predictions, but crashes (500) on malformed input, has no health route, runs as root
and is slow under load. Everything else matches the strong submission.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import numpy as np
import pytest
from helpers import (
    ExecutedSubmission,
    RunningService,
    audit_mismatches,
    docker_client_or_skip,
    executed_reference,
    holdout_records,
    read_logged_models,
    read_mlflow_runs,
    running_service,
    runs_with_role,
)

from grader.serving.loadprobe import probe

pytestmark = pytest.mark.slow

CANDIDATE = "reference-broken-serving"
ROWS = 24_000


@pytest.fixture(scope="module")
def broken(make_world) -> Iterator[ExecutedSubmission]:
    with executed_reference("broken-serving", make_world(CANDIDATE, ROWS)) as run:
        yield run


@pytest.fixture(scope="module")
def broken_service(broken: ExecutedSubmission) -> Iterator[RunningService]:
    client = docker_client_or_skip()
    with running_service(client, broken.submission) as service:
        yield service


def test_notebooks_are_the_strong_ones_and_find_this_seeds_problems(broken: ExecutedSubmission) -> None:
    for notebook in broken.notebooks:
        assert notebook.errors == [], f"{notebook.path.name}: {notebook.errors}"
    assert audit_mismatches(broken.notebook("01").printed_text(), broken.seeded.key) == []
    runs = read_mlflow_runs(broken.tracking_uri)
    assert len(runs_with_role(runs, "baseline")) == len(runs_with_role(runs, "tuned")) == 1
    (model,) = read_logged_models(broken.tracking_uri)
    assert broken.seeded.key.leak.column not in model.input_columns


@pytest.mark.docker
def test_service_answers_predict_with_probabilities(broken: ExecutedSubmission, broken_service: RunningService) -> None:
    records = holdout_records(broken.seeded, 20)
    answer = httpx.post(broken_service.base_url + "/predict", json={"records": records}, timeout=30)
    assert answer.status_code == 200, answer.text
    probabilities = np.array(answer.json()["churn_probability"])
    assert probabilities.shape == (20,)
    assert ((probabilities >= 0) & (probabilities <= 1)).all()


@pytest.mark.docker
def test_service_crashes_on_malformed_input(broken: ExecutedSubmission, broken_service: RunningService) -> None:
    record = holdout_records(broken.seeded, 1)[0]
    tenure = broken.seeded.world.choices.columns["tenure_months"]
    for body in ({**record, tenure: "not a number"}, {"records": [{"unexpected": 1}]}, {}):
        answer = httpx.post(broken_service.base_url + "/predict", json=body, timeout=30)
        assert answer.status_code == 500, answer.text[:200]


@pytest.mark.docker
def test_service_has_no_health_route_and_runs_as_root(broken_service: RunningService) -> None:
    for route in ("/health", "/healthz", "/"):
        assert httpx.get(broken_service.base_url + route, timeout=10).status_code == 404
    assert broken_service.exec_output("id", "-u") == "0"
    config = broken_service.image.image.attrs["Config"]
    assert config.get("User") in (None, "", "root", "0")
    assert not (config.get("Healthcheck") or {}).get("Test")


@pytest.mark.docker
def test_service_is_slow_at_100_requests_per_second(broken: ExecutedSubmission, broken_service: RunningService) -> None:
    bodies = holdout_records(broken.seeded, 50)
    profile = probe(
        broken_service.base_url + "/predict", rates=[100], duration_s=4, bodies=bodies, warmup_s=0.5, timeout_s=2.0
    )
    (step,) = profile.steps
    assert step.p99_ms > 300, step

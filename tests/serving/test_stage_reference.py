"""End to end on the reference submissions: notebooks executed, image built, service probed.

The candidate's logged MLflow model scores the same holdout rows, so the served
answers can be checked for train/serve skew. Needs the references' Dockerfiles (other
work in progress): a variant without one is skipped with that reason.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "serving" / "fixtures"))
sys.path.insert(0, str(TESTS / "reference"))
from helpers import ExecutedSubmission, executed_reference, load_logged_model, read_logged_models  # noqa: E402
from serving_kit import NOTHING_LEFT, docker_client_or_skip, serving_leftovers  # noqa: E402

from grader.rubric import load_rubric  # noqa: E402
from grader.sandbox.docker import DockerSandbox  # noqa: E402
from grader.serving.evidence import ServingEvidence  # noqa: E402
from grader.serving.settings import ServingSettings  # noqa: E402
from grader.serving.stage import run_serving_stage  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.docker, pytest.mark.timeout(900)]
REFERENCE = TESTS.parent / "reference"
ROWS = 24_000


def logged_model_predictions(run: ExecutedSubmission) -> dict[tuple[str, str], float]:
    """The candidate's own logged model on the hidden holdout, keyed like the stage's rows."""
    (model_info,) = read_logged_models(run.tracking_uri)
    model = load_logged_model(run.tracking_uri, model_info.model_uri)
    features = run.seeded.world.holdout_features
    predicted = np.asarray(model.predict(features), dtype=np.float64).ravel()
    return {(c, m): float(p) for c, m, p in zip(features.customer_id, features.snapshot_month, predicted, strict=True)}


def staged_and_probed(
    variant: str, candidate: str, make_world, tmp_path_factory, settings: ServingSettings
) -> Iterator[ServingEvidence]:
    if not (REFERENCE / variant / "Dockerfile").is_file():
        pytest.skip(f"reference/{variant} has no Dockerfile yet (being written elsewhere)")
    client = docker_client_or_skip()
    with executed_reference(variant, make_world(candidate, ROWS)) as run:
        failed = [error for notebook in run.notebooks for error in notebook.errors]
        if failed:
            pytest.fail(f"reference/{variant} notebooks failed, so its image has no model: {failed[:3]}")
        world = run.seeded.world
        evidence = run_serving_stage(
            run.submission,
            None,
            world.holdout_features,
            world.holdout_labels,
            logged_model_predictions(run),
            DockerSandbox(client),
            tmp_path_factory.mktemp(variant),
            settings=settings,
        )
        assert serving_leftovers(client, evidence.run_id) == NOTHING_LEFT
        yield evidence


@pytest.fixture(scope="module")
def strong(make_world, tmp_path_factory) -> Iterator[ServingEvidence]:
    # The policy's own rates up to 500 requests/s, with short steps.
    yield from staged_and_probed(
        "strong", "reference-strong", make_world, tmp_path_factory, ServingSettings(load_step_s=3.0, load_warmup_s=1.0)
    )


@pytest.fixture(scope="module")
def broken(make_world, tmp_path_factory) -> Iterator[ServingEvidence]:
    yield from staged_and_probed(
        "broken-serving",
        "reference-broken-serving",
        make_world,
        tmp_path_factory,
        ServingSettings(load_rates=[20.0, 100.0], load_step_s=3.0, load_warmup_s=0.5, quality_budget_s=60.0),
    )


def test_strong_reference_serves_its_logged_model_fast(strong: ServingEvidence) -> None:
    found = {c.id: c for c in strong.checks}
    assert strong.outcome.status == "ok", strong.outcome.reasons
    for check_id in (
        "build.succeeded",
        "run.healthy",
        "run.health_route",
        "run.non_root",
        "contract.prediction_route",
        "contract.fields_mapped",
        "contract.returns_probabilities",
        "contract.batch_supported",
        "quality.holdout_scored",
        "correctness.probabilities_in_range",
        "correctness.deterministic",
        "correctness.matches_logged_model",
        "bad_input.still_healthy",
        "load.no_errors",
        "run.survived",
    ):
        assert found[check_id].passed is True, (check_id, found[check_id].detail)
    assert all(c.passed for c in found.values() if c.id.startswith("dockerfile.")), [
        c.detail for c in found.values() if c.passed is False
    ]
    # No train/serve skew: the service scores exactly like the logged model.
    assert found["correctness.matches_logged_model"].figures["max_abs_diff"] < 1e-6
    quality = strong.quality
    assert (
        quality.rows_scored == quality.rows_total and quality.metrics["pr_auc"] > 0.5 * quality.oracle_metrics["pr_auc"]
    )
    # The rubric's latency bar holds, unless the probe itself fell behind on a busy machine.
    bar = load_rubric().latency_bar()
    at_bar = next(s for s in strong.load.profile.steps if s.rate == bar.full_at_rate)
    assert at_bar.p99_ms < bar.p99_below_ms or not at_bar.valid, at_bar
    assert [s.rate for s in strong.load.profile.steps] == [50.0, 100.0, 250.0, 500.0]


def test_broken_serving_reference_shows_its_known_flaws(broken: ServingEvidence) -> None:
    found = {c.id: c.passed for c in broken.checks}
    assert broken.run.healthy and broken.contract.route.path == "/predict"
    assert found["run.health_route"] is False  # no /health: ready only by /openapi.json
    assert found["run.non_root"] is False and found["dockerfile.non_root_user"] is False
    assert found["bad_input.no_5xx"] is False
    assert {c.name: c.status for c in broken.bad_input}["wrong_type"] == 500
    assert found["dockerfile.no_baked_data"] is False  # COPY . . takes data/ in
    slow = broken.load.profile.steps[-1]
    assert slow.p99_ms > 300 or slow.errors > 0

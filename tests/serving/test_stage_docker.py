"""The serving stage on real Docker: each fixture service gets the outcome it deserves.

Every fixture Dockerfile shares its first layers with fixtures/base, which is built
once and kept, so a warm run spends seconds per service. Each stage run is checked to
leave no container, network or image behind.
"""

from __future__ import annotations

import importlib.util
import math
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import docker
import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
from serving_kit import (
    FIXTURES,
    NOTHING_LEFT,
    docker_client_or_skip,
    quick_policy,
    quick_settings,
    serving_leftovers,
    stage_fixture,
    warm_base_image,
)

from grader.rubric import load_rubric
from grader.sandbox.api import cleanup_leftovers
from grader.sandbox.docker import DockerSandbox
from grader.sandbox.docker.containers import STAGE_LABEL, run_labels
from grader.serving import stage as stage_module
from grader.serving.evidence import ServingEvidence
from grader.serving.stage import run_serving_stage
from grader.world.packet import SeededWorld

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def client() -> docker.DockerClient:
    client = docker_client_or_skip()
    warm_base_image(client)
    return client


@pytest.fixture(scope="module")
def world(make_world) -> SeededWorld:
    return make_world("serving-stage", 5000, spec="churn-v1")  # the fixtures use v1's column names


@pytest.fixture(scope="module")
def run_fixture(client, world, tmp_path_factory) -> Callable[..., ServingEvidence]:
    """Run the stage on a fixture once per (name, options); later calls reuse the evidence."""
    cache: dict[str, ServingEvidence] = {}

    def run(name: str, expected=None, policy=None, settings=None, context: Path | None = None) -> ServingEvidence:
        key = f"{name}:{id(expected)}:{policy}:{settings}"
        if key not in cache:
            work = tmp_path_factory.mktemp(name)
            context = context or stage_fixture(name, work)
            cache[key] = run_serving_stage(
                context,
                None,
                world.world.holdout_features,
                world.world.holdout_labels,
                expected,
                DockerSandbox(client),
                work / "stage",
                policy=policy or quick_policy(),
                settings=settings or quick_settings(),
            )
            assert serving_leftovers(client, cache[key].run_id) == NOTHING_LEFT
        return cache[key]

    return run


def checks(evidence: ServingEvidence) -> dict[str, bool | None]:
    return {c.id: c.passed for c in evidence.checks}


def good_expected(world: SeededWorld) -> dict[tuple[str, str], float]:
    """What the good fixture's model gives each holdout row, computed here from its own code."""
    spec = importlib.util.spec_from_file_location("good_fixture_model", FIXTURES / "good" / "model.py")
    model = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(model)
    expected = {}
    for row in world.world.holdout_features.itertuples(index=False):
        age = None if math.isnan(row.customer_age) else row.customer_age
        expected[(row.customer_id, row.snapshot_month)] = model.churn_probability(
            row.tenure_months,
            row.monthly_charges,
            row.support_calls_30d,
            row.days_since_last_login,
            row.contract_type,
            age,
            row.auto_renew,
        )
    return expected


def test_good_service_passes_every_check(run_fixture, world) -> None:
    settings = quick_settings(load_rates=[100.0, 500.0])
    evidence = run_fixture("good", expected=good_expected(world), settings=settings)
    found = checks(evidence)
    assert evidence.outcome.status == "ok", evidence.outcome.reasons
    failed = {k: v for k, v in found.items() if v is False}
    assert failed == {}, [c.detail for c in evidence.checks if c.passed is False]
    # Under the rubric's latency bar, unless the probe itself was starved on a busy machine.
    bar = load_rubric().latency_bar()
    at_bar = next(s for s in evidence.load.profile.steps if s.rate == bar.full_at_rate)
    assert at_bar.p99_ms < bar.p99_below_ms or not at_bar.valid, at_bar
    assert found["correctness.matches_logged_model"] is True
    skew = evidence.check("correctness.matches_logged_model").figures
    assert skew["rows"] == len(world.world.holdout_features) and skew["max_abs_diff"] < 1e-6
    assert any("stand-in for python:3.11-slim" in r for r in evidence.outcome.reasons)
    build, run = evidence.build, evidence.run
    assert build.succeeded and build.seconds < 120 and build.image_size_mb > 50 and build.base_images[0].standin
    assert run.healthy and run.health_route == "/health" and 0 < run.seconds_to_healthy < 20
    assert run.user_id == 10001 and "internal network: no egress" in run.isolation
    contract = evidence.contract
    assert contract.route.path == "/predict" and contract.batch_route.path == "/predict/batch"
    assert contract.route.field_to_column["support-calls-30d"] == "support_calls_30d"
    quality = evidence.quality
    assert quality.mode == "batch" and quality.rows_scored == quality.rows_total == len(world.world.holdout_features)
    assert 0 < quality.metrics["pr_auc"] <= 1 and quality.oracle_metrics["pr_auc"] > quality.metrics["pr_auc"]
    assert {c.name for c in evidence.bad_input} >= {
        "missing_field",
        "wrong_type",
        "null_field",
        "nan_value",
        "infinity_value",
        "extra_fields",
        "empty_body",
        "empty_batch",
        "oversized_batch",
        "malformed_json",
        "wrong_content_type",
        "very_long_string",
    }
    assert all(400 <= c.status < 500 for c in evidence.bad_input)
    steps = evidence.load.profile.steps
    assert [s.rate for s in steps] == [100.0, 500.0] and all(s.errors == 0 for s in steps)


def test_careless_service_500s_on_bad_input_and_runs_as_root(run_fixture) -> None:
    evidence = run_fixture("root500")
    found = checks(evidence)
    assert evidence.outcome.status == "ok"  # every probe ran; the failures are findings
    assert found["bad_input.no_5xx"] is False and found["bad_input.still_healthy"] is True
    statuses = {c.name: c.status for c in evidence.bad_input}
    assert statuses["missing_field"] == statuses["wrong_type"] == statuses["null_field"] == 500
    assert found["run.non_root"] is False and evidence.run.user_id == 0
    assert found["run.health_route"] is False and evidence.run.health_route == "/openapi.json"
    for practice in ("non_root_user", "healthcheck", "exec_form", "dockerignore", "no_baked_data", "exposes_port"):
        assert found[f"dockerfile.{practice}"] is False, practice
    route = evidence.contract.route
    assert route.path == "/score" and route.free_form and not evidence.contract.batch_supported
    assert evidence.quality.mode == "single" and evidence.quality.rows_scored == evidence.quality.rows_total


def test_image_that_fails_to_build(run_fixture) -> None:
    evidence = run_fixture("buildfail")
    assert evidence.outcome.status == "failed"
    assert evidence.build.attempted and not evidence.build.succeeded
    assert evidence.build.failing_step.startswith("Step 5/") and "RUN python -c" in evidence.build.failing_step
    assert "non-zero code" in evidence.build.error
    assert "run the notebook first" in evidence.build.log_tail
    assert any("failed to build" in r for r in evidence.outcome.reasons)
    assert not evidence.run.started and checks(evidence)["build.succeeded"] is False


def test_container_that_exits_at_once(run_fixture) -> None:
    evidence = run_fixture("exits")
    assert evidence.outcome.status == "failed"
    assert not evidence.run.healthy and evidence.run.exit_code == 1
    assert "models/model.joblib not found" in evidence.run.log_tail
    assert any("exited before it was healthy" in r for r in evidence.outcome.reasons)
    assert evidence.outcome.duration_s < 60


def test_container_that_never_becomes_healthy(run_fixture) -> None:
    started = time.monotonic()
    evidence = run_fixture("neverhealthy", policy=quick_policy(startup_timeout_s=6))
    assert evidence.outcome.status == "failed"
    assert any("never became healthy" in r for r in evidence.outcome.reasons)
    assert "within 6 s" in evidence.check("run.healthy").detail
    assert time.monotonic() - started < 90


def test_container_that_dies_under_load(run_fixture) -> None:
    evidence = run_fixture("dies", settings=quick_settings(load_rates=[50.0, 300.0]))
    assert evidence.outcome.status == "partial"
    survived = evidence.check("run.survived")
    assert survived.passed is False and survived.figures["phase"] == "the load probe"
    assert evidence.run.exit_code == 3
    assert any("died during the load probe" in r for r in evidence.outcome.reasons)
    assert evidence.quality.rows_scored == evidence.quality.rows_total  # it served fine at a trickle
    assert evidence.load.profile.steps[-1].errors > 0


def test_build_is_stopped_at_the_time_limit(run_fixture) -> None:
    started = time.monotonic()
    evidence = run_fixture("slowbuild", policy=quick_policy(build_timeout_s=5))
    assert evidence.build.timed_out and not evidence.build.succeeded
    assert "build stopped at the 5 s build limit" in evidence.build.error and "sleep 600" in evidence.build.failing_step
    assert evidence.outcome.status == "failed" and time.monotonic() - started < 60


def test_missing_base_image_and_buildkit_syntax_are_the_environments(run_fixture, tmp_path) -> None:
    absent = tmp_path / "absent"
    absent.mkdir()
    (absent / "Dockerfile").write_text('FROM ghcr.io/acme/never-pulled:1\nCMD ["python", "-V"]\n')
    evidence = run_fixture("absent", context=absent)
    assert evidence.outcome.status == "failed" and not evidence.build.attempted
    assert evidence.outcome.environment.startswith(
        "base image ghcr.io/acme/never-pulled:1 (FROM) is not available offline"
    )

    mount = tmp_path / "mount"
    mount.mkdir()
    (mount / "Dockerfile").write_text(
        'FROM python:3.11-slim\nRUN --mount=type=cache,target=/root/.cache pip --version\nCMD ["python", "-V"]\n'
    )
    evidence = run_fixture("mount", context=mount)
    assert evidence.outcome.status == "failed" and not evidence.build.succeeded
    assert any("BuildKit" in r and "RUN --mount" in r for r in evidence.outcome.reasons)
    assert "needs BuildKit" in evidence.outcome.environment and "`RUN --mount`" in evidence.outcome.environment
    assert evidence.check("build.succeeded").passed is None


def test_sandbox_limits_and_no_egress(run_fixture, monkeypatch) -> None:
    seen: dict = {}
    real_probes = stage_module.run_probes

    def probes_then_look_inside(service, evidence, *args):
        completed = real_probes(service, evidence, *args)
        seen["sandbox"] = httpx.get(evidence.run.base_url + "/sandbox", timeout=10).json()
        seen["host_config"] = service.container.attrs["HostConfig"]
        seen["network"] = service.container.client.networks.get(service.network_name).attrs
        return completed

    monkeypatch.setattr(stage_module, "run_probes", probes_then_look_inside)
    evidence = run_fixture("inspect")
    assert evidence.outcome.status == "ok"
    assert seen["sandbox"] == {
        "uid": 0,
        "reaches_public_ip": False,
        "code_folder_writable": False,
        "temp_writable": True,
    }
    host = seen["host_config"]
    assert host["Memory"] == host["MemorySwap"] == 2048 * 1024 * 1024
    assert host["NanoCpus"] == 2_000_000_000 and host["PidsLimit"] == 256
    assert (
        host["ReadonlyRootfs"] is True and host["CapDrop"] == ["ALL"] and host["SecurityOpt"] == ["no-new-privileges"]
    )
    assert seen["network"]["Internal"] is True and seen["network"]["Labels"][STAGE_LABEL] == "serving"


def test_interrupt_mid_run_leaves_nothing_behind(client, world, tmp_path, monkeypatch) -> None:
    seen: dict[str, str] = {}

    def interrupted(service, evidence, *args):
        assert service.state().alive and serving_leftovers(client, evidence.run_id) != NOTHING_LEFT
        seen["run_id"] = evidence.run_id
        raise KeyboardInterrupt

    monkeypatch.setattr(stage_module, "run_probes", interrupted)
    context = stage_fixture("good", tmp_path)
    with pytest.raises(KeyboardInterrupt):
        run_serving_stage(
            context,
            None,
            world.world.holdout_features,
            world.world.holdout_labels,
            None,
            DockerSandbox(client),
            tmp_path / "stage",
            policy=quick_policy(),
            settings=quick_settings(),
        )
    assert serving_leftovers(client, seen["run_id"]) == NOTHING_LEFT


def test_cleanup_leftovers_removes_what_a_killed_run_left(client, tmp_path) -> None:
    run_id = f"janitor{uuid.uuid4().hex[:6]}"
    labels = run_labels(run_id, "serving")
    (tmp_path / "Dockerfile").write_text("FROM python:3.11-slim\n")
    client.images.build(
        path=str(tmp_path), tag=f"churn-grader-serving/{run_id}:candidate", labels=labels, pull=False, rm=True
    )
    network = client.networks.create(f"churn-grader-serving-{run_id}", internal=True, labels=labels)
    client.containers.run(
        f"churn-grader-serving/{run_id}:candidate",
        ["sleep", "300"],
        detach=True,
        network=network.name,
        labels=labels,
        name=f"churn-grader-serving-{run_id}",
    )
    leftovers = serving_leftovers(client, run_id)
    assert leftovers["containers"] and leftovers["networks"] and leftovers["images"]
    # Only this run's: other serving runs may be going on at the same time.
    removed = cleanup_leftovers(client, run_id)
    assert removed["containers"] == removed["networks"] == removed["images"] == 1
    assert serving_leftovers(client, run_id) == NOTHING_LEFT


def test_service_listening_on_loopback_is_unreachable_and_says_why(run_fixture, tmp_path) -> None:
    context = stage_fixture("inspect", tmp_path)
    dockerfile = (
        (context / "Dockerfile")
        .read_text()
        .replace('CMD ["uvicorn", "app:app", "--host", "0.0.0.0", "--port", "8000"]', 'CMD ["uvicorn", "app:app"]')
    )
    (context / "Dockerfile").write_text(dockerfile)
    evidence = run_fixture("loopback", context=context, policy=quick_policy(startup_timeout_s=5))
    assert evidence.outcome.status == "failed" and evidence.check("dockerfile.listens_all_interfaces").passed is False
    assert any("listens on 127.0.0.1" in reason for reason in evidence.outcome.reasons)

"""The serving stage's `local` backend: the Dockerfile's command in a limited process.

No Docker here: the service runs from the staged COPY files in a cached virtualenv.
Where the grader runs as root with iproute2, it gets a network namespace of its own,
and the tests prove it cannot reach out; elsewhere the evidence must say so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
from serving_kit import quick_policy, quick_settings, stage_fixture

from grader.sandbox.local import LocalSandbox
from grader.sandbox.local.build import STAGE_PREFIX, stage_files
from grader.sandbox.local.service import NETNS_PREFIX
from grader.sandbox.local.uids import LOCAL_UID_COUNT, LOCAL_UID_FIRST
from grader.serving import stage as stage_module
from grader.serving.dockerfile import parse
from grader.serving.layout import plan
from grader.serving.stage import run_serving_stage

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
NAMESPACES = os.geteuid() == 0 and shutil.which("ip") is not None
# Each local run takes a user of its own from the pool.
LOCAL_UIDS = range(LOCAL_UID_FIRST, LOCAL_UID_FIRST + LOCAL_UID_COUNT)


@pytest.fixture(scope="module")
def world(make_world):
    return make_world("serving-stage", 5000, spec="churn-v1")  # the fixtures use v1's column names


def run_local(name: str, world, tmp_path: Path, **policy_options):
    context = stage_fixture(name, tmp_path)
    return run_serving_stage(
        context,
        None,
        world.world.holdout_features,
        world.world.holdout_labels,
        None,
        LocalSandbox(),
        tmp_path / "stage",
        policy=quick_policy(**policy_options),
        settings=quick_settings(),
    )


def leftovers(run_id: str) -> dict[str, list[str]]:
    """Namespaces and staging folders of one run (other runs may be going on)."""
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout if NAMESPACES else ""
    return {
        "namespaces": [
            line.split()[0] for line in namespaces.splitlines() if line.startswith(f"{NETNS_PREFIX}{run_id}")
        ],
        "folders": [p.name for p in Path(tempfile.gettempdir()).glob(f"{STAGE_PREFIX}{run_id}*")],
    }


def test_good_service_runs_locally_and_says_what_it_could_not_verify(world, tmp_path) -> None:
    evidence = run_local("good", world, tmp_path)
    found = {c.id: c.passed for c in evidence.checks}
    assert evidence.outcome.status == "ok", evidence.outcome.reasons
    assert evidence.backend == "local" and evidence.outcome.backend == "local"
    assert found["build.succeeded"] is None and found["run.non_root"] is None
    assert any("not built" in item for item in evidence.not_verified)
    assert {k: v for k, v in found.items() if v is False} == {}
    assert evidence.quality.rows_scored == evidence.quality.rows_total and evidence.contract.batch_supported
    assert all(400 <= case.status < 500 for case in evidence.bad_input)
    assert any("virtualenv" in note for note in evidence.run.notes)
    if NAMESPACES:
        assert "own network namespace" in evidence.run.network and evidence.run.user_id in LOCAL_UIDS
    else:
        assert "egress NOT blocked" in evidence.run.network
    assert leftovers(evidence.run_id) == {"namespaces": [], "folders": []}


def test_local_sandbox_cuts_the_network_and_keeps_code_read_only(world, tmp_path, monkeypatch) -> None:
    seen: dict = {}
    real_probes = stage_module.run_probes

    def probes_then_look_inside(service, evidence, *args):
        completed = real_probes(service, evidence, *args)
        seen.update(httpx.get(evidence.run.base_url + "/sandbox", timeout=10).json())
        return completed

    monkeypatch.setattr(stage_module, "run_probes", probes_then_look_inside)
    evidence = run_local("inspect", world, tmp_path)
    assert evidence.outcome.status == "ok", evidence.outcome.reasons
    assert seen["code_folder_writable"] is False and seen["temp_writable"] is True
    if not NAMESPACES:
        pytest.skip("no network namespace here (needs root and iproute2): egress is recorded as not blocked")
    assert seen["uid"] in LOCAL_UIDS and seen["reaches_public_ip"] is False
    assert leftovers(evidence.run_id) == {"namespaces": [], "folders": []}


def test_service_that_exits_at_once_locally(world, tmp_path) -> None:
    evidence = run_local("exits", world, tmp_path)
    assert evidence.outcome.status == "failed"
    assert any("exited before it was healthy" in r for r in evidence.outcome.reasons)
    assert "models/model.joblib not found" in evidence.run.log_tail
    assert leftovers(evidence.run_id) == {"namespaces": [], "folders": []}


def test_service_that_never_becomes_healthy_locally_is_stopped(world, tmp_path) -> None:
    evidence = run_local("neverhealthy", world, tmp_path, startup_timeout_s=5)
    assert evidence.outcome.status == "failed"
    assert any("never became healthy" in r for r in evidence.outcome.reasons)
    assert leftovers(evidence.run_id) == {"namespaces": [], "folders": []}


def test_no_dockerfile_or_no_start_command_is_an_outcome_not_an_error(world, tmp_path) -> None:
    features, labels = world.world.holdout_features, world.world.holdout_labels
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "app.py").write_text("print('no container here')\n")
    evidence = run_serving_stage(bare, None, features, labels, None, LocalSandbox(), tmp_path / "stage-bare")
    assert evidence.outcome.status == "failed" and evidence.check("dockerfile.present").passed is False
    assert "no Dockerfile" in evidence.outcome.reasons[0]

    idle = tmp_path / "idle"
    (idle / "deploy").mkdir(parents=True)
    (idle / "deploy" / "Dockerfile").write_text("FROM python:3.11-slim\nRUN pip --version\n")
    evidence = run_serving_stage(idle, None, features, labels, None, LocalSandbox(), tmp_path / "stage-idle")
    assert evidence.outcome.status == "failed" and evidence.check("dockerfile.present").detail.startswith(
        "deploy/Dockerfile: "
    )
    assert "no CMD or ENTRYPOINT" in evidence.outcome.reasons[0]


def test_staging_never_follows_a_symlink_out_of_the_context(tmp_path) -> None:
    secret = tmp_path / "answer_key.json"
    secret.write_text('{"leak": "care_escalations_30d"}')
    context = tmp_path / "context"
    context.mkdir()
    (context / "key.json").symlink_to(secret)
    (context / "app.py").write_text("")
    (context / "Dockerfile").write_text('FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\nCMD ["python", "app.py"]\n')
    root = tmp_path / "root"
    root.mkdir()
    notes = stage_files(plan(parse(context / "Dockerfile"), context), root)
    assert (root / "app" / "app.py").is_file() and not (root / "app" / "key.json").exists()
    assert any("key.json not copied: it points outside the build context" in note for note in notes)


def test_a_plain_threaded_service_survives_the_full_load_probe_locally(world, tmp_path) -> None:
    """The policy's whole probe (every rate, full steps) against a sync numpy route: it must stay up.

    The local service once had its memory bounded by address space, and died of it under load
    ("cannot allocate memory for thread-local data") where the same service in Docker lived."""
    context = stage_fixture("threaded", tmp_path)
    policy = quick_policy()
    evidence = run_serving_stage(
        context,
        None,
        world.world.holdout_features,
        world.world.holdout_labels,
        None,
        LocalSandbox(),
        tmp_path / "stage",
        policy=policy,
        settings=quick_settings(load_rates=None, load_step_s=None, load_warmup_s=None),
    )
    assert evidence.load is not None and evidence.load.profile is not None, evidence.outcome.reasons
    steps = evidence.load.profile.steps
    assert [step.rate for step in steps] == policy.probe.rates
    assert all(step.duration_s == policy.probe.step_duration_s for step in steps)
    assert not any("died" in reason for reason in evidence.outcome.reasons), evidence.run.log_tail[-2000:]
    assert "cannot allocate memory" not in evidence.run.log_tail and "MemoryError" not in evidence.run.log_tail
    assert evidence.load.alive_after is not False and evidence.outcome.status == "ok", evidence.outcome.reasons
    if NAMESPACES:
        assert any("private root" in item for item in evidence.run.isolation), evidence.run.isolation
    assert leftovers(evidence.run_id) == {"namespaces": [], "folders": []}

"""Offline base images and whose fault a failed build is: real builds on this engine.

The Docker tests build on the per-release stand-ins (`grader.engine.standins`): the first
run builds the bullseye (3.9) and trixie (3.13) ones, about two minutes each; later runs
find them cached. Names the grader tags for a test are untagged again when the test made
them; stand-in images stay (they are the engine's shared cache).
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import docker.errors
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
from serving_kit import (
    NOTHING_LEFT,
    docker_client_or_skip,
    quick_policy,
    quick_settings,
    serving_leftovers,
)

from grader.engine.baseimages import STANDIN_LABEL, standin_image
from grader.sandbox.docker import DockerSandbox
from grader.sandbox.docker.environment import base_images
from grader.serving.dockerfile import parse
from grader.serving.evidence import BaseImage, ServingEvidence
from grader.serving.stage import run_serving_stage
from grader.world.packet import SeededWorld

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(900)]
# Prints the python it runs on, then answers GET / with 200 (the stage's last health route)
# and logs nothing more, so that line stays in the log's tail.
STDLIB_SERVER = (
    'CMD ["python", "-c", "import http.server as s, platform; '
    "print('python', platform.python_version(), flush=True); "
    "s.SimpleHTTPRequestHandler.log_message = lambda *a: None; "
    "s.ThreadingHTTPServer(('', 8000), s.SimpleHTTPRequestHandler).serve_forever()\"]\n"
)
FASTAPI_APP = """\
import platform

from fastapi import FastAPI

print("python", platform.python_version(), flush=True)
app = FastAPI()


@app.get("/health")
def health() -> dict:
    return {"python": platform.python_version()}
"""


@pytest.fixture(scope="module")
def client() -> docker.DockerClient:
    return docker_client_or_skip()


@pytest.fixture
def names_made(client: docker.DockerClient) -> Iterator[None]:
    """Untag python:* names the test made the grader tag (never a name that was there before)."""

    def python_names() -> set[str]:
        # An image listed by name also lists its other names (the stand-in's own): keep python:* only.
        return {t for image in client.images.list(name="python") for t in image.tags if t.startswith("python:")}

    before = python_names()
    yield
    for tag in python_names() - before:
        if client.images.get(tag).labels.get(STANDIN_LABEL) == "1":
            client.images.remove(tag)  # an untag: the stand-in keeps its own name


@pytest.fixture(scope="module")
def world(make_world) -> SeededWorld:
    return make_world("serving-environment", 1000)


@pytest.fixture
def stage(client, world, tmp_path) -> Callable[..., ServingEvidence]:
    """Run the serving stage on a Dockerfile (and files) written to a fresh folder."""

    def run(dockerfile: str, files: dict[str, str] | None = None) -> ServingEvidence:
        context = tmp_path / "submission"
        context.mkdir()
        (context / "Dockerfile").write_text(dockerfile)
        for name, text in (files or {}).items():
            (context / name).write_text(text)
        evidence = run_serving_stage(
            context,
            None,
            world.world.holdout_features,
            world.world.holdout_labels,
            None,
            DockerSandbox(client),
            tmp_path / "stage",
            policy=quick_policy(startup_timeout_s=60),
            settings=quick_settings(),
        )
        assert serving_leftovers(client, evidence.run_id) == NOTHING_LEFT
        return evidence

    return run


def _only_base(evidence: ServingEvidence) -> BaseImage:
    assert len(evidence.build.base_images) == 1, evidence.build.base_images
    return evidence.build.base_images[0]


def test_python_3_9_slim_builds_and_serves_on_the_bullseye_stand_in(stage, names_made) -> None:
    evidence = stage(
        "FROM python:3.9-slim\nRUN pip install --no-cache-dir fastapi==0.115.6 uvicorn==0.32.1\n"
        'COPY app.py /app/app.py\nWORKDIR /app\nCMD ["uvicorn", "app:app", "--host", "0.0.0.0", "--port", "8000"]\n',
        {"app.py": FASTAPI_APP},
    )
    base = _only_base(evidence)
    assert evidence.build.succeeded and evidence.outcome.environment is None, evidence.outcome.reasons
    assert base.standin and base.standin_image == standin_image("3.9") and base.python_version.startswith("3.9.")
    assert base.choice.match == "exact" and base.choice.suite == "bullseye"
    assert evidence.run.healthy and evidence.run.health_route == "/health", evidence.outcome.reasons
    assert f"python {base.python_version}" in evidence.run.log_tail
    assert any(
        r.startswith("built on the offline stand-in for python:3.9-slim: python 3.9.") for r in evidence.outcome.reasons
    )


def test_python_3_12_5_slim_builds_on_the_nearest_stand_in_3_11(stage, names_made) -> None:
    evidence = stage(f"FROM python:3.12.5-slim\n{STDLIB_SERVER}")
    base = _only_base(evidence)
    assert evidence.build.succeeded and evidence.outcome.environment is None, evidence.outcome.reasons
    assert base.python_version.startswith("3.11.") and base.standin_image == standin_image("3.11")
    assert base.choice.match == "nearest" and base.choice.requested_version == "3.12.5"
    assert "no stand-in holds python 3.12: the nearest is 3.11 (Debian bookworm)" in base.choice.reason
    assert evidence.run.healthy and f"python {base.python_version}" in evidence.run.log_tail
    assert any("python:3.12.5-slim: python 3.11." in r and "(nearest: " in r for r in evidence.outcome.reasons)


def test_python_3_13_slim_builds_on_the_trixie_stand_in_and_pip_works_there(stage, names_made) -> None:
    evidence = stage(f"FROM python:3.13-slim\nRUN pip install --no-cache-dir six==1.17.0\n{STDLIB_SERVER}")
    base = _only_base(evidence)
    assert evidence.build.succeeded and evidence.outcome.environment is None, evidence.outcome.reasons
    assert base.python_version.startswith("3.13.") and base.choice.match == "exact" and base.choice.suite == "trixie"
    assert evidence.run.healthy and f"python {base.python_version}" in evidence.run.log_tail


def test_copy_from_an_image_no_registry_here_serves_is_the_environments(stage) -> None:
    evidence = stage(f"FROM python:3.11-slim\nCOPY --from=ghcr.io/astral-sh/uv:0.4.0 /uv /bin/uv\n{STDLIB_SERVER}")
    assert not evidence.build.attempted and evidence.outcome.status == "failed"
    assert evidence.outcome.environment == (
        "base image ghcr.io/astral-sh/uv:0.4.0 (COPY --from) is not available offline: grade on a machine that "
        "reaches its registry, or `docker pull`/`docker load` it into this engine before grading"
    )
    uv = evidence.build.base_images[1]
    assert (uv.requested, uv.used_by, uv.available, uv.choice) == (
        "ghcr.io/astral-sh/uv:0.4.0",
        "COPY --from",
        False,
        None,
    )
    assert evidence.check("build.succeeded").passed is None
    assert evidence.dockerfile.copied_from_images == ["ghcr.io/astral-sh/uv:0.4.0"]


def test_a_digest_pin_is_not_stood_in_for(stage) -> None:
    evidence = stage(f"FROM python:3.11-slim@sha256:{'e' * 64}\n{STDLIB_SERVER}")
    assert not evidence.build.attempted
    assert evidence.outcome.environment.startswith(
        f"base image python:3.11-slim@sha256:{'e' * 64} is not available offline and has no stand-in (pinned by digest"
    )


def test_an_alpine_apk_step_failing_on_the_debian_stand_in_is_the_environments(stage, names_made) -> None:
    evidence = stage(f"FROM python:3.11-alpine\nRUN apk add --no-cache curl\n{STDLIB_SERVER}")
    base = _only_base(evidence)
    assert base.standin and base.choice.alpine and "`apk` steps fail on it" in base.choice.reason
    assert evidence.build.attempted and not evidence.build.succeeded
    assert "RUN apk add --no-cache curl" in evidence.build.failing_step
    assert evidence.outcome.environment.startswith(
        "python:3.11-alpine is an Alpine image, stood in for offline by Debian's python 3.11."
    )
    assert "`RUN apk add --no-cache curl` cannot run" in evidence.outcome.environment
    assert evidence.check("build.succeeded").passed is None


def test_a_candidates_own_build_error_on_a_stand_in_stays_theirs(stage) -> None:
    evidence = stage(
        f"FROM python:3.11-slim\nRUN pip install --no-cache-dir churn-grader-no-such-package==9.9\n{STDLIB_SERVER}"
    )
    assert evidence.build.attempted and not evidence.build.succeeded
    assert evidence.outcome.environment is None and evidence.check("build.succeeded").passed is False


def test_a_real_image_under_a_python_name_is_used_and_never_retagged(client, tmp_path) -> None:
    (tmp_path / "marker").write_text("not a stand-in\n")
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY marker /marker\nENV PYTHON_VERSION=3.10.99\n")
    name = f"python:3.10.99-churn-grader-test-{uuid.uuid4().hex[:8]}"
    real, _ = client.images.build(path=str(tmp_path), tag=name, rm=True, pull=False)
    try:
        (tmp_path / "Dockerfile").write_text(f'FROM {name}\nCMD ["python", "-V"]\n')
        bases = base_images(client, parse(tmp_path / "Dockerfile"))
        assert [(b.requested, b.available, b.standin, b.python_version, b.choice) for b in bases] == [
            (name, True, False, "3.10.99", None)
        ]
        assert client.images.get(name).id == real.id
    finally:
        client.images.remove(real.id, force=True)

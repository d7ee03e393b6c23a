"""Shared fixtures: generated worlds and packets on real data."""

from __future__ import annotations

import os

import pytest

from grader.world.packet import SeededWorld, generate
from grader.world.seed import DEMO_SECRET
from grader.world.spec import DEFAULT_SPEC, load_spec

TEST_SECRET = b"tests-only-secret"


def require_docker() -> bool:
    """In CI (GRADER_REQUIRE_DOCKER=1) a missing engine is a failure, elsewhere a skip."""
    return os.environ.get("GRADER_REQUIRE_DOCKER") == "1"


def docker_client_or_skip(need_base_images: bool = False, module_level: bool = False):
    """A client for an engine that answers (with the stand-in base images, if asked);
    else skip, or fail under GRADER_REQUIRE_DOCKER=1."""
    from grader.engine.baseimages import missing_base_images
    from grader.engine.client import connect
    from grader.errors import EngineUnavailable

    try:
        client = connect()
    except EngineUnavailable as exc:
        reason = str(exc)
    else:
        missing = missing_base_images(client) if need_base_images else []
        if "python:3.11-slim" not in missing:
            return client
        reason = f"stand-in base images missing ({', '.join(missing)}): run sandbox/bootstrap-base-images.sh"
    if require_docker():
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason, allow_module_level=module_level)


@pytest.fixture(scope="session")
def full_world() -> SeededWorld:
    """A full-size (200K rows) world for one candidate."""
    return generate(load_spec(), TEST_SECRET, "full-size-candidate", None, demo_secret=False)


@pytest.fixture(scope="session")
def make_world():
    """Factory for small worlds: make_world(candidate_id, rows); spec="churn-v1" where a test needs
    v1's fixed column names."""
    cache: dict[tuple[str, int, bytes, str], SeededWorld] = {}

    def _make(
        candidate_id: str, rows: int = 20_000, secret: bytes = TEST_SECRET, spec: str = DEFAULT_SPEC
    ) -> SeededWorld:
        key = (candidate_id, rows, secret, spec)
        if key not in cache:
            cache[key] = generate(load_spec(spec), secret, candidate_id, rows, secret == DEMO_SECRET)
        return cache[key]

    return _make

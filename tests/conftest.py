"""Shared fixtures: generated worlds and packets on real data."""

from __future__ import annotations

import os

import pytest

from grader.world.packet import SeededWorld, generate
from grader.world.seed import DEMO_SECRET
from grader.world.spec import load_spec

TEST_SECRET = b"tests-only-secret"


def require_docker() -> bool:
    """In CI (GRADER_REQUIRE_DOCKER=1) a missing engine is a failure, elsewhere a skip."""
    return os.environ.get("GRADER_REQUIRE_DOCKER") == "1"


def docker_client_or_skip(need_base_images: bool = False, module_level: bool = False):
    """A client for an engine that answers (with the stand-in base images, if asked);
    else skip, or fail under GRADER_REQUIRE_DOCKER=1."""
    from grader.errors import EngineUnavailable
    from grader.sandbox.engine import connect, missing_base_images

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
    """Factory for small worlds: make_world(candidate_id, rows)."""
    cache: dict[tuple[str, int], SeededWorld] = {}

    def _make(candidate_id: str, rows: int = 20_000, secret: bytes = TEST_SECRET) -> SeededWorld:
        if (candidate_id, rows) not in cache:
            cache[(candidate_id, rows)] = generate(load_spec(), secret, candidate_id, rows, secret == DEMO_SECRET)
        return cache[(candidate_id, rows)]

    return _make

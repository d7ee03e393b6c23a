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

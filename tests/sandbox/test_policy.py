"""The [cache] table of the sandbox policy: strict keys, and the shipped bounds by default."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.errors import BadInput
from grader.sandbox.policy import POLICY_FILE, load_policy, policy_sha256

SHIPPED = POLICY_FILE.read_text()


def test_a_misspelt_cache_key_is_rejected(tmp_path: Path) -> None:
    typo = tmp_path / "typo.toml"
    typo.write_text(SHIPPED.replace("runner_layers_gb", "runner_layer_gb"))
    with pytest.raises(BadInput, match="runner_layer_gb"):
        load_policy(typo)


def test_a_bad_limit_names_the_file_line_and_entry(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(SHIPPED.replace("memory_mb = 6144", "memory_mb = -1", 1))
    line = SHIPPED.splitlines().index("memory_mb = 6144") + 1
    with pytest.raises(
        BadInput, match=rf"^sandbox policy {bad}:{line}: notebook\.memory_mb: Input should be greater than 0$"
    ):
        load_policy(bad)


def test_a_policy_without_cache_bounds_takes_the_shipped_ones(tmp_path: Path) -> None:
    older = tmp_path / "older.toml"
    older.write_text(SHIPPED[: SHIPPED.index("[cache]")])
    assert load_policy(older).cache == load_policy().cache


def test_the_policy_fingerprint_covers_candidate_limits_not_the_hosts_cache_caps(tmp_path) -> None:
    shipped = SHIPPED
    cache_changed = tmp_path / "cache.toml"
    cache_changed.write_text(shipped.replace("serving_venvs_gb = 10", "serving_venvs_gb = 3"))
    memory_changed = tmp_path / "memory.toml"
    memory_changed.write_text(shipped.replace("memory_mb = 6144", "memory_mb = 4096", 1))
    assert cache_changed.read_text() != shipped and memory_changed.read_text() != shipped
    # Changing how much disk the host's caches may take must not regrade a cohort...
    assert policy_sha256(cache_changed) == policy_sha256(POLICY_FILE)
    # ...changing what a candidate's code may use must.
    assert policy_sha256(memory_changed) != policy_sha256(POLICY_FILE)

"""The resource-limit policy for candidate code, loaded from sandbox/policy.toml."""

from __future__ import annotations

import hashlib
import json
import tomllib
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from grader.errors import BadInput
from grader.tomlfile import load_toml, read_toml

POLICY_FILE = Path(__file__).resolve().parents[2] / "sandbox" / "policy.toml"


class _Limits(BaseModel):
    # A misspelt limit is an error, never a silently ignored line.
    model_config = ConfigDict(extra="forbid")


class NotebookLimits(_Limits):
    memory_mb: int = Field(gt=0)
    cpus: float = Field(gt=0)
    pids: int = Field(gt=0)
    cell_timeout_s: int = Field(gt=0)
    total_timeout_s: int = Field(gt=0)
    scoring_timeout_s: int = Field(gt=0)
    max_output_chars_per_cell: int = Field(gt=0)
    max_images_per_cell: int = Field(ge=0)
    tmpfs_mb: int = Field(gt=0)
    network: bool
    disk_mb: int = Field(gt=0)
    max_files: int = Field(gt=0)
    log_mb: int = Field(gt=0)
    max_copy_mb: int = Field(gt=0)


class ServiceLimits(_Limits):
    memory_mb: int = Field(gt=0)
    cpus: float = Field(gt=0)
    pids: int = Field(gt=0)
    tmpfs_mb: int = Field(gt=0)
    read_only_root: bool
    network: bool
    startup_timeout_s: float = Field(gt=0)
    request_timeout_s: float = Field(gt=0)
    log_mb: int = Field(gt=0)


class BuildLimits(_Limits):
    timeout_s: int = Field(gt=0)
    max_log_chars: int = Field(gt=0)
    memory_mb: int = Field(gt=0)


class ProbeLimits(_Limits):
    rates: list[float] = Field(min_length=1)
    step_duration_s: float = Field(gt=0)
    warmup_s: float = Field(ge=0)


class CacheLimits(_Limits):
    runner_layers_gb: float = Field(gt=0)
    local_runner_gb: float = Field(gt=0)
    serving_venvs_gb: float = Field(gt=0)
    max_entry_gb: float = Field(gt=0)


class Policy(_Limits):
    notebook: NotebookLimits
    service: ServiceLimits
    build: BuildLimits
    probe: ProbeLimits
    cache: CacheLimits


@lru_cache(maxsize=4)
def load_policy(path: Path = POLICY_FILE) -> Policy:
    """The limits every backend applies; a clear error naming the bad entry."""
    # The cache bounds are the grading host's, not the candidate's limits: a policy file
    # without them (one written before they existed) takes the shipped file's.
    shipped = {} if Path(path) == POLICY_FILE else {"cache": read_toml(POLICY_FILE).data.get("cache")}
    return load_toml(Policy, Path(path), what="sandbox policy", defaults=shipped)


def policy_sha256(path: Path = POLICY_FILE) -> str:
    """A hash of the policy's limits on candidate code, for fingerprints (a changed limit changes evidence).

    The [cache] table is left out: it bounds the grading host's disk, never what a candidate's
    code may do, so changing it must not regrade a cohort."""
    try:
        table = tomllib.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BadInput(f"sandbox policy {path} is invalid: {exc}") from exc
    table.pop("cache", None)
    return hashlib.sha256(json.dumps(table, sort_keys=True).encode()).hexdigest()

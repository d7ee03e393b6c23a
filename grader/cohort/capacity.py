"""How many submissions fit the machine at once, and how long one may take.

Memory is the hard limit: each submission may hold a notebook kernel (or an image
build, or its service) at the sandbox policy's memory limit, plus the grading process
itself (the world, the holdout, the grader's reference model). CPU is the soft one: the
policy's CPU limits are ceilings, not reservations, so a submission is given at least
one core on average and no more than one submission per core runs.
"""

from __future__ import annotations

import os
from pathlib import Path

import psutil
from pydantic import BaseModel

from grader.sandbox.policy import Policy
from grader.serving.settings import ServingSettings

# The grading process itself: measured peak 0.78 GB RSS grading reference/strong at the default 200K rows.
GRADER_PROCESS_MB = 1536
# Left to the system, the Docker engine and this process.
SYSTEM_RESERVE_MB = 1024
# Beyond the sum of the stages' own limits: world generation, MLflow reading, reports.
TIMEOUT_MARGIN_S = 600


class Capacity(BaseModel):
    """The largest safe --jobs, and the figures it came from."""

    max_jobs: int
    cpus: int
    memory_mb: int
    per_job_mb: int

    def explain(self) -> str:
        return (
            f"{self.cpus} CPU(s) and {self.memory_mb / 1024:.1f} GB of memory available; each submission may "
            f"need {self.per_job_mb / 1024:.1f} GB (sandbox policy limit plus the grading process)"
        )


def _cgroup_memory_mb() -> int | None:
    """This process's cgroup memory limit minus its usage, where one is set."""
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
    ):
        try:
            limit = Path(limit_file).read_text().strip()
            usage = int(Path(usage_file).read_text().strip())
        except (OSError, ValueError):
            continue
        if limit.isdigit() and int(limit) < 1 << 60:
            return (int(limit) - usage) // 1024**2
    return None


def _cgroup_cpus() -> int | None:
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
    except (OSError, ValueError):
        return None
    return max(1, int(quota) // int(period)) if quota.isdigit() else None


def machine_capacity(policy: Policy, cpus: int | None = None, memory_mb: int | None = None) -> Capacity:
    """The safe maximum of parallel submissions on this machine (or on the figures given)."""
    if cpus is None:
        cpus = min(filter(None, [len(os.sched_getaffinity(0)), _cgroup_cpus()]))
    if memory_mb is None:
        memory_mb = min(filter(None, [psutil.virtual_memory().available // 1024**2, _cgroup_memory_mb()]))
    stage_mb = max(policy.notebook.memory_mb, policy.build.memory_mb, policy.service.memory_mb)
    per_job_mb = stage_mb + GRADER_PROCESS_MB
    by_memory = max(1, (memory_mb - SYSTEM_RESERVE_MB) // per_job_mb)
    return Capacity(max_jobs=max(1, min(cpus, by_memory)), cpus=cpus, memory_mb=memory_mb, per_job_mb=per_job_mb)


def default_timeout_s(policy: Policy, settings: ServingSettings | None = None) -> int:
    """A wall-clock limit for one submission: every stage's own limits, end to end, plus a margin."""
    settings = settings or ServingSettings()
    rates = settings.load_rates or policy.probe.rates
    step_s = settings.load_step_s or policy.probe.step_duration_s
    serving = (
        policy.service.startup_timeout_s
        + 2 * settings.quality_budget_s
        + len(rates) * (step_s + policy.service.request_timeout_s)
    )
    return int(policy.notebook.total_timeout_s + policy.build.timeout_s + serving + TIMEOUT_MARGIN_S)

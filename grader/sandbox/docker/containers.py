"""What every container of candidate code shares: its labels, its limits, and the words for what they enforce.

A notebook runner's container and a candidate service's container are made from the same
options, so a limit is set, and said in the evidence, in one place. Everything the docker
backend creates carries the labels of its run, its stage and its owning grader
(`grader.sandbox.owner`), by which leftovers are found and removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from docker.types import LogConfig

from grader.sandbox.owner import owner_labels
from grader.sandbox.policy import NotebookLimits, ServiceLimits

RUN_LABEL = "org.churn-grader.run"
STAGE_LABEL = "org.churn-grader.stage"
# The user candidate code runs as in every container (the runner image's `runner`).
SANDBOX_UID = 10001


def run_labels(run_id: str, stage: str) -> dict[str, str]:
    """The labels of everything one run of a stage creates, its owner's included."""
    return {RUN_LABEL: run_id, STAGE_LABEL: stage, **owner_labels()}


@dataclass(frozen=True)
class ContainerLimits:
    """The policy's limits on one container, as engine options and as evidence words."""

    memory_mb: int
    cpus: float
    pids: int
    tmpfs_mb: int
    log_mb: int
    read_only: bool

    @classmethod
    def of(cls, limits: NotebookLimits | ServiceLimits) -> ContainerLimits:
        read_only = limits.read_only_root if isinstance(limits, ServiceLimits) else True
        return cls(limits.memory_mb, limits.cpus, limits.pids, limits.tmpfs_mb, limits.log_mb, read_only)

    def options(self) -> dict[str, Any]:
        """Keyword arguments of `containers.create`: memory without swap, CPUs, pids, no privileges, capped log."""
        return {
            "mem_limit": f"{self.memory_mb}m",
            "memswap_limit": f"{self.memory_mb}m",
            "nano_cpus": int(self.cpus * 1e9),
            "pids_limit": self.pids,
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges"],
            "read_only": self.read_only,
            "tmpfs": {"/tmp": f"size={self.tmpfs_mb}m,mode=1777"},
            "log_config": LogConfig(type=LogConfig.types.JSON, config={"max-size": f"{self.log_mb}m", "max-file": "1"}),
        }

    def isolation(self, network: str, host_blocked: bool | None) -> tuple[list[str], list[str]]:
        """What these options enforce, and what they could not, with how the container is networked.

        `host_blocked`: whether the host firewall guards the container's bridge (None: it has no bridge)."""
        held = [
            f"memory {self.memory_mb} MB (no swap)",
            f"cpus {self.cpus:g}",
            f"pids {self.pids}",
            "all capabilities dropped",
            "no-new-privileges",
            f"tmpfs /tmp {self.tmpfs_mb} MB",
            *(["read-only root filesystem"] if self.read_only else []),
            network,
        ]
        not_enforced = []
        if host_blocked:
            held.append("no connection to the grader's host (firewall rule on its bridge)")
        elif host_blocked is False:
            not_enforced.append(
                "the container could open connections to the grader's host (no firewall rule could be set)"
            )
        held.append(f"log {self.log_mb} MB")
        return held, not_enforced

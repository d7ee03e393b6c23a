"""Control groups for local runs: total memory, CPU share and process count, where the host allows.

rlimits bound one process at a time: a fork bomb of small processes would still take all
the memory and every core, and starve the other candidates graded beside it. Run as root on
a host with a writable cgroup hierarchy (v1 or v2), each local run gets a group of its own
with the policy's memory (no swap), CPUs and pids, as a Docker container does. Groups are
named after the owning grader process, so groups a killed grader left are removed by the
next run once they are empty.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from pathlib import Path

from grader.sandbox.owner import start_ticks

CGROUP_ROOT = Path("/sys/fs/cgroup")
PARENT = "churn-grader"
_V1_CONTROLLERS = ("pids", "memory", "cpu")
_PERIOD_US = 100_000


def _unified() -> bool:
    return (CGROUP_ROOT / "cgroup.controllers").is_file()


def _write(path: Path, value: str) -> None:
    path.write_text(value)


class LocalCgroup:
    """One local run's group; `folders` is empty when the host gives none (then nothing is enforced)."""

    def __init__(self, memory_mb: int, cpus: float, pids: int) -> None:
        self.name = f"{os.getpid()}-{start_ticks(os.getpid())}-{uuid.uuid4().hex[:8]}"
        self.memory, self.cpus, self.pids = memory_mb * 1024**2, cpus, pids
        self.folders: list[Path] = []

    def create(self) -> bool:
        """Make the group with its limits; False (and nothing left behind) where that is impossible."""
        if os.geteuid() != 0:
            return False
        try:
            self._create_unified() if _unified() else self._create_v1()
        except OSError:
            self.remove()
            return False
        return True

    def _create_v1(self) -> None:
        for controller in _V1_CONTROLLERS:
            parent = CGROUP_ROOT / controller / PARENT
            parent.mkdir(exist_ok=True)
            _remove_stale(parent)
            folder = parent / self.name
            folder.mkdir()
            self.folders.append(folder)
            if controller == "pids":
                _write(folder / "pids.max", str(self.pids))
            elif controller == "memory":
                _write(folder / "memory.limit_in_bytes", str(self.memory))
                with contextlib.suppress(OSError):  # only where swap accounting is on
                    _write(folder / "memory.memsw.limit_in_bytes", str(self.memory))
            else:
                _write(folder / "cpu.cfs_period_us", str(_PERIOD_US))
                _write(folder / "cpu.cfs_quota_us", str(int(self.cpus * _PERIOD_US)))

    def _create_unified(self) -> None:
        parent = CGROUP_ROOT / PARENT
        parent.mkdir(exist_ok=True)
        _write(CGROUP_ROOT / "cgroup.subtree_control", "+pids +memory +cpu")
        _write(parent / "cgroup.subtree_control", "+pids +memory +cpu")
        _remove_stale(parent)
        folder = parent / self.name
        folder.mkdir()
        self.folders.append(folder)
        _write(folder / "pids.max", str(self.pids))
        _write(folder / "memory.max", str(self.memory))
        with contextlib.suppress(OSError):
            _write(folder / "memory.swap.max", "0")
        _write(folder / "cpu.max", f"{int(self.cpus * _PERIOD_US)} {_PERIOD_US}")

    def enter(self) -> None:
        """Move the calling process (the sandbox's first, before exec) into the group."""
        for folder in self.folders:
            _write(folder / "cgroup.procs", str(os.getpid()))

    def oom_kills(self) -> int:
        """Processes the OOM killer ended in this group."""
        for folder in self.folders:
            for name in ("memory.oom_control", "memory.events"):
                with contextlib.suppress(OSError, ValueError):
                    for line in (folder / name).read_text().splitlines():
                        key, _, value = line.partition(" ")
                        if key == "oom_kill":
                            return int(value)
        return 0

    def kill_all(self) -> None:
        """End every process still in the group (a fork bomb included)."""
        for _ in range(50):
            pids = self._pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)

    def _pids(self) -> list[int]:
        found: set[int] = set()
        for folder in self.folders:
            with contextlib.suppress(OSError, ValueError):
                found.update(int(p) for p in (folder / "cgroup.procs").read_text().split())
        return sorted(found)

    def remove(self) -> None:
        self.kill_all()
        for folder in self.folders:
            for _ in range(20):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # processes not yet gone
                    time.sleep(0.05)
        self.folders = []


def _remove_stale(parent: Path) -> None:
    """Remove the empty groups of graders that are gone."""
    for folder in parent.iterdir():
        if not folder.is_dir():
            continue
        pid, _, rest = folder.name.partition("-")
        ticks = rest.partition("-")[0]
        if pid.isdigit() and start_ticks(int(pid)) != ticks:
            with contextlib.suppress(OSError):
                folder.rmdir()

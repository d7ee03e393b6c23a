"""Run one bounded command of candidate code: in a container here, or in a limited process
(`local_sandbox`), and what both share: mounts, the result record, the output clean-up.

Both backends mount host folders at the *same* absolute paths, so file paths written by
candidate code (MLflow artifact locations, for one) mean the same inside and out, and a
command line is identical on both. Everything the command writes is untrusted input.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
import uuid
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from grader.sandbox.diskwatch import DiskWatch
from grader.sandbox.owner import owner_labels
from grader.sandbox.policy import NotebookLimits
from grader.sandbox.uids import give_to

Backend = Literal["docker", "local"]
RUN_LABEL = "org.churn-grader.run"
STAGE_LABEL = "org.churn-grader.stage"
SANDBOX_UID = 10001
LOG_TAIL_CHARS = 8000
# A sandbox outliving its grader stops itself this long after its own time limit.
SELF_STOP_GRACE_S = 30


class Mount(BaseModel):
    path: Path
    read_only: bool = True


class SandboxResult(BaseModel):
    """How a sandboxed command ended; `isolation` says what the backend could enforce."""

    backend: Backend
    exit_code: int | None
    timed_out: bool
    seconds: float
    log_tail: str = ""
    isolation: list[str] = Field(default_factory=list)
    not_enforced: list[str] = Field(default_factory=list)
    # The engine saw the kernel's OOM killer end a process of the sandbox (memory limit).
    oom_killed: bool = False
    # Why the grader stopped the run before its time limit (the disk watchdog), in words.
    stopped: str | None = None
    disk_written_mb: float = 0.0
    # What the run left that the grader removed before reading its output (links, devices).
    removed: list[str] = Field(default_factory=list)


def give_to_sandbox(*paths: Path) -> None:
    """Let the unprivileged sandbox user write these folders (we run as root in CI)."""
    give_to(SANDBOX_UID, *paths)


def remove_planted_links(roots: list[Path]) -> list[str]:
    """Delete symlinks and special files the sandbox left in its writable folders.

    The grader reads those folders on the host afterwards (executed notebooks, the MLflow
    store, the submission copy it builds the image from): a link planted there would make
    it read a host file, a FIFO would block it. Returns what was removed.
    """
    removed: list[str] = []
    stack = [str(root) for root in roots]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                mode = entry.stat(follow_symlinks=False).st_mode
            except OSError:
                continue
            if stat.S_ISDIR(mode):
                stack.append(entry.path)
            elif not stat.S_ISREG(mode):
                target = ""
                with contextlib.suppress(OSError):
                    target = f" -> {os.readlink(entry.path)}" if stat.S_ISLNK(mode) else " (special file)"
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed.append(f"{entry.path}{target}"[:300])
    return removed


def writable(mounts: list[Mount]) -> list[Path]:
    return [m.path for m in mounts if not m.read_only]


def run_in_docker(
    client,
    image: str,
    command: list[str],
    mounts: list[Mount],
    env: dict[str, str],
    limits: NotebookLimits,
    timeout_s: float,
    workdir: Path,
    runner_drops_privileges: bool = False,
) -> SandboxResult:
    """Run `command` in a fresh container with no network and the policy's limits.

    `runner_drops_privileges`: the command (the notebook runner) starts as root in the
    container with only the capabilities to start the candidate's kernel as the sandbox
    user and to signal it; the kernel then cannot touch what the runner writes.
    """
    import docker.errors
    from docker.types import LogConfig, Ulimit

    started = time.monotonic()
    file_bytes = limits.disk_mb * 1024**2
    user = "0:0" if runner_drops_privileges else f"{SANDBOX_UID}:{SANDBOX_UID}"
    container = client.containers.create(
        image,
        # A container whose grader was killed still ends by itself, soon after the limit.
        command=["timeout", "-s", "KILL", str(int(timeout_s) + SELF_STOP_GRACE_S), *command],
        environment={**env, "CANDIDATE_UID": str(SANDBOX_UID)},
        working_dir=str(workdir),
        user=user,
        # An init that reaps: killed orphans must not hold the pids limit as zombies.
        init=True,
        network_mode="none",
        mem_limit=f"{limits.memory_mb}m",
        memswap_limit=f"{limits.memory_mb}m",
        nano_cpus=int(limits.cpus * 1e9),
        pids_limit=limits.pids,
        cap_drop=["ALL"],
        cap_add=["SETUID", "SETGID", "KILL"] if runner_drops_privileges else None,
        security_opt=["no-new-privileges"],
        read_only=True,
        tmpfs={"/tmp": f"size={limits.tmpfs_mb}m,mode=1777"},
        ulimits=[Ulimit(name="fsize", soft=file_bytes, hard=file_bytes), Ulimit(name="core", soft=0, hard=0)],
        log_config=LogConfig(type=LogConfig.types.JSON, config={"max-size": f"{limits.log_mb}m", "max-file": "1"}),
        volumes={str(m.path): {"bind": str(m.path), "mode": "ro" if m.read_only else "rw"} for m in mounts},
        labels={RUN_LABEL: uuid.uuid4().hex, STAGE_LABEL: "notebook", **owner_labels()},
    )
    timed_out, oom_killed = False, False

    def stop() -> None:
        with contextlib.suppress(docker.errors.APIError):
            container.kill()

    try:
        with DiskWatch(writable(mounts), limits.disk_mb, limits.max_files, stop) as watch:
            container.start()
            try:
                exit_code = container.wait(timeout=timeout_s)["StatusCode"]
            except Exception:  # the wait timed out: stop the container at the limit
                timed_out = True
                stop()
                exit_code = None
        with contextlib.suppress(docker.errors.APIError):
            container.reload()
            oom_killed = bool(container.attrs.get("State", {}).get("OOMKilled"))
        log = container.logs(tail=200).decode("utf-8", "replace")[-LOG_TAIL_CHARS:]
    finally:
        container.remove(force=True)
    return SandboxResult(
        backend="docker",
        exit_code=exit_code,
        timed_out=timed_out,
        seconds=round(time.monotonic() - started, 3),
        log_tail=log,
        isolation=[
            "network none",
            f"memory {limits.memory_mb} MB",
            f"cpus {limits.cpus:g}",
            f"pids {limits.pids}",
            "read-only root",
            "all capabilities dropped",
            "no-new-privileges",
            "unprivileged user",
            f"disk {limits.disk_mb} MB written at most, {limits.max_files} files",
            f"log {limits.log_mb} MB",
        ]
        + (
            ["the notebook kernel runs as another user than the runner: it cannot alter the runner's record"]
            if runner_drops_privileges
            else []
        ),
        oom_killed=oom_killed,
        stopped=watch.reason,
        disk_written_mb=watch.peak_mb,
        removed=remove_planted_links(writable(mounts)),
    )

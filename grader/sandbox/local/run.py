"""A runner script as a confined process tree of this machine, to its end or its time limit.

It runs in the one local confinement (`confinement`), on the runner's interpreter and scripts,
visible read-only in its private root, with its own HOME, under the notebook limits and the
disk watchdog. Its output is drained to a bounded tail; nothing it started outlives it.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections import deque
from pathlib import Path

from grader.sandbox.api import LOG_TAIL_CHARS, Mount, RunSpec, SandboxResult
from grader.sandbox.diskwatch import DiskWatch
from grader.sandbox.folders import remove_planted_links
from grader.sandbox.local.confinement import ProcessLimits, confinement


class _Tail(threading.Thread):
    """Drains a child's output pipe, keeping only the last characters: gigabytes cost nothing."""

    def __init__(self, pipe) -> None:
        super().__init__(name="sandbox-log", daemon=True)
        self.pipe, self.kept = pipe, 0
        self.chunks: deque[bytes] = deque()

    def run(self) -> None:
        while chunk := self.pipe.read1(1 << 16):
            self.chunks.append(chunk)
            self.kept += len(chunk)
            while self.kept - len(self.chunks[0]) >= LOG_TAIL_CHARS:
                self.kept -= len(self.chunks.popleft())

    def text(self) -> str:
        return b"".join(self.chunks).decode("utf-8", "replace")[-LOG_TAIL_CHARS:]


def run_locally(spec: RunSpec) -> SandboxResult:
    """Run `spec` as a confined subprocess tree to its end (or the time limit): see `confinement`."""
    limits = spec.limits
    process_limits = ProcessLimits(
        limits.memory_mb, limits.cpus, limits.pids, limits.tmpfs_mb, limits.disk_mb, int(spec.timeout_s * limits.cpus)
    )
    mounts = [*spec.mounts, Mount(path=spec.home, read_only=False)]
    writable = [*spec.writable(), spec.home]
    # Its private root shows the runner's scripts and interpreter (a virtualenv's folder), read-only.
    readable = [spec.runner.scripts, Path(spec.runner.python).parent.parent]
    started = time.monotonic()
    with confinement(mounts, readable, spec.workdir, process_limits) as confined:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **spec.env, "HOME": str(spec.home)}
        with subprocess.Popen(
            [*confined.prefix, *spec.command()],
            cwd=spec.workdir,
            env=env,
            preexec_fn=confined.preexec,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        ) as process:
            tail = _Tail(process.stdout)
            tail.start()
            timed_out = False
            with DiskWatch(writable, limits.disk_mb, limits.max_files, lambda: confined.stop(process)) as watch:
                try:
                    process.wait(timeout=spec.timeout_s)
                except subprocess.TimeoutExpired:
                    timed_out = True
            # Nothing the candidate started may outlive the run.
            confined.stop(process)
            process.wait()
            tail.join(timeout=10)
        return SandboxResult(
            backend="local",
            exit_code=None if timed_out else process.returncode,
            timed_out=timed_out,
            seconds=round(time.monotonic() - started, 3),
            log_tail=tail.text(),
            isolation=[*confined.isolation, f"disk {limits.disk_mb} MB written in its folders"],
            not_enforced=confined.not_enforced,
            oom_killed=confined.group.oom_kills() > 0,
            stopped=watch.reason,
            disk_written_mb=watch.peak_mb,
            removed=remove_planted_links(writable),
            pids_limit=confined.pids_limit,
        )

"""Run one bounded command of candidate code: in a container, or in a limited process.

Both backends mount host folders at the *same* absolute paths, so file paths written by
candidate code (MLflow artifact locations, for one) mean the same inside and out, and a
command line is identical on both. Everything the command writes is untrusted input.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from grader.sandbox.policy import NotebookLimits

Backend = Literal["docker", "local"]
RUN_LABEL = "org.churn-grader.run"
SANDBOX_UID = 10001
LOG_TAIL_CHARS = 8000


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


def give_to_sandbox(*paths: Path) -> None:
    """Let the unprivileged sandbox user write these folders (we run as root in CI)."""
    if os.geteuid() != 0:
        return
    for root in paths:
        for folder, _dirs, files in os.walk(root):
            os.chown(folder, SANDBOX_UID, SANDBOX_UID, follow_symlinks=False)
            for name in files:
                os.chown(os.path.join(folder, name), SANDBOX_UID, SANDBOX_UID, follow_symlinks=False)


def run_in_docker(
    client,
    image: str,
    command: list[str],
    mounts: list[Mount],
    env: dict[str, str],
    limits: NotebookLimits,
    timeout_s: float,
    workdir: Path,
) -> SandboxResult:
    """Run `command` in a fresh container with no network and the policy's limits."""
    started = time.monotonic()
    container = client.containers.create(
        image,
        command=command,
        environment=env,
        working_dir=str(workdir),
        user=f"{SANDBOX_UID}:{SANDBOX_UID}",
        network_mode="none",
        mem_limit=f"{limits.memory_mb}m",
        memswap_limit=f"{limits.memory_mb}m",
        nano_cpus=int(limits.cpus * 1e9),
        pids_limit=limits.pids,
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        read_only=True,
        tmpfs={"/tmp": f"size={limits.tmpfs_mb}m,mode=1777"},
        volumes={str(m.path): {"bind": str(m.path), "mode": "ro" if m.read_only else "rw"} for m in mounts},
        labels={RUN_LABEL: uuid.uuid4().hex},
    )
    timed_out = False
    try:
        container.start()
        try:
            exit_code = container.wait(timeout=timeout_s)["StatusCode"]
        except Exception:  # the wait timed out: stop the container at the limit
            timed_out = True
            container.kill()
            exit_code = None
        log = container.logs(tail=200).decode("utf-8", "replace")[-LOG_TAIL_CHARS:]
    finally:
        container.remove(force=True)
    return SandboxResult(
        backend="docker",
        exit_code=exit_code,
        timed_out=timed_out,
        seconds=round(time.monotonic() - started, 3),
        log_tail=log,
        isolation=["network none", f"memory {limits.memory_mb} MB", f"cpus {limits.cpus:g}",
                   f"pids {limits.pids}", "read-only root", "all capabilities dropped", "no-new-privileges",
                   "unprivileged user"],
    )


# Inside a fresh network namespace only loopback exists, and it starts down; the Jupyter
# kernel talks to nbclient over 127.0.0.1, so it is brought up before anything else runs.
_LOOPBACK_UP = 'ip link set lo up && exec "$@"'


def _network_cut_prefix() -> tuple[list[str], list[str]]:
    """A command prefix that runs the child without any outside network, and what it enforces."""
    unshare, setpriv, ip = shutil.which("unshare"), shutil.which("setpriv"), shutil.which("ip", path="/usr/sbin:/sbin:/usr/bin:/bin")
    if not (unshare and ip):
        return [], []
    loopback = ["sh", "-c", _LOOPBACK_UP.replace("ip ", f"{ip} ", 1), "sandbox"]
    if setpriv and os.geteuid() == 0:
        probe = subprocess.run([unshare, "--net", *loopback, "true"], capture_output=True)
        if probe.returncode == 0:
            drop = [setpriv, f"--reuid={SANDBOX_UID}", f"--regid={SANDBOX_UID}", "--clear-groups"]
            # A pid namespace too: when the run ends, the kernel ends everything it started.
            return [unshare, "--net", "--pid", "--fork", "--kill-child", *loopback, *drop], [
                "network namespace with loopback only", "pid namespace", "unprivileged user"]
    user_ns = [unshare, "--user", "--map-root-user", "--net", "--pid", "--fork", "--kill-child"]
    if subprocess.run([*user_ns, *loopback, "true"], capture_output=True).returncode == 0:
        return [*user_ns, *loopback], ["network namespace with loopback only", "pid namespace"]
    return [], []


def run_locally(
    command: list[str],
    mounts: list[Mount],
    env: dict[str, str],
    limits: NotebookLimits,
    timeout_s: float,
    workdir: Path,
) -> SandboxResult:
    """Run `command` as a limited subprocess (rlimits, own network namespace where possible)."""
    prefix, isolation = _network_cut_prefix()
    not_enforced = ["read-only data (files are made read-only instead)", "cpu quota (cpu-time limit instead)"]
    if not prefix:
        not_enforced.append("network egress (no network namespace available)")
    for mount in mounts:
        if mount.read_only:
            for path in [mount.path, *mount.path.rglob("*")]:
                path.chmod(0o555 if path.is_dir() else 0o444)
    memory = limits.memory_mb * 1024 * 1024

    def limit() -> None:
        os.setsid()
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CPU, (int(timeout_s * limits.cpus), int(timeout_s * limits.cpus) + 5))
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.pids * 4, limits.pids * 4))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (2 * 1024**3, 2 * 1024**3))

    started = time.monotonic()
    child_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir), **env}
    # Output goes to a file, not a pipe: a child that prints gigabytes fills a file capped
    # by RLIMIT_FSIZE, never the grader's memory.
    with tempfile.TemporaryFile() as log, subprocess.Popen(
        [*prefix, *command], cwd=workdir, env=child_env, preexec_fn=limit,
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    ) as process:
        timed_out = False
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
        # Nothing the candidate started may outlive the run.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
        log.seek(max(0, log.seek(0, os.SEEK_END) - LOG_TAIL_CHARS))
        output = log.read()
    return SandboxResult(
        backend="local",
        exit_code=None if timed_out else process.returncode,
        timed_out=timed_out,
        seconds=round(time.monotonic() - started, 3),
        log_tail=output.decode("utf-8", "replace")[-LOG_TAIL_CHARS:],
        isolation=[*isolation, f"address space {limits.memory_mb} MB", f"processes {limits.pids * 4}", "cpu time"],
        not_enforced=not_enforced,
    )

"""A runner script in a fresh container of the runner image: no network, the notebook limits, an end.

The container mounts the run's host folders at the same paths. When the run has a folder
only the runner may write (the record of the executed notebooks), the runner starts as root
with just the capabilities to start the candidate's kernel as the sandbox user and to signal
it, so the kernel cannot touch that record; otherwise everything runs as the sandbox user.
"""

from __future__ import annotations

import contextlib
import time
import uuid

import docker
import docker.errors
from docker.types import Ulimit

from grader.sandbox.api import LOG_TAIL_CHARS, RunSpec, SandboxResult
from grader.sandbox.diskwatch import DiskWatch
from grader.sandbox.docker.containers import SANDBOX_UID, ContainerLimits, run_labels
from grader.sandbox.folders import give_to, remove_planted_links

# A container outliving its grader stops itself this long after its own time limit.
SELF_STOP_GRACE_S = 30
RUNNER_CAPABILITIES = ["SETUID", "SETGID", "KILL"]


def run_in_docker(client: docker.DockerClient, spec: RunSpec) -> SandboxResult:
    """Run `spec` to its end in a container with no network and the policy's limits; its record."""
    limits = spec.limits
    started = time.monotonic()
    writable = spec.writable()
    runner_only = any(m.runner_only for m in spec.mounts)
    give_to(SANDBOX_UID, *[m.path for m in spec.mounts if not m.read_only and not m.runner_only])
    file_bytes = limits.disk_mb * 1024**2
    container_limits = ContainerLimits.of(limits)
    container = client.containers.create(
        spec.runner.image,
        # A container whose grader was killed still ends by itself, soon after the limit.
        command=["timeout", "-s", "KILL", str(int(spec.timeout_s) + SELF_STOP_GRACE_S), *spec.command()],
        environment={**spec.env, "HOME": "/tmp", "CANDIDATE_UID": str(SANDBOX_UID)},
        working_dir=str(spec.workdir),
        user="0:0" if runner_only else f"{SANDBOX_UID}:{SANDBOX_UID}",
        cap_add=RUNNER_CAPABILITIES if runner_only else None,
        # An init that reaps: killed orphans must not hold the pids limit as zombies.
        init=True,
        network_mode="none",
        ulimits=[Ulimit(name="fsize", soft=file_bytes, hard=file_bytes), Ulimit(name="core", soft=0, hard=0)],
        volumes={str(m.path): {"bind": str(m.path), "mode": "ro" if m.read_only else "rw"} for m in spec.mounts},
        labels=run_labels(uuid.uuid4().hex, "notebook"),
        **container_limits.options(),
    )
    timed_out, oom_killed = False, False

    def stop() -> None:
        with contextlib.suppress(docker.errors.APIError):
            container.kill()

    try:
        with DiskWatch(writable, limits.disk_mb, limits.max_files, stop) as watch:
            container.start()
            try:
                exit_code = container.wait(timeout=spec.timeout_s)["StatusCode"]
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
    isolation, not_enforced = container_limits.isolation("network none", host_blocked=None)
    isolation += [
        f"an unprivileged user (uid {SANDBOX_UID})",
        f"disk {limits.disk_mb} MB written at most, {limits.max_files} files",
    ]
    if runner_only:
        isolation.append(
            "the notebook kernel runs as another user than the runner: it cannot alter the runner's record"
        )
    return SandboxResult(
        backend="docker",
        exit_code=exit_code,
        timed_out=timed_out,
        seconds=round(time.monotonic() - started, 3),
        log_tail=log,
        isolation=isolation,
        not_enforced=not_enforced,
        oom_killed=oom_killed,
        stopped=watch.reason,
        disk_written_mb=watch.peak_mb,
        removed=remove_planted_links(writable),
        pids_limit=limits.pids,
    )

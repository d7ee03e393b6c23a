"""The local backend's service: the image's own start command as a confined process, no engine.

It runs through the same confinement as the local notebooks (`confinement`): a private root
holding the system and the staged files read-only, its virtualenv, and a private /tmp; a user
and a cgroup of its own; the policy's memory, CPUs and pids. Where root and `ip` are
available, it gets a network namespace of its own joined to the host by one veth pair with
no route beyond it, and a host firewall rule on the host end rejecting what the service opens
towards the host: the grader reaches the service, the service reaches nothing. Elsewhere the
service runs on 127.0.0.1 and its `not_enforced` says egress was not blocked. Absolute image
paths in its command and ENV point into the staging root.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import random
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from grader.sandbox import hostguard
from grader.sandbox.api import Mount, ServiceSpec, ServiceState, StartFailed
from grader.sandbox.local.build import STAGE_PREFIX, LocalBuild
from grader.sandbox.local.confinement import ProcessLimits, confinement
from grader.serving.dockerfile import candidate_ports

NETNS_PREFIX = "cgsrv-"
_LOG_FILE_BYTES = 256 * 1024 * 1024
NO_NAMESPACE = "host network on 127.0.0.1: egress NOT blocked"


def _run(argv: list[str]) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=30)


@dataclass
class _Netns:
    name: str
    host_ip: str
    service_ip: str
    host_blocked: bool = False


def _free_subnet() -> tuple[str, str]:
    used = subprocess.run(["ip", "-4", "addr"], capture_output=True, text=True).stdout
    for _ in range(100):
        third, fourth = random.randrange(256), random.randrange(0, 256, 4)
        prefix = f"10.213.{third}."
        if f"inet {prefix}{fourth + 1}/" not in used and f"inet {prefix}{fourth + 2}/" not in used:
            return f"{prefix}{fourth + 1}", f"{prefix}{fourth + 2}"
    raise RuntimeError("no free /30 under 10.213.0.0/16 for a service namespace")


@contextmanager
def _network_namespace(run_id: str) -> Iterator[_Netns | None]:
    """A namespace reachable from the host over one veth pair, or None where that is impossible."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        yield None
        return
    name = f"{NETNS_PREFIX}{run_id}"
    host_if, peer_if = f"cgh{run_id[:8]}", f"cgp{run_id[:8]}"
    host_ip, service_ip = _free_subnet()
    try:
        _run(["ip", "netns", "add", name])
        _run(["ip", "link", "add", host_if, "type", "veth", "peer", "name", peer_if])
        _run(["ip", "link", "set", peer_if, "netns", name])
        _run(["ip", "addr", "add", f"{host_ip}/30", "dev", host_if])
        _run(["ip", "link", "set", host_if, "up"])
        for command in (
            ["ip", "addr", "add", f"{service_ip}/30", "dev", peer_if],
            ["ip", "link", "set", peer_if, "up"],
            ["ip", "link", "set", "lo", "up"],
        ):
            _run(["ip", "netns", "exec", name, *command])
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        _delete_netns(name)
        yield None
        return
    try:
        with hostguard.guarded(host_if) as held:
            yield _Netns(name, host_ip, service_ip, held)
    finally:
        _delete_netns(name)


def _delete_netns(name: str) -> None:
    pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)
    subprocess.run(["ip", "netns", "delete", name], capture_output=True)


@dataclass
class LocalService:
    """A started local service; implements `grader.sandbox.api.Service`."""

    process: subprocess.Popen
    host: str
    ports: list[int]
    started_at: float
    log_path: Path
    uid: int | None
    network: str
    isolation: list[str] = field(default_factory=list)
    not_enforced: list[str] = field(default_factory=list)

    def base_urls(self) -> list[str]:
        return [f"http://{self.host}:{port}" for port in self.ports]

    def state(self) -> ServiceState:
        code = self.process.poll()
        if code is None:
            return ServiceState(alive=True)
        how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
        return ServiceState(alive=False, exit_code=code, detail=f"process ended, {how}")

    def log_tail(self, chars: int) -> str:
        with self.log_path.open("rb") as log:
            log.seek(max(0, log.seek(0, os.SEEK_END) - chars))
            return log.read().decode("utf-8", "replace")

    def image_health(self) -> None:
        """No engine runs the image's HEALTHCHECK here."""
        return None


def _host_path(value: str, root: Path) -> str:
    """An absolute image path that exists in the staging root, rewritten to point there."""

    def staged(part: str) -> str:
        if not part.startswith("/"):
            return part
        inside = root / posixpath.normpath(part).lstrip("/")
        return str(inside) if inside.exists() else part

    return ":".join(staged(part) for part in value.split(":"))


@contextmanager
def local_service(build: LocalBuild, spec: ServiceSpec) -> Iterator[LocalService]:
    """Start the image's command from the staged files under the policy's limits; stop it afterwards. StartFailed."""
    facts, limits, root, venv = spec.facts, spec.limits, build.root, build.venv
    assert facts.start is not None and root is not None and venv is not None
    argv = [
        _host_path(word, root) if word.startswith("/") and word not in ("/bin/sh",) else word
        for word in facts.start.argv
    ]
    cwd = root / posixpath.normpath(facts.workdir or "/").lstrip("/")
    cwd.mkdir(parents=True, exist_ok=True)
    process_limits = ProcessLimits(
        limits.memory_mb,
        limits.cpus,
        limits.pids,
        limits.tmpfs_mb,
        _LOG_FILE_BYTES // 1024**2,
        int(limits.cpus * spec.lifetime_s),
    )
    with contextlib.ExitStack() as stack:
        netns = stack.enter_context(_network_namespace(spec.run_id))
        confined = stack.enter_context(
            confinement(
                [Mount(path=root, read_only=True)],
                [venv],
                cwd,
                process_limits,
                netns=netns.name if netns else None,
                scratch=root.parent,
            )
        )
        # Without a private root, HOME and TMPDIR are a folder of the service's own on the host.
        private = Path("/tmp")
        if not confined.private_root:
            private = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"{STAGE_PREFIX}{spec.run_id}-tmp-")))
            if os.geteuid() == 0:
                os.chown(private, confined.uid, confined.uid)
        env = {k: _host_path(v, root) for k, v in facts.env.items() if k != "PATH"}
        env.update(spec.environment)
        env.update(
            {
                "PATH": f"{venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
                "HOME": str(private),
                "TMPDIR": str(private),
                "VIRTUAL_ENV": str(venv),
                "PYTHONDONTWRITEBYTECODE": "1",
            }
        )
        isolation = [*confined.isolation, "staged files read-only"]
        not_enforced = list(confined.not_enforced)
        if netns is None:
            not_enforced.append("network egress was not blocked (needs root and iproute2 for a network namespace)")
        elif netns.host_blocked:
            isolation.append("no connection to the grader's host (firewall rule on the veth pair)")
        else:
            not_enforced.append("the service could open connections to the grader's host at the veth address")
        log_path = spec.logs / "service.log"
        log = stack.enter_context(log_path.open("wb"))
        try:
            process = subprocess.Popen(
                [*confined.prefix, *argv],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=confined.preexec,
            )
        except OSError as exc:
            raise StartFailed(f"the start command could not be run: {exc}") from exc
        service = LocalService(
            process,
            netns.service_ip if netns else "127.0.0.1",
            candidate_ports(facts),
            time.monotonic(),
            log_path,
            confined.uid if os.geteuid() == 0 else os.getuid(),
            next((item for item in isolation if "namespace" in item), NO_NAMESPACE),
            isolation,
            not_enforced,
        )
        try:
            yield service
        finally:
            confined.stop(process)
            process.wait()


def remove_leftovers(run_id: str | None = None) -> dict[str, int]:
    """Delete service namespaces (with their processes) and staging folders killed runs left."""
    removed = {"namespaces": 0, "folders": 0}
    wanted = f"{NETNS_PREFIX}{run_id or ''}"
    if os.geteuid() == 0 and shutil.which("ip"):
        listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.splitlines()
        for name in (line.split(" ")[0] for line in listed):
            if name.startswith(wanted):
                _delete_netns(name)
                removed["namespaces"] += 1
    for folder in Path(tempfile.gettempdir()).glob(f"{STAGE_PREFIX}{run_id or ''}*"):
        shutil.rmtree(folder, ignore_errors=True)
        removed["folders"] += 1
    return removed

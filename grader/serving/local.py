"""The `local` backend: the service from the Dockerfile's own start command, no engine.

What it does instead of `docker build` / `docker run`:

- files: the Dockerfile's COPY / ADD are replayed from the build context into a
  staging root (root-owned, read-only to the service); the service runs in the
  staged WORKDIR, and absolute image paths in its command and ENV point into it.
- dependencies: a virtualenv per set of requirements, cached, installed with
  `--only-binary=:all:` so no candidate-chosen code (sdists, git URLs, `-e .`) runs
  as root on the host. Other RUN steps are not replayed.
- limits: rlimits (address space for memory, CPU time, processes, file size), an
  unprivileged user, and, where root and `ip` are available, a network namespace
  of its own joined to the host by one veth pair with no route beyond it, and a host
  firewall rule on the host end rejecting what the service opens towards the host:
  the grader reaches the service, the service reaches nothing. Elsewhere the
  service runs on 127.0.0.1 and the evidence says egress was not blocked.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from grader.sandbox import hostguard
from grader.sandbox.backends import Mount
from grader.sandbox.cache import Cache, FolderEntries, cache_folder, gigabytes
from grader.sandbox.local_sandbox import ProcessLimits, confinement
from grader.sandbox.policy import Policy, ServiceLimits
from grader.serving.dockerfile import candidate_ports
from grader.serving.evidence import DockerfileFacts
from grader.serving.layout import ImageLayout
from grader.serving.service import ServiceState

# Where service virtualenvs live when not under /var/cache/churn-grader/serving-venvs.
VENV_CACHE_VARIABLE = "GRADER_SERVING_VENV_CACHE"
NETNS_PREFIX = "cgsrv-"
STAGE_PREFIX = "churn-grader-serving-"
_LOG_FILE_BYTES = 256 * 1024 * 1024


class LocalSetupError(Exception):
    """The candidate's environment could not be prepared (a candidate fault, recorded)."""


def _run(argv: list[str]) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=30)


def _system_python() -> str:
    """An interpreter the unprivileged service user can execute."""
    system = shutil.which("python3", path="/usr/bin:/bin")
    return system if os.geteuid() == 0 and system else sys.executable


def _python_version(python: str) -> str:
    done = subprocess.run(
        [python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return done.stdout.strip()


@contextmanager
def prepare_venv(layout: ImageLayout, policy: Policy, log_path: Path) -> Iterator[tuple[Path, list[str]]]:
    """A cached virtualenv with the Dockerfile's pip installs, kept while the block runs, and notes.

    LocalSetupError with the pip log's tail when it cannot be built.
    """
    limits = policy.build
    python = _system_python()
    version = _python_version(python)
    files: list[Path] = []
    packages: list[str] = []
    for install in layout.pip_installs:
        packages.extend(install.packages)
        for name in install.requirement_files:
            source = layout.requirement_file(install, name)
            if source is None:
                raise LocalSetupError(f"requirements file {name} is not copied from the build context")
            files.append(layout.context / source)
    key = hashlib.sha256(
        "\n".join([version, *packages, *(f.read_text(errors="replace") for f in files)]).encode()
    ).hexdigest()[:16]
    folder = cache_folder("serving-venvs", VENV_CACHE_VARIABLE)
    cache = Cache(
        folder,
        FolderEntries(folder),
        "service virtualenv",
        max_bytes=gigabytes(policy.cache.serving_venvs_gb),
        max_entry_bytes=gigabytes(policy.cache.max_entry_gb),
    )

    def build(where: str) -> None:
        started = time.monotonic()
        steps = [[python, "-m", "venv", where]]
        if files or packages:
            steps.append(
                [
                    str(Path(where) / "bin" / "pip"),
                    "install",
                    "--disable-pip-version-check",
                    "--no-input",
                    "--only-binary=:all:",
                    *[arg for f in files for arg in ("-r", str(f))],
                    *packages,
                ]
            )
        with log_path.open("wb") as log:
            for step in steps:
                remaining = limits.timeout_s - (time.monotonic() - started)
                try:
                    done = subprocess.run(step, stdout=log, stderr=subprocess.STDOUT, timeout=max(remaining, 1))
                except subprocess.TimeoutExpired:
                    raise LocalSetupError(f"installing the requirements took over {limits.timeout_s} s") from None
                if done.returncode != 0:
                    tail = log_path.read_bytes()[-1500:].decode("utf-8", "replace")
                    raise LocalSetupError(
                        f"`{' '.join(step[:3])}` failed (the local backend installs wheels only):\n{tail}"
                    )

    with cache.use(key, build) as use:
        yield (
            Path(use.where),
            [
                f"python {version} from {python} (the image's base python is not used)",
                f"virtualenv {use.where}: {use.summary}",
                *use.notes,
            ],
        )


def stage_files(layout: ImageLayout, root: Path) -> list[str]:
    """Replay COPY / ADD from the context under `root`; notes on what could not be replayed."""
    notes = []
    for step in layout.steps:
        if step.foreign:
            notes.append(f"line {step.instruction.line} not replayed: {step.foreign}")
        for source, target in step.files:
            if not layout.inside(layout.context / source):
                notes.append(f"line {step.instruction.line}: {source} not copied: it points outside the build context")
                continue
            destination = root / target.lstrip("/")
            try:
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(layout.context / source, destination)
            except OSError as exc:
                notes.append(f"line {step.instruction.line}: {source} not copied: {exc.strerror or exc}")
                continue
            executable = (layout.context / source).stat().st_mode & 0o111
            os.chmod(destination, 0o755 if executable else 0o644)
    for folder, _dirs, _names in os.walk(root):
        os.chmod(folder, 0o755)
    return notes


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
    """A started local service; implements `service.Service`."""

    process: subprocess.Popen
    host: str
    ports: list[int]
    started_at: float
    log_path: Path
    user_id: int
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


def _host_path(value: str, root: Path) -> str:
    """An absolute image path that exists in the staging root, rewritten to point there."""

    def staged(part: str) -> str:
        if not part.startswith("/"):
            return part
        inside = root / posixpath.normpath(part).lstrip("/")
        return str(inside) if inside.exists() else part

    return ":".join(staged(part) for part in value.split(":"))


@contextmanager
def local_service(
    facts: DockerfileFacts,
    venv: Path,
    root: Path,
    limits: ServiceLimits,
    run_id: str,
    environment: dict[str, str],
    cpu_seconds: int,
    log_path: Path,
) -> Iterator[LocalService]:
    """Start the image's command from the staged files under the policy's limits; stop it afterwards.

    It runs through the same confinement as the local notebooks (`local_sandbox.confinement`):
    a private root holding the system and the staged files read-only, the virtualenv, and a
    private /tmp; a user and a cgroup of its own; and the network namespace made here, which
    the grader reaches over one veth pair.
    """
    assert facts.start is not None
    argv = [
        _host_path(word, root) if word.startswith("/") and word not in ("/bin/sh",) else word
        for word in facts.start.argv
    ]
    cwd = root / posixpath.normpath(facts.workdir or "/").lstrip("/")
    cwd.mkdir(parents=True, exist_ok=True)
    process_limits = ProcessLimits(
        limits.memory_mb, limits.cpus, limits.pids, limits.tmpfs_mb, _LOG_FILE_BYTES // 1024**2, cpu_seconds
    )
    with contextlib.ExitStack() as stack:
        netns = stack.enter_context(_network_namespace(run_id))
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
            private = stack.enter_context(tempfile.TemporaryDirectory(prefix=f"{STAGE_PREFIX}{run_id}-tmp-"))
            private = Path(private)
            if os.geteuid() == 0:
                os.chown(private, confined.uid, confined.uid)
        env = {k: _host_path(v, root) for k, v in facts.env.items() if k != "PATH"}
        env.update(environment)
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
        else:
            if netns.host_blocked:
                isolation.append("no connection to the grader's host (firewall rule on the veth pair)")
            else:
                not_enforced.append("the service could open connections to the grader's host at the veth address")
        log = stack.enter_context(log_path.open("wb"))
        process = subprocess.Popen(
            [*confined.prefix, *argv],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=confined.preexec,
        )
        service = LocalService(
            process,
            netns.service_ip if netns else "127.0.0.1",
            candidate_ports(facts),
            time.monotonic(),
            log_path,
            confined.uid if os.geteuid() == 0 else os.getuid(),
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

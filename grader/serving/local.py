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
import fcntl
import hashlib
import os
import posixpath
import random
import resource
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
from grader.sandbox.uids import sandbox_user
from grader.sandbox.policy import BuildLimits, ServiceLimits
from grader.serving.dockerfile import candidate_ports
from grader.serving.evidence import DockerfileFacts
from grader.serving.layout import ImageLayout
from grader.serving.service import ServiceState

VENV_CACHE = Path(os.environ.get("GRADER_SERVING_VENV_CACHE", "/var/cache/churn-grader/serving-venvs"))
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


def prepare_venv(layout: ImageLayout, limits: BuildLimits, log_path: Path) -> tuple[Path, list[str]]:
    """A cached virtualenv with the Dockerfile's pip installs; LocalSetupError with the pip log's tail."""
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
    cache = (
        VENV_CACHE
        if os.access(VENV_CACHE.parent, os.W_OK) or VENV_CACHE.exists()
        else Path.home() / ".cache" / "churn-grader" / "serving-venvs"
    )
    cache.mkdir(parents=True, exist_ok=True)
    venv = cache / key
    notes = [f"python {version} from {python} (the image's base python is not used)"]
    with (cache / f"{key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (venv / ".complete").is_file():
            return venv, [*notes, f"virtualenv reused from the cache: {venv}"]
        shutil.rmtree(venv, ignore_errors=True)
        started = time.monotonic()
        steps = [[python, "-m", "venv", str(venv)]]
        if files or packages:
            steps.append(
                [
                    str(venv / "bin" / "pip"),
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
                    shutil.rmtree(venv, ignore_errors=True)
                    raise LocalSetupError(f"installing the requirements took over {limits.timeout_s} s") from None
                if done.returncode != 0:
                    shutil.rmtree(venv, ignore_errors=True)
                    tail = log_path.read_bytes()[-1500:].decode("utf-8", "replace")
                    raise LocalSetupError(
                        f"`{' '.join(step[:3])}` failed (the local backend installs wheels only):\n{tail}"
                    )
        (venv / ".complete").write_text(key)
        return venv, [*notes, f"virtualenv built in {time.monotonic() - started:.1f} s: {venv}"]


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


def _processes_of(uid: int) -> int:
    count = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        with contextlib.suppress(OSError):
            count += any(
                line.split()[1:2] == [str(uid)] for line in status.read_text().splitlines() if line.startswith("Uid:")
            )
    return count


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
    """Start the image's command from the staged files under the policy's limits; stop it afterwards."""
    assert facts.start is not None
    as_root = os.geteuid() == 0
    with contextlib.ExitStack() as stack:
        # A user of its own: its process limit then counts its own processes only.
        uid = stack.enter_context(sandbox_user()) if as_root else os.getuid()
        yield from _local_service(facts, venv, root, limits, run_id, environment, cpu_seconds, log_path, uid)


def _local_service(facts: DockerfileFacts, venv: Path, root: Path, limits: ServiceLimits, run_id: str,
                   environment: dict[str, str], cpu_seconds: int, log_path: Path, uid: int) -> Iterator[LocalService]:
    assert facts.start is not None
    private = root.parent / f"{root.name}-tmp"
    private.mkdir(mode=0o700)
    as_root = os.geteuid() == 0
    if as_root:
        os.chown(private, uid, uid)
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
    argv = [
        _host_path(word, root) if word.startswith("/") and word not in ("/bin/sh",) else word
        for word in facts.start.argv
    ]
    cwd = root / posixpath.normpath(facts.workdir or "/").lstrip("/")
    cwd.mkdir(parents=True, exist_ok=True)
    memory = limits.memory_mb * 1024 * 1024

    # RLIMIT_NPROC counts every process of the user: the sandbox user's are the service's
    # alone, but a non-root grader's own processes count too.
    processes = limits.pids if as_root else limits.pids + _processes_of(os.getuid())

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
        resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (_LOG_FILE_BYTES, _LOG_FILE_BYTES))

    isolation = [
        f"address space {limits.memory_mb} MB",
        f"cpu time {cpu_seconds} s",
        f"processes {limits.pids}",
        "staged files read-only",
        "a private writable TMPDIR and HOME",
    ]
    not_enforced = [
        "cgroup memory and CPU quota (rlimits instead)",
        "read-only root filesystem (only the staged files are read-only)",
        "filesystem isolation: the service sees the host's world-readable files",
    ]
    with _network_namespace(run_id) as netns, log_path.open("wb") as log:
        prefix: list[str] = []
        if netns is not None:
            prefix = ["ip", "netns", "exec", netns.name, "unshare", "--pid", "--fork", "--kill-child"]
            isolation.append("own network namespace: reaches only the grader's end of one veth pair, no route beyond")
            if netns.host_blocked:
                isolation.append("no connection to the grader's host (firewall rule on the veth pair)")
            else:
                not_enforced.append("the service could open connections to the grader's host at the veth address")
        else:
            not_enforced.append("network egress was not blocked (needs root and iproute2 for a network namespace)")
        if as_root:
            prefix += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]
            isolation.append(f"unprivileged user {uid} of its own")
        process = subprocess.Popen(
            [*prefix, *argv],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=limit,
            start_new_session=True,
        )
        service = LocalService(
            process,
            netns.service_ip if netns else "127.0.0.1",
            candidate_ports(facts),
            time.monotonic(),
            log_path,
            uid,
            isolation,
            not_enforced,
        )
        try:
            yield service
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            shutil.rmtree(private, ignore_errors=True)


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

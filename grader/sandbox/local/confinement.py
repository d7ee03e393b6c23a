"""The local backend's one confinement: how every local process tree of candidate code is held.

As root with unshare, setpriv and chroot (the usual case in CI and on a grading host):
network, pid and mount namespaces, a private root holding only the system (read-only),
the runner and the run's own folders (`sandbox/local-root.sh`), a sandbox user of its own
(`uids`), a cgroup with the policy's memory, CPUs and pids where the host's hierarchy is
writable (`cgroups`), rlimits. Elsewhere, less: `Confinement.not_enforced` says what.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from grader.sandbox.api import Mount
from grader.sandbox.folders import give_to
from grader.sandbox.local.cgroups import LocalCgroup
from grader.sandbox.local.uids import sandbox_user

# Inside a fresh network namespace only loopback exists, and it starts down; the Jupyter
# kernel talks to nbclient over 127.0.0.1, so it is brought up before anything else runs.
_LOOPBACK_UP = 'ip link set lo up && exec "$@"'
LOCAL_ROOT_SCRIPT = Path(__file__).resolve().parents[3] / "sandbox" / "local-root.sh"
# RLIMIT_NPROC counts threads too: a sandbox user may run this many tasks per pid of the policy.
LOCAL_PROCESS_FACTOR = 4
# Namespaces of a local run besides the network: pids and /proc, mounts. When its first
# process ends, the kernel ends everything it started.
_NAMESPACES = ["--pid", "--fork", "--kill-child", "--mount-proc"]
_SBIN = "/usr/sbin:/sbin:/usr/bin:/bin"


def _tools() -> dict[str, str | None]:
    return {name: shutil.which(name, path=_SBIN) for name in ("unshare", "setpriv", "ip", "chroot", "mount")}


def _private_root_works(unshare: str, root: Path) -> bool:
    """Whether local-root.sh can build a root here (mount and chroot as root in a mount namespace)."""
    probe = [unshare, "--net", *_NAMESPACES, "sh", str(LOCAL_ROOT_SCRIPT), str(root), "1", "/", "--", "true"]
    return subprocess.run(probe, capture_output=True, timeout=60).returncode == 0


def _sandbox_prefix(
    mounts: list[Mount], readable: list[Path], workdir: Path, tmpfs_mb: int, root: Path, uid: int, netns: str | None
) -> tuple[list[str], list[str]]:
    """A command prefix that isolates the child as far as this host allows, and what it enforces.

    As root with unshare, setpriv and chroot: namespaces, a private root holding only the
    system, `readable` and the mounts (`local-root.sh`), and the sandbox user. Else, where
    user namespaces work: the namespaces only. Else nothing. `netns`: join that named
    network namespace (a service the grader must reach) instead of a fresh, unreachable one.
    """
    tools = _tools()
    if not (tools["unshare"] and tools["ip"]):
        return [], []
    if netns is not None:
        network = [tools["ip"], "netns", "exec", netns]
        network_words = "own network namespace: reaches only the grader's end of one veth pair, no route beyond"
        namespaces = [*network, tools["unshare"], *_NAMESPACES]
    else:
        network, network_words = [], "network namespace with loopback only"
        namespaces = [tools["unshare"], "--net", *_NAMESPACES]
    drop = [tools["setpriv"], f"--reuid={uid}", f"--regid={uid}", "--clear-groups"] if tools["setpriv"] else []
    if (
        drop
        and tools["chroot"]
        and tools["mount"]
        and os.geteuid() == 0
        and _private_root_works(tools["unshare"], root)
    ):
        binds = [item for path in readable for item in ("ro", str(path))]
        binds += [item for m in mounts for item in ("ro" if m.read_only else "rw", str(m.path))]
        return [
            *namespaces,
            "sh",
            str(LOCAL_ROOT_SCRIPT),
            str(root),
            str(tmpfs_mb),
            str(workdir),
            *binds,
            "--",
            *drop,
        ], [
            network_words,
            "pid namespace with its own /proc",
            "a private root: the system read-only, its own folders, private /tmp and /dev/shm",
            f"an unprivileged user of its own (uid {uid})",
        ]
    if netns is not None:
        # A named namespace exists only for root: the service joins it even without a private root.
        return [*namespaces, *drop], [network_words, "pid namespace with its own /proc"] + (
            [f"an unprivileged user of its own (uid {uid})"] if drop else []
        )
    loopback = ["sh", "-c", _LOOPBACK_UP.replace("ip ", f"{tools['ip']} ", 1), "sandbox"]
    user_ns = [tools["unshare"], "--user", "--map-root-user", "--net", *_NAMESPACES]
    if subprocess.run([*user_ns, *loopback, "true"], capture_output=True).returncode == 0:
        return [*user_ns, *loopback], [network_words, "pid namespace with its own /proc"]
    return [], []


@dataclass(frozen=True)
class ProcessLimits:
    """What one local sandboxed process tree may use (from the policy's notebook or service limits)."""

    memory_mb: int
    cpus: float
    pids: int
    tmpfs_mb: int
    file_mb: int
    cpu_seconds: int


@dataclass
class Confinement:
    """How one local process tree is confined: the command prefix, the pre-exec step, what holds."""

    prefix: list[str]
    preexec: Callable[[], None]
    group: LocalCgroup
    uid: int
    # The process limit that holds: the cgroup's pids, or the per-user rlimit without one.
    pids_limit: int
    isolation: list[str] = field(default_factory=list)
    not_enforced: list[str] = field(default_factory=list)

    @property
    def private_root(self) -> bool:
        return any("private root" in item for item in self.isolation)

    def stop(self, process: subprocess.Popen) -> None:
        """End the process tree, and everything else in its cgroup (what it double-forked too)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        self.group.kill_all()


@contextmanager
def confinement(
    mounts: list[Mount],
    readable: list[Path],
    workdir: Path,
    limits: ProcessLimits,
    netns: str | None = None,
    scratch: Path | None = None,
) -> Iterator[Confinement]:
    """Namespaces, a private root, a user and a cgroup of its own for one local process tree.

    The one way the local backend runs candidate code (notebooks, scoring, the service), so a
    containment fix is made once. `readable`: what the command needs besides the system and
    the mounts (its interpreter, scripts, virtualenv), visible read-only in the private root.
    `scratch`: where the private root's empty mount point is made (default: beside `workdir`).
    """
    root = Path(tempfile.mkdtemp(prefix=".sandbox-root-", dir=scratch or workdir.parent))
    group = LocalCgroup(limits.memory_mb, limits.cpus, limits.pids)
    try:
        with sandbox_user() as uid:
            give_to(uid, *[m.path for m in mounts if not m.read_only])
            prefix, isolation = _sandbox_prefix(mounts, readable, workdir, limits.tmpfs_mb, root, uid, netns)
            grouped = group.create()
            processes = limits.pids if grouped else limits.pids * LOCAL_PROCESS_FACTOR
            confined = Confinement(prefix, _limiter(limits, group), group, uid, processes, isolation)
            if any(m.runner_only for m in mounts):
                confined.not_enforced.append(
                    "the runner and the kernel run as one user: the kernel can alter the runner's record"
                )
            if grouped:
                isolation.append(
                    f"cgroup: memory {limits.memory_mb} MB in total (no swap), cpus {limits.cpus:g}, pids {limits.pids}"
                )
            else:
                confined.not_enforced.append(
                    "cgroup limits (no writable cgroup hierarchy): memory is an address-space limit per process, "
                    "CPU time is limited per process, CPU share not at all"
                )
            if not confined.private_root:
                confined.not_enforced += [
                    "read-only data (files are made read-only instead)",
                    "filesystem isolation: the sandbox user reads every world-readable host "
                    "file and writes world-writable places (/tmp, /dev/shm), where only the "
                    "per-file size limit holds",
                ]
                for mount in mounts:
                    if mount.read_only:
                        for path in [mount.path, *mount.path.rglob("*")]:
                            path.chmod(0o555 if path.is_dir() else 0o444)
            if not prefix:
                confined.not_enforced.append("network egress (no network namespace available)")
            isolation += [] if grouped else [f"address space {limits.memory_mb * _ADDRESS_SPACE_FACTOR} MB per process"]
            isolation += [
                f"processes {processes}{'' if grouped else ' (rlimit, per user)'}",
                f"cpu time {limits.cpu_seconds} s",
                f"files of {limits.file_mb} MB at most",
            ]
            yield confined
    finally:
        group.remove()
        root.rmdir()


_PR_SET_PDEATHSIG = 1
# Without a cgroup, memory is bounded per process by address space, which threads reserve far
# beyond what they use (a glibc arena of 64 MB and an 8 MB stack each): a real uvicorn with its
# thread pool dies of "cannot allocate memory for thread-local data" at the bare memory limit.
_ADDRESS_SPACE_FACTOR = 4


def _limiter(limits: ProcessLimits, group: LocalCgroup) -> Callable[[], None]:
    """What the child runs before exec: its own session, the cgroup, death with the grader, rlimits.

    Memory is the cgroup's total where there is one; else an address-space rlimit per process,
    which is cruder (libraries and threads reserve address space they never use)."""
    memory = limits.memory_mb * _ADDRESS_SPACE_FACTOR * 1024 * 1024
    file_bytes = limits.file_mb * 1024 * 1024
    processes = limits.pids * LOCAL_PROCESS_FACTOR
    libc = ctypes.CDLL(None, use_errno=True)

    def limit() -> None:
        os.setsid()
        group.enter()
        # If the grader dies (even by SIGKILL), the sandbox dies with it.
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if not group.folders:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
            resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_bytes, file_bytes))

    return limit

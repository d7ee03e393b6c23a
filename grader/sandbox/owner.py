"""Who owns each container, network, image and work folder the grader creates; the janitor for orphans.

Everything the grader creates on the engine carries the labels of the grading process
that created it: its pid, the kernel's start time of that pid, the host's boot id and
hostname. A process killed with SIGKILL never cleans up; the next grading on any grader
then removes what it left, because its owner is provably gone (that pid is not running,
or runs a different process, or the host rebooted). Objects of a live grader are never
touched, and neither are objects from another host sharing the engine (their owner
cannot be checked from here). Host folders of candidate files (grading folders, a cohort's
work folder) carry the same labels in a file, and are swept alike.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
from functools import lru_cache
from pathlib import Path

from grader.sandbox import hostguard

OWNER_PID = "org.churn-grader.owner-pid"
OWNER_START = "org.churn-grader.owner-start"
OWNER_BOOT = "org.churn-grader.owner-boot"
OWNER_HOST = "org.churn-grader.owner-host"
# In a folder of candidate files the grader made on the host: who made it (the same labels).
OWNER_FILE = ".owner"


def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown"


def start_ticks(pid: int) -> str | None:
    """The kernel's start time of `pid` (clock ticks since boot), None when it is not running.

    A zombie (dead, not yet reaped by its parent) is not running."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: fields count from the last ')'.
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] in ("Z", "X") else fields[19]


@lru_cache(maxsize=8)
def _labels_of(pid: int) -> tuple[tuple[str, str], ...]:
    return (
        (OWNER_PID, str(pid)),
        (OWNER_START, start_ticks(pid) or "0"),
        (OWNER_BOOT, boot_id()),
        (OWNER_HOST, socket.gethostname()),
    )


def owner_labels() -> dict[str, str]:
    """The labels naming this process as the owner of what it creates."""
    return dict(_labels_of(os.getpid()))


def owner_alive(labels: dict[str, str]) -> bool | None:
    """Whether the owner is running; None when that cannot be told from this host."""
    if OWNER_PID not in labels:
        return None
    if labels.get(OWNER_HOST) != socket.gethostname():
        return None
    if labels.get(OWNER_BOOT) != boot_id():
        return False  # same host, rebooted since: every process of that boot is gone
    try:
        pid = int(labels[OWNER_PID])
    except ValueError:
        return None
    return start_ticks(pid) == labels.get(OWNER_START)


def remove_orphans(client) -> dict[str, int]:
    """Remove containers, networks and images whose owning grader is gone; counts by kind.

    Also drops host firewall guards left for network interfaces that no longer exist.
    """
    import docker.errors

    selector = {"label": OWNER_PID}
    removed = {"containers": 0, "networks": 0, "images": 0}

    def orphan(labels: dict[str, str] | None) -> bool:
        return owner_alive(labels or {}) is False

    with contextlib.suppress(docker.errors.APIError):
        for container in client.containers.list(all=True, filters=selector):
            if orphan(container.labels):
                with contextlib.suppress(docker.errors.APIError):
                    container.remove(force=True)
                    removed["containers"] += 1
    with contextlib.suppress(docker.errors.APIError):
        for network in client.networks.list(filters=selector):
            if orphan(network.attrs.get("Labels")):
                with contextlib.suppress(docker.errors.APIError):
                    network.remove()
                    removed["networks"] += 1
    with contextlib.suppress(docker.errors.APIError):
        for image in client.images.list(filters=selector):
            if orphan(image.labels):
                for name in image.tags or [image.id]:
                    with contextlib.suppress(docker.errors.APIError):
                        client.images.remove(name, force=True)
                        removed["images"] += 1
    removed["firewall rules"] = hostguard.remove_stale_guards()
    return removed


def mark_owned(folder: Path) -> None:
    """Record this process as the owner of a host folder it made for candidate files."""
    (folder / OWNER_FILE).write_text(json.dumps(owner_labels()))


def remove_orphan_folders(base: Path) -> int:
    """Remove the folders under `base` whose owning grader is gone (it was killed before it cleaned up)."""
    removed = 0
    for folder in base.iterdir() if base.is_dir() else []:
        try:
            labels = json.loads((folder / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if isinstance(labels, dict) and owner_alive(labels) is False:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed

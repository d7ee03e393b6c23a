"""Keep candidate code from opening connections to the grader's own host.

A container on a Docker bridge network (even an `internal` one) reaches the host at its
bridge's gateway address, and the local backend's service reaches the host end of its
veth pair: every host service listening on 0.0.0.0 would be open to candidate code.
Traffic from such an interface to the host passes the INPUT chain, so one rule per
interface rejects new connections coming in on it. Replies to connections the grader
opens (the probes) are not new and still pass.

Rules carry a comment naming the interface; `remove_stale_guards` drops the rules of
interfaces that are gone (a grader killed before it removed its own).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

COMMENT = "churn-grader-guard"
_TOOLS = ("iptables", "ip6tables")
_SBIN = "/usr/sbin:/sbin:/usr/bin:/bin"


def _tools() -> list[str]:
    return [path for tool in _TOOLS if (path := shutil.which(tool, path=_SBIN))]


def _rule(interface: str) -> list[str]:
    return [
        "INPUT",
        "-i",
        interface,
        "-m",
        "conntrack",
        "--ctstate",
        "NEW",
        "-j",
        "REJECT",
        "-m",
        "comment",
        "--comment",
        f"{COMMENT} {interface}",
    ]


def _run(argv: list[str]) -> bool:
    try:
        return subprocess.run(argv, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def guard(interface: str) -> bool:
    """Reject new connections from `interface` to this host; False when no rule could be set."""
    tools = _tools()
    # IPv4 must hold; IPv6 is best effort (the interface may carry no IPv6 at all).
    done = [_run([tool, "-w", "10", "-I", *_rule(interface)]) for tool in tools]
    return bool(tools) and done[0]


def unguard(interface: str) -> None:
    for tool in _tools():
        while _run([tool, "-w", "10", "-D", *_rule(interface)]):
            pass


@contextmanager
def guarded(interface: str) -> Iterator[bool]:
    """Guard `interface` for the block; yields whether the guard holds."""
    applied = guard(interface)
    try:
        yield applied
    finally:
        if applied:
            unguard(interface)


_GUARD_LINE = re.compile(rf'--comment "?{COMMENT} ([\w.-]+)"?')


def remove_stale_guards() -> int:
    """Drop guard rules whose interface no longer exists; how many were dropped."""
    removed = 0
    for tool in _tools():
        try:
            listed = subprocess.run([tool, "-w", "10", "-S", "INPUT"], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        for interface in {m.group(1) for m in _GUARD_LINE.finditer(listed.stdout)}:
            if not Path("/sys/class/net", interface).exists():
                while _run([tool, "-w", "10", "-D", *_rule(interface)]):
                    removed += 1
    return removed

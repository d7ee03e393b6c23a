"""Docker networks for candidate code: one per run, owned, and walled off from the host.

A build needs egress (pip install), a probed service needs none; neither may open a
connection to the grader's host. Each gets a bridge network of its own with a known
bridge name, so the host firewall guard (`hostguard`) can reject what comes in on it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from grader.sandbox import hostguard

BRIDGE_OPTION = "com.docker.network.bridge.name"
_REMOVE_TRIES = 15


@dataclass(frozen=True)
class GuardedNetwork:
    name: str
    bridge: str
    # False where the host firewall could not be set (not root, no iptables): say so in evidence.
    host_blocked: bool


def bridge_name(kind: str, run_id: str) -> str:
    """A Linux interface name (15 characters at most) for one run's bridge."""
    return f"cg{kind[0]}{run_id[:12]}"


@contextmanager
def guarded_network(
    client, name: str, kind: str, run_id: str, labels: dict[str, str], internal: bool
) -> Iterator[GuardedNetwork]:
    """A fresh bridge network (internal: no egress) whose members cannot reach the host.

    `labels`: its run's, its owner's included (`containers.run_labels`), so a killed grader's is found."""
    bridge = bridge_name(kind, run_id)
    network = client.networks.create(
        name, driver="bridge", internal=internal, options={BRIDGE_OPTION: bridge}, labels=labels
    )
    try:
        with hostguard.guarded(bridge) as held:
            yield GuardedNetwork(name=network.name, bridge=bridge, host_blocked=held)
    finally:
        _remove(network)


def _remove(network) -> None:
    """Remove a network; a builder still winding down may hold it a few seconds more.

    One that stays busy is left to `owner.remove_orphans`, which removes it once this
    process is gone."""
    import docker.errors

    for _ in range(_REMOVE_TRIES):
        try:
            network.remove()
            return
        except docker.errors.NotFound:
            return
        except docker.errors.APIError:
            time.sleep(1.0)

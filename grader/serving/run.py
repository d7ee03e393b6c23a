"""Run the candidate's image under the policy's limits, with no way out to the network.

Egress: each run gets its own `internal` bridge network. The container can reach
nothing beyond that bridge, while the grader (on the host) reaches it at its bridge
address. Published ports do not work on internal networks, and `network_mode=none`
would leave no way in at all, so the bridge address it is. An internal network still
reaches the host itself at its gateway address, so a host firewall rule on the bridge
rejects every connection the container opens to the host (`grader.sandbox.hostguard`).

Everything a run creates carries the labels `org.churn-grader.run=<id>` and
`org.churn-grader.stage=serving`, and those of the grading process that owns it; it is
removed by context managers even on KeyboardInterrupt. After a SIGKILL, the next grading
removes it (`grader.sandbox.owner.remove_orphans`); `remove_labelled` removes every
serving run's objects, live ones too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
from docker.types import LogConfig

from grader.sandbox.backends import RUN_LABEL, STAGE_LABEL
from grader.sandbox.networks import guarded_network
from grader.sandbox.owner import owner_labels
from grader.sandbox.policy import ServiceLimits
from grader.serving.dockerfile import candidate_ports
from grader.serving.evidence import DockerfileFacts
from grader.serving.service import ServiceState

STAGE_VALUE = "serving"
NAME_PREFIX = "churn-grader-serving"


def run_labels(run_id: str) -> dict[str, str]:
    """The labels of everything one serving run creates, its owner's included."""
    return {RUN_LABEL: run_id, STAGE_LABEL: STAGE_VALUE, **owner_labels()}


def isolation_summary(limits: ServiceLimits, host_blocked: bool = True) -> list[str]:
    applied = [
        f"memory {limits.memory_mb} MB (no swap)",
        f"cpus {limits.cpus:g}",
        f"pids {limits.pids}",
        "all capabilities dropped",
        "no-new-privileges",
        f"tmpfs /tmp {limits.tmpfs_mb} MB",
    ]
    if limits.read_only_root:
        applied.append("read-only root filesystem")
    applied.append(
        "internal network: no egress" if not limits.network else "bridge network with egress (policy allows it)"
    )
    if host_blocked:
        applied.append("no connection to the grader's host (firewall rule on its bridge)")
    applied.append(f"log {limits.log_mb} MB")
    return applied


@dataclass
class DockerService:
    """A started container on its own network; implements `service.Service`."""

    container: docker.models.containers.Container
    network_name: str
    ports: list[int]
    started_at: float
    # Whether the host firewall keeps the container from connecting to the grader's host.
    host_blocked: bool = False
    # Read while the container runs: a process that has exited has no /proc entry.
    uid: int | None = None

    def address(self) -> str | None:
        self.container.reload()
        network = (self.container.attrs.get("NetworkSettings", {}).get("Networks") or {}).get(self.network_name) or {}
        return network.get("IPAddress") or None

    def base_urls(self) -> list[str]:
        address = self.address()
        return [f"http://{address}:{port}" for port in self.ports] if address else []

    def state(self) -> ServiceState:
        try:
            self.container.reload()
        except docker.errors.NotFound:
            return ServiceState(alive=False, detail="the container is gone")
        state = self.container.attrs.get("State", {})
        if state.get("Running") and not state.get("Restarting"):
            if self.uid is None:
                self.uid = self._read_uid(state.get("Pid"))
            return ServiceState(alive=True)
        exit_code = state.get("ExitCode")
        oom = bool(state.get("OOMKilled"))
        detail = f"container {state.get('Status', 'stopped')}, exit code {exit_code}" + (
            ", killed for exceeding its memory limit" if oom else ""
        )
        return ServiceState(alive=False, exit_code=exit_code, oom_killed=oom, detail=detail)

    def log_tail(self, chars: int) -> str:
        try:
            text = self.container.logs(tail=400).decode("utf-8", "replace")
        except docker.errors.APIError as exc:
            return f"(logs unavailable: {exc})"
        return text[-chars:]

    @staticmethod
    def _read_uid(pid: int | None) -> int | None:
        """The real uid of the container's main process, read from the host's /proc."""
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except (OSError, TypeError):
            return None
        for line in status.splitlines():
            if line.startswith("Uid:"):
                return int(line.split()[1])
        return None

    def docker_health(self) -> str | None:
        """The image's own HEALTHCHECK verdict, when it declares one."""
        return (self.container.attrs.get("State", {}).get("Health") or {}).get("Status")


def _removed(remove: Callable[[], object]) -> bool:
    """Run a removal; False when the object was already gone (NotFound covers images too)."""
    try:
        remove()
    except docker.errors.NotFound:
        return False
    return True


@contextmanager
def image_removed_after(client: docker.DockerClient, tag: str, keep_layer_cache: bool) -> Iterator[None]:
    """Remove the built image when the block ends, however it ends."""
    try:
        yield
    finally:
        _removed(lambda: client.images.remove(tag, force=True, noprune=keep_layer_cache))


@contextmanager
def docker_service(
    client: docker.DockerClient,
    image: str,
    dockerfile: DockerfileFacts,
    limits: ServiceLimits,
    run_id: str,
    environment: dict[str, str],
) -> Iterator[DockerService]:
    """Start `image` with the policy's limits on a fresh network; remove both afterwards."""
    labels = run_labels(run_id)
    with guarded_network(
        client, f"{NAME_PREFIX}-{run_id}", "serving", run_id, labels, internal=not limits.network
    ) as network:
        container = client.containers.create(
            image,
            name=f"{NAME_PREFIX}-{run_id}",
            detach=True,
            network=network.name,
            environment=environment,
            mem_limit=f"{limits.memory_mb}m",
            memswap_limit=f"{limits.memory_mb}m",
            nano_cpus=int(limits.cpus * 1e9),
            pids_limit=limits.pids,
            read_only=limits.read_only_root,
            tmpfs={"/tmp": f"size={limits.tmpfs_mb}m,mode=1777"},
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            labels=labels,
            log_config=LogConfig(type=LogConfig.types.JSON, config={"max-size": f"{limits.log_mb}m", "max-file": "1"}),
        )
        try:
            container.start()
            yield DockerService(
                container,
                network.name,
                candidate_ports(dockerfile),
                time.monotonic(),
                host_blocked=network.host_blocked,
            )
        finally:
            _removed(lambda: container.remove(force=True))


def labelled(run_id: str | None = None) -> dict[str, list[str]]:
    """The engine filter for serving runs' objects (one run's, with `run_id`)."""
    return {"label": [f"{STAGE_LABEL}={STAGE_VALUE}", *([f"{RUN_LABEL}={run_id}"] if run_id else [])]}


def remove_labelled(client: docker.DockerClient, run_id: str | None = None) -> dict[str, int]:
    """Remove every container, network and image serving runs (or one run) left behind."""
    selector = labelled(run_id)
    containers = client.containers.list(all=True, filters=selector)
    networks = client.networks.list(filters=selector)
    # Our own images only: a stand-in base carries other org.churn-grader labels, never the stage one.
    images = [name for image in client.images.list(filters=selector) for name in image.tags or [image.id]]
    return {
        "containers": sum(_removed(lambda c=c: c.remove(force=True)) for c in containers),
        "networks": sum(_removed(n.remove) for n in networks),
        "images": sum(_removed(lambda name=name: client.images.remove(name, force=True)) for name in images),
    }

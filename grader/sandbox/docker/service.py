"""The docker backend's service: the candidate's image under the service limits, with no way out.

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
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import docker
import docker.errors

from grader.sandbox.api import ServiceSpec, ServiceState, StartFailed
from grader.sandbox.docker.build import SERVING_STAGE
from grader.sandbox.docker.containers import RUN_LABEL, STAGE_LABEL, ContainerLimits, run_labels
from grader.sandbox.docker.networks import guarded_network
from grader.serving.dockerfile import candidate_ports

NAME_PREFIX = "churn-grader-serving"


@dataclass
class DockerService:
    """A started container on its own network; implements `grader.sandbox.api.Service`."""

    container: docker.models.containers.Container
    network_name: str
    ports: list[int]
    started_at: float
    network: str
    isolation: list[str] = field(default_factory=list)
    not_enforced: list[str] = field(default_factory=list)
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

    def image_health(self) -> str | None:
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
def docker_service(client: docker.DockerClient, image: str, spec: ServiceSpec) -> Iterator[DockerService]:
    """Start `image` with the policy's limits on a fresh network; remove both afterwards. StartFailed."""
    limits = ContainerLimits.of(spec.limits)
    labels = run_labels(spec.run_id, SERVING_STAGE)
    name = f"{NAME_PREFIX}-{spec.run_id}"
    with guarded_network(client, name, "serving", spec.run_id, labels, internal=not spec.limits.network) as network:
        words = (
            "internal Docker network of its own: no egress; the grader reaches the container at its bridge address"
            if not spec.limits.network
            else "bridge network of its own with egress (the policy allows it)"
        )
        isolation, not_enforced = limits.isolation(
            "internal network: no egress"
            if not spec.limits.network
            else "bridge network with egress (policy allows it)",
            network.host_blocked,
        )
        try:
            container = client.containers.create(
                image,
                name=name,
                detach=True,
                network=network.name,
                environment=spec.environment,
                labels=labels,
                **limits.options(),
            )
        except docker.errors.APIError as exc:
            raise StartFailed(f"the container could not be started: {exc.explanation or exc}") from exc
        try:
            try:
                container.start()
            except docker.errors.APIError as exc:
                raise StartFailed(f"the container could not be started: {exc.explanation or exc}") from exc
            yield DockerService(
                container,
                network.name,
                candidate_ports(spec.facts),
                time.monotonic(),
                words,
                isolation,
                not_enforced,
            )
        finally:
            _removed(lambda: container.remove(force=True))


def labelled(run_id: str | None = None) -> dict[str, list[str]]:
    """The engine filter for serving runs' objects (one run's, with `run_id`)."""
    return {"label": [f"{STAGE_LABEL}={SERVING_STAGE}", *([f"{RUN_LABEL}={run_id}"] if run_id else [])]}


def remove_labelled(client: docker.DockerClient, run_id: str | None = None) -> dict[str, int]:
    """Remove every container, network and image serving runs (or one run) left behind."""
    selector = labelled(run_id)
    containers = client.containers.list(all=True, filters=selector)
    networks = client.networks.list(filters=selector)
    # Our own images only: a stand-in base carries other org.churn-grader labels, never the stage one.
    images = [name for image in client.images.list(filters=selector) for name in image.tags or [image.id]]
    return {
        "containers": sum(_removed(partial(c.remove, force=True)) for c in containers),
        "networks": sum(_removed(n.remove) for n in networks),
        "images": sum(_removed(partial(client.images.remove, name, force=True)) for name in images),
    }

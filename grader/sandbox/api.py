"""The one way candidate code runs: a `Sandbox`, on the docker or the local backend.

Every stage that runs candidate code goes through the sandbox its grading was given:

- `runner` and `run`: a script of sandbox/runner/ (the notebook runner, the model scorer)
  run to its end under the notebook limits, on the runner's stack;
- `build`: the candidate's Dockerfile made runnable: an image (docker), or a virtualenv of
  its pip installs and its COPY files staged (local);
- `service`: what the build made, started under the service limits, reachable by the
  grader alone.

Both backends give the guarantees of the README's threat model where the platform allows.
What held and what could not be enforced is said by the backend itself, in the same two
lists for a run and for a service (`isolation`, `not_enforced`); the stages copy them into
the evidence and never branch on the backend. `choose_sandbox` is the one place a backend
is chosen.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from pydantic import BaseModel, Field

from grader.errors import BadInput, EngineUnavailable
from grader.sandbox.policy import NotebookLimits, Policy, ServiceLimits

if TYPE_CHECKING:
    import docker

    from grader.sandbox.docker import DockerSandbox
    from grader.sandbox.local import LocalSandbox
    from grader.serving.dockerfile import ParsedDockerfile
    from grader.serving.evidence import BuildRecord, DockerfileFacts
    from grader.serving.layout import ImageLayout

Backend = Literal["docker", "local"]
# What a result keeps of the run's output.
LOG_TAIL_CHARS = 8000


# A progress line for the person waiting (the stage's `say`); builds that take minutes announce themselves.
Say = Callable[[str], None]


def quiet(_: str) -> None:
    """A `Say` that tells no one."""


class Mount(BaseModel):
    """A host folder the sandbox sees at the same absolute path, so paths written inside mean the same outside."""

    path: Path
    read_only: bool = True
    # Written by the runner script alone, never by the candidate code it starts (the record of
    # the executed notebooks). A backend that cannot keep that code out says so in `not_enforced`.
    runner_only: bool = False


class SandboxResult(BaseModel):
    """How a sandboxed command ended; `isolation` says what the backend enforced, `not_enforced` what it could not."""

    backend: Backend
    exit_code: int | None
    timed_out: bool
    seconds: float
    log_tail: str = ""
    isolation: list[str] = Field(default_factory=list)
    not_enforced: list[str] = Field(default_factory=list)
    # The kernel's OOM killer ended a process of the sandbox (memory limit).
    oom_killed: bool = False
    # Why the grader stopped the run before its time limit (the disk watchdog), in words.
    stopped: str | None = None
    disk_written_mb: float = 0.0
    # What the run left that the grader removed before reading its output (links, devices).
    removed: list[str] = Field(default_factory=list)
    # The process limit that held: the policy's pids, or more where only a per-user rlimit bounds them.
    pids_limit: int | None = None


class Runner(BaseModel):
    """What runner scripts run on for one grading: the runner image, or the runner's interpreter."""

    backend: Backend
    # docker: the runner image, with a layer of the candidate's requirements.txt when it installed.
    image: str | None = None
    # The interpreter and the folder of runner scripts, as the sandbox sees them.
    python: str
    scripts: Path
    notes: list[str] = Field(default_factory=list)


class RunSpec(BaseModel):
    """A runner script to run to its end: `python <scripts>/<script> <args>` in `workdir`."""

    runner: Runner
    script: str
    args: list[str]
    mounts: list[Mount]
    env: dict[str, str]
    workdir: Path
    # A writable folder of the run's own: HOME where the backend has no private one.
    home: Path
    limits: NotebookLimits
    timeout_s: float

    def command(self) -> list[str]:
        return [self.runner.python, str(self.runner.scripts / self.script), *self.args]

    def writable(self) -> list[Path]:
        return [m.path for m in self.mounts if not m.read_only]


@dataclass
class BuildSpec:
    """The candidate's Dockerfile to make runnable: what it says, its files, and where the build's log goes."""

    run_id: str
    dockerfile: Path
    parsed: ParsedDockerfile
    # Its COPY steps and pip installs; `layout.context` is the build context.
    layout: ImageLayout
    # The build limits, and the caps of the caches a build fills.
    policy: Policy
    logs: Path
    keep_layer_cache: bool = False


@dataclass
class Build:
    """How a build went: `record` is the evidence's; when `ready`, `Sandbox.service` starts what it made."""

    record: BuildRecord
    # Whether the candidate's build succeeded; None when this backend or machine cannot tell (`detail` says why).
    succeeded: bool | None
    detail: str
    ready: bool = False
    # Whether the service will run as the image's own USER (else as a user the backend chose).
    image_user: bool = True
    # Set when the grader's machine, not the candidate, made it fail: what happened and what to do.
    environment: str | None = None
    # For the stage's outcome: why it failed, and what the build used instead of what was asked.
    reasons: list[str] = field(default_factory=list)
    # How the backend set the service up (its virtualenv, the files it staged).
    notes: list[str] = field(default_factory=list)
    # Checks this backend could not verify for this build.
    not_verified: list[str] = field(default_factory=list)


@dataclass
class ServiceSpec:
    """How to start what a build made: the image's own command, WORKDIR, ENV and ports, under the service limits."""

    run_id: str
    facts: DockerfileFacts
    # Set by the grader beyond the image's ENV (PORT, when the command reads it and nothing sets it).
    environment: dict[str, str]
    limits: ServiceLimits
    # How long the grader means to use it; the local backend bounds its CPU time by this.
    lifetime_s: float
    logs: Path


@dataclass
class ServiceState:
    alive: bool
    exit_code: int | None = None
    oom_killed: bool = False
    detail: str = ""


class Service(Protocol):
    """A started candidate service: where to reach it, whether it lives, what it printed, what confined it."""

    started_at: float
    # How it is reached and cut off, what held, and what this backend could not enforce.
    network: str
    isolation: list[str]
    not_enforced: list[str]
    # The uid its process runs as (None until seen running).
    uid: int | None

    def base_urls(self) -> list[str]: ...

    def state(self) -> ServiceState: ...

    def log_tail(self, chars: int) -> str: ...

    def image_health(self) -> str | None:
        """The image's own HEALTHCHECK verdict, where the backend runs it and the image declares one."""


class StartFailed(Exception):
    """The service could not be started at all (the engine refused its container): recorded, not raised on."""


class Sandbox(Protocol):
    """Where and how candidate code runs for one grading."""

    backend: Backend

    @property
    def client(self) -> docker.DockerClient | None:
        """The engine's client (docker backend), for the janitors of leftovers; else None."""

    def runner(self, submission: Path, policy: Policy, say: Say = quiet) -> AbstractContextManager[Runner]:
        """The runner's stack, with `submission`'s requirements.txt where the backend installs them; kept for the
        block. `say` hears what takes long (building the runner image or a requirements layer)."""

    def run(self, spec: RunSpec) -> SandboxResult:
        """Run a runner script to its end or its time limit; never raises for what the script does."""

    def build(self, spec: BuildSpec) -> AbstractContextManager[Build]:
        """Make the candidate's Dockerfile runnable; what the build made is removed when the block ends."""

    def service(self, build: Build, spec: ServiceSpec) -> AbstractContextManager[Service]:
        """Start what `build` made; stopped and removed when the block ends. StartFailed when it cannot start."""

    def close(self) -> None:
        """Release what the sandbox holds (the engine connection)."""


def choose_sandbox(choice: str) -> DockerSandbox | LocalSandbox:
    """The sandbox to grade with: `docker`, `local`, or `auto` (docker when an engine answers)."""
    from grader.engine.client import connect
    from grader.sandbox.docker import DockerSandbox
    from grader.sandbox.local import LocalSandbox

    if choice not in ("auto", "docker", "local"):
        raise BadInput(f"unknown backend {choice!r}: use docker, local or auto")
    if choice == "local":
        return LocalSandbox()
    try:
        return DockerSandbox(connect())
    except EngineUnavailable:
        if choice == "docker":
            raise
        return LocalSandbox()


def cleanup_leftovers(client: docker.DockerClient | None = None, run_id: str | None = None) -> dict[str, int]:
    """Remove what serving runs left on both backends: containers, networks, images, namespaces, folders.

    With `run_id`, only that run's (the evidence's `run_id`). Without, every serving run's: a
    janitor for between cohorts, since it also removes a run still going. The engine is asked
    only when one answers (`client`, else the default one).
    """
    from grader.engine.client import connect
    from grader.sandbox.docker.service import remove_labelled
    from grader.sandbox.local.service import remove_leftovers

    removed = remove_leftovers(run_id)
    try:
        client = client or connect()
    except EngineUnavailable:
        return removed
    return {**removed, **remove_labelled(client, run_id)}

"""The docker backend: candidate code in containers of the Docker engine, through the Docker SDK.

- `run`: a runner script in a fresh container of the runner image (`runner_image`: with a
  layer of the candidate's requirements), `network_mode=none`, the notebook limits (`run`);
- `build`: the candidate's image with the legacy builder, on a guarded network of its own,
  on offline stand-in base images (`build`, `environment`);
- `service`: the image in a container on an internal network of its own (`service`).

Every container shares its limits and their wording (`containers`); every container,
network and image carries its run's and its owner's labels, so what a killed grader left is
found and removed (`grader.sandbox.owner`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import docker

from grader.sandbox.api import (
    Backend,
    Build,
    BuildSpec,
    Runner,
    RunSpec,
    SandboxResult,
    Say,
    Service,
    ServiceSpec,
    quiet,
)
from grader.sandbox.docker.build import DockerBuild, candidate_image
from grader.sandbox.docker.run import run_in_docker
from grader.sandbox.docker.runner_image import candidate_runner_image
from grader.sandbox.docker.service import docker_service
from grader.sandbox.policy import Policy

# Where the runner image holds the runner scripts (sandbox/runner/Dockerfile).
RUNNER_SCRIPTS = Path("/opt/runner")


@dataclass
class DockerSandbox:
    """Candidate code in containers of the Docker engine `engine` talks to."""

    engine: docker.DockerClient
    backend: Backend = "docker"

    @property
    def client(self) -> docker.DockerClient:
        return self.engine

    @contextmanager
    def runner(self, submission: Path, policy: Policy, say: Say = quiet) -> Iterator[Runner]:
        with candidate_runner_image(self.engine, submission, policy, say=say) as (image, notes):
            yield Runner(backend="docker", image=image, python="python", scripts=RUNNER_SCRIPTS, notes=notes)

    def run(self, spec: RunSpec) -> SandboxResult:
        return run_in_docker(self.engine, spec)

    def build(self, spec: BuildSpec) -> AbstractContextManager[DockerBuild]:
        return candidate_image(self.engine, spec)

    def service(self, build: Build, spec: ServiceSpec) -> AbstractContextManager[Service]:
        assert isinstance(build, DockerBuild) and build.image, "start only what this backend built"
        return docker_service(self.engine, build.image, spec)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.engine.close()

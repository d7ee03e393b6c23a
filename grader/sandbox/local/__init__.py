"""The local backend: candidate code as confined processes of this machine, where no engine answers.

- `run`: a runner script on a virtualenv of the runner's stack (`runner`), under the notebook
  limits (`run`);
- `build`: the Dockerfile's pip installs in a cached virtualenv, its COPY files staged
  (`build`); no image, so what only an image tells is not verified;
- `service`: the image's start command from the staged files, in a network namespace of its
  own (`service`).

All three run through one confinement (`confinement`: namespaces, a private root, a user and
a cgroup of their own), so a containment fix is made once, and say what it could not enforce
on this host in the same words.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

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
from grader.sandbox.local.build import LocalBuild, local_build
from grader.sandbox.local.run import run_locally
from grader.sandbox.local.runner import local_runner_python
from grader.sandbox.local.service import local_service
from grader.sandbox.policy import Policy
from grader.sandbox.stack import RUNNER_DIR


@dataclass
class LocalSandbox:
    """Candidate code in confined processes of this machine (no engine)."""

    backend: Backend = "local"

    @property
    def client(self) -> None:
        return None

    @contextmanager
    def runner(self, submission: Path, policy: Policy, say: Say = quiet) -> Iterator[Runner]:
        """The runner's virtualenv; the candidate's requirements.txt is not installed here."""
        with local_runner_python(policy.cache, say) as (python, notes):
            yield Runner(backend="local", python=python, scripts=RUNNER_DIR, notes=notes)

    def run(self, spec: RunSpec) -> SandboxResult:
        return run_locally(spec)

    def build(self, spec: BuildSpec) -> AbstractContextManager[LocalBuild]:
        return local_build(spec)

    def service(self, build: Build, spec: ServiceSpec) -> AbstractContextManager[Service]:
        assert isinstance(build, LocalBuild) and build.ready, "start only what this backend built"
        return local_service(build, spec)

    def close(self) -> None:
        return None

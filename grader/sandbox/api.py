"""The one way candidate code runs: a `Sandbox`, on the docker or the local backend.

Every stage that runs candidate code (the notebooks, scoring the logged model, building
and serving the image) goes through the sandbox the grading was given; `choose_sandbox`
is the one place a backend is chosen.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from grader.errors import BadInput, EngineUnavailable
from grader.sandbox.backends import Backend

if TYPE_CHECKING:
    import docker


class Sandbox(Protocol):
    """Where and how candidate code runs for one grading."""

    backend: Backend

    @property
    def client(self) -> docker.DockerClient | None:
        """The engine's client (docker backend), else None."""

    def close(self) -> None:
        """Release what the sandbox holds (the engine connection)."""


@dataclass
class DockerSandbox:
    """Candidate code in containers of the Docker engine `client` talks to."""

    engine: docker.DockerClient
    backend: Backend = "docker"

    @property
    def client(self) -> docker.DockerClient:
        return self.engine

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.engine.close()


@dataclass
class LocalSandbox:
    """Candidate code in confined processes of this machine (no engine)."""

    backend: Backend = "local"

    @property
    def client(self) -> None:
        return None

    def close(self) -> None:
        return None


def choose_sandbox(choice: str) -> DockerSandbox | LocalSandbox:
    """The sandbox to grade with: `docker`, `local`, or `auto` (docker when an engine answers)."""
    from grader.sandbox.engine import connect

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

"""The Docker engine the docker backend talks to: at DOCKER_HOST, or the default socket."""

from __future__ import annotations

import os

import docker
import docker.errors
import requests

from grader.errors import EngineUnavailable

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
_PING_TIMEOUT_S = 10


def connect(timeout_s: int = 600) -> docker.DockerClient:
    """A client for the engine at DOCKER_HOST or the default socket, or EngineUnavailable.

    The engine is pinged with a short timeout; `timeout_s` then bounds each API call
    (a build step that prints nothing for that long fails).
    """
    where = os.environ.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST
    try:
        client = docker.from_env(timeout=_PING_TIMEOUT_S)
        client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
        raise EngineUnavailable(
            f"no Docker engine answers at {where}: run `sandbox/engine.sh start` as root "
            f"(or point DOCKER_HOST at an engine); cause: {exc}"
        ) from exc
    client.api.timeout = timeout_s
    return client

"""The Docker engine and the offline stand-in base images the docker backend builds on.

No registry is reachable where the grader runs, so `FROM python:3.11-slim` resolves to a
local stand-in built by `sandbox/bootstrap-base-images.sh` (Debian bookworm's python 3.11
under every python:* name candidates use). Stand-ins carry labels, so reports can say
when one replaced the image a candidate asked for.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import deque
from collections.abc import Callable
from pathlib import Path

import docker
import docker.errors
import requests
from pydantic import BaseModel

from grader.errors import BaseImagesUnavailable, EngineUnavailable

SANDBOX_DIR = Path(__file__).resolve().parents[2] / "sandbox"
BOOTSTRAP_SCRIPT = SANDBOX_DIR / "bootstrap-base-images.sh"
DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"

# Must equal BOOTSTRAP_VERSION and STANDIN_TAGS in the bootstrap script; a test checks.
BOOTSTRAP_VERSION = "1"
BOOTSTRAP_TAGS: tuple[str, ...] = (
    "python:3.11-slim",
    "python:3.11",
    "python:3.11-slim-bookworm",
    "python:3.11-bookworm",
    "python:3.10-slim",
    "python:3.10",
    "python:3.12-slim",
    "python:3.12",
    "python:3-slim",
    "python:slim",
    "python:latest",
)
STANDIN_LABEL = "org.churn-grader.standin"
BOOTSTRAP_VERSION_LABEL = "org.churn-grader.bootstrap-version"
PYTHON_VERSION_LABEL = "org.churn-grader.python-version"

_PING_TIMEOUT_S = 10
_OFFICIAL_PREFIXES = ("docker.io/library/", "index.docker.io/library/", "registry-1.docker.io/library/", "library/")
_ERROR_TAIL_LINES = 30


class StandinInfo(BaseModel):
    """What a local base image is: the offline stand-in, or a real image."""

    name: str
    is_standin: bool
    # The python really inside: the stand-in's label, or a real image's PYTHON_VERSION.
    python_version: str | None = None
    bootstrap_version: str | None = None


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


def standin_info(client: docker.DockerClient, image_name: str) -> StandinInfo | None:
    """Whether a local image is a stand-in and which python it holds; None if absent.

    Labels are inherited, so an image built FROM a stand-in (a candidate's) reports
    is_standin=True too: it runs on the stand-in's python, not the one its FROM names.
    """
    try:
        image = client.images.get(image_name)
    except docker.errors.ImageNotFound:
        return None
    labels = image.labels
    if labels.get(STANDIN_LABEL) == "1":
        return StandinInfo(
            name=image_name,
            is_standin=True,
            python_version=labels.get(PYTHON_VERSION_LABEL),
            bootstrap_version=labels.get(BOOTSTRAP_VERSION_LABEL),
        )
    env = dict(item.partition("=")[::2] for item in image.attrs["Config"].get("Env") or [])
    return StandinInfo(name=image_name, is_standin=False, python_version=env.get("PYTHON_VERSION"))


def standin_tag_for(image_ref: str) -> str | None:
    """The BOOTSTRAP_TAGS name a Dockerfile FROM reference resolves to, if any.

    `docker.io/library/python:3.11-slim` and `python` (no tag: latest) count; a digest
    pin (`@sha256:...`) never does, since no local image can match it.
    """
    ref = image_ref.strip().lower()
    if "@" in ref:
        return None
    for prefix in _OFFICIAL_PREFIXES:
        ref = ref.removeprefix(prefix)
    if "/" in ref:
        return None
    name, _, tag = ref.partition(":")
    canonical = f"{name}:{tag or 'latest'}"
    return canonical if canonical in BOOTSTRAP_TAGS else None


def missing_base_images(client: docker.DockerClient) -> list[str]:
    """Stand-in names that are absent or from another bootstrap version; real images count as present."""
    missing = []
    for tag in BOOTSTRAP_TAGS:
        info = standin_info(client, tag)
        if info is None or (info.is_standin and info.bootstrap_version != BOOTSTRAP_VERSION):
            missing.append(tag)
    return missing


def _print_to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def ensure_base_images(
    client: docker.DockerClient | None = None,
    on_output: Callable[[str], None] = _print_to_stderr,
) -> list[StandinInfo]:
    """Run the bootstrap script if any stand-in is missing; then describe the BOOTSTRAP_TAGS names present.

    The script's output is passed line by line to `on_output` as it comes. Building
    needs root; a failure raises BaseImagesUnavailable with the output's last lines.
    """
    client = client or connect()
    primary = standin_info(client, BOOTSTRAP_TAGS[0])
    # As in the script: a real python:3.11-slim means registry images are in use, not stand-ins.
    needs_bootstrap = primary is None or primary.is_standin
    if needs_bootstrap and missing_base_images(client):
        tail: deque[str] = deque(maxlen=_ERROR_TAIL_LINES)
        with subprocess.Popen(
            ["bash", str(BOOTSTRAP_SCRIPT)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        ) as process:
            assert process.stdout is not None
            for raw_line in process.stdout:
                line = raw_line.rstrip("\n")
                tail.append(line)
                on_output(line)
        if process.returncode != 0:
            raise BaseImagesUnavailable(
                f"{BOOTSTRAP_SCRIPT} failed with exit code {process.returncode}; run it as root to retry. "
                "Last lines:\n" + "\n".join(tail)
            )
        still_missing = missing_base_images(client)
        if still_missing:
            raise BaseImagesUnavailable(
                f"{BOOTSTRAP_SCRIPT} finished but these are still missing: {', '.join(still_missing)}"
            )
    return [info for tag in BOOTSTRAP_TAGS if (info := standin_info(client, tag)) is not None]

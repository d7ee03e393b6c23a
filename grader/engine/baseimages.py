"""The offline stand-in base images the engine must hold for candidate builds.

No registry is reachable where the grader runs, so `FROM python:3.9-slim` resolves to a
local stand-in built by `sandbox/bootstrap-base-images.sh`: Debian's python in a venv, one
image per Debian release (`grader.engine.standins` says which python:* tag gets which).
The bookworm (3.11) one is built up front under the common names; the others on first
use. Before a build the grader tags the chosen stand-in with exactly the name the
Dockerfile uses, never over a real image. Stand-ins carry labels, so reports can say when
one replaced the image a candidate asked for.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import docker
import docker.errors
from pydantic import BaseModel

from grader.engine.client import connect
from grader.engine.standins import STANDIN_SUITES, tag_parts
from grader.errors import BadInput, BaseImagesUnavailable

SANDBOX_DIR = Path(__file__).resolve().parents[2] / "sandbox"
BOOTSTRAP_SCRIPT = SANDBOX_DIR / "bootstrap-base-images.sh"

# Must equal BOOTSTRAP_VERSION and STANDIN_TAGS in the bootstrap script; a test checks.
# Every name here resolves to the 3.11 stand-in by the rule (`standins.choose_standin`).
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
STANDIN_REPO = "churn-grader/python-standin"

_ERROR_TAIL_LINES = 30


class StandinInfo(BaseModel):
    """What a local base image is: the offline stand-in, or a real image."""

    name: str
    is_standin: bool
    # The python really inside: the stand-in's label, or a real image's PYTHON_VERSION.
    python_version: str | None = None
    bootstrap_version: str | None = None


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


def missing_base_images(client: docker.DockerClient) -> list[str]:
    """Stand-in names that are absent or from another bootstrap version; real images count as present."""
    missing = []
    for tag in BOOTSTRAP_TAGS:
        info = standin_info(client, tag)
        if info is None or (info.is_standin and info.bootstrap_version != BOOTSTRAP_VERSION):
            missing.append(tag)
    return missing


def print_progress(line: str) -> None:
    """The default progress sink of a bootstrap: stderr, line by line (a cohort worker's log)."""
    print(line, file=sys.stderr, flush=True)


def _run_bootstrap(args: list[str], on_output: Callable[[str], None]) -> None:
    """Run the bootstrap script, passing its output on line by line; BaseImagesUnavailable on failure."""
    tail: deque[str] = deque(maxlen=_ERROR_TAIL_LINES)
    with subprocess.Popen(
        ["bash", str(BOOTSTRAP_SCRIPT), *args],
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
        command = " ".join([str(BOOTSTRAP_SCRIPT), *args])
        # The script's own `bootstrap: error: ...` line says why (else its last words); it leads the message.
        said = [line for line in tail if line.strip()]
        errors = [line for line in said if line.startswith("bootstrap: error: ")]
        cause = (errors or said or [""])[-1]
        raise BaseImagesUnavailable(
            f"{command} failed with exit code {process.returncode}"
            + (f" ({cause.removeprefix('bootstrap: error: ')})" if cause else "")
            + "; run it as root to retry. Last lines:\n"
            + "\n".join(tail)
        )


def ensure_base_images(
    client: docker.DockerClient | None = None,
    on_output: Callable[[str], None] = print_progress,
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
        _run_bootstrap([], on_output)
        still_missing = missing_base_images(client)
        if still_missing:
            raise BaseImagesUnavailable(
                f"{BOOTSTRAP_SCRIPT} finished but these are still missing: {', '.join(still_missing)}"
            )
    return [info for tag in BOOTSTRAP_TAGS if (info := standin_info(client, tag)) is not None]


def standin_image(python: str) -> str:
    """The stand-in image holding python X.Y: churn-grader/python-standin:<version>-pyX.Y."""
    return f"{STANDIN_REPO}:{BOOTSTRAP_VERSION}-py{python}"


def _current(info: StandinInfo | None) -> bool:
    return info is not None and info.is_standin and info.bootstrap_version == BOOTSTRAP_VERSION


def standin_ready(client: docker.DockerClient, python: str) -> bool:
    """Whether the stand-in holding python X.Y exists and is of this bootstrap version."""
    return _current(standin_info(client, standin_image(python)))


def ensure_standin(
    client: docker.DockerClient,
    python: str,
    on_output: Callable[[str], None] = print_progress,
) -> StandinInfo:
    """The stand-in holding python X.Y (a key of STANDIN_SUITES), built first when missing.

    Building runs `bootstrap-base-images.sh --python X.Y`: needs root, takes a minute or
    two the first time (the rootfs is cached afterwards), and waits for another grader
    building the same. A failure raises BaseImagesUnavailable.
    """
    if python not in STANDIN_SUITES:
        raise BadInput(f"no stand-in for python {python}: one of {', '.join(STANDIN_SUITES)}")
    image = standin_image(python)
    info = standin_info(client, image)
    if not _current(info):
        started = time.monotonic()
        on_output(f"building the python {python} stand-in (Debian {STANDIN_SUITES[python]}) on first use: {image}")
        _run_bootstrap(["--python", python], on_output)
        info = standin_info(client, image)
        if not _current(info):
            raise BaseImagesUnavailable(f"{BOOTSTRAP_SCRIPT} --python {python} finished but {image} is missing")
        on_output(f"python {python} stand-in ready in {time.monotonic() - started:.1f} s")
    assert info is not None
    return info


def use_standin(client: docker.DockerClient, reference: str, python: str) -> StandinInfo | None:
    """Tag the python X.Y stand-in as exactly `reference`, so a Dockerfile's FROM finds it.

    Returns what `reference` names afterwards; None when a real (non-stand-in) image
    already holds the name: that is never retagged, and the build uses it as it is.
    The stand-in must exist (`ensure_standin`).
    """
    present = standin_info(client, reference)
    if present is not None and not present.is_standin:
        return None
    image = client.images.get(standin_image(python))
    if present is None or client.images.get(reference).id != image.id:
        repository, tag = tag_parts(reference)
        image.tag(repository, tag)
    info = standin_info(client, reference)
    assert info is not None
    return info

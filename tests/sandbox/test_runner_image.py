"""The notebook runner's requirements layer, built for real on Docker.

A requirements.txt saved on Windows (a code page, UTF-16 with a BOM) installs as it did on
the candidate's machine: pip in the runner reads anything but UTF-16 with a BOM as UTF-8 and
refused `# für` in Windows-1252 with a UnicodeDecodeError (#13).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import docker_client_or_skip  # tests/conftest.py; pytest puts tests/ on sys.path

from grader.sandbox.cache import Cache, ImageEntries
from grader.sandbox.docker.runner_image import candidate_runner_image, ensure_runner_image
from grader.sandbox.policy import load_policy
from grader.sandbox.stack import runner_stack

pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]


@pytest.fixture
def client():
    return docker_client_or_skip(need_base_images=True)


@pytest.fixture
def repo(client) -> Iterator[str]:
    """A repository of the test's own for the layer; removed afterwards."""
    name = f"churn-grader-test/runner-req-{uuid.uuid4().hex[:12]}"
    yield name
    for image in client.images.list(name=name):
        for tag in image.tags:
            client.images.remove(tag, force=True)


def test_requirements_saved_on_windows_install_in_the_runner_layer(tmp_path: Path, client, repo: str) -> None:
    base = ensure_runner_image(client)
    pins = {line.split("==")[0]: line for line in runner_stack().packages}
    submission = tmp_path / "submission"
    submission.mkdir()
    # Pins the runner already has: pip needs no index, and the repository makes the key the test's own.
    (submission / "requirements.txt").write_bytes(
        f"# für die Notebooks ({repo})\n{pins['joblib']}\n-r requirements-dev.txt\n".encode("cp1252")
    )
    (submission / "requirements-dev.txt").write_bytes(f"{pins['numpy']}\n".encode("utf-16"))
    layers = Cache(tmp_path / "layers", ImageEntries(client, repo, base), "requirements layer", max_bytes=10 * 1024**3)
    with candidate_runner_image(client, submission, load_policy(), layers) as (image, notes):
        assert image.startswith(f"{repo}:"), notes
        assert any(note.startswith(f"candidate requirements installed ({image})") for note in notes), notes

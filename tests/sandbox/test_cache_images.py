"""The shared cache on real Docker images: eviction, in-use protection, the requirement layer.

Images go to repositories of the test's own (`churn-grader-test/...`), labelled with a
nonce, and are removed afterwards; the cache's locks and index go to tmp_path. The base
images (python:3.11-slim stand-in, the runner image) are only read.
"""

from __future__ import annotations

import io
import os
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker.errors
import pytest
from conftest import docker_client_or_skip  # tests/conftest.py; pytest puts tests/ on sys.path

from grader.sandbox.cache import Cache, ImageEntries
from grader.sandbox.docker.runner_image import candidate_runner_image, ensure_runner_image
from grader.sandbox.policy import load_policy

_CLIENT = docker_client_or_skip(need_base_images=True, module_level=True)

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(900)]
BASE = "python:3.11-slim"
LABEL = "org.churn-grader.test"
MB = 1024**2
KEYS = [f"{letter}" * 16 for letter in "abcd"]


@pytest.fixture
def nonce() -> Iterator[str]:
    """Names the test's repositories and labels its images; they are all removed afterwards."""
    value = uuid.uuid4().hex[:12]
    yield value
    for image in _CLIENT.images.list():
        for tag in image.tags:
            if tag.startswith("churn-grader-test/") and value in tag:
                _CLIENT.images.remove(tag, force=True)
    for image in _CLIENT.images.list(filters={"label": f"{LABEL}={value}"}):
        try:
            _CLIENT.images.remove(image.id, force=True)
        except docker.errors.NotFound:
            pass


def blob_image(nonce: str, size: int):
    """Builds an image FROM the stand-in with `size` random bytes of its own."""

    def build(tag: str) -> None:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for name, data in {
                "Dockerfile": f"FROM {BASE}\nCOPY blob /blob\n".encode(),
                "blob": os.urandom(size),
            }.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        buffer.seek(0)
        _CLIENT.images.build(fileobj=buffer, custom_context=True, tag=tag, labels={LABEL: nonce}, rm=True, forcerm=True)

    return build


def tags(repo: str) -> set[str]:
    return {tag for image in _CLIENT.images.list(name=repo) for tag in image.tags}


def test_images_are_evicted_least_recently_used_first_never_in_use_never_the_base(tmp_path: Path, nonce: str) -> None:
    repo = f"churn-grader-test/cache-{nonce}"
    cache = Cache(tmp_path, ImageEntries(_CLIENT, repo, BASE), "test layer", max_bytes=int(2.5 * MB))
    a, b, c, d = KEYS
    for key in (a, b):
        with cache.use(key, blob_image(nonce, MB)) as use:
            assert use.built and MB <= use.size < 2 * MB, use.size
    with cache.use(c, blob_image(nonce, MB)) as use:
        assert [key for key, _size in use.evicted] == [a]
    assert tags(repo) == {f"{repo}:{b}", f"{repo}:{c}"}
    # b is now the least recently used, but a grading holds it: c goes instead.
    with cache.use(b, blob_image(nonce, MB)) as held:
        assert not held.built and held.summary == "reused from the cache"
        with cache.use(d, blob_image(nonce, MB)) as use:
            assert [key for key, _size in use.evicted] == [c]
            assert "removed 1 least recently used" in use.notes[0]
    assert tags(repo) == {f"{repo}:{b}", f"{repo}:{d}"}
    _CLIENT.images.get(BASE)  # the stand-in stays


def test_an_image_a_container_still_uses_is_left_for_later(tmp_path: Path, nonce: str) -> None:
    repo = f"churn-grader-test/cache-{nonce}"
    cache = Cache(tmp_path, ImageEntries(_CLIENT, repo, BASE), "test layer", max_bytes=int(1.5 * MB))
    a, b = KEYS[:2]
    with cache.use(a, blob_image(nonce, MB)) as use:
        container = _CLIENT.containers.create(use.where, ["true"], labels={LABEL: nonce})
    try:
        with cache.use(b, blob_image(nonce, MB)) as use:
            assert use.evicted == []  # the engine refused: a container uses it
        assert f"{repo}:{a}" in tags(repo)
    finally:
        container.remove(force=True)
    assert [key for key, _size in cache.evict()] == [a]


def submission_with(tmp_path: Path, requirements: str) -> Path:
    submission = tmp_path / "submission"
    submission.mkdir(exist_ok=True)
    (submission / "requirements.txt").write_text(requirements)
    return submission


def test_candidate_requirement_layer_built_reused_and_not_kept_when_too_big(tmp_path: Path, nonce: str) -> None:
    base = ensure_runner_image(_CLIENT)
    policy = load_policy()
    repo = f"churn-grader-test/runner-req-{nonce}"

    def layers(max_entry_bytes: int | None = None) -> Cache:
        return Cache(
            tmp_path / "layers",
            ImageEntries(_CLIENT, repo, base),
            "requirements layer",
            max_bytes=10 * 1024**3,
            max_entry_bytes=max_entry_bytes,
        )

    # A comment only: pip installs nothing, and the nonce makes the key the test's own.
    submission = submission_with(tmp_path, f"# {nonce}\n")
    with candidate_runner_image(_CLIENT, submission, policy, layers()) as (image, notes):
        assert image.startswith(f"{repo}:"), notes
        assert any(n.startswith(f"candidate requirements installed ({image}): built in ") for n in notes), notes
        _CLIENT.images.get(image).labels  # noqa: B018 - it exists while held
    with candidate_runner_image(_CLIENT, submission, policy, layers()) as (again, notes):
        assert again == image
        assert f"candidate requirements installed ({image}): reused from the cache" in notes

    big = submission_with(tmp_path, f"# {nonce} too big\n")
    with candidate_runner_image(_CLIENT, big, policy, layers(max_entry_bytes=1)) as (transient, notes):
        assert transient.startswith(f"{repo}:") and transient != image
        assert any(n.startswith("requirements layer not cached") for n in notes), notes
        _CLIENT.images.get(transient)
    with pytest.raises(docker.errors.ImageNotFound):
        _CLIENT.images.get(transient)
    assert image in tags(repo)
    _CLIENT.images.get(base)  # the runner image is never a layer cache's to remove

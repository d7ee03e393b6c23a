"""The local backend's service virtualenvs: a shared cache entry, rebuilt when half-built.

A real virtualenv with a real wheel, in a cache folder of the test's own
(GRADER_SERVING_VENV_CACHE); nothing under /var/cache is touched.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from grader.sandbox.cache import MARKER
from grader.sandbox.local.build import prepare_venv
from grader.sandbox.policy import load_policy
from grader.serving.dockerfile import parse
from grader.serving.layout import plan

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def test_service_virtualenv_built_once_rebuilt_when_half_built(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("GRADER_SERVING_VENV_CACHE", str(tmp_path / "venvs"))
    context = tmp_path / "context"
    context.mkdir()
    (context / "requirements.txt").write_text("six==1.17.0\n")
    (context / "Dockerfile").write_text(
        "FROM python:3.11-slim\nCOPY requirements.txt .\n"
        'RUN pip install -r requirements.txt\nCMD ["python", "-m", "http.server"]\n'
    )
    layout = plan(parse(context / "Dockerfile"), context)
    policy = load_policy()

    def summary(notes: list[str]) -> str:
        return next(note for note in notes if note.startswith("virtualenv "))

    with prepare_venv(layout, policy, tmp_path / "first.log") as (venv, notes):
        assert venv.parent == tmp_path / "venvs" and " built in " in summary(notes), notes
    with prepare_venv(layout, policy, tmp_path / "second.log") as (again, notes):
        assert again == venv and summary(notes).endswith("reused from the cache"), notes
    (venv / MARKER).unlink()  # what a build killed before its end leaves
    with prepare_venv(layout, policy, tmp_path / "third.log") as (rebuilt, notes):
        assert rebuilt == venv and "replacing a half-built one" in summary(notes), notes
        done = subprocess.run(
            [str(venv / "bin" / "python"), "-c", "import six; print(six.__version__)"], capture_output=True, text=True
        )
        assert done.stdout.strip() == "1.17.0", done.stderr

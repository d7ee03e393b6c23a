"""Whose fault a failed build is, read from the Dockerfile and the build record: no engine.

The real builds on this engine are in tests/serving/test_environment_docker.py.
"""

from __future__ import annotations

from pathlib import Path

from grader.sandbox.docker.environment import build_failure_problem, missing_images_problem
from grader.serving.dockerfile import parse
from grader.serving.evidence import BaseImage, BuildRecord


def _parsed(tmp_path: Path, text: str):
    (tmp_path / "Dockerfile").write_text(text)
    return parse(tmp_path / "Dockerfile")


def _failed(step: str, error: str = "The command returned a non-zero code: 127") -> BuildRecord:
    return BuildRecord(attempted=True, failing_step=step, error=error)


def test_buildkit_only_syntax_makes_a_failed_build_the_environments(tmp_path: Path) -> None:
    parsed = _parsed(tmp_path, "FROM python:3.11-slim\nRUN --mount=type=cache,target=/root/.cache pip -V\n")
    problem = build_failure_problem(parsed, [], _failed("Step 1/2 : FROM python:3.11-slim", "Unknown flag: mount"))
    assert problem and "needs BuildKit" in problem and "`RUN --mount`" in problem
    heredoc = _parsed(tmp_path, "FROM python:3.11-slim\nRUN <<EOF\npip -V\nEOF\n")
    assert "heredoc" in build_failure_problem(heredoc, [], _failed("Step 2/3 : RUN <<EOF"))
    link = _parsed(tmp_path, "FROM python:3.11-slim\nCOPY --link app.py /app/\n")
    assert "`COPY --link`" in build_failure_problem(link, [], _failed("Step 2/2 : COPY --link app.py /app/"))


def test_a_syntax_line_counts_only_when_the_builder_could_not_parse_the_file(tmp_path: Path) -> None:
    parsed = _parsed(tmp_path, "# syntax=docker/dockerfile:1.7\nFROM python:3.11-slim\nRUN pip install nosuchpkg==9\n")
    assert build_failure_problem(parsed, [], _failed("Step 2/2 : RUN pip install nosuchpkg==9")) is None
    parse_error = _failed("Step 1/2 : FROM python:3.11-slim", "dockerfile parse error line 3: unknown instruction: EOF")
    assert "the `# syntax=` frontend" in build_failure_problem(parsed, [], parse_error)


def test_the_candidates_own_failures_stay_theirs(tmp_path: Path) -> None:
    parsed = _parsed(tmp_path, "FROM python:3.11-alpine\nRUN pip install nosuchpkg==9\nCOPY missing.py /app/\n")
    alpine = BaseImage(requested="python:3.11-alpine", available=True, standin=True, python_version="3.11.2")
    assert build_failure_problem(parsed, [alpine], _failed("Step 2/3 : RUN pip install nosuchpkg==9")) is None
    assert build_failure_problem(parsed, [alpine], _failed("Step 3/3 : COPY missing.py /app/")) is None
    timed_out = BuildRecord(attempted=True, timed_out=True, failing_step="Step 2/3 : RUN apk add gcc")
    assert build_failure_problem(parsed, [alpine], timed_out) is None


def test_missing_images_problem_joins_what_is_missing() -> None:
    present = BaseImage(requested="python:3.11-slim", available=True)
    assert missing_images_problem([present]) is None
    missing = BaseImage(requested="ghcr.io/a/b:1", available=False, unavailable="base image ghcr.io/a/b:1 is gone")
    assert missing_images_problem([present, missing]) == "base image ghcr.io/a/b:1 is gone"

"""The one Sandbox: one chooser, and stages that reach candidate code only through it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from grader.errors import BadInput, EngineUnavailable
from grader.sandbox.api import choose_sandbox

GRADER = Path(__file__).resolve().parents[2] / "grader"
# Everything that runs candidate code on a grader's behalf, above the sandbox.
CALLERS = [
    GRADER / "notebook" / "execute.py",
    GRADER / "notebook" / "score.py",
    GRADER / "serving" / "stage.py",
    *sorted((GRADER / "stages").glob("*.py")),
]
BACKEND_MODULES = ("docker", "grader.engine", "grader.sandbox.docker", "grader.sandbox.local")


def test_one_chooser_for_the_backend() -> None:
    local = choose_sandbox("local")
    assert local.backend == "local" and local.client is None
    with pytest.raises(BadInput, match="unknown backend 'podman'"):
        choose_sandbox("podman")
    chosen = choose_sandbox("auto")
    try:
        try:
            docker = choose_sandbox("docker")
        except EngineUnavailable:
            assert chosen.backend == "local"
        else:
            assert chosen.backend == docker.backend == "docker" and chosen.client is not None
            docker.close()
    finally:
        chosen.close()


@pytest.mark.parametrize("module", CALLERS, ids=lambda path: str(path.relative_to(GRADER)))
def test_callers_run_candidate_code_only_through_the_sandbox(module: Path) -> None:
    """No backend import, no `backend == "docker"`: a containment fix is made behind the Sandbox, once."""
    tree = ast.parse(module.read_text())
    imported = [
        name
        for node in ast.walk(tree)
        for name in (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
    ]
    assert not [name for name in imported if name.startswith(BACKEND_MODULES)], imported
    compared = [
        constant.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Compare)
        for constant in [node.left, *node.comparators]
        if isinstance(constant, ast.Constant) and constant.value in ("docker", "local")
    ]
    assert compared == []

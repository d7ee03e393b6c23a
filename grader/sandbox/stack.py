"""The notebook runner's stack: what candidates' notebooks run with when they pin nothing.

Read from sandbox/runner/ itself (the Dockerfile's base image and requirements.txt), so
what TASK.md tells candidates cannot drift from what the sandbox installs.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

RUNNER_DIR = Path(__file__).resolve().parents[2] / "sandbox" / "runner"
_BASE_PYTHON = re.compile(r"^FROM\s+python:(\d+\.\d+)", re.I | re.M)


class RunnerStack(BaseModel):
    python: str | None
    # Requirement lines as pinned, e.g. "mlflow==3.17.2".
    packages: list[str]


def runner_stack() -> RunnerStack:
    """The runner's Python version and pinned packages."""
    base = _BASE_PYTHON.search((RUNNER_DIR / "Dockerfile").read_text())
    packages = []
    for line in (RUNNER_DIR / "requirements.txt").read_text().splitlines():
        requirement = line.split("#", 1)[0].strip()
        if requirement:
            packages.append(requirement)
    return RunnerStack(python=base.group(1) if base else None, packages=packages)

"""Where gradings work, and what of a submission they take: shared by the stages and the cohort.

The notebook stage copies a submission into a grading folder under `work_base()`, leaving
out `SKIP_DIRS`; the cohort hashes exactly that to decide what a re-run may skip, and keeps
its own work folders beside the gradings'.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Folders a grading never copies into the sandbox (at any depth): version control,
# virtualenvs, caches, experiment trackers' local files, and the candidate's own data
# (the grader places the packet data there itself).
SKIP_DIRS = frozenset(
    {
        ".git",
        ".venv",
        "venv",
        "env",
        "__pycache__",
        ".ipynb_checkpoints",
        "node_modules",
        ".mypy_cache",
        ".pytest_cache",
        "wandb",
        "lightning_logs",
        "data",
    }
)


def work_base() -> Path:
    """Where grading folders live: traversable by the unprivileged sandbox user."""
    base = Path(os.environ.get("GRADER_WORK_DIR") or Path(tempfile.gettempdir()) / f"churn-grader-{os.geteuid()}")
    base.mkdir(parents=True, exist_ok=True)
    base.chmod(0o711)
    return base

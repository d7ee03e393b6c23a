"""The Python the `local` backend runs candidate notebooks with.

Run as root, the local backend drops to an unprivileged user, who cannot reach the
grader's own interpreter when it lives under /root (pyenv). It then uses a virtualenv
of the system Python with the runner's stack, made once under a shared cache folder.
Run as anyone else, the grader's own interpreter serves.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from grader.errors import GraderError
from grader.sandbox.runner_image import RUNNER_DIR

LOCAL_RUNNER_VENV = Path(os.environ.get("GRADER_LOCAL_RUNNER_VENV", "/var/cache/churn-grader/local-runner"))


def _usable_by_others(python: Path) -> bool:
    resolved = python.resolve()
    return all(os.stat(p).st_mode & 0o005 == 0o005 for p in [*resolved.parents, resolved] if p != Path("/"))


def local_runner_python() -> str:
    """An interpreter with nbclient, ipykernel and mlflow that the sandbox user can run."""
    if os.geteuid() != 0 or _usable_by_others(Path(sys.executable)):
        return sys.executable
    python = LOCAL_RUNNER_VENV / "bin" / "python"
    stamp = LOCAL_RUNNER_VENV / ".requirements"
    wanted = (RUNNER_DIR / "requirements.txt").read_text()
    if python.is_file() and stamp.is_file() and stamp.read_text() == wanted:
        return str(python)
    system_python = shutil.which("python3", path="/usr/bin:/bin")
    if system_python is None:
        raise GraderError("the local backend needs a system python3 under /usr/bin (apt-get install python3-venv)")
    shutil.rmtree(LOCAL_RUNNER_VENV, ignore_errors=True)
    steps = [
        [system_python, "-m", "venv", str(LOCAL_RUNNER_VENV)],
        [str(python), "-m", "pip", "install", "--quiet", "-r", str(RUNNER_DIR / "requirements.txt")],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            raise GraderError(f"could not prepare the local runner ({' '.join(step[:3])}): {done.stderr.strip()[-300:]}")
    stamp.write_text(wanted)
    return str(python)

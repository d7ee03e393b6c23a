"""The Python the `local` backend runs candidate notebooks with.

Run as root, the local backend drops to an unprivileged user, who cannot reach the
grader's own interpreter when it lives under /root (pyenv). It then uses a virtualenv
of the system Python with the runner's stack, one per runner version, in a shared cache
(`grader.sandbox.cache`): the first worker to ask builds it under a lock, the others
wait and reuse it. Run as anyone else, the grader's own interpreter serves.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from grader.errors import GraderError
from grader.sandbox.api import Say, quiet
from grader.sandbox.cache import Cache, FolderEntries, cache_folder, gigabytes
from grader.sandbox.policy import CacheLimits
from grader.sandbox.stack import RUNNER_DIR

# Where the runner virtualenvs live when not under /var/cache/churn-grader/local-runners.
CACHE_VARIABLE = "GRADER_LOCAL_RUNNER_CACHE"
RUNNER_REQUIREMENTS = RUNNER_DIR / "requirements.txt"


def _usable_by_others(python: Path) -> bool:
    resolved = python.resolve()
    return all(os.stat(p).st_mode & 0o005 == 0o005 for p in [*resolved.parents, resolved] if p != Path("/"))


def local_runner_cache(limits: CacheLimits) -> Cache:
    """The shared cache of runner virtualenvs, capped by the policy."""
    folder = cache_folder("local-runners", CACHE_VARIABLE)
    return Cache(folder, FolderEntries(folder), "local runner virtualenv", max_bytes=gigabytes(limits.local_runner_gb))


@contextmanager
def local_runner_python(
    limits: CacheLimits, say: Say = quiet, requirements: Path = RUNNER_REQUIREMENTS
) -> Iterator[tuple[str, list[str]]]:
    """An interpreter with the runner's stack that the sandbox user can run, kept while the block runs; notes."""
    if os.geteuid() != 0 or _usable_by_others(Path(sys.executable)):
        yield sys.executable, []
        return
    system_python = shutil.which("python3", path="/usr/bin:/bin")
    if system_python is None:
        raise GraderError("the local backend needs a system python3 under /usr/bin (apt-get install python3-venv)")
    binary = Path(system_python).resolve()
    stat = binary.stat()
    wanted = requirements.read_text()
    # An upgraded system Python is another binary: its size or time changes the key.
    key = hashlib.sha256(f"{binary}\0{stat.st_size}\0{stat.st_mtime_ns}\0{wanted}".encode()).hexdigest()[:16]

    def build(where: str) -> None:
        say(f"building the local runner virtualenv {where} (first use on this machine: a minute or two)")
        steps = [
            [system_python, "-m", "venv", where],
            [str(Path(where) / "bin" / "python"), "-m", "pip", "install", "--quiet", "-r", str(requirements)],
        ]
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True)
            if done.returncode != 0:
                raise GraderError(
                    f"could not prepare the local runner ({' '.join(step[:3])}): {done.stderr.strip()[-300:]}"
                )

    with local_runner_cache(limits).use(key, build) as use:
        yield (
            str(Path(use.where) / "bin" / "python"),
            [f"local runner virtualenv {use.where}: {use.summary}", *use.notes],
        )

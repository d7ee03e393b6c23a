"""A user of its own for each local sandbox running at the same time.

Without a pids cgroup, the local backend bounds processes with RLIMIT_NPROC, which the
kernel counts per user across the whole host: two candidates sharing one sandbox user
would share one budget, and one's fork bomb would stop the other's kernel from starting.
So each local run (notebook or service) takes a free user from a small pool, held by a
lock for as long as it runs; the kernel drops the lock when the grader dies.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from grader.errors import GraderError

# Far from the Docker sandbox's 10001, so no container's processes count against a local run.
LOCAL_UID_FIRST = 10101
LOCAL_UID_COUNT = 64


def _lock_dir() -> Path:
    folder = Path(tempfile.gettempdir()) / f"churn-grader-uids-{os.geteuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


@contextmanager
def sandbox_user() -> Iterator[int]:
    """A sandbox user no other local run is using now (for as long as the block runs)."""
    folder = _lock_dir()
    for uid in range(LOCAL_UID_FIRST, LOCAL_UID_FIRST + LOCAL_UID_COUNT):
        handle = open(folder / str(uid), "a")  # noqa: SIM115 - the lock is held while the caller runs
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        try:
            yield uid
        finally:
            handle.close()
        return
    raise GraderError(f"all {LOCAL_UID_COUNT} local sandbox users are busy: run fewer local gradings at once")

"""A watchdog on the host folders candidate code may write: it stops a run that fills them.

The grading folder is a host folder mounted writable into the sandbox, so its size is
the host's disk. RLIMIT_FSIZE bounds any one file; this bounds the total: the folders are
measured twice a second (allocated blocks, so a sparse file counts what it really holds)
and, past the policy's limit of bytes written or of files, the run is stopped and the
reason kept. Between two measurements a run can overshoot by what it writes in half a
second, which is why the per-file limit stays too.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_INTERVAL_S = 0.5


@dataclass
class Usage:
    bytes: int = 0
    files: int = 0


def measure(roots: list[Path], stop_after_files: int | None = None) -> Usage:
    """Allocated bytes and entries under `roots`, links never followed; stops counting past a file cap."""
    usage = Usage()
    stack = [str(root) for root in roots]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as listing:
                for entry in listing:
                    usage.files += 1
                    if stop_after_files is not None and usage.files > stop_after_files:
                        return usage
                    try:
                        info = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    usage.bytes += info.st_blocks * 512
                    if stat.S_ISDIR(info.st_mode):
                        stack.append(entry.path)
        except OSError:
            continue
    return usage


class DiskWatch:
    """Measures `roots` in a thread; past either limit it calls `stop` once and keeps `reason`."""

    def __init__(
        self,
        roots: list[Path],
        limit_mb: int,
        max_files: int,
        stop: Callable[[], None],
        extra_files: list[Path] | None = None,
    ) -> None:
        self.roots, self.extra_files = roots, extra_files or []
        self.limit_bytes, self.max_files, self.stop = limit_mb * 1024**2, max_files, stop
        self.limit_mb = limit_mb
        self.reason: str | None = None
        self.peak_mb = 0.0
        self._file_cap: int | None = None
        baseline = self._measure()
        self._base_bytes, self._base_files = baseline.bytes, baseline.files
        self._file_cap = baseline.files + max_files
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="disk-watch", daemon=True)

    def _measure(self) -> Usage:
        usage = measure(self.roots, stop_after_files=self._file_cap)
        for path in self.extra_files:
            try:
                usage.bytes += os.lstat(path).st_blocks * 512
            except OSError:
                pass
        return usage

    def check(self, running: bool = True) -> bool:
        """Measure once; True when a limit was passed (and, while it runs, `stop` called)."""
        usage = self._measure()
        written, files = usage.bytes - self._base_bytes, usage.files - self._base_files
        self.peak_mb = max(self.peak_mb, round(written / 1024**2, 1))
        stopped = " and was stopped" if running else ""
        if written > self.limit_bytes:
            self.reason = (
                f"the sandbox wrote more than the disk limit of {self.limit_mb} MB into its folders "
                f"({written / 1024**2:.0f} MB){stopped}"
            )
        elif files > self.max_files:
            self.reason = f"the sandbox created more than the limit of {self.max_files} files in its folders{stopped}"
        else:
            return False
        if running:
            self.stop()
        return True

    def _watch(self) -> None:
        while not self._done.wait(_INTERVAL_S):
            if self.check():
                return

    def __enter__(self) -> DiskWatch:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._done.set()
        self._thread.join()
        if self.reason is None:
            self.check(running=False)

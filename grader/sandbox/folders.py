"""The host folders candidate code may write: handed to its user before a run, read back as hostile after.

Both backends mount host folders at the same absolute paths, so a path candidate code writes
(an MLflow artifact location) means the same inside and out. Whatever it left there is read
by the grader afterwards, so the links and special files it planted are removed first.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path


def give_to(uid: int, *paths: Path) -> None:
    """Make these folders, and all they hold, the user `uid`'s (as root; links never followed)."""
    if os.geteuid() != 0:
        return
    for root in paths:
        for folder, dirs, files in os.walk(root):
            os.chown(folder, uid, uid, follow_symlinks=False)
            for name in dirs + files:
                os.chown(os.path.join(folder, name), uid, uid, follow_symlinks=False)


def remove_planted_links(roots: list[Path]) -> list[str]:
    """Delete symlinks and special files the sandbox left in its writable folders.

    The grader reads those folders on the host afterwards (executed notebooks, the MLflow
    store, the submission copy it builds the image from): a link planted there would make
    it read a host file, a FIFO would block it. Returns what was removed.
    """
    removed: list[str] = []
    stack = [str(root) for root in roots]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                mode = entry.stat(follow_symlinks=False).st_mode
            except OSError:
                continue
            if stat.S_ISDIR(mode):
                stack.append(entry.path)
            elif not stat.S_ISREG(mode):
                target = ""
                with contextlib.suppress(OSError):
                    target = f" -> {os.readlink(entry.path)}" if stat.S_ISLNK(mode) else " (special file)"
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed.append(f"{entry.path}{target}"[:300])
    return removed

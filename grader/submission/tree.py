"""One bounded walk of a submission folder, and capped reads of the files it found.

Every file in a submission is hostile input: the walk never follows a symlink (it
records it, and keeps a link to a regular file only when the target stays inside the
root), never descends into committed virtualenvs, caches or checkpoint folders, and
stops after a fixed number of entries. Reads open without following links, refuse
anything but a regular file and refuse files over a cap.
"""

from __future__ import annotations

import os
import posixpath
import stat
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from pydantic import BaseModel

from grader.submission.text import DecodedText, decode_text

# Folders that are never the candidate's own work.
SKIP_DIR_NAMES = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "env",
        ".env",
        "__pycache__",
        ".ipynb_checkpoints",
        "node_modules",
        "site-packages",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
        ".nox",
        "checkpoints",
        "lightning_logs",
        "wandb",
    }
)
# MLflow stores are walked (their models count) but hold no notebooks or service code.
STORE_DIR_NAMES = frozenset({"mlruns", "mlartifacts"})
MAX_ENTRIES = 200_000
MAX_DEPTH = 24
MAX_RECORDED_PATHS = 200


class Symlink(BaseModel):
    """A symbolic link found in the submission; links leaving the root are never followed."""

    path: str
    target: str
    inside_root: bool
    followed: bool


class Unreadable(Exception):
    """A file that cannot or will not be read; the message says why, for a problem line."""


@dataclass(frozen=True)
class FileEntry:
    """A regular file: `rel` is its POSIX path in the submission, `real` where to read it."""

    rel: str
    real: Path
    size: int

    @property
    def name(self) -> str:
        return PurePosixPath(self.rel).name

    @property
    def parent(self) -> str:
        """Folder of the file, '' at the root."""
        return posixpath.dirname(self.rel)

    @property
    def depth(self) -> int:
        return self.rel.count("/")


@dataclass
class Tree:
    """What the walk saw: regular files, folders, what it skipped and why."""

    root: Path
    files: list[FileEntry] = field(default_factory=list)
    dirs: set[str] = field(default_factory=set)
    skipped: Counter = field(default_factory=Counter)
    skipped_paths: list[str] = field(default_factory=list)
    symlinks: list[Symlink] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    index: dict[str, FileEntry] = field(default_factory=dict, repr=False)

    def file(self, rel: str) -> FileEntry | None:
        """The walked file at `rel`, if any."""
        return self.index.get(normalize(rel))

    def has_path(self, rel: str) -> bool:
        """Whether `rel` names a walked file or folder ('' and '.' are the root)."""
        rel = normalize(rel)
        return rel == "" or rel in self.dirs or rel in self.index

    def file_at(self, rel: str) -> FileEntry:
        """A file named by the candidate (manifest, compose): inside the root and regular."""
        real = self._inside(rel)
        if not real.is_file():
            raise Unreadable(f"'{rel}' is not a file in the submission")
        return FileEntry(rel=normalize(rel), real=real, size=real.stat().st_size)

    def dir_at(self, rel: str) -> str:
        """A folder named by the candidate, as a normalized relative path ('' is the root)."""
        if not self._inside(rel).is_dir():
            raise Unreadable(f"'{rel}' is not a folder in the submission")
        return normalize(rel)

    def existing(self, rel: str) -> str:
        """A file or folder named by the candidate, as a normalized relative path."""
        self._inside(rel)
        return normalize(rel)

    def _inside(self, rel: str) -> Path:
        if PurePosixPath(rel).is_absolute() or ".." in PurePosixPath(rel).parts:
            raise Unreadable(f"'{rel}' must be a relative path inside the submission")
        try:
            real = (self.root / rel).resolve(strict=True)
        except FileNotFoundError:
            raise Unreadable(f"'{rel}' does not exist in the submission") from None
        except (OSError, RuntimeError) as exc:
            raise Unreadable(f"'{rel}' cannot be resolved: {exc}") from None
        if not real.is_relative_to(self.root):
            raise Unreadable(f"'{rel}' leads outside the submission through a symlink; not followed")
        return real


def normalize(rel: str) -> str:
    """A relative POSIX path without './', '' for the root."""
    cleaned = posixpath.normpath(rel.replace("\\", "/")) if rel else "."
    return "" if cleaned == "." else cleaned


def under(rel: str, folder: str) -> bool:
    """Whether `rel` is `folder` or inside it ('' is the root, so everything is under it)."""
    return folder == "" or rel == folder or rel.startswith(folder + "/")


def walk(root: Path) -> Tree:
    """Walk `root` (already resolved) once, within the entry and depth caps."""
    tree = Tree(root=root)
    stack: list[tuple[Path, str, int]] = [(root, "", 0)]
    seen = 0
    while stack:
        folder, rel_folder, depth = stack.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            tree.problems.append(f"cannot list '{rel_folder or '.'}': {exc.strerror}")
            continue
        for entry in reversed(entries):
            rel = f"{rel_folder}/{entry.name}" if rel_folder else entry.name
            seen += 1
            if not printable(entry.name):
                # Such a name cannot be reported safely (JSON, Markdown): name it escaped, then ignore it.
                tree.problems.append(f"'{shown(rel)}': the name is not printable UTF-8; ignored")
                continue
            if seen > MAX_ENTRIES:
                tree.problems.append(f"more than {MAX_ENTRIES} entries; the rest of the submission was not walked")
                stack.clear()
                break
            if entry.is_symlink():
                _record_symlink(tree, Path(entry.path), rel)
            elif entry.is_dir(follow_symlinks=False):
                reason = _skip_reason(entry)
                if reason:
                    _record_skip(tree, rel, reason)
                elif depth + 1 > MAX_DEPTH:
                    tree.problems.append(f"'{rel}' is nested deeper than {MAX_DEPTH} folders; not walked")
                else:
                    tree.dirs.add(rel)
                    stack.append((Path(entry.path), rel, depth + 1))
            elif entry.is_file(follow_symlinks=False):
                tree.files.append(
                    FileEntry(rel=rel, real=Path(entry.path), size=entry.stat(follow_symlinks=False).st_size)
                )
            else:
                tree.problems.append(f"'{rel}' is not a regular file (device, socket or pipe); ignored")
    tree.files.sort(key=lambda e: e.rel)
    tree.index = {entry.rel: entry for entry in tree.files}
    return tree


def printable(name: str) -> bool:
    """Whether a file name is valid UTF-8 without control characters."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return not any(ord(char) < 32 or ord(char) == 127 for char in name)


def shown(text: str) -> str:
    """Text safe to put in a report: undecodable bytes and control characters escaped."""
    decoded = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(char if 32 <= ord(char) != 127 else repr(char)[1:-1] for char in decoded)


def _skip_reason(entry: os.DirEntry) -> str | None:
    if entry.name in SKIP_DIR_NAMES:
        return entry.name
    if os.path.lexists(os.path.join(entry.path, "pyvenv.cfg")):
        return "virtualenv"
    return None


def _record_skip(tree: Tree, rel: str, reason: str) -> None:
    tree.skipped[reason] += 1
    if len(tree.skipped_paths) < MAX_RECORDED_PATHS:
        tree.skipped_paths.append(rel)


def _record_symlink(tree: Tree, link: Path, rel: str) -> None:
    try:
        target = shown(os.readlink(link))
    except OSError:
        target = "?"
    try:
        real = link.resolve(strict=True)
    except (OSError, RuntimeError):
        tree.symlinks.append(Symlink(path=rel, target=target, inside_root=False, followed=False))
        tree.problems.append(f"symlink '{rel}' -> '{target}' is broken or loops; ignored")
        return
    inside = real.is_relative_to(tree.root)
    followed = inside and real.is_file()
    tree.symlinks.append(Symlink(path=rel, target=target, inside_root=inside, followed=followed))
    if not inside:
        tree.problems.append(f"symlink '{rel}' -> '{target}' leads outside the submission; not followed")
    elif followed:
        tree.files.append(FileEntry(rel=rel, real=real, size=real.stat().st_size))
    else:
        tree.problems.append(f"symlink '{rel}' -> '{target}' is a linked folder; not walked twice")


def read_capped(entry: FileEntry, cap: int) -> bytes:
    """The whole file, if it is a regular file of at most `cap` bytes."""
    if entry.size > cap:
        raise Unreadable(f"'{entry.rel}' is {_megabytes(entry.size)}, over the {_megabytes(cap)} cap; not read")
    return _read(entry, cap)


def read_head(entry: FileEntry, limit: int) -> bytes:
    """The first `limit` bytes of a regular file, whatever its size."""
    return _read(entry, limit)


def read_text(entry: FileEntry, cap: int) -> str:
    """A capped read decoded as the candidate's tools would read it (see `read_decoded`)."""
    return read_decoded(entry, cap).text


def read_decoded(entry: FileEntry, cap: int) -> DecodedText:
    """A capped read decoded by BOM, BOM-less UTF-16, UTF-8 or a Windows code page, with the encoding used."""
    return decode_text(read_capped(entry, cap))


def _read(entry: FileEntry, limit: int) -> bytes:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(entry.real, flags)
    except OSError as exc:
        raise Unreadable(f"cannot open '{entry.rel}': {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise Unreadable(f"'{entry.rel}' is not a regular file; not read")
        try:
            return handle.read(limit)
        except OSError as exc:
            raise Unreadable(f"cannot read '{entry.rel}': {exc.strerror}") from None


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"

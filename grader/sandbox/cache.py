"""Caches that grading workers share: each entry built once under a lock, reused, bounded.

Every cache the grader keeps between gradings (the notebook runner image and its
per-candidate requirement layers on the engine, the local backend's runner and service
virtualenvs on disk) is a `Cache`: entries named by a key that hashes everything they
are built from, stored where they belong (`FolderEntries`, `ImageEntries`), and a host
folder for the locks and the index of last uses.

Locks are flocks, which the kernel drops when their holder dies, however it dies:

- `<key>.use`, shared while a grading uses the entry (also while it builds it). The
  evictor only tries it exclusively, without waiting: an entry in use is never removed.
- `<key>.build`, exclusive while the entry is built. A second worker asking for the same
  entry waits on it, then finds the entry published and reuses it.
- `index`, exclusive while the index (last use, size, build time) is read and rewritten.

They are taken in that order, and the evictor, which holds the index, never waits for
the others, so no two workers wait on each other.

An entry counts once it is published: a folder once its marker (its key, written last
and by rename) is in place, an image once its tag exists (the engine tags a build only
when it has finished). A folder without its marker is what a killed build left; it is
removed and rebuilt under the build lock, and the evictor removes it first.

Folder entries are built at their final path, not in a temporary sibling renamed into
place: a virtualenv's scripts and `pyvenv.cfg` hold its absolute path, so a renamed one
still points at the temporary folder. The build lock and the marker give the same
all-or-nothing view: nobody else builds while the lock is held, nobody uses a folder
without its marker, and the marker appears by an atomic rename after everything else.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import docker.errors
from pydantic import BaseModel, Field, ValidationError

from grader.fsutil import write_atomic

# Where the caches live unless $CHURN_GRADER_CACHE_DIR (which sandbox/bootstrap-base-images.sh reads too) says.
CACHE_ROOT = Path("/var/cache/churn-grader")
MARKER = ".complete"
GB = 1024**3
_KEY = re.compile(r"[0-9a-f]{12,64}")


def cache_folder(name: str, variable: str | None = None) -> Path:
    """Where cache `name` lives: $variable when set, else under the cache root, else under ~/.cache."""
    if variable and os.environ.get(variable):
        return Path(os.environ[variable])
    root = Path(os.environ.get("CHURN_GRADER_CACHE_DIR") or CACHE_ROOT)
    writable = os.access(root if root.exists() else root.parent, os.W_OK)
    return root / name if (root / name).exists() or writable else Path.home() / ".cache" / "churn-grader" / name


def gigabytes(value: float) -> int:
    """A policy's GB figure in bytes."""
    return int(value * GB)


def human_size(size: int | None) -> str:
    """Bytes as a note shows them: "312 MB", "8.3 GB"."""
    if size is None:
        return "size unknown"
    return f"{size / GB:.1f} GB" if size >= GB else f"{max(size, 0) / 1024**2:.0f} MB"


class Entries(Protocol):
    """Where a cache's entries are stored, and how they are found, measured and removed."""

    def where(self, key: str) -> str:
        """What a user of the entry gets: a folder path or an image tag."""

    def published(self, key: str) -> bool:
        """Complete and usable (not a half-built leftover)."""

    def publish(self, key: str) -> None:
        """Mark a finished build as complete."""

    def present(self) -> dict[str, float]:
        """Every entry there is, complete or not, with its last change (unix time)."""

    def size(self, key: str) -> int:
        """Bytes the entry's removal would free."""

    def remove(self, key: str) -> bool:
        """Remove the entry (raise when it cannot go); whether there was one."""


@dataclass
class FolderEntries:
    """Entries as folders `root/<key>`, complete once `root/<key>/.complete` holds the key."""

    root: Path

    def where(self, key: str) -> str:
        return str(self.root / key)

    def published(self, key: str) -> bool:
        try:
            return (self.root / key / MARKER).read_text() == key
        except OSError:
            return False

    def publish(self, key: str) -> None:
        write_atomic(self.root / key / MARKER, key)

    def present(self) -> dict[str, float]:
        if not self.root.is_dir():
            return {}
        return {
            path.name: path.lstat().st_mtime
            for path in self.root.iterdir()
            if _KEY.fullmatch(path.name) and path.is_dir() and not path.is_symlink()
        }

    def size(self, key: str) -> int:
        seen: set[tuple[int, int]] = set()
        total = 0
        for folder, _dirs, names in os.walk(self.root / key):
            for path in [folder, *(os.path.join(folder, name) for name in names)]:
                with contextlib.suppress(OSError):
                    stat = os.lstat(path)
                    if (stat.st_dev, stat.st_ino) not in seen:
                        seen.add((stat.st_dev, stat.st_ino))
                        total += stat.st_blocks * 512
        return total

    def remove(self, key: str) -> bool:
        path = self.root / key
        if not path.exists():
            return False
        # The marker goes first: a removal cut short leaves a half-built entry, never a broken published one.
        (path / MARKER).unlink(missing_ok=True)
        shutil.rmtree(path)
        return True


@dataclass
class ImageEntries:
    """Entries as images `repo:<key>` on the engine; `base` is what they are built FROM.

    An entry's size is its own layers: its image size less `base`'s (for entries built on
    an older base, an estimate).
    """

    client: Any
    repo: str
    base: str | None = None

    def where(self, key: str) -> str:
        return f"{self.repo}:{key}"

    def published(self, key: str) -> bool:
        try:
            self.client.api.inspect_image(self.where(key))
        except docker.errors.ImageNotFound:
            return False
        return True

    def publish(self, key: str) -> None:
        """Nothing to do: the engine tags an image only once its build has finished."""

    def present(self) -> dict[str, float]:
        found: dict[str, float] = {}
        for image in self.client.api.images(name=self.repo):
            for tag in image.get("RepoTags") or []:
                repo, _, key = tag.rpartition(":")
                if repo == self.repo:
                    found[key] = float(image.get("Created") or 0)
        return found

    def size(self, key: str) -> int:
        own = int(self.client.api.inspect_image(self.where(key))["Size"])
        try:
            below = int(self.client.api.inspect_image(self.base)["Size"]) if self.base else 0
        except docker.errors.ImageNotFound:
            below = 0
        return max(own - below, 0)

    def remove(self, key: str) -> bool:
        try:
            # No force: an image a container still uses stays (the engine refuses).
            self.client.api.remove_image(self.where(key))
        except docker.errors.ImageNotFound:
            return False
        return True


class _Record(BaseModel):
    last_used: float = 0.0
    size: int | None = None
    build_s: float | None = None
    # False: over the per-entry limit, removed once nobody uses it.
    kept: bool = True


class _Index(BaseModel):
    entries: dict[str, _Record] = Field(default_factory=dict)


@dataclass
class CacheUse:
    """One use of an entry: where it is, and how this use got it."""

    key: str
    where: str
    built: bool = False
    build_s: float = 0.0
    # Time spent waiting for another worker's build of the same entry.
    waited_s: float = 0.0
    size: int | None = None
    kept: bool = True
    replaced_half_built: bool = False
    evicted: list[tuple[str, int]] = field(default_factory=list)
    # "built in 41.2 s, 312 MB" or "reused from the cache", for the caller's own note.
    summary: str = ""
    # Notes beyond the summary: not kept, evicted.
    notes: list[str] = field(default_factory=list)


@contextmanager
def _flock(path: Path, how: int) -> Iterator[bool]:
    """Hold an flock on `path` for the block; False when LOCK_NB was asked and it is taken."""
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, how)
        except BlockingIOError:
            yield False
            return
        yield True


@dataclass
class Cache:
    """A cache shared by grading processes: `use` an entry, `evict` down to the cap.

    `what` names an entry in notes ("requirements layer"). `max_bytes` caps the whole
    cache (None: no cap, nothing evicted); an entry larger than `max_entry_bytes` is used
    by whoever asked for it and removed when they are done, never kept.
    """

    folder: Path
    entries: Entries
    what: str
    max_bytes: int | None = None
    max_entry_bytes: int | None = None

    def _lock(self, key: str, kind: str) -> Path:
        return self.folder / ".locks" / f"{key}.{kind}"

    @contextmanager
    def use(self, key: str, build: Callable[[str], None]) -> Iterator[CacheUse]:
        """Entry `key`, built by `build(where)` unless published; never evicted while the block runs.

        `key` must hash everything the entry is built from. `build` creates the entry at
        `where` (nothing is there) and raises on failure; what it left is removed and its
        error propagates.
        """
        if not _KEY.fullmatch(key):
            raise ValueError(f"a cache key is 12 to 64 hex digits, not {key!r}")
        self._lock(key, "use").parent.mkdir(parents=True, exist_ok=True)
        use = CacheUse(key, self.entries.where(key))
        try:
            with _flock(self._lock(key, "use"), fcntl.LOCK_SH):
                if not self.entries.published(key):
                    self._build(use, build)
                self._record(use)
                if use.built:
                    use.evicted = self.evict()
                use.summary, use.notes = self._describe(use)
                yield use
        finally:
            if not use.kept:
                self._remove_if_unused(key)

    def _build(self, use: CacheUse, build: Callable[[str], None]) -> None:
        asked = time.monotonic()
        with _flock(self._lock(use.key, "build"), fcntl.LOCK_EX):
            use.waited_s = time.monotonic() - asked
            if self.entries.published(use.key):
                return  # another worker built it while this one waited
            use.replaced_half_built = self.entries.remove(use.key)
            started = time.monotonic()
            try:
                build(use.where)
                self.entries.publish(use.key)
            except BaseException:
                with contextlib.suppress(Exception):
                    self.entries.remove(use.key)
                raise
            use.built, use.build_s = True, time.monotonic() - started
            use.size = self.entries.size(use.key)
            use.kept = self.max_entry_bytes is None or use.size <= self.max_entry_bytes

    @contextmanager
    def _index(self) -> Iterator[dict[str, _Record]]:
        """The index, locked for the block and written back after it."""
        path = self.folder / ".index.json"
        (self.folder / ".locks").mkdir(parents=True, exist_ok=True)
        with _flock(self.folder / ".locks" / "index", fcntl.LOCK_EX):
            try:
                index = _Index.model_validate_json(path.read_text()).entries
            except (OSError, ValueError, ValidationError):
                # The index is a hint: the entries themselves are the truth, listed again at eviction.
                index = {}
            yield index
            write_atomic(path, _Index(entries=index).model_dump_json())

    def _record(self, use: CacheUse) -> None:
        with self._index() as index:
            record = index.setdefault(use.key, _Record())
            record.last_used = time.time()
            if use.built:
                record.size, record.build_s, record.kept = use.size, round(use.build_s, 1), use.kept
            use.kept = record.kept
            use.size = record.size if use.size is None else use.size

    def evict(self) -> list[tuple[str, int]]:
        """Remove entries nobody uses, least recently used first, until under the cap; (key, bytes) removed.

        Half-built entries and entries over the per-entry limit go first, whatever the cap.
        """
        if self.max_bytes is None and self.max_entry_bytes is None:
            return []
        removed: list[tuple[str, int]] = []
        with self._index() as index:
            present = self.entries.present()
            for key in [k for k in index if k not in present]:
                del index[key]
            for key, changed in present.items():
                record = index.setdefault(key, _Record(last_used=changed))
                if record.size is None:
                    record.size = self.entries.size(key)
            doomed = {key: not record.kept or not self.entries.published(key) for key, record in index.items()}
            total = sum(record.size or 0 for record in index.values())
            for key in sorted(index, key=lambda k: (not doomed[k], index[k].last_used)):
                if not doomed[key] and (self.max_bytes is None or total <= self.max_bytes):
                    break
                with _flock(self._lock(key, "use"), fcntl.LOCK_EX | fcntl.LOCK_NB) as unused:
                    if not unused:
                        continue
                    try:
                        self.entries.remove(key)
                    except (OSError, docker.errors.APIError):
                        continue  # e.g. a container still runs on the image: it stays for now
                size = index.pop(key).size or 0
                total -= size
                removed.append((key, size))
        return removed

    def _remove_if_unused(self, key: str) -> None:
        """An entry not to keep goes when its last user is done (or at the next eviction)."""
        with self._index() as index, _flock(self._lock(key, "use"), fcntl.LOCK_EX | fcntl.LOCK_NB) as unused:
            if unused:
                with contextlib.suppress(OSError, docker.errors.APIError):
                    self.entries.remove(key)
                    index.pop(key, None)

    def _describe(self, use: CacheUse) -> tuple[str, list[str]]:
        if use.built:
            summary = f"built in {use.build_s:.1f} s, {human_size(use.size)}"
            if use.replaced_half_built:
                summary += ", replacing a half-built one a stopped run left"
        else:
            summary = "reused from the cache"
        if use.waited_s >= 1:
            summary += f", after waiting {use.waited_s:.0f} s for another grading building it"
        notes = []
        if not use.kept:
            notes.append(
                f"{self.what} not cached: {human_size(use.size)} is over the per-entry limit of "
                f"{human_size(self.max_entry_bytes)}; used for this grading only, then removed"
            )
        if use.evicted:
            freed = sum(size for _key, size in use.evicted)
            notes.append(
                f"{self.what} cache over its {human_size(self.max_bytes)} cap: removed "
                f"{len(use.evicted)} least recently used ({human_size(freed)}): "
                + ", ".join(self.entries.where(key) for key, _size in use.evicted[:5])
            )
        return summary, notes

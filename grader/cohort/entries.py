"""The submissions of a cohort folder: one sub-folder each, named by candidate id or mapped.

`cohort.toml` at the top of the folder maps folder names to candidate ids where the
folder name is not one (an e-mail, a name with spaces):

```toml
[candidates]
"Jane Doe" = "cand-0042"
"bob@example.com" = "cand-0043"
```

A folder whose id is invalid, or shared with another folder, is a failed entry with a
reason; the others are graded all the same.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from pydantic import BaseModel, Field

from grader.errors import BadCandidateId, BadInput
from grader.tomlfile import TomlModel, load_toml
from grader.world.seed import check_candidate_id

COHORT_FILE = "cohort.toml"
# A folder holding these at its top is one submission, not a cohort of them.
SUBMISSION_MARKERS = (
    "Dockerfile",
    "takehome.toml",
    "requirements.txt",
    "pyproject.toml",
    "setup.py",
    "docker-compose.yml",
    "docker-compose.yaml",
    "compose.yml",
    "compose.yaml",
    "MLproject",
)
# Folders an archiver or an OS leaves beside the submissions: never a candidate.
NOT_SUBMISSIONS = frozenset({"__MACOSX", "__pycache__", "$RECYCLE.BIN", "System Volume Information"})


class CohortEntry(BaseModel):
    """One submission folder and its candidate id, or why it cannot be graded."""

    folder: Path
    candidate: str
    error: str | None = None


class Cohort(BaseModel):
    root: Path
    entries: list[CohortEntry]
    warnings: list[str]

    def valid(self) -> list[CohortEntry]:
        return [entry for entry in self.entries if entry.error is None]


class CohortFile(TomlModel):
    """cohort.toml: `[candidates]` maps folder names to candidate ids ("folder" = "id")."""

    candidates: dict[str, str] = Field(default_factory=dict)


def _mapping(root: Path) -> dict[str, str]:
    path = root / COHORT_FILE
    if not path.is_file():
        return {}
    return load_toml(CohortFile, path).candidates


ARCHIVE_SUFFIXES = (".zip", ".tar", ".tgz", ".tar.gz", ".tar.bz2", ".tar.xz", ".7z", ".rar", ".gz")


def _is_archive(path: Path) -> bool:
    return path.name.lower().endswith(ARCHIVE_SUFFIXES)


def _looks_like_one_submission(root: Path) -> bool:
    return any((root / marker).is_file() for marker in SUBMISSION_MARKERS) or any(root.glob("*.ipynb"))


def find_submissions(root: Path, only: list[str] | None = None) -> Cohort:
    """Every submission folder under `root` with its candidate id (`only`: just these ids)."""
    if not root.is_dir():
        raise BadInput(f"submissions folder {root} does not exist")
    mapping = _mapping(root)
    if not mapping and _looks_like_one_submission(root):
        raise BadInput(
            f"{root} looks like one submission (it has a Dockerfile, notebooks or requirements): "
            "pass --candidate ID to grade it alone, or give the folder that holds submission folders"
        )
    folders = sorted(
        p
        for p in root.iterdir()
        if p.is_dir() and not p.is_symlink() and not p.name.startswith(".") and p.name not in NOT_SUBMISSIONS
    )
    warnings = [
        f"{COHORT_FILE} maps {name!r}, which is not a folder here" for name in mapping if not (root / name).is_dir()
    ]
    warnings += [
        f"{p.name}/ is an archiver's or system folder, not a submission: not graded"
        for p in sorted(root.iterdir())
        if p.name in NOT_SUBMISSIONS and p.is_dir()
    ]
    # Archives are never unpacked (a zip bomb stays a small file); say so rather than skip in silence.
    warnings += [
        f"{p.name} is not a submission folder and was not graded"
        + (": archives are never unpacked, unpack it into a folder first" if _is_archive(p) else "")
        for p in sorted(root.iterdir())
        if not p.name.startswith(".") and p.name != COHORT_FILE and (p.is_symlink() or not p.is_dir())
    ]
    entries = []
    for folder in folders:
        candidate = mapping.get(folder.name, folder.name)
        error = None
        try:
            check_candidate_id(candidate)
        except BadCandidateId as exc:
            hint = f"; map the folder to a valid id in {COHORT_FILE}" if folder.name not in mapping else ""
            error = f"{exc}{hint}"
        entries.append(CohortEntry(folder=folder.resolve(), candidate=candidate, error=error))
    counts = Counter(entry.candidate for entry in entries)
    for entry in entries:
        if counts[entry.candidate] > 1 and entry.error is None:
            others = [e.folder.name for e in entries if e.candidate == entry.candidate and e is not entry]
            entry.error = f"candidate id {entry.candidate!r} is also used by {', '.join(others)}: ids must be unique"
    if only:
        missing = sorted(set(only) - {entry.candidate for entry in entries})
        if missing:
            raise BadInput(f"no submission for {', '.join(missing)} in {root}")
        entries = [entry for entry in entries if entry.candidate in only]
    if not entries:
        raise BadInput(f"no submission folders in {root}")
    return Cohort(root=root.resolve(), entries=entries, warnings=warnings)

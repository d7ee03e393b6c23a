"""The writeup: which README is the candidate's, and how long it is."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel

from grader.submission.tree import FileEntry, Unreadable, read_text

README_CAP = 2 * 1024 * 1024
# Preferred at the root, in this order; any other README* name ranks after them.
PREFERRED = ("README.md", "README.rst", "readme.md", "Readme.md", "README.txt", "README")


class Readme(BaseModel):
    """The README graded as the writeup."""

    path: str
    size_bytes: int
    words: int | None = None
    reason: str = ""
    problem: str | None = None


def is_readme(entry: FileEntry) -> bool:
    return entry.name.lower().split(".")[0] == "readme"


def _rank(entry: FileEntry) -> tuple:
    name_rank = PREFERRED.index(entry.name) if entry.name in PREFERRED else len(PREFERRED)
    return (entry.depth, name_rank, entry.rel)


def find_readme(files: Iterable[FileEntry], forced: FileEntry | None) -> tuple[Readme | None, list[str], list[str]]:
    """The writeup, the other READMEs, and problems (several at the root, none at the root)."""
    candidates = sorted((entry for entry in files if is_readme(entry)), key=_rank)
    problems: list[str] = []
    if forced is not None:
        chosen, reason = forced, "named by takehome.toml"
    elif not candidates:
        return None, [], []
    else:
        chosen = candidates[0]
        at_root = [entry.rel for entry in candidates if entry.depth == 0]
        if len(at_root) > 1:
            reason = f"preferred among {len(at_root)} READMEs at the root"
            problems.append(f"several READMEs at the root ({', '.join(at_root)}); graded {chosen.rel}")
        elif at_root:
            reason = "the README at the root"
        else:
            reason = "no README at the root; the shallowest one"
            problems.append(f"no README at the root; graded {chosen.rel}")
    others = [entry.rel for entry in candidates if entry.rel != chosen.rel]
    return describe(chosen, reason), others, problems


def describe(entry: FileEntry, reason: str) -> Readme:
    """Size and word count of a README, without trusting its size."""
    readme = Readme(path=entry.rel, size_bytes=entry.size, reason=reason)
    try:
        readme.words = len(read_text(entry, README_CAP).split())
    except Unreadable as exc:
        readme.problem = str(exc)
    return readme

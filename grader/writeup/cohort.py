"""A cohort's READMEs, read once by the parent and handed to every worker (read-only, by candidate id).

Each worker's writeup stage compares its candidate's paragraphs with the others', so a
paragraph two candidates share shows in both reports, side by side.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from grader.errors import GraderError
from grader.submission import discover
from grader.writeup.text import read_document

# A cohort of hundreds stays small in memory and across the process boundary.
MAX_README_CHARS = 64 * 1024


def cohort_readmes(folders: Mapping[str, Path]) -> dict[str, str]:
    """candidate -> README text (as the writeup stage reads it), for the submissions that have one."""
    found = {}
    for candidate, folder in sorted(folders.items()):
        try:
            submission = discover(folder)
        except (GraderError, OSError):
            continue
        if submission.readme is None:
            continue
        document = read_document(submission.path(submission.readme.path), submission.readme.path)
        if document.problem is None:
            found[candidate] = document.text[:MAX_README_CHARS]
    return found

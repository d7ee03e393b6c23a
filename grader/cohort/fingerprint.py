"""Content hashes that decide what a re-run may skip: the submission's, and the grader's.

A submission is hashed as grading sees it: the files the notebook stage copies into
the sandbox (no .git, virtualenvs, caches, `data/`; symlinks by their target, never
followed), so a change to anything the grading can see regrades it. Two
grader fingerprints: `grading` changes when anything that shapes the evidence changes
(the grader's stage code, sandbox runner and policy, world spec, rows, seed, backend,
serving settings); `scoring` changes when only the rubric or the report code does, and
then saved evidence is re-scored without running anything again.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path

from grader.rubric import REPORT_SCHEMA, Rubric
from grader.sandbox.policy import policy_sha256
from grader.workdir import SKIP_DIRS as GRADING_SKIPS

PACKAGE_DIR = Path(__file__).resolve().parents[1]
REPO_DIR = PACKAGE_DIR.parent
# Code that only scores or renders, or drives runs: changing it never changes evidence.
SCORING_CODE = ("rubric", "report", "decide", "decision.py")
NOT_GRADING_CODE = {*SCORING_CODE, "cohort", "preflight", "cli.py"}
_CHUNK = 1024 * 1024
# Files past this are hashed by their size, head and tail: a submission of one sparse
# 1 TB file must not take the grader an hour to fingerprint. (Such files are never copied
# into the sandbox whole anyway: the policy's copy limit is lower.)
SAMPLED_OVER_BYTES = 256 * 1024**2


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > SAMPLED_OVER_BYTES:
            digest.update(f"sampled {size}\n".encode() + handle.read(_CHUNK))
            handle.seek(size - _CHUNK)
            digest.update(handle.read(_CHUNK))
            return digest.hexdigest()
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def submission_sha256(root: Path) -> str:
    """A hash of the submission as graded: exactly what the notebook stage copies (its skip list,
    at every depth), every regular file's path and content, and every link by its target."""
    root = root.resolve()
    digest = hashlib.sha256(b"submission/2\n")
    for directory, dirnames, filenames in os.walk(root):
        dirnames.sort()
        base = Path(directory)
        for name in list(dirnames):
            path = base / name
            if path.is_symlink() or name in GRADING_SKIPS:
                dirnames.remove(name)
                if path.is_symlink():
                    digest.update(f"link {path.relative_to(root)} -> {os.readlink(path)}\n".encode())
        for name in sorted(filenames):
            path = base / name
            rel = path.relative_to(root)
            if path.is_symlink():
                digest.update(f"link {rel} -> {os.readlink(path)}\n".encode())
            elif path.is_file():
                try:
                    digest.update(f"file {rel} {path.stat().st_size} {_file_digest(path)}\n".encode())
                except OSError as exc:  # the grading records it too; it must not stop the cohort
                    digest.update(f"unreadable {rel} {exc.errno}\n".encode())
    return digest.hexdigest()


def _tree_digest(paths: list[Path], base: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(f"{path.relative_to(base)} {_file_digest(path)}\n".encode())
    return digest.hexdigest()


def code_files(scoring: bool) -> list[Path]:
    """The package's modules that only score or render (`scoring`), or else those that shape evidence."""
    return [
        p
        for p in PACKAGE_DIR.rglob("*.py")
        if "__pycache__" not in p.parts
        and (
            p.relative_to(PACKAGE_DIR).parts[0] in SCORING_CODE
            if scoring
            else p.relative_to(PACKAGE_DIR).parts[0] not in NOT_GRADING_CODE
        )
    ]


@lru_cache(maxsize=1)
def grading_code_sha256() -> str:
    """The grader's evidence-collecting code, sandbox runner and policy, and world specs."""
    shipped = [p for folder in ("sandbox/runner", "datasets") for p in (REPO_DIR / folder).rglob("*") if p.is_file()]
    shipped += [p for p in [REPO_DIR / "sandbox" / "local-root.sh"] if p.is_file()]
    digest = _tree_digest(code_files(scoring=False) + shipped, REPO_DIR)
    return hashlib.sha256(f"{digest} policy {policy_sha256()}".encode()).hexdigest()


@lru_cache(maxsize=1)
def scoring_code_sha256() -> str:
    return _tree_digest(code_files(scoring=True), REPO_DIR)


def grader_fingerprint(settings: dict) -> str:
    """The grader's code and run settings: equal for every candidate graded the same way."""
    document = {"code": grading_code_sha256(), "settings": settings}
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def grading_fingerprint(grader: str, seed_fingerprint: str) -> str:
    """What shapes one candidate's evidence: the grader fingerprint and their seed."""
    return hashlib.sha256(f"{grader} {seed_fingerprint}".encode()).hexdigest()


def scoring_fingerprint(rubric: Rubric) -> str:
    """What turns evidence into reports: the rubric file, the report schema and their code."""
    document = {"rubric": rubric.sha256, "schema": REPORT_SCHEMA, "code": scoring_code_sha256()}
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()

"""Imports run one way: the pairs of packages below never import each other in the forbidden direction.

Read from the source (every `import` and `from ... import`, at any depth, in functions too),
so a lazy import inside a function counts like one at the top of the module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "grader"

# (importer, imported, why the direction matters)
FORBIDDEN = [
    ("report", "decide", "both read decision.json from grader.decision; `grader decide` re-renders reports"),
    ("preflight", "cohort", "a candidate's preflight runs one submission's stages, never a cohort's"),
    ("cohort", "notebook", "the cohort hashes and places gradings through grader.workdir, not stage internals"),
    ("submission", "serving", "discovery reads Dockerfiles through grader.submission.dockerfile; serving builds on it"),
    ("submission", "stages", "discovery is what the stages start from"),
    ("rubric", "report", "scoring never depends on how a score is shown"),
    ("rubric", "decide", "the rubric scores the practical alone"),
]


def package_of(path: Path) -> str:
    """`grader/report/html.py` -> "report"; a top-level module `grader/grade.py` -> "grade"."""
    first = path.relative_to(PACKAGE).parts[0]
    return first.removesuffix(".py")


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every grader module `path` imports, with the line: `grader.x.y`, resolved for relative imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = ["grader", *path.relative_to(PACKAGE).with_suffix("").parts]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = here[: len(here) - node.level]
                base = ".".join([*parent, *([base] if base else [])])
            # `from grader import report` imports grader.report.
            names = [f"{base}.{alias.name}" for alias in node.names] if base == "grader" else [base]
            found += [(node.lineno, name) for name in names]
    return [(line, name) for line, name in found if name == "grader" or name.startswith("grader.")]


def edges() -> dict[tuple[str, str], list[str]]:
    """(importer package, imported package) -> where, for every import between two grader packages."""
    found: dict[tuple[str, str], list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        importer = package_of(path)
        for line, name in imported_modules(path):
            parts = name.split(".")
            if len(parts) < 2 or parts[1] == importer:
                continue
            where = f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}"
            found.setdefault((importer, parts[1]), []).append(where)
    return found


EDGES = edges()


def test_the_scan_sees_imports_at_the_top_and_inside_functions() -> None:
    # `grader decide` re-renders reports (a top-level import); the cohort imports grading only in functions.
    assert any("grader/decide/command.py" in where for where in EDGES[("decide", "report")])
    assert any("grader/cohort/single.py" in where for where in EDGES[("cohort", "grade")])
    assert ("report", "decision") in EDGES and ("decide", "decision") in EDGES


@pytest.mark.parametrize(("importer", "imported", "why"), FORBIDDEN, ids=[f"{a}-not-{b}" for a, b, _ in FORBIDDEN])
def test_forbidden_directions_are_not_taken(importer: str, imported: str, why: str) -> None:
    assert (PACKAGE / importer).is_dir() and (PACKAGE / imported).is_dir()
    offenders = EDGES.get((importer, imported), [])
    assert not offenders, f"grader.{importer} must not import grader.{imported} ({why}): " + "; ".join(offenders)

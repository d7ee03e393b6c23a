"""Dependency files: which exist, and how many of their requirements are pinned."""

from __future__ import annotations

import posixpath
import re
import tomllib
from collections.abc import Iterable
from typing import Literal

import yaml
from pydantic import BaseModel

from grader.submission.tree import FileEntry, Unreadable, read_decoded

REQUIREMENTS_CAP = 1024 * 1024
LOCK_NAMES = frozenset({"poetry.lock", "uv.lock", "pipfile.lock", "pdm.lock", "conda-lock.yml", "requirements.lock"})
RequirementsKind = Literal["pip", "pyproject", "conda", "pipenv"]
_CONDA_PIN = re.compile(r"^[\w.\-\[\]]+\s*==?\s*\d")
_POETRY_EXACT = re.compile(r"^\d[\w.]*$")


class RequirementsFile(BaseModel):
    """One dependency file; `pinned_fraction` is None when it lists nothing."""

    path: str
    kind: RequirementsKind
    requirements: int = 0
    pinned: int = 0
    pinned_fraction: float | None = None
    problem: str | None = None
    # How it was decoded, when not plain UTF-8 (e.g. "utf-16-le (byte-order mark)", "cp1252").
    encoding: str | None = None


def kind_of(entry: FileEntry) -> RequirementsKind | None:
    lower = entry.name.lower()
    folder = posixpath.basename(entry.parent).lower()
    if lower.endswith((".txt", ".in")) and (lower.startswith("requirements") or folder == "requirements"):
        return "pip"
    if lower == "pyproject.toml":
        return "pyproject"
    if lower in ("environment.yml", "environment.yaml", "conda.yml", "conda.yaml"):
        return "conda"
    if entry.name == "Pipfile":
        return "pipenv"
    return None


def find_requirements(files: Iterable[FileEntry]) -> tuple[list[RequirementsFile], list[str]]:
    """Every dependency file with its pinning, and every lock file's path."""
    found, locks = [], []
    for entry in files:
        if entry.name.lower() in LOCK_NAMES:
            locks.append(entry.rel)
        kind = kind_of(entry)
        if kind is not None:
            found.append(inspect_requirements(entry, kind))
    found.sort(key=lambda item: (item.path.count("/"), item.path))
    return found, locks


def inspect_requirements(entry: FileEntry, kind: RequirementsKind) -> RequirementsFile:
    """Count requirement lines and pinned ones (`==`, or an exact version where the tool means that)."""
    found = RequirementsFile(path=entry.rel, kind=kind)
    try:
        decoded = read_decoded(entry, REQUIREMENTS_CAP)
        found.encoding = decoded.described if decoded.encoding != "utf-8" else None
        if decoded.binary:
            raise Unreadable(f"'{entry.rel}' is binary, not text; not read")
        pins = _PARSERS[kind](decoded.text)
    except Unreadable as exc:
        found.problem = str(exc)
        return found
    except (tomllib.TOMLDecodeError, yaml.YAMLError, RecursionError) as exc:
        found.problem = f"'{entry.rel}' cannot be parsed: {str(exc).splitlines()[0]}"
        return found
    found.requirements = len(pins)
    found.pinned = sum(pins)
    found.pinned_fraction = round(found.pinned / found.requirements, 3) if pins else None
    return found


def _pip_lines(lines: Iterable[object]) -> list[bool]:
    pins = []
    for line in lines:
        if not isinstance(line, str):
            continue
        requirement = line.split(" #", 1)[0].strip()
        if not requirement or requirement.startswith(("#", "-")):
            continue
        pins.append("==" in requirement)
    return pins


def _pip(text: str) -> list[bool]:
    return _pip_lines(text.splitlines())


def _pyproject(text: str) -> list[bool]:
    data = tomllib.loads(text)
    project = data.get("project", {})
    pins = _pip_lines(project.get("dependencies", []) if isinstance(project, dict) else [])
    poetry = data.get("tool", {}).get("poetry", {}) if isinstance(data.get("tool"), dict) else {}
    dependencies = poetry.get("dependencies", {}) if isinstance(poetry, dict) else {}
    for name, spec in dependencies.items() if isinstance(dependencies, dict) else []:
        if name.lower() == "python":
            continue
        version = spec.get("version", "") if isinstance(spec, dict) else spec
        pins.append(isinstance(version, str) and (version.startswith("==") or bool(_POETRY_EXACT.match(version))))
    return pins


def _conda(text: str) -> list[bool]:
    data = yaml.safe_load(text)
    dependencies = data.get("dependencies", []) if isinstance(data, dict) else []
    pins = []
    for item in dependencies if isinstance(dependencies, list) else []:
        if isinstance(item, dict):
            pins += _pip_lines(item.get("pip", []) or [])
        elif isinstance(item, str):
            pins.append(bool(_CONDA_PIN.match(item)))
    return pins


def _pipenv(text: str) -> list[bool]:
    packages = tomllib.loads(text).get("packages", {})
    pins = []
    for spec in packages.values() if isinstance(packages, dict) else []:
        version = spec.get("version", "*") if isinstance(spec, dict) else spec
        pins.append(isinstance(version, str) and version.startswith("=="))
    return pins


_PARSERS = {"pip": _pip, "pyproject": _pyproject, "conda": _conda, "pipenv": _pipenv}

"""The evidence paths a rubric may read: the stages' declarations, and the evidence's own shape.

A path is known when a stage declares it (a check id, `audit.leak_named`; anything after a
check id is its `detail`, `quotes` or one of its figures), or when it follows the fields of
the typed evidence (`modeling.holdout.oracle.pr_auc`, `submission.readme.words`,
`stages.serving.status`). Anything else is a typo or a renamed check: the rubric is refused
at load with the closest known path, instead of giving every candidate 0 for it.
"""

from __future__ import annotations

import difflib
import types
import typing
from functools import lru_cache

from pydantic import BaseModel

from grader.stages.base import StageName
from grader.stages.evidence import Evidence
from grader.stages.pipelines import CHECK, GRADE

# `modeling.holdout.<who>` picks one holdout score (grader.rubric.paths).
HOLDOUT_WHO = ("candidate", "reference", "oracle")
_MAX_DEPTH = 5


@lru_cache(maxsize=1)
def declared_paths() -> dict[str, StageName]:
    """Every evidence path a stage declares it records, with the stage that records it."""
    return {path: stage.name for stage in (*GRADE, *CHECK) for path in stage.records}


def _node_type(annotation: object) -> tuple[str, object] | None:
    """What a field holds: ('model', cls), ('list', item), ('dict', value), or None for a leaf."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for argument in typing.get_args(annotation):
            if argument is not type(None) and (found := _node_type(argument)) is not None:
                return found
        return None
    if origin in (list, tuple):
        arguments = typing.get_args(annotation)
        return ("list", arguments[0]) if arguments else None
    if origin is dict:
        arguments = typing.get_args(annotation)
        return ("dict", arguments[1]) if len(arguments) == 2 else ("dict", None)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return ("model", annotation)
    return None


def _follows_fields(model: type[BaseModel], parts: list[str], trail: list[str]) -> bool:
    """Whether `parts` walks the typed fields of `model` (lists of holdout scores by who, any dict key)."""
    if not parts:
        return True
    field = model.model_fields.get(parts[0])
    if field is None:
        return False
    node = _node_type(field.annotation)
    rest, trail = parts[1:], [*trail, parts[0]]
    while node is not None and rest:
        kind, inner = node
        if kind == "model":
            return _follows_fields(typing.cast(type[BaseModel], inner), rest, trail)
        if kind == "list" and trail[-1] == "holdout":
            if rest[0] not in HOLDOUT_WHO:
                return False
            rest, trail = rest[1:], [*trail, rest[0]]
        elif kind == "dict":
            rest, trail = rest[1:], [*trail, rest[0]]
        else:
            return False
        node = _node_type(inner) if inner is not None else None
    # A leaf (a number, a string, free-form figures) ends the path; more parts are unknown.
    return not rest or (node is None and parts[0] == "figures")


def _declared_prefix(path: str) -> str | None:
    """The longest declared path that `path` is, or starts with (a check and then a figure)."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        head = ".".join(parts[:cut])
        if head in declared_paths():
            return head
    return None


def is_known(path: str) -> bool:
    """Whether a rubric may read `path`: a declared check (and what follows it), or a typed field."""
    head = _declared_prefix(path)
    if head is not None and "." in head:
        return True
    return _follows_fields(Evidence, path.split("."), [])


@lru_cache(maxsize=1)
def known_paths() -> tuple[str, ...]:
    """Declared paths and typed fields a few levels deep: the candidates for 'did you mean'."""
    found = set(declared_paths())

    def walk(model: type[BaseModel], prefix: str, depth: int) -> None:
        for name, field in model.model_fields.items():
            path = f"{prefix}{name}"
            found.add(path)
            node = _node_type(field.annotation)
            if node is None or depth >= _MAX_DEPTH:
                continue
            kind, inner = node
            if kind == "list" and name == "holdout":
                for who in HOLDOUT_WHO:
                    if isinstance(inner, type) and issubclass(inner, BaseModel):
                        walk(inner, f"{path}.{who}.", depth + 2)
            elif kind == "model":
                walk(typing.cast(type[BaseModel], inner), f"{path}.", depth + 1)

    walk(Evidence, "", 0)
    return tuple(sorted(found))


def closest(path: str) -> str | None:
    """The known path nearest to a misspelt one, if any is near."""
    matches = difflib.get_close_matches(path, known_paths(), n=1, cutoff=0.6)
    return matches[0] if matches else None

"""TOML files read into pydantic models, every problem named by file, line and entry.

One way to read every TOML file the grader takes (the sandbox policy, world specs, rubrics,
interview scorecards and the question bank, cohort.toml, serving settings, a candidate's
takehome.toml): read, decode as UTF-8, parse, validate. A problem is one line,
`[what ]PATH:LINE: entry: what is wrong`, e.g. `rubric x.toml:88: sections[audit].criteria[drift_named]:
give exactly one rule ...`. tomllib gives a line only for syntax errors; for a value that
parses but is wrong, the line is found again from the entry's location, e.g.
`("sections", 2, "criteria", 0, "points")`: the third `[[sections]]` table, its first
`[[sections.criteria]]`, then its `points =` line (the table's own line when the key is absent).
Only the first MAX_PROBLEMS problems are shown; the rest are counted.
"""

from __future__ import annotations

import difflib
import re
import tomllib
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from grader.errors import BadInput

Location = tuple[str | int, ...]
# Names a location for a reader, from the file's data: `sections[audit].criteria[leak_named]`.
Describe = Callable[[Mapping[str, Any], Location], str]
MAX_PROBLEMS = 5
TOML_ERROR_LINE = re.compile(r"at line (\d+)")
# A line that is a table header and nothing else: `[name]` or `[[name]]`, an optional comment.
_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\[\]#]+?)\s*\]\]?\s*(?:#.*)?$")
Model = TypeVar("Model", bound=BaseModel)


class TomlModel(BaseModel):
    """What a TOML file holds; unknown keys are refused, so a misspelt one is an error, not a silent default."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class _Header(NamedTuple):
    line: int  # 0-based
    name: str  # dotted: `sections.criteria`
    array: bool  # `[[name]]`


@dataclass(frozen=True)
class Problem:
    """Something wrong at a place in a file; its line is looked up only when it is shown."""

    source: TomlFile
    loc: Location
    message: str

    def __str__(self) -> str:
        return f"{self.source.label}:{self.source.line_of(self.loc)}: {self.message}"


@dataclass(frozen=True)
class TomlFile:
    """A parsed TOML file with its text, to point at lines, and how its problems are raised.

    `what` names the kind of file in messages ("rubric", "sandbox policy"; empty: the path
    alone); `error` is the exception its problems raise.
    """

    path: Path | str
    text: str
    data: dict[str, Any]
    what: str = ""
    error: type[Exception] = field(default=BadInput)

    @property
    def label(self) -> str:
        return f"{self.what} {self.path}" if self.what else str(self.path)

    @cached_property
    def lines(self) -> list[str]:
        return self.text.splitlines()

    @cached_property
    def _headers(self) -> list[_Header]:
        """Every table header, in order (lines inside a multi-line string are not headers)."""
        found: list[_Header] = []
        quote: str | None = None
        for n, line in enumerate(self.lines):
            if quote is None and (match := _HEADER.match(line)):
                name = ".".join(part.strip().strip("\"'") for part in match.group(2).split("."))
                found.append(_Header(n, name, match.group(1) == "[["))
            for mark in ('"""', "'''"):
                if (quote is None or quote == mark) and line.count(mark) % 2:
                    quote = None if quote == mark else mark
        return found

    def _end(self, header: _Header, stop: int) -> int:
        """Where the table opened by `header` ends: at the next header that is not one of its sub-tables."""
        for other in self._headers:
            if header.line < other.line < stop:
                sub_table = other.name.startswith(header.name + ".")
                if not sub_table or (other.name == header.name and other.array):
                    return other.line
        return stop

    def line_of(self, loc: Location) -> int:
        """The 1-based line of the entry at `loc`; the enclosing table's line when the key itself is absent."""
        start, stop = 0, len(self.lines)  # the current table, its sub-tables included
        opened: int | None = None  # the line of its header (None: the top level)
        prefix = ""
        parts = list(loc)
        while parts:
            key = parts.pop(0)
            if isinstance(key, int):
                break  # an item of an inline array: its key's line was the best there is
            name = prefix + key
            inside = [h for h in self._headers if start <= h.line < stop and h.line != opened]
            header: _Header | None = None
            index = parts[0] if parts else None
            if isinstance(index, int):
                entries = [h for h in inside if h.name == name and h.array]
                if index < len(entries):
                    header = entries[index]
                    parts.pop(0)
            if header is None:
                header = next((h for h in inside if h.name == name and not h.array), None)
            if header is None:
                own_end = next((h.line for h in self._headers if h.line > (opened if opened is not None else -1)), stop)
                found = self._key_line(key, opened + 1 if opened is not None else 0, min(own_end, stop))
                return found or (opened + 1 if opened is not None else 1)
            start, stop, opened, prefix = header.line, self._end(header, stop), header.line, name + "."
        return opened + 1 if opened is not None else 1

    def _key_line(self, key: str, start: int, stop: int) -> int | None:
        pattern = re.compile(rf"""^\s*(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')\s*=""")
        return next((n + 1 for n in range(start, stop) if pattern.match(self.lines[n])), None)

    def problem(self, loc: Location, message: str) -> Problem:
        return Problem(self, loc, message)

    def fail(self, message: str, line: int = 1) -> Exception:
        """This file's error for one problem not tied to an entry."""
        return self.error(f"{self.label}:{line}: {message}")


def parse_toml(text: str, path: Path | str, *, what: str = "", error: type[Exception] = BadInput) -> TomlFile:
    """Parse TOML text read from `path` (shown in messages); `error` names the file and the line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = TOML_ERROR_LINE.search(str(exc))
        line = int(found.group(1)) if found else max(1, len(text.splitlines()))
        raise error(f"{f'{what} ' if what else ''}{path}:{line}: not valid TOML: {exc}") from None
    return TomlFile(path, text, data, what, error)


def read_toml(
    path: Path,
    *,
    what: str = "",
    error: type[Exception] = BadInput,
    max_bytes: int | None = None,
    kind: str = "this file",
) -> TomlFile:
    """Read and parse `path`; `max_bytes` refuses a larger file unread (`kind`, e.g. "a scorecard", says what it should be)."""
    label = f"{what} {path}" if what else str(path)
    try:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise error(
                f"{label}: {size // 1024} KB, over the {max_bytes // 1024} KB {kind} may be: is it the right file?"
            )
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"{label}: cannot read it ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise error(f"{label}:1: not UTF-8 text") from None
    return parse_toml(text, path, what=what, error=error)


def name_entries(labels: tuple[str, ...] = ("id", "name")) -> Describe:
    """Names locations by their tables, list items by their first `labels` key: `sections[audit].criteria[leak]`."""

    def describe(data: Mapping[str, Any], loc: Location) -> str:
        parts: list[str] = []
        node: Any = data
        for item in loc:
            if isinstance(item, int) and isinstance(node, list) and parts:
                element = node[item] if item < len(node) else None
                label = (
                    next((element.get(k) for k in labels if element.get(k)), None)
                    if isinstance(element, dict)
                    else None
                )
                parts[-1] += f"[{label}]" if label else f"[{item}]"
                node = element
            else:
                parts.append(str(item))
                node = node.get(item) if isinstance(node, dict) else None
        return ".".join(parts)

    return describe


def _unwrap(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds, through Optional, lists and dicts; None for a leaf."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list, tuple, dict):
        for argument in typing.get_args(annotation):
            if (found := _unwrap(argument)) is not None:
                return found
        return None
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _fields_at(model: type[BaseModel], loc: Location) -> list[str]:
    """The keys the model accepts at `loc` (by alias where it has one), for 'did you mean'."""
    current: type[BaseModel] | None = model
    for item in loc:
        if current is None:
            return []
        if isinstance(item, int):
            continue
        match = next((f for n, f in current.model_fields.items() if item in (n, f.alias)), None)
        current = _unwrap(match.annotation) if match is not None else None
    if current is None:
        return []
    return [f.alias or n for n, f in current.model_fields.items()]


def _message(model: type[BaseModel], error: Mapping[str, Any], data: Mapping[str, Any], describe: Describe) -> str:
    loc = tuple(error["loc"])
    where = f" in {describe(data, loc[:-1])}" if len(loc) > 1 else ""
    if error["type"] == "missing":
        return f"missing `{loc[-1]}`{where}"
    if error["type"] == "extra_forbidden":
        known = _fields_at(model, loc[:-1])
        near = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f" (did you mean `{near[0]}`?)" if near else f" (known: {', '.join(known)})" if known else ""
        return f"unknown field `{loc[-1]}`{where}{hint}"
    message = error["msg"].removeprefix("Value error, ")
    return f"{describe(data, loc)}: {message}" if loc else message


def validate(
    model: type[Model],
    source: TomlFile,
    *,
    describe: Describe | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> Model:
    """`model` from the file's data (tables in `defaults` stand in for ones the file lacks).

    The file's error lists the first problems, each with its line and entry.
    """
    data = {**(defaults or {}), **source.data}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        name = describe or name_entries()
        problems = [
            source.problem(tuple(error["loc"]), _message(model, error, source.data, name))
            for error in errors[:MAX_PROBLEMS]
        ]
        raise problems_error(problems, total=len(errors)) from None


def problems_error(problems: list[Problem], total: int | None = None) -> Exception:
    """One error for all the problems found: the first few, each `path:line: ...`, and how many more."""
    total = len(problems) if total is None else total
    more = f"; and {total - MAX_PROBLEMS} more" if total > MAX_PROBLEMS else ""
    return problems[0].source.error("; ".join(str(problem) for problem in problems[:MAX_PROBLEMS]) + more)


def load_toml(
    model: type[Model],
    path: Path,
    *,
    what: str = "",
    error: type[Exception] = BadInput,
    max_bytes: int | None = None,
    describe: Describe | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> Model:
    """Read, parse and validate `path` into `model`: `read_toml` then `validate`."""
    return validate(
        model, read_toml(path, what=what, error=error, max_bytes=max_bytes), describe=describe, defaults=defaults
    )

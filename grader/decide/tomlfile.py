"""TOML files whose every problem names the file and the line: `path:LINE: what is wrong`.

tomllib reports a line only for syntax errors; for a value that parses but is wrong (a
score of 5, an unknown id) the line is found again from the entry's location, e.g.
`("question", 2, "score")`: the third `[[question]]` table, then its `score =` line.
Only the first MAX_PROBLEMS problems are located (the rest are counted), and a file over
MAX_TOML_BYTES is refused unread: a scorecard is a page, not a data dump.
"""

from __future__ import annotations

import bisect
import re
import tomllib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from grader.errors import BadScorecard

Location = tuple[str | int, ...]
MAX_PROBLEMS = 5
MAX_TOML_BYTES = 256 * 1024
TOML_ERROR_LINE = re.compile(r"at line (\d+)")
ARRAY_TABLE = re.compile(r"^\s*\[\[\s*([^\]]*?)\s*\]\]")
Model = TypeVar("Model", bound=BaseModel)


class TomlModel(BaseModel):
    """What a TOML file holds; unknown keys are refused, so a misspelt one is an error, not a silent default."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


@dataclass(frozen=True)
class Problem:
    """Something wrong at a place in a file; its line is looked up only when it is shown."""

    source: TomlFile
    loc: Location
    message: str

    def __str__(self) -> str:
        return f"{self.source.path}:{self.source.line_of(self.loc)}: {self.message}"


@dataclass(frozen=True)
class TomlFile:
    """A parsed TOML file with its text, to point at lines."""

    path: Path
    text: str
    data: dict[str, Any]

    @cached_property
    def lines(self) -> list[str]:
        return self.text.splitlines()

    @cached_property
    def _headers(self) -> list[int]:
        """Indexes of the lines that open a table (`[x]` or `[[x]]`), in order."""
        return [n for n, line in enumerate(self.lines) if line.lstrip().startswith("[")]

    @cached_property
    def _array_tables(self) -> dict[str, list[int]]:
        """Each `[[name]]`'s header line indexes, in order: entry n of array `name` starts at [name][n]."""
        tables: dict[str, list[int]] = {}
        for n in self._headers:
            found = ARRAY_TABLE.match(self.lines[n])
            if found:
                tables.setdefault(found.group(1), []).append(n)
        return tables

    def line_of(self, loc: Location) -> int:
        """The line of the entry at `loc`; the enclosing table's line when the key itself is absent."""
        if not loc:
            return 1
        name, *rest = loc
        tables = self._array_tables.get(str(name), [])
        if rest and isinstance(rest[0], int) and rest[0] < len(tables):
            start = tables[rest[0]]
            after = bisect.bisect_right(self._headers, start)
            stop = self._headers[after] if after < len(self._headers) else len(self.lines)
            key = rest[1] if len(rest) > 1 and isinstance(rest[1], str) else None
            return (self._key_line(key, start + 1, stop) if key else None) or start + 1
        top_level_end = self._headers[0] if self._headers else len(self.lines)
        return self._key_line(str(name), 0, top_level_end) or 1

    def _key_line(self, key: str, start: int, stop: int) -> int | None:
        pattern = re.compile(rf"""^\s*(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')\s*=""")
        return next((n + 1 for n in range(start, stop) if pattern.match(self.lines[n])), None)

    def problem(self, loc: Location, message: str) -> Problem:
        return Problem(self, loc, message)


def read_toml(path: Path) -> TomlFile:
    """Parse `path`; BadScorecard names the file and, for a syntax error, the line."""
    try:
        size = path.stat().st_size
        if size > MAX_TOML_BYTES:
            raise BadScorecard(
                f"{path}: {size // 1024} KB, over the {MAX_TOML_BYTES // 1024} KB a scorecard may be: "
                "is it the right file?"
            )
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadScorecard(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise BadScorecard(f"{path}:1: not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = TOML_ERROR_LINE.search(str(exc))
        line = int(found.group(1)) if found else max(1, len(text.splitlines()))
        raise BadScorecard(f"{path}:{line}: not valid TOML: {exc}") from None
    return TomlFile(path, text, data)


def _describe(loc: Location) -> str:
    """("question", 2, "score") -> "question 3 score" (entries counted from 1, as a reader counts)."""
    return " ".join(str(part + 1) if isinstance(part, int) else part for part in loc)


def _message(error: dict[str, Any]) -> str:
    loc = tuple(error["loc"])
    if error["type"] == "missing":
        return f"missing `{loc[-1]}`" + (f" in {_describe(loc[:-1])}" if len(loc) > 1 else "")
    if error["type"] == "extra_forbidden":
        return f"unknown field `{loc[-1]}`" + (f" in {_describe(loc[:-1])}" if len(loc) > 1 else "")
    message = error["msg"].removeprefix("Value error, ")
    return f"{_describe(loc)}: {message}" if loc else message


def validate(model: type[Model], source: TomlFile) -> Model:
    """`model` from the file's data; BadScorecard lists the first problems, each with its line."""
    try:
        return model.model_validate(source.data)
    except ValidationError as exc:
        errors = exc.errors()
        problems = [source.problem(tuple(error["loc"]), _message(error)) for error in errors[:MAX_PROBLEMS]]
        raise problems_error(problems, total=len(errors)) from None


def problems_error(problems: list[Problem], total: int | None = None) -> BadScorecard:
    """One error for all the problems found: the first few, each `path:line: ...`, and how many more."""
    total = len(problems) if total is None else total
    more = f"; and {total - MAX_PROBLEMS} more" if total > MAX_PROBLEMS else ""
    return BadScorecard("; ".join(str(problem) for problem in problems[:MAX_PROBLEMS]) + more)

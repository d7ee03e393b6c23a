"""TOML files whose every problem names the file and the line: `path:LINE: what is wrong`.

tomllib reports a line only for syntax errors; for a value that parses but is wrong (a
score of 5, an unknown id) the line is found again from the entry's location, e.g.
`("question", 2, "score")`: the third `[[question]]` table, then its `score =` line.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from grader.errors import BadScorecard

Location = tuple[str | int, ...]
MAX_PROBLEMS = 5
TOML_ERROR_LINE = re.compile(r"at line (\d+)")
Model = TypeVar("Model", bound=BaseModel)


class TomlModel(BaseModel):
    """What a TOML file holds; unknown keys are refused, so a misspelt one is an error, not a silent default."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


@dataclass(frozen=True)
class TomlFile:
    """A parsed TOML file with its text, to point at lines."""

    path: Path
    text: str
    data: dict[str, Any]

    def line_of(self, loc: Location) -> int:
        """The line of the entry at `loc`; the enclosing table's line when the key itself is absent."""
        lines = self.text.splitlines()
        headers = [n for n, line in enumerate(lines) if line.lstrip().startswith("[")]
        if not loc:
            return 1
        name, *rest = loc
        if rest and isinstance(rest[0], int):
            array = re.compile(rf"^\s*\[\[\s*{re.escape(str(name))}\s*\]\]")
            tables = [n for n in headers if array.match(lines[n])]
            if rest[0] < len(tables):
                start = tables[rest[0]]
                stop = next((n for n in headers if n > start), len(lines))
                key = rest[1] if len(rest) > 1 and isinstance(rest[1], str) else None
                return (_key_line(lines, key, start + 1, stop) if key else None) or start + 1
        top_level_end = headers[0] if headers else len(lines)
        return _key_line(lines, str(name), 0, top_level_end) or 1

    def problem(self, loc: Location, message: str) -> str:
        return f"{self.path}:{self.line_of(loc)}: {message}"


def _key_line(lines: list[str], key: str, start: int, stop: int) -> int | None:
    pattern = re.compile(rf"""^\s*(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')\s*=""")
    return next((n + 1 for n in range(start, stop) if pattern.match(lines[n])), None)


def read_toml(path: Path) -> TomlFile:
    """Parse `path`; BadScorecard names the file and, for a syntax error, the line."""
    try:
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
        raise problems_error([source.problem(tuple(error["loc"]), _message(error)) for error in exc.errors()]) from None


def problems_error(problems: list[str]) -> BadScorecard:
    """One error for all the problems found (the first few, each already `path:line: ...`)."""
    more = f"; and {len(problems) - MAX_PROBLEMS} more" if len(problems) > MAX_PROBLEMS else ""
    return BadScorecard("; ".join(problems[:MAX_PROBLEMS]) + more)

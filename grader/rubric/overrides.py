"""Reviewer overrides: a person changes a criterion's points or a red flag, with a reason.

An overrides file may hold a whole cohort's overrides; each entry names its candidate:

    [[override]]
    candidate = "ada-123"
    criterion = "judgment.ownership"      # section.criterion, or "bonus"
    points = 1.0
    reason = "on-call is covered in the runbook linked from the README"
    reviewer = "m.jones"

    [[override]]
    candidate = "ada-123"
    red_flag = "offline_online_confusion"
    raised = false
    reason = "the README's 'Rollout' section describes an online test"
    reviewer = "m.jones"

A red_flag override also settles the README review items for that flag (report.json `review`):
`raised = true` confirms them (the flag counts), `raised = false` clears them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from grader.errors import GraderError
from grader.rubric.model import Rubric
from grader.tomlfile import Location, TomlFile, TomlModel, parse_toml, read_toml, validate

BONUS_TARGET = "bonus"


class OverridesError(GraderError):
    """An overrides file that cannot be read or names something the rubric does not have."""


class OverrideEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    candidate: str = Field(min_length=1)
    criterion: str | None = None
    red_flag: str | None = None
    points: float | None = None
    raised: bool | None = None
    reason: str = Field(min_length=3)
    reviewer: str = Field(min_length=1)

    @model_validator(mode="after")
    def _one_target(self) -> OverrideEntry:
        if (self.criterion is None) == (self.red_flag is None):
            raise ValueError("name exactly one of criterion or red_flag")
        if self.criterion is not None and (self.points is None or self.raised is not None):
            raise ValueError("a criterion override gives points (and not raised)")
        if self.red_flag is not None and (self.raised is None or self.points is not None):
            raise ValueError("a red_flag override gives raised = true/false (and not points)")
        return self

    @property
    def target(self) -> str:
        return self.criterion or f"red_flag.{self.red_flag}"


class Overrides(BaseModel):
    override: list[OverrideEntry] = Field(default_factory=list)
    source: str = ""

    def for_candidate(self, candidate: str) -> list[OverrideEntry]:
        return [entry for entry in self.override if entry.candidate == candidate]


class _OverridesFile(TomlModel):
    override: list[OverrideEntry] = Field(default_factory=list)


def _label(index: int, raw: object) -> str:
    raw = raw if isinstance(raw, dict) else {}
    target = raw.get("criterion") or raw.get("red_flag") or "?"
    return f"override[{index}] ({raw.get('candidate', '?')}, {target})"


def _describe(data: Mapping[str, Any], loc: Location) -> str:
    """("override", 0, "points") -> "override[0] (ada-123, judgment.ownership).points"."""
    if len(loc) >= 2 and loc[0] == "override" and isinstance(loc[1], int):
        entries = data.get("override")
        raw = entries[loc[1]] if isinstance(entries, list) and loc[1] < len(entries) else None
        return ".".join([_label(loc[1], raw), *map(str, loc[2:])])
    return ".".join(map(str, loc))


def parse_overrides(text: str, rubric: Rubric, source: str = "<overrides>") -> Overrides:
    """Overrides from TOML text, each checked against the rubric."""
    return _checked(parse_toml(text, source, what="overrides", error=OverridesError), rubric)


def _checked(source: TomlFile, rubric: Rubric) -> Overrides:
    entries = validate(_OverridesFile, source, describe=_describe).override
    seen: set[tuple[str, str]] = set()
    for index, entry in enumerate(entries):
        problem = _against(entry, rubric)
        if problem is None and (entry.candidate, entry.target) in seen:
            problem = "a second override of the same thing for this candidate"
        if problem is not None:
            where = _label(index, source.data["override"][index])
            raise source.fail(f"{where}: {problem}", source.line_of(("override", index)))
        seen.add((entry.candidate, entry.target))
    return Overrides(override=entries, source=str(source.path))


def _against(entry: OverrideEntry, rubric: Rubric) -> str | None:
    """What is wrong with `entry` for this rubric: a target it does not have, or points out of range."""
    if entry.red_flag is not None:
        if entry.red_flag not in {flag.id for flag in rubric.red_flags}:
            known = ", ".join(flag.id for flag in rubric.red_flags)
            return f"the rubric has no red flag {entry.red_flag!r} (it has: {known})"
        return None
    assert entry.criterion is not None and entry.points is not None
    if entry.criterion == BONUS_TARGET:
        if rubric.bonus is None:
            return "the rubric has no bonus"
        maximum = rubric.bonus.points
    else:
        criterion = rubric.criterion(entry.criterion)
        if criterion is None:
            return (
                f"the rubric has no criterion {entry.criterion!r}; "
                "name it as section.criterion (e.g. judgment.ownership) or 'bonus'"
            )
        maximum = criterion.points
    if not 0 <= entry.points <= maximum:
        return f"points {entry.points:g} outside 0-{maximum:g}"
    return None


def load_overrides(path: Path, rubric: Rubric) -> Overrides:
    """Read an overrides file and check every entry against the rubric."""
    return _checked(read_toml(Path(path), what="overrides", error=OverridesError), rubric)

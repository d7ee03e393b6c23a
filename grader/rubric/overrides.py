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
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from grader.errors import GraderError
from grader.rubric.model import Rubric

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


def _label(index: int, raw: dict) -> str:
    target = raw.get("criterion") or raw.get("red_flag") or "?"
    return f"override[{index}] ({raw.get('candidate', '?')}, {target})"


def parse_overrides(text: str, rubric: Rubric, source: str = "<overrides>") -> Overrides:
    """Overrides from TOML text, each checked against the rubric."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise OverridesError(f"overrides {source}: not valid TOML: {exc}") from None
    unknown = sorted(set(raw) - {"override"})
    if unknown:
        raise OverridesError(
            f"overrides {source}: unknown key(s) {', '.join(unknown)}; entries are [[override]] tables"
        )
    entries = raw.get("override", [])
    if not isinstance(entries, list):
        raise OverridesError(f"overrides {source}: 'override' must be [[override]] tables")
    parsed: list[OverrideEntry] = []
    seen: set[tuple[str, str]] = set()
    for index, item in enumerate(entries):
        label = _label(index, item if isinstance(item, dict) else {})
        try:
            entry = OverrideEntry.model_validate(item)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'entry'}: {e['msg'].removeprefix('Value error, ')}"
                for e in exc.errors()
            )
            raise OverridesError(f"overrides {source}: {label}: {problems}") from None
        _check_against(entry, rubric, f"overrides {source}: {label}")
        if (entry.candidate, entry.target) in seen:
            raise OverridesError(f"overrides {source}: {label}: a second override of the same thing for this candidate")
        seen.add((entry.candidate, entry.target))
        parsed.append(entry)
    return Overrides(override=parsed, source=source)


def _check_against(entry: OverrideEntry, rubric: Rubric, where: str) -> None:
    if entry.red_flag is not None:
        if entry.red_flag not in {flag.id for flag in rubric.red_flags}:
            known = ", ".join(flag.id for flag in rubric.red_flags)
            raise OverridesError(f"{where}: the rubric has no red flag {entry.red_flag!r} (it has: {known})")
        return
    assert entry.criterion is not None and entry.points is not None
    if entry.criterion == BONUS_TARGET:
        if rubric.bonus is None:
            raise OverridesError(f"{where}: the rubric has no bonus")
        maximum = rubric.bonus.points
    else:
        criterion = rubric.criterion(entry.criterion)
        if criterion is None:
            raise OverridesError(
                f"{where}: the rubric has no criterion {entry.criterion!r}; "
                "name it as section.criterion (e.g. judgment.ownership) or 'bonus'"
            )
        maximum = criterion.points
    if not 0 <= entry.points <= maximum:
        raise OverridesError(f"{where}: points {entry.points:g} outside 0-{maximum:g}")


def load_overrides(path: Path, rubric: Rubric) -> Overrides:
    """Read an overrides file and check every entry against the rubric."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise OverridesError(f"overrides {path}: cannot read it ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise OverridesError(f"overrides {path}: not UTF-8 text") from None
    return parse_overrides(text, rubric, str(path))

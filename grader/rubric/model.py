"""The rubric as data: sections, criteria, red flags, bonus and pass rule, read from TOML.

A rubric only names evidence paths (`audit.leak_named`, `writeup.covers.data_drift.strength`,
`modeling.holdout.candidate.pr_auc`...) and how much each is worth; `grader.rubric.engine`
turns evidence into points with it. Each criterion has exactly one rule:

- `all` / `any`: conditions; full points when they hold, none otherwise;
- `share`: conditions; the share that holds, times the points;
- `scale`: a figure (optionally relative to another) mapped linearly from `zero_at` to
  `full_at` (either direction: lower is better when `full_at < zero_at`);
- `band`: a figure with full points inside [`full_from`, `full_to`], falling linearly
  to none at `zero_below` and `zero_above` (too short and far too long both cost);
- `sustained`: a load profile's steps (rate, p99_ms, valid) against a latency bar: full
  points when the lowest step at or above `full_at_rate` has its p99 under
  `p99_below_ms`; with `zero_at_rate`, partial points for the highest lower rate held.

Any criterion may add `requires`: conditions the work must meet before its rule is read (a
failed one gives no points and says which; an unknown one does not block).

A condition is a path (it holds when that check passed) or a table
`{evidence = "...", is = false | above = x | below = x | matches = "regex" | present = true}`.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from grader.errors import GraderError
from grader.tomlfile import TomlFile, name_entries, parse_toml, read_toml, validate

RUBRIC_SCHEMA = 1
DEFAULT_RUBRIC = Path(__file__).resolve().parents[2] / "rubrics" / "churn-take-home.toml"
# Where an evidence path may start: the top-level keys of evidence.json (plus the writeup).
EVIDENCE_ROOTS = (
    "audit",
    "modeling",
    "serving",
    "writeup",
    "submission",
    "stages",
    "claimed_pr_auc",
    "mlflow",
    "notebook_run",
)
TOLERANCE = 1e-6
RULES = ("all", "any", "share", "scale", "band", "sustained")


class RubricError(GraderError):
    """A rubric file that is missing, not TOML, or has an invalid entry (named in the message)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _check_path(path: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][\w-]*(\.[\w'-]+)*", path):
        raise ValueError(f"evidence path {path!r} is not dotted names (e.g. audit.leak_named)")
    root = path.split(".")[0]
    if root not in EVIDENCE_ROOTS:
        raise ValueError(f"evidence path {path!r} starts with {root!r}; use one of {', '.join(EVIDENCE_ROOTS)}")
    return path


class Condition(_Strict):
    """One test on one evidence path; with no operator, the check at that path must have passed."""

    evidence: str
    is_: bool | None = Field(default=None, alias="is")
    above: float | None = None
    below: float | None = None
    matches: str | None = None
    present: bool | None = None

    check_evidence_path = field_validator("evidence")(_check_path)

    @model_validator(mode="after")
    def _one_operator(self) -> Condition:
        given = [name for name in ("is_", "above", "below", "matches", "present") if getattr(self, name) is not None]
        if len(given) > 1 and set(given) != {"above", "below"}:
            raise ValueError(f"condition on {self.evidence!r} has several operators ({', '.join(given)}); give one")
        if self.matches is not None:
            try:
                re.compile(self.matches)
            except re.error as exc:
                raise ValueError(f"condition on {self.evidence!r}: bad regex {self.matches!r}: {exc}") from exc
        return self

    def describe(self) -> str:
        if self.present is not None:
            return f"{self.evidence} {'present' if self.present else 'absent'}"
        if self.matches is not None:
            return f"{self.evidence} matches /{self.matches}/"
        bounds = [
            f"> {self.above:g}" if self.above is not None else "",
            f"< {self.below:g}" if self.below is not None else "",
        ]
        if any(bounds):
            return f"{self.evidence} {' and '.join(b for b in bounds if b)}"
        return self.evidence if self.is_ in (None, True) else f"{self.evidence} is false"


def _check_optional_path(path: str | None) -> str | None:
    return None if path is None else _check_path(path)


def _conditions(value: Any) -> Any:
    """A bare string is shorthand for `{evidence = "..."}`."""
    if isinstance(value, list):
        return [{"evidence": item} if isinstance(item, str) else item for item in value]
    return value


class Scale(_Strict):
    evidence: str
    relative_to: str | None = None
    compare: Literal["ratio", "difference"] = "ratio"
    zero_at: float
    full_at: float

    check_evidence_paths = field_validator("evidence", "relative_to")(_check_optional_path)

    @model_validator(mode="after")
    def _distinct(self) -> Scale:
        if self.zero_at == self.full_at:
            raise ValueError(f"scale on {self.evidence!r}: zero_at and full_at are both {self.zero_at:g}")
        return self


class Band(_Strict):
    evidence: str
    zero_below: float
    full_from: float
    full_to: float
    zero_above: float

    check_evidence_path = field_validator("evidence")(_check_path)

    @model_validator(mode="after")
    def _ordered(self) -> Band:
        if not self.zero_below < self.full_from <= self.full_to < self.zero_above:
            raise ValueError(f"band on {self.evidence!r} needs zero_below < full_from <= full_to < zero_above")
        return self


class Sustained(_Strict):
    """Latency under load: the p99 bar held at a request rate, read from the load probe's steps.

    Judged on the lowest step at or above `full_at_rate` (the guide's bar): full points
    when its p99 is under `p99_below_ms`. When it is not, none, unless `zero_at_rate` is
    given: then the points grow linearly from `zero_at_rate` to `full_at_rate` with the
    highest lower rate whose valid step held the bar. No step at the bar rate, or an
    invalid one there (the probe fell behind), is "not verifiable".
    """

    evidence: str
    p99_below_ms: float = Field(gt=0)
    full_at_rate: float = Field(gt=0)
    zero_at_rate: float | None = Field(default=None, ge=0)

    check_evidence_path = field_validator("evidence")(_check_path)

    @model_validator(mode="after")
    def _ordered(self) -> Sustained:
        if self.zero_at_rate is not None and self.zero_at_rate >= self.full_at_rate:
            raise ValueError(f"sustained on {self.evidence!r} needs zero_at_rate < full_at_rate")
        return self

    def describe(self) -> str:
        bar = f"p99 < {self.p99_below_ms:g} ms at {self.full_at_rate:g} requests/s"
        return bar + (f" (none at {self.zero_at_rate:g})" if self.zero_at_rate is not None else "")


class Criterion(_Strict):
    id: str
    title: str
    points: float = Field(gt=0)
    all: list[Condition] | None = None
    any: list[Condition] | None = None
    share: list[Condition] | None = None
    scale: Scale | None = None
    band: Band | None = None
    sustained: Sustained | None = None
    # Conditions the work must meet before its rule is read at all (e.g. the service serves a
    # model, not a constant): one that fails gives no points; an unknown one does not block.
    requires: list[Condition] | None = None
    # Share of the points given when the evidence could not be verified (e.g. a local backend).
    unknown: float = Field(default=0.0, ge=0, le=1)
    note: str = ""

    expand_conditions = field_validator("all", "any", "share", "requires", mode="before")(_conditions)

    @model_validator(mode="after")
    def _one_rule(self) -> Criterion:
        rules = [name for name in RULES if getattr(self, name) is not None]
        if len(rules) != 1:
            raise ValueError(f"give exactly one rule of {', '.join(RULES)} (found {', '.join(rules) or 'none'})")
        if any(getattr(self, name) == [] for name in ("all", "any", "share", "requires")):
            raise ValueError("an empty condition list")
        return self

    def paths(self) -> list[str]:
        conditions = self.all or self.any or self.share or []
        found = [c.evidence for c in conditions]
        if self.scale:
            found += [p for p in (self.scale.evidence, self.scale.relative_to) if p]
        if self.band:
            found.append(self.band.evidence)
        if self.sustained:
            found.append(self.sustained.evidence)
        found += [c.evidence for c in self.requires or []]
        return found


class Section(_Strict):
    id: str
    title: str
    weight: float = Field(gt=0)
    # The evidence key this section reads; when it is absent the section is not graded.
    requires: str
    criteria: list[Criterion]

    @model_validator(mode="after")
    def _points_add_up(self) -> Section:
        ids = [c.id for c in self.criteria]
        duplicated = sorted({i for i in ids if ids.count(i) > 1})
        if duplicated:
            raise ValueError(f"criterion ids repeated: {', '.join(duplicated)}")
        total = sum(c.points for c in self.criteria)
        if abs(total - self.weight) > TOLERANCE:
            raise ValueError(f"criteria points add up to {total:g}, not the section weight {self.weight:g}")
        return self


class RedFlag(_Strict):
    id: str
    message: str
    all: list[Condition] | None = None
    any: list[Condition] | None = None
    note: str = ""

    expand_conditions = field_validator("all", "any", mode="before")(_conditions)

    @model_validator(mode="after")
    def _one_rule(self) -> RedFlag:
        if (self.all is None) == (self.any is None) or not (self.all or self.any):
            raise ValueError("give exactly one non-empty rule: all or any")
        return self


class Bonus(_Strict):
    id: str
    title: str
    points: float = Field(gt=0)
    all: list[Condition]

    expand_conditions = field_validator("all", mode="before")(_conditions)


class PassRule(_Strict):
    mark: float = Field(ge=0, le=100)
    max_red_flags: int = Field(default=0, ge=0)
    # A section that could not be graded (its stage did not run) makes the verdict "incomplete".
    require_all_sections: bool = True
    bonus_counts: bool = False


class Levels(_Strict):
    """Share of a section's maximum where levels 2, 3 and 4 start (the guide's 1-4 scale)."""

    thresholds: tuple[float, float, float] = (0.4, 0.65, 0.85)
    meaning: tuple[str, str, str, str] = (
        "misses most of the rubric or gives platitudes",
        "hits some points but does not go deep",
        "covers the rubric",
        "covers the rubric and adds nuance, trade-offs or real examples",
    )

    @field_validator("thresholds")
    @classmethod
    def _increasing(cls, value: tuple[float, float, float]) -> tuple[float, float, float]:
        if not 0 < value[0] < value[1] < value[2] <= 1:
            raise ValueError("thresholds must increase strictly within (0, 1]")
        return value

    def level(self, share: float) -> int:
        return 1 + sum(share >= t - TOLERANCE for t in self.thresholds)


class Rubric(_Strict):
    schema_version: int
    id: str
    title: str
    version: str
    description: str = ""
    pass_rule: PassRule
    levels: Levels = Field(default_factory=Levels)
    bonus: Bonus | None = None
    sections: list[Section]
    red_flags: list[RedFlag] = Field(default_factory=list)
    # Set by load_rubric: the file's hash, so a report names the exact rubric it used.
    sha256: str = ""

    @field_validator("schema_version")
    @classmethod
    def _known_schema(cls, value: int) -> int:
        if value != RUBRIC_SCHEMA:
            raise ValueError(f"schema_version {value} is not supported (this grader reads {RUBRIC_SCHEMA})")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Rubric:
        for kind, ids in (("section", [s.id for s in self.sections]), ("red flag", [f.id for f in self.red_flags])):
            duplicated = sorted({i for i in ids if ids.count(i) > 1})
            if duplicated:
                raise ValueError(f"{kind} ids repeated: {', '.join(duplicated)}")
        total = sum(s.weight for s in self.sections)
        if abs(total - 100) > TOLERANCE:
            raise ValueError(f"section weights add up to {total:g}, not 100")
        return self

    def section(self, section_id: str) -> Section:
        return next(s for s in self.sections if s.id == section_id)

    def latency_bar(self) -> Sustained | None:
        """The first `sustained` rule: the latency bar a report draws next to the load profile."""
        return next((c.sustained for s in self.sections for c in s.criteria if c.sustained), None)

    def criterion(self, qualified_id: str) -> Criterion | None:
        """`section.criterion` -> the criterion, or None."""
        section_id, _, criterion_id = qualified_id.partition(".")
        for section in self.sections:
            if section.id == section_id:
                return next((c for c in section.criteria if c.id == criterion_id), None)
        return None


def parse_rubric(text: str, source: str = "<rubric>") -> Rubric:
    """A rubric from TOML text; RubricError names the file, the line and the bad entry."""
    return _validated(parse_toml(text, source, what="rubric", error=RubricError))


def _validated(source: TomlFile) -> Rubric:
    # List items are named by their id, conditions by their evidence path: sections[audit].criteria[leak].
    rubric = validate(Rubric, source, describe=name_entries(("id", "evidence")))
    _check_paths(rubric, source)
    return rubric.model_copy(update={"sha256": hashlib.sha256(source.text.encode()).hexdigest()})


def _check_paths(rubric: Rubric, source: TomlFile) -> None:
    """Every path the rubric reads must be one a stage records: a typo is refused at load, not a silent zero."""
    from grader.stages.registry import closest, is_known

    def refuse(where: str, loc: tuple[str | int, ...], path: str) -> None:
        if is_known(path):
            return
        near = closest(path)
        hint = f" (closest: {near})" if near else ""
        message = f"{where}: no stage records the evidence path {path!r}{hint}"
        raise source.fail(message, source.line_of(loc))

    for s, section in enumerate(rubric.sections):
        for c, criterion in enumerate(section.criteria):
            for path in criterion.paths():
                refuse(f"sections[{section.id}].criteria[{criterion.id}]", ("sections", s, "criteria", c), path)
    for f, flag in enumerate(rubric.red_flags):
        for condition in flag.all or flag.any or []:
            refuse(f"red_flags[{flag.id}]", ("red_flags", f), condition.evidence)
    if rubric.bonus:
        for condition in rubric.bonus.all:
            refuse(f"bonus[{rubric.bonus.id}]", ("bonus", "all"), condition.evidence)


def load_rubric(path: Path = DEFAULT_RUBRIC) -> Rubric:
    """Read and validate a rubric file."""
    return _validated(read_toml(Path(path), what="rubric", error=RubricError))

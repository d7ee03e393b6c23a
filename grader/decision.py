"""decision.json: the hiring decision for one candidate, a versioned contract (grader/report/SCHEMA.md).

Written by `grader decide` (`grader.decide`) next to the candidate's report.json; the reports
(`grader.report`) show it when it is there: both import it from here. Fields are only added
within `decision/2`; renaming or removing one bumps it. The same scorecards, report and guide
always give a byte-identical file.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, Field, ValidationError

from grader.errors import BadInput
from grader.fsutil import write_atomic
from grader.rubric.scorecard import DebriefQuestion, Scorecard

DECISION_SCHEMA: Final = "decision/2"
DECISION_FILE = "decision.json"
# pending: everything but the practical test says hire, and the practical could not be graded
# where it ran (the grader's environment), or its verdict is review (README wording a person
# must confirm or clear): no decision until it is graded again, or reviewed.
Recommendation = Literal["hire", "no hire", "pending"]


class Condition(BaseModel):
    """One condition of the hire rule, met or not, with the figure behind it."""

    id: Literal["overall", "red_flags", "practical"]
    met: bool
    detail: str
    pending: bool = Field(
        default=False,
        description="not judged yet: the practical was not graded where it ran, or a person must review it",
    )


class Average(BaseModel):
    """A mean of 1-4 scores: `value` cut (never rounded up) to two decimals, `exact` as a fraction."""

    value: float
    exact: str

    def text(self) -> str:
        return f"{self.value:.2f}"


class QuestionScores(BaseModel):
    """One question and every interviewer's score for it."""

    key: str = Field(description="the bank id, or `outside: <the words>` for a question outside the bank")
    id: str | None = Field(description="the bank id; null outside the bank")
    text: str
    category: str
    difficulty: str | None
    scores: dict[str, int] = Field(description="interviewer -> score 1-4")
    average: Average
    notes: dict[str, str] = Field(default_factory=dict, description="interviewer -> their notes on it (when any)")

    @property
    def outside_bank(self) -> bool:
        return self.id is None


class CategoryResult(BaseModel):
    questions: int
    average: Average | None = Field(description="null when no question of this category was asked")


class Disagreement(BaseModel):
    """Interviewers 2 or more points apart on the same question."""

    key: str
    text: str
    scores: dict[str, int]
    spread: int


class RaisedFlag(BaseModel):
    """A red flag of the guide's list, and who raised it."""

    id: str = Field(description="the guide flag id (interview/red-flags.toml)")
    text: str = Field(description="the guide's words")
    source: Literal["interview", "practical"]
    by: str = Field(description="the interviewer, or the practical report's red flag id")
    note: str = ""

    def origin(self) -> str:
        return f"{self.source}: {self.by}"


class UncountedFlag(BaseModel):
    """A practical-report red flag that is not on the guide's list: shown, not counted."""

    id: str
    message: str


class Interviewer(BaseModel):
    interviewer: str
    date: datetime.date
    file: str = Field(description="the scorecard's file name")
    notes: str = Field(default="", description="the scorecard's overall notes")


class Practical(BaseModel):
    """What the decision read from the practical test's report.json."""

    report: str
    passed: bool
    verdict: str
    total: float
    max: float
    verdict_reasons: list[str]
    red_flags: list[str] = Field(description="raised red flag ids of the report")
    environment: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "the report's stages the grader's environment kept from running (stage -> what happened, what to do)"
        ),
    )
    review: list[str] = Field(
        default_factory=list,
        description="red flags the README's wording suggests and no reviewer settled: the verdict is review for them",
    )

    @classmethod
    def of(cls, card: Scorecard, report: str) -> Practical:
        return cls(
            report=report,
            passed=card.passed,
            verdict=card.verdict,
            total=card.total,
            max=card.max,
            verdict_reasons=card.verdict_reasons,
            red_flags=sorted(f.id for f in card.red_flags),
            environment=card.environment,
            review=sorted({item.flag for item in card.open_review()}),
        )


class FollowUp(DebriefQuestion):
    """A debrief question of the practical report, with the guide's question and what to look for when `bank` names one."""

    bank_question: str | None = Field(default=None, description="the guide's words for the bank question")
    look_for: str | None = Field(default=None, description="the guide's 'what to look for' for it")


class Decision(BaseModel):
    """decision.json."""

    schema_version: Literal["decision/2"] = DECISION_SCHEMA
    candidate: str
    recommendation: Recommendation
    hire: bool
    rule: str
    reasons: list[Condition] = Field(description="every condition of the rule, met or not")
    overall: Average | None = Field(description="mean of the three category averages; null when one is missing")
    categories: dict[str, CategoryResult]
    role_level: str
    interviewers: list[Interviewer]
    questions: list[QuestionScores]
    disagreements: list[Disagreement]
    red_flags: list[RaisedFlag] = Field(description="raised flags of the guide's list, from both sources")
    practical: Practical | None = Field(description="null when there was no practical report")
    practical_flags_not_counted: list[UncountedFlag]
    category_warnings: list[str] = Field(description="categories under 3.0 while the overall passes: weigh them")
    mix_warnings: list[str] = Field(description="each scorecard's shortfalls against the guide's interview mix")
    guide_sha256: str = Field(description="hash of the question bank and red-flag files used")
    follow_ups: list[FollowUp] = Field(
        default_factory=list, description="the practical report's debrief questions, with the guide's where they fit"
    )

    @property
    def pending(self) -> bool:
        return self.recommendation == "pending"

    def stale_against(self, card: Scorecard) -> str | None:
        """What changed in the practical report `card` since this decision, or None when nothing did."""
        if self.practical is None:
            return f"decided before the practical report existed, which is now {card.verdict} {card.total:g}"
        now = Practical.of(card, self.practical.report)
        if now == self.practical:
            return None
        return f"was {self.practical.verdict} {self.practical.total:g}, now {now.verdict} {now.total:g}"


STALE = "the practical report changed after this decision: run grader decide again"


def write_decision(decision: Decision, path: Path) -> Path:
    """Write decision.json (two-space indented, like report.json), atomically."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, decision.model_dump_json(indent=2) + "\n")
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def load_decision(folder: Path) -> Decision | None:
    """The decision.json in a candidate's report folder; None when there is none (BadInput when it is unusable)."""
    path = folder / DECISION_FILE
    try:
        return Decision.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, ValueError, ValidationError) as exc:
        reason = f"{len(exc.errors())} invalid field(s)" if isinstance(exc, ValidationError) else str(exc)
        raise BadInput(
            f"{path} is not a {DECISION_SCHEMA} file ({reason}): run `grader decide` again or delete it"
        ) from None

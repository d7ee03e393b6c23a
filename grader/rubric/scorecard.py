"""The scorecard: what a rubric made of one candidate's evidence. It is report.json.

This is a public contract (docs: grader/report/SCHEMA.md). Fields are only added
within a schema version; renaming or removing one bumps `schema_version`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from grader.evidence import Quote, StageOutcome

REPORT_SCHEMA = "report/1"
# review: nothing measured fails the candidate, but README wording suggests a red flag: a person decides.
Verdict = Literal["pass", "fail", "incomplete", "review"]
ReviewStatus = Literal["open", "confirmed", "cleared"]
DebriefKind = Literal["weak", "missing", "contradictory"]


class Observation(BaseModel):
    """One evidence path as a criterion or flag read it."""

    path: str
    found: bool
    value: bool | float | int | str | None = None
    holds: bool | None = None
    test: str = ""
    detail: str = ""
    quotes: list[Quote] = Field(default_factory=list)


class Override(BaseModel):
    """A reviewer's change to a criterion or red flag, with the value it replaced."""

    reviewer: str
    reason: str
    original: float | bool
    value: float | bool


class CriterionScore(BaseModel):
    id: str = Field(description="section.criterion")
    title: str
    points: float
    max: float
    reason: str
    evidence: list[Observation] = Field(default_factory=list)
    override: Override | None = None


class SectionScore(BaseModel):
    id: str
    title: str
    score: float
    max: float
    level: int | None = Field(description="1-4; null when the section was not graded")
    level_meaning: str = ""
    graded: bool
    reason: str = ""
    criteria: list[CriterionScore] = Field(default_factory=list)
    environment: str | None = Field(
        default=None,
        description=(
            "set when the section was not graded because the grader's environment kept its stage from running: "
            "what happened and what to do"
        ),
    )
    stage_stopped: str | None = Field(
        default=None,
        description=(
            "set when the section's stage failed or was skipped before recording evidence some criteria read: "
            "the stage, its status and why, in one line"
        ),
    )


class RedFlagResult(BaseModel):
    id: str
    message: str
    raised: bool
    judged: bool = Field(description="false when the evidence could not decide it")
    detail: str
    evidence: list[Observation] = Field(default_factory=list)
    override: Override | None = None
    environment: str | None = Field(
        default=None,
        description=(
            "set when the flag was not judged because its evidence comes from a stage the grader's environment "
            "kept from running"
        ),
    )


class ReviewResult(BaseModel):
    """README wording that suggests a red flag (evidence `writeup.review`): never measured, so a person decides."""

    flag: str = Field(description="the rubric's red flag it resembles")
    message: str = Field(description="that flag's words")
    check: str = Field(description="the writeup observation that found it")
    reading: str = Field(description="how it reads against the guide's wording")
    why: str
    quotes: list[Quote] = Field(default_factory=list)
    status: ReviewStatus = Field(
        description="open until a reviewer's red_flag override confirms it (it counts as the flag) or clears it"
    )
    override: Override | None = None


class DebriefQuestion(BaseModel):
    """A follow-up question for the interviewer, where the practical's evidence was weak, missing or contradictory."""

    topic: str = Field(description="the criterion (section.criterion), or red_flag.<id> for a README review item")
    title: str = Field(description="the criterion's title, or the red flag's words")
    section: str = Field(description="the criterion's section id, or `review`")
    kind: DebriefKind
    points: float | None = Field(description="earned, after overrides; null for a review item")
    max: float | None
    lost: float = Field(description="points short of the maximum (0 for a review item)")
    question: str = Field(description="what to ask")
    bank: str | None = Field(description="the interview guide's question-bank id it draws on, when one fits")
    evidence: str = Field(description="what the grader found: the check's detail, or the criterion's reason")
    quotes: list[Quote] = Field(default_factory=list)


class BonusResult(BaseModel):
    id: str
    title: str
    points: float
    max: float
    awarded: bool
    reason: str
    evidence: list[Observation] = Field(default_factory=list)
    override: Override | None = None


class RubricRef(BaseModel):
    id: str
    version: str
    title: str
    sha256: str


class Scorecard(BaseModel):
    """report.json: the candidate's scores with every point's evidence."""

    schema_version: str = REPORT_SCHEMA
    candidate: str
    rubric: RubricRef
    backend: str | None
    evidence_schema: str | None
    spec_version: str | None
    seed_fingerprint: str | None
    graded_at_unix: float | None
    total: float = Field(description="0-100, without the bonus")
    max: float = 100.0
    bonus: float = Field(description="bonus points, shown apart from the total")
    bonus_detail: BonusResult | None = None
    passed: bool
    verdict: Verdict
    verdict_reasons: list[str]
    pass_rule: str
    sections: dict[str, SectionScore]
    red_flags: list[RedFlagResult] = Field(description="raised red flags only")
    red_flags_checked: list[RedFlagResult] = Field(description="every red flag of the rubric, raised or not")
    overrides_applied: int = 0
    stages: dict[str, StageOutcome] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list, description="rubric paths this evidence does not record")
    environment: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "stage -> what in the grader's environment kept it from running, and what to do; non-empty exactly when "
            "that is why the verdict is incomplete"
        ),
    )
    review: list[ReviewResult] = Field(
        default_factory=list, description="README wording that suggests a red flag of the rubric, for a person"
    )
    debrief: list[DebriefQuestion] = Field(
        default_factory=list, description="three to five follow-up questions for the interviewer (fewer when fewer fit)"
    )

    def open_review(self) -> list[ReviewResult]:
        """Review items no reviewer has confirmed or cleared yet."""
        return [item for item in self.review if item.status == "open"]

    def criterion(self, qualified_id: str) -> CriterionScore:
        section_id = qualified_id.split(".")[0]
        return next(c for c in self.sections[section_id].criteria if c.id == qualified_id)

    def flag(self, flag_id: str) -> RedFlagResult:
        return next(f for f in self.red_flags_checked if f.id == flag_id)

    def summary(self) -> dict[str, Any]:
        """One leaderboard row."""
        row: dict[str, Any] = {
            "candidate": self.candidate,
            "total": self.total,
            "bonus": self.bonus,
            "passed": self.passed,
            "verdict": self.verdict,
            "red_flags": " ".join(f.id for f in self.red_flags),
        }
        for section_id, section in self.sections.items():
            row[section_id] = section.score if section.graded else None
            row[f"{section_id}_level"] = section.level
        row["backend"] = self.backend
        row["environment"] = "; ".join(f"{stage}: {text}" for stage, text in self.environment.items()) or None
        row["review"] = " ".join(dict.fromkeys(item.flag for item in self.open_review())) or None
        return row

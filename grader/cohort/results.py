"""What a cohort run did with each submission, and the run's summary files (summary.json, summary.md)."""

from __future__ import annotations

import time
from typing import Literal

from pydantic import BaseModel, Field

from grader.cohort.layout import CohortLayout
from grader.cohort.state import Outcome, ScoreSummary, SubmissionState
from grader.fsutil import write_atomic
from grader.report.text import json_text, printable
from grader.rubric.environment import REMEDY

SUMMARY_SCHEMA = "cohort-summary/1"
# graded: graded in this run; skipped: done earlier and unchanged; rescored: saved evidence
# re-scored (rubric or report code changed); refused: never graded (bad id); interrupted: stopped.
Action = Literal["graded", "skipped", "rescored", "refused", "interrupted"]


class SubmissionResult(BaseModel):
    candidate: str
    folder: str
    action: Action
    why: str = ""
    outcome: Outcome
    reasons: list[str] = Field(default_factory=list)
    duration_s: float = 0.0
    score: ScoreSummary | None = None

    @classmethod
    def from_state(cls, state: SubmissionState, action: Action, why: str) -> SubmissionResult:
        return cls(
            candidate=state.candidate,
            folder=state.folder,
            action=action,
            why=why,
            outcome=state.outcome,
            reasons=state.reasons,
            duration_s=state.duration_s,
            score=state.score,
        )

    def headline(self) -> str:
        score = self.score
        scored = (
            f", {score.total:g}/100{f' +{score.bonus:g}' if score.bonus else ''} {score.verdict_shown()}"
            if score
            else ""
        )
        return f"{self.outcome}{scored}" + (f" ({self.why})" if self.why else "")

    def not_graded_here(self) -> list[str]:
        """`not graded here (environment): stage: why` for each stage the grader's environment kept from running."""
        environment = self.score.environment if self.score else {}
        return [f"not graded here (environment): {stage}: {text}" for stage, text in environment.items()]

    def explain(self) -> str:
        parts = [f"{self.action}: {self.why}" if self.why else self.action]
        # The environment first: it is what someone has to act on, and the 400-character cut must not drop it.
        return printable("; ".join(parts + self.not_graded_here() + self.reasons)[:400])


class CohortResult(BaseModel):
    """summary.json: one run over a cohort folder."""

    schema_version: str = SUMMARY_SCHEMA
    submissions: str
    reports: str
    jobs: int
    started_at: float
    elapsed_s: float = 0.0
    interrupted: bool = False
    results: list[SubmissionResult] = Field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome == outcome and r.action != "interrupted")

    def grader_failed(self) -> list[SubmissionResult]:
        """Submissions the grader could not grade (its own failures, bad ids, interruptions)."""
        return [r for r in self.results if r.outcome == "failed" or r.action == "interrupted"]

    def line(self) -> str:
        graded_now = sum(1 for r in self.results if r.action == "graded")
        stopped = sum(1 for r in self.results if r.action == "interrupted")
        not_here = sum(1 for r in self.results if r.score and r.score.environment)
        return (
            f"{len(self.results)} submission(s): {self.count('graded')} graded, {self.count('partial')} partially "
            f"graded, {self.count('failed')} failed"
            + (f", {stopped} interrupted" if stopped else "")
            + (f", {not_here} incomplete because of the grader's environment" if not_here else "")
            + f"; {graded_now} graded in this run in {self.elapsed_s:.0f} s with {self.jobs} job(s)"
        )

    def markdown(self) -> str:
        """The summary as Markdown (for a CI job's step summary)."""
        lines = [
            "# Grading summary",
            "",
            self.line(),
            "",
            "| candidate | outcome | total | bonus | verdict | red flags | notes |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in self.results:
            s = r.score
            review = f"a person decides on README wording like {', '.join(s.review)}" if s and s.review else ""
            notes = "; ".join(filter(None, [*r.not_graded_here(), review, "; ".join(r.reasons)[:300]]))
            # GitHub renders a step summary's HTML: none of the candidate's (build errors quote their files).
            notes = notes.replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")
            cells = [
                r.candidate,
                r.outcome,
                f"{s.total:g}" if s else "-",
                f"{s.bonus:g}" if s else "-",
                s.verdict_shown() if s else "-",
                ", ".join(s.red_flags) if s and s.red_flags else "-",
                notes or "-",
            ]
            lines.append("| " + " | ".join(cells) + " |")
        if any(r.score and r.score.environment for r in self.results):
            lines += [
                "",
                (
                    f"**Not graded here** means the grader's environment, not the submission, kept a stage "
                    f"from running. What to do: {REMEDY}."
                ),
            ]
        return "\n".join(lines) + "\n"

    def write(self, layout: CohortLayout) -> None:
        self.elapsed_s = round(self.elapsed_s, 1)
        write_atomic(layout.reports / "summary.json", json_text(self.model_dump_json(indent=1)) + "\n")
        write_atomic(layout.reports / "summary.md", printable(self.markdown()))


def now() -> float:
    return round(time.time(), 3)

"""The state file of one graded submission: what was graded, with which grader, and how it ended.

It is written last, after the evidence and the reports, so a state file that matches the
submission and the grader means everything before it is complete. Anything without one
(or with one that does not match) is graded again.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from grader.cohort.layout import CohortLayout
from grader.fsutil import write_atomic

STATE_SCHEMA = "cohort-state/1"
Outcome = Literal["graded", "partial", "failed"]
MAX_STATE_BYTES = 1024**2


class ScoreSummary(BaseModel):
    """The scorecard's headline, so summaries and merges need not re-read reports."""

    total: float
    bonus: float
    verdict: str
    passed: bool
    sections: dict[str, float | None] = Field(default_factory=dict)
    red_flags: list[str] = Field(default_factory=list)
    # Stages the grader's environment kept from running (stage -> what happened and what to do): the verdict
    # is incomplete for that reason, and the next cohort run grades the submission again.
    environment: dict[str, str] = Field(default_factory=dict)
    # The red flags README wording suggests and no reviewer settled yet: the verdict is review for them.
    review: list[str] = Field(default_factory=list)

    def verdict_shown(self) -> str:
        if self.environment:
            return f"{self.verdict} (environment)"
        return "review (needs a person)" if self.verdict == "review" else self.verdict


class SubmissionState(BaseModel):
    """`_cohort/state/<candidate>.json`: one submission's grading, keyed by content and grader."""

    schema_version: str = STATE_SCHEMA
    candidate: str
    folder: str
    submission_sha256: str
    # grader: code and settings (equal across candidates graded alike); grading: that plus the seed.
    grader_fingerprint: str = ""
    grading_fingerprint: str
    scoring_fingerprint: str
    outcome: Outcome
    reasons: list[str] = Field(default_factory=list)
    stages: dict[str, str] = Field(default_factory=dict)
    backend: str | None = None
    started_at: float
    finished_at: float
    host: str = Field(default_factory=socket.gethostname)
    score: ScoreSummary | None = None

    @property
    def duration_s(self) -> float:
        return round(self.finished_at - self.started_at, 1)

    @property
    def done(self) -> bool:
        """Graded (fully or partly): nothing to retry. A failed grading is retried."""
        return self.outcome != "failed"


def read_state(path: Path) -> SubmissionState | None:
    """The state at `path`, or None when it is missing, oversized or not a state file."""
    try:
        if path.stat().st_size > MAX_STATE_BYTES:
            return None
        return SubmissionState.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, ValidationError):
        return None


def write_state(layout: CohortLayout, state: SubmissionState) -> None:
    write_atomic(layout.state_file(state.candidate), state.model_dump_json(indent=1) + "\n")


def read_states(layout: CohortLayout) -> dict[str, SubmissionState]:
    """Every readable state file of a REPORTS folder, by candidate."""
    found = {}
    if layout.states.is_dir():
        for path in sorted(layout.states.glob("*.json")):
            state = read_state(path)
            if state is not None and path.stem == state.candidate:
                found[state.candidate] = state
    return found

"""Primitives shared by every stage's evidence: outcomes, quotes, checks.

A stage only collects evidence; the rubric alone turns evidence into points. Everything
here lands on disk, so it is pydantic and versioned with the evidence file.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Status = Literal["ok", "partial", "failed", "skipped"]
# A number or a short text a check records beside its verdict.
Figure = float | int | str | None


class StageOutcome(BaseModel):
    """How a stage ended, and why, in words a hiring manager can read."""

    status: Status
    reasons: list[str] = Field(default_factory=list)
    duration_s: float = 0.0
    backend: str | None = None
    # Set when the grader's environment, not the submission, kept the stage from running
    # (a base image no registry here can supply, a builder feature this engine lacks): the
    # stage is not graded and the verdict is incomplete. Says what happened and what to do.
    environment: str | None = None


class Quote(BaseModel):
    """Where a finding was seen: a file, a notebook cell or a README line, and the text."""

    source: str
    cell: int | None = None
    line: int | None = None
    text: str


class Check(BaseModel):
    """One yes/no/unknown observation with its evidence. `passed=None`: not verifiable."""

    id: str
    passed: bool | None
    detail: str = ""
    quotes: list[Quote] = Field(default_factory=list)
    figures: dict[str, Figure] = Field(default_factory=dict)

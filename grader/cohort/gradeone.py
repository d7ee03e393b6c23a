"""Grading one submission inside a cohort: the job, the swappable grade function, the report hook.

`GradeOne` is the unit a cohort schedules: `(job, hooks) -> evidence`. The default,
`grade_one`, regenerates the candidate's world and calls `grader.grade.grade_submission`;
anything with that signature (picklable: a module-level function) can replace it.
`ReportHook` renders reports: `submission` after each graded submission (in the worker),
`cohort` once at the end (in the parent). The default renders with `grader.report`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from grader.rubric import DEFAULT_RUBRIC, Rubric, Scorecard, load_rubric
from grader.serving.settings import ServingSettings
from grader.stages.base import Hooks, StageName
from grader.world.packet import generate
from grader.world.spec import load_spec
from grader.writeup.settings import JudgeSettings


class GradeJob(BaseModel):
    """Everything a worker process needs to grade one submission (it crosses a process boundary)."""

    model_config = ConfigDict(frozen=True)

    candidate: str
    submission: Path
    evidence_dir: Path
    reports_dir: Path
    spec: str
    rows: int | None
    secret: bytes = Field(repr=False)
    demo_secret: bool
    backend: str
    serving_settings: ServingSettings | None = None
    # The sandbox policy file; None: sandbox/policy.toml.
    policy_file: Path | None = None
    # Who reads the README, and the cohort's other READMEs (candidate -> text), read once by the parent.
    judge: JudgeSettings = Field(default_factory=JudgeSettings)
    cohort_readmes: dict[str, str] = Field(default_factory=dict, repr=False)


class GradeOne(Protocol):
    def __call__(self, job: GradeJob, hooks: Hooks) -> Any:
        """Grade `job.submission` into `job.evidence_dir` (evidence.json there); return the evidence.

        `hooks.progress` reports stages; a stage that measures (a load probe) runs inside
        `hooks.exclusive()`, which a cohort serialises across its workers."""


def grade_one(job: GradeJob, hooks: Hooks) -> Any:
    """The default GradeOne: regenerate the candidate's world and run `grade_submission`."""
    from grader.grade import grade_submission
    from grader.sandbox.api import choose_sandbox
    from grader.sandbox.policy import load_policy

    hooks.progress(StageName.WORLD)
    seeded = generate(load_spec(job.spec), job.secret, job.candidate, job.rows, job.demo_secret)
    policy = load_policy(job.policy_file) if job.policy_file else None
    sandbox = choose_sandbox(job.backend)
    try:
        return grade_submission(
            job.submission,
            seeded,
            job.evidence_dir,
            sandbox,
            force=True,
            hooks=hooks,
            policy=policy,
            serving_settings=job.serving_settings,
            judge=job.judge,
            cohort_readmes=job.cohort_readmes,
        )
    finally:
        sandbox.close()


class ReportHook(Protocol):
    @property
    def rubric(self) -> Rubric:
        """The rubric reports are scored with; its hash decides when saved evidence is re-scored."""

    def submission(self, evidence: Any, reports_dir: Path) -> Scorecard | None:
        """Render one candidate's reports from their evidence; the scorecard, if one was made."""

    def cohort(self, scorecards: list[Scorecard], reports_dir: Path) -> list[Path]:
        """Render what covers the cohort (the leaderboard); the files written."""


class RubricReports:
    """The default ReportHook: `grader.report` with a rubric (the default one unless given)."""

    def __init__(self, rubric_path: Path = DEFAULT_RUBRIC) -> None:
        self.rubric_path = rubric_path

    @property
    def rubric(self) -> Rubric:
        return load_rubric(self.rubric_path)

    def submission(self, evidence: Any, reports_dir: Path) -> Scorecard | None:
        from grader.report import report_evidence

        return report_evidence(evidence, reports_dir, self.rubric)

    def cohort(self, scorecards: list[Scorecard], reports_dir: Path) -> list[Path]:
        from grader.report import write_leaderboard

        return write_leaderboard(scorecards, reports_dir) if scorecards else []

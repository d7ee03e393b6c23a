"""The writeup stage: the README judged for production judgment, against the candidate's own evidence."""

from __future__ import annotations

from typing import ClassVar

from grader.evidence import StageOutcome
from grader.stages.base import Stage, StageName
from grader.stages.context import GradingContext
from grader.writeup import collect_writeup
from grader.writeup.evidence import WRITEUP_CHECK_IDS


class WriteupStage(Stage):
    """Judges the discovered README, every point with its quote."""

    name = StageName.WRITEUP
    records: ClassVar[frozenset[str]] = frozenset({"writeup", *(f"writeup.{check}" for check in WRITEUP_CHECK_IDS)})

    def run(self, context: GradingContext) -> StageOutcome:
        readme = context.submission.readme
        context.evidence.writeup = collect_writeup(
            context.submission.path(readme.path) if readme else None,
            source=readme.path if readme else None,
            key=context.seeded.key if context.seeded else None,
            audit=context.evidence.audit,
            modeling=context.evidence.modeling,
        )
        return context.evidence.writeup.outcome

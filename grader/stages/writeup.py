"""The writeup stage: the README judged for production judgment, against the candidate's own evidence."""

from __future__ import annotations

from typing import ClassVar

from grader.evidence import StageOutcome
from grader.stages.base import Stage, StageName
from grader.stages.context import GradingContext
from grader.writeup import collect_writeup
from grader.writeup.evidence import WRITEUP_CHECK_IDS


class WriteupStage(Stage):
    """Judges the discovered README against the candidate's evidence and the truth, every point with its quote.

    The judge is the context's (`--judge`); a cohort's other READMEs find shared paragraphs."""

    name = StageName.WRITEUP
    records: ClassVar[frozenset[str]] = frozenset({"writeup", *(f"writeup.{check}" for check in WRITEUP_CHECK_IDS)})

    def run(self, context: GradingContext) -> StageOutcome:
        readme = context.submission.readme
        key = context.seeded.key if context.seeded else None
        others = {c: text for c, text in context.cohort_readmes.items() if key is None or c != key.candidate_id}
        if context.judge.kind != "heuristic":
            context.say(f"asking {context.judge.describe()}")
        context.evidence.writeup = collect_writeup(
            context.submission.path(readme.path) if readme else None,
            source=readme.path if readme else None,
            key=key,
            audit=context.evidence.audit,
            modeling=context.evidence.modeling,
            mlflow=context.evidence.mlflow,
            cohort_readmes=others,
            judge=context.judge.make(),
        )
        return context.evidence.writeup.outcome

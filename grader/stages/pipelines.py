"""The pipelines: which stages `grader grade` and `grader check` run, in order.

Each stage fills its part of the evidence; the rubric alone turns evidence into points.
A stage that fails records why and the run goes on.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from grader.stages.audit import AuditStage
from grader.stages.base import Stage
from grader.stages.context import GradingContext
from grader.stages.holdout import HoldoutStage
from grader.stages.mlflow import MlflowStage
from grader.stages.notebooks import NotebookStage
from grader.stages.serving import ServingStage
from grader.stages.writeup import WriteupStage

# `grader grade`: everything, against the candidate's world and its hidden holdout.
GRADE: tuple[Stage, ...] = (
    NotebookStage(),
    MlflowStage(committed=True),
    HoldoutStage(),
    ServingStage(),
    AuditStage(),
    WriteupStage(),
)

# `grader check`: what a candidate may verify on their own data; no world, no key, no score.
CHECK: tuple[Stage, ...] = (
    NotebookStage(),
    MlflowStage(committed=False),
    ServingStage(),
)


def run_pipeline(stages: Iterable[Stage], context: GradingContext) -> None:
    """Run each stage in order into `context.evidence` (an exclusive stage takes the slot itself)."""
    for stage in stages:
        context.current = stage
        context.hooks.progress(stage.name, None)
        started = time.monotonic()
        outcome = stage.run(context)
        outcome.duration_s = outcome.duration_s or round(time.monotonic() - started, 3)
        context.evidence.stages[stage.name.value] = outcome
    context.current = None

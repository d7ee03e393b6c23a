"""What a stage is: a declared, typed unit of grading.

A stage has a name (`StageName`, whose value is its key under `stages` in evidence.json),
declares the evidence paths it can record (the registry the rubric is checked against),
says whether it needs the cohort's exclusive serving slot (a load probe must not measure
another submission's load), and runs on a `GradingContext`, filling its part of the
evidence and returning its outcome. Pipelines are lists of stages (`grader.stages.pipelines`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager, nullcontext
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar, Protocol

from grader.evidence import StageOutcome

if TYPE_CHECKING:
    from grader.stages.context import GradingContext


class StageName(StrEnum):
    """Every stage of `grader grade` and `grader check`; the value is how evidence and progress name it."""

    WORLD = "world"
    DISCOVER = "discover"
    NOTEBOOKS = "notebooks"
    MLFLOW = "mlflow"
    HOLDOUT = "holdout"
    SERVING = "serving"
    AUDIT = "audit"
    WRITEUP = "writeup"
    REPORT = "report"


class Hooks(Protocol):
    """What whoever runs a pipeline lends it: where progress goes, and the exclusive slot."""

    def progress(self, stage: StageName, detail: str | None = None) -> None:
        """`stage` started (detail None), or says what a long step of it is doing."""

    def exclusive(self) -> AbstractContextManager[object]:
        """Held while a stage declared `exclusive` runs (a cohort serialises them across workers)."""


class NoHooks:
    """Hooks for a grading on its own: progress goes nowhere, the slot is always free."""

    def progress(self, stage: StageName, detail: str | None = None) -> None:
        return None

    def exclusive(self) -> AbstractContextManager[object]:
        return nullcontext()


class Stage(ABC):
    """One step of a pipeline. Subclasses declare `name`, `records` and `exclusive`."""

    name: ClassVar[StageName]
    # What this stage records, as the rubric names it: the evidence fields it fills
    # (`audit`) and every check id it can emit (`audit.leak_named`). Paths into a field's
    # typed structure (`modeling.holdout.oracle.pr_auc`) need no listing: the types say them.
    records: ClassVar[frozenset[str]] = frozenset()
    # Takes the cohort's exclusive slot (`GradingContext.exclusive()`) around what it measures.
    exclusive: ClassVar[bool] = False

    @abstractmethod
    def run(self, context: GradingContext) -> StageOutcome:
        """Collect this stage's evidence into `context.evidence`; how it ended, in words."""

    def __repr__(self) -> str:
        return f"<stage {self.name.value}>"

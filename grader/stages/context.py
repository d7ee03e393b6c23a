"""What every stage of one grading shares: the `GradingContext`."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from grader.notebook.cells import Cell
from grader.notebook.execute import GradingFolder
from grader.notebook.mlflow_store import TrackingStore
from grader.sandbox.api import Sandbox
from grader.sandbox.policy import Policy
from grader.serving.settings import ServingSettings
from grader.stages.base import Hooks, NoHooks, Stage
from grader.stages.evidence import Evidence
from grader.submission import Submission
from grader.world.packet import SeededWorld
from grader.writeup.settings import JudgeSettings


@dataclass
class ServingRows:
    """The rows the service is asked about: features, and the labels that never leave the grader."""

    features: pd.DataFrame
    labels: pd.DataFrame


@dataclass
class GradingContext:
    """One grading: the submission (discovered once), the world, the folders, the policy, the sandbox.

    `seeded` is None for `grader check`, which has no world: it runs the notebooks on the
    candidate's own `packet_data` and asks the service about `serving_rows` made from them.
    The fields after `evidence` are what a stage hands a later one; they are not evidence.
    """

    submission: Submission
    folder: GradingFolder
    policy: Policy
    sandbox: Sandbox
    evidence: Evidence
    # Where evidence files other than evidence.json go (the executed notebooks).
    staging: Path
    seeded: SeededWorld | None = None
    packet_data: Path | None = None
    serving_rows: ServingRows | None = None
    serving_settings: ServingSettings = field(default_factory=ServingSettings)
    hooks: Hooks = field(default_factory=NoHooks)
    # Which judge reads the README, and the other candidates' READMEs of a cohort (by id).
    judge: JudgeSettings = field(default_factory=JudgeSettings)
    cohort_readmes: dict[str, str] = field(default_factory=dict)
    # Handed on between stages.
    cells: list[Cell] = field(default_factory=list)
    stores: list[TrackingStore] = field(default_factory=list)
    scoring_report: dict = field(default_factory=dict)
    predictions: np.ndarray | None = None
    current: Stage | None = None

    def say(self, detail: str) -> None:
        """Progress within the running stage (shown next to its name)."""
        if self.current is not None:
            self.hooks.progress(self.current.name, detail)

    def exclusive(self) -> AbstractContextManager[object]:
        """The cohort's exclusive slot, for the part of a stage that measures (a load probe).

        Only a stage that declares `exclusive` may take it: the declaration is what tells a
        reader, and the cohort, which stages serialise."""
        if self.current is None or not self.current.exclusive:
            raise RuntimeError(f"{self.current!r} takes the exclusive slot without declaring `exclusive`")
        return self.hooks.exclusive()

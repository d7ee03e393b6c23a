"""The notebook stage: the candidate's notebooks, executed in the sandbox on their own data."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import ClassVar

from grader.evidence import StageOutcome
from grader.notebook.cells import read_cells
from grader.notebook.execute import execute_notebooks
from grader.stages.base import Stage, StageName
from grader.stages.context import GradingContext
from grader.world.packet import write_packet


def packet_data(context: GradingContext) -> Path:
    """The candidate's data folder: their packet, regenerated from the world (or given, for `grader check`)."""
    if context.seeded is not None:
        packet = context.folder.root / "packet"
        write_packet(context.seeded, packet)
        return packet / "data"
    assert context.packet_data is not None, "a grading without a world needs the candidate's packet data"
    return context.packet_data


class NotebookStage(Stage):
    """Copies the submission, places the data read-only, runs every valid notebook in path order."""

    name = StageName.NOTEBOOKS
    records: ClassVar[frozenset[str]] = frozenset({"notebook_run", "executed_notebooks"})

    def run(self, context: GradingContext) -> StageOutcome:
        submission, folder = context.submission, context.folder
        notebooks = [n.path for n in submission.notebooks if n.valid]
        run = execute_notebooks(
            submission.root,
            notebooks,
            packet_data(context),
            folder,
            context.policy,
            context.sandbox,
            context.say,
        )
        broken = [f"{n.path} was not run: {n.problem}" for n in submission.notebooks if not n.valid]
        if broken:
            run.outcome.reasons[:0] = broken
            if run.outcome.status in ("ok", "skipped"):
                run.outcome.status = "partial" if notebooks else "failed"
        executed_dir = context.staging / "notebooks"
        executed_dir.mkdir(exist_ok=True)
        for notebook in run.notebooks:
            if not notebook.executed_path:
                continue
            cells, problem = read_cells(Path(notebook.executed_path), notebook.path)
            context.cells += cells
            if problem:
                run.outcome.reasons.append(problem)
            target = executed_dir / Path(notebook.executed_path).name
            shutil.copyfile(notebook.executed_path, target)
            context.evidence.executed_notebooks.append(f"notebooks/{target.name}")
        context.evidence.notebook_run = run
        return run.outcome

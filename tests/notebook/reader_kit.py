"""Synthetic inputs for the evidence readers: executed-notebook cells and MLflow stores, built in memory.

The readers see a notebook only as `Cell`s (grader/notebook/cells.py), what ran only as an
`Executed` record (grader/notebook/trace.py) and MLflow only as `TrackingStore`s
(grader/notebook/mlflow_store.py), so these stand in for an executed notebook, its kernel's
record and a read store without a kernel, Docker or an MLflow server.
"""

from __future__ import annotations

from grader.evidence import Check
from grader.notebook.cells import Cell
from grader.notebook.mlflow_store import LoggedModel, RunRecord, TrackingStore
from grader.notebook.trace import CellTrace, Executed, ExecutionTrace, NotebookTrace, TracedCall

NOTEBOOK = "notebooks/analysis.ipynb"


def markdown(text: str, index: int = 0, notebook: str = NOTEBOOK) -> Cell:
    return Cell(notebook=notebook, index=index, kind="markdown", source=text)


def code(source: str, output: str = "", index: int = 0, images: int = 0, notebook: str = NOTEBOOK) -> Cell:
    """An executed code cell: its source, its text output and how many images it showed."""
    return Cell(notebook=notebook, index=index, kind="code", source=source, output=output, images=images)


def quoted(check: Check) -> list[tuple[str, int | None]]:
    """Where a check's quotes come from: (notebook, cell index) pairs, in order."""
    return [(quote.source, quote.cell) for quote in check.quotes]


def run(
    run_id: str,
    name: str = "",
    metrics: dict[str, float] | None = None,
    params: dict[str, str] | None = None,
    artifacts: list[str] | None = None,
    parent: str | None = None,
    images: list[str] | None = None,
) -> RunRecord:
    """A logged run; `images` are the artifacts whose bytes are an image (the store reader tells)."""
    return RunRecord(
        run_id=run_id,
        name=name,
        metrics=metrics or {},
        params=params or {},
        artifacts=artifacts or [],
        images=images or [],
        parent_run_id=parent,
    )


def model(name: str = "model", run_id: str | None = None, input_columns: list[str] | None = None) -> LoggedModel:
    return LoggedModel(
        uri=f"models:/{name}",
        name=name,
        run_id=run_id,
        flavors=["python_function", "sklearn"],
        input_columns=input_columns,
    )


def store(*runs: RunRecord, models: list[LoggedModel] | None = None, kind: str = "fresh") -> TrackingStore:
    return TrackingStore(kind=kind, location=f"sqlite:///{kind}.db", runs=list(runs), models=models or [])


def call(
    function: str, /, cell: int = 0, count: int = 1, notebook: str = NOTEBOOK, **facts
) -> tuple[str, int, str, int, dict]:
    """One traced call, as the kernel records it: its name, cell, how often, and what it was given."""
    return notebook, cell, function, count, facts


def ran(*calls: tuple[str, int, str, int, dict]) -> Executed:
    """A record of what ran (an empty one: a notebook traced that ran none of the traced calls)."""
    notebooks: dict[str, dict[int, dict[str, TracedCall]]] = {}
    for notebook, cell, name, count, facts in calls:
        cells = notebooks.setdefault(notebook, {}).setdefault(cell, {})
        known = cells.setdefault(name, TracedCall(call=name, count=0))
        known.count += count
        if facts:
            known.described.append(facts)
    trace = ExecutionTrace(
        notebooks=[
            NotebookTrace(
                path=path,
                traced=True,
                cells=[CellTrace(index=i, calls=list(c.values())) for i, c in sorted(cells.items())],
            )
            for path, cells in notebooks.items()
        ]
        or [NotebookTrace(path=NOTEBOOK, traced=True)]
    )
    return Executed(trace)

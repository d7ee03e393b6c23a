"""The MLflow stage: the runs this execution logged, and any store the candidate committed."""

from __future__ import annotations

import time
from typing import ClassVar

from grader.evidence import StageOutcome, Status
from grader.notebook.mlflow_store import TrackingStore, prepare_committed_store, read_store
from grader.stages.base import Stage, StageName
from grader.stages.context import GradingContext


class MlflowStage(Stage):
    """Reads the fresh store the notebooks wrote; with `committed`, also the stores committed in the submission."""

    name = StageName.MLFLOW
    records: ClassVar[frozenset[str]] = frozenset({"mlflow"})

    def __init__(self, committed: bool = True) -> None:
        self.committed = committed

    def run(self, context: GradingContext) -> StageOutcome:
        started = time.monotonic()
        folder = context.folder
        # The candidate's code wrote the fresh store: its artifacts are read only where it may write.
        stores = [
            read_store(folder.tracking_uri, "fresh", [folder.mlflow, folder.submission])
            if folder.tracking_db.is_file()
            else TrackingStore(kind="fresh", location=folder.tracking_uri)
        ]
        for committed in context.submission.mlflow_stores if self.committed else []:
            destination = folder.root / f"committed-{len(stores)}"
            destination.mkdir()
            try:
                uri = prepare_committed_store(context.submission.root / committed.path, destination)
                stores.append(read_store(uri, "committed", [destination]))
            except Exception as exc:  # an unreadable committed store is evidence too
                error = f"{type(exc).__name__}: {exc}"[:300]
                stores.append(TrackingStore(kind="committed", location=committed.path, error=error))
        context.stores = stores
        context.evidence.mlflow = stores
        fresh_runs = len(stores[0].runs)
        reasons = [f"{s.kind} store {s.location}: {s.error}" for s in stores if s.error]
        reasons += [
            f"{s.kind} store: artifacts outside the store not read ({'; '.join(s.outside[:3])})"
            for s in stores
            if s.outside
        ]
        if not fresh_runs:
            reasons.append("this execution logged no MLflow run")
        status: Status = "ok" if fresh_runs else ("partial" if any(s.runs for s in stores) else "failed")
        return StageOutcome(status=status, reasons=reasons, duration_s=round(time.monotonic() - started, 3))

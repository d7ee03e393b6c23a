"""`grader check`: what a candidate can verify before submitting, on their own packet data only.

It finds the submission's layout, executes the notebooks in the sandbox on the
candidate's data, reads the MLflow runs they logged, builds the image and asks the
service a well-formed request built from the candidate's own rows (and a few malformed
ones). It needs no cohort secret and never generates a world: there is no answer key,
no holdout and no score to reveal.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from grader.errors import BadInput
from grader.notebook.execute import grading_folder
from grader.notebook.mlflow_store import TrackingStore
from grader.preflight.findings import PreflightReport
from grader.preflight.serving import add_serving_findings
from grader.sandbox.api import choose_sandbox
from grader.sandbox.policy import Policy, load_policy
from grader.serving.settings import ServingSettings
from grader.stages.base import NoHooks, StageName
from grader.stages.context import GradingContext, ServingRows
from grader.stages.evidence import Evidence
from grader.stages.pipelines import CHECK, run_pipeline
from grader.submission import Submission, discover

DATA_FILE = "churn.parquet"
ID_COLUMN, TIME_COLUMN, LABEL_COLUMN = "customer_id", "snapshot_month", "churned_next_30d"
SAMPLE_ROWS = 200
NEEDED = ("no notebook", "no readable notebook", "no Dockerfile", "no README")
# A light touch: a few requests, no load to speak of, short budgets.
PREFLIGHT_SERVING = ServingSettings(
    load_rates=[10.0],
    load_step_s=1.0,
    load_warmup_s=0.0,
    load_bodies=20,
    quality_budget_s=30.0,
    single_max_rows=SAMPLE_ROWS,
    determinism_rows=8,
    oversized_batch_rows=1000,
    batch_timeout_s=15.0,
)

Progress = Callable[[str], None]


def find_data(submission: Path, data: Path | None) -> Path:
    """The packet's data folder: --data, else SUBMISSION/data; it must hold churn.parquet."""
    folder = data or submission / "data"
    if not (folder / DATA_FILE).is_file():
        where = f"--data {data}" if data else f"{submission / 'data'}"
        raise BadInput(
            f"no {DATA_FILE} in {where}: pass --data DIR, the data/ folder of your packet "
            "(or copy it to SUBMISSION/data)"
        )
    return folder.resolve()


def _own_rows(data: Path) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Requests from the candidate's own rows: the latest month, one row per customer."""
    try:
        frame = pd.read_parquet(data / DATA_FILE)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        head = (data / DATA_FILE).read_bytes()[:64]
        hint = (
            ": it is a git-LFS pointer, not the data (run `git lfs pull`, or copy the packet's data/ folder)"
            if head.startswith(b"version https://git-lfs")
            else f" ({exc})"
        )
        raise BadInput(f"{data / DATA_FILE} is not a readable parquet file{hint}") from exc
    missing = {ID_COLUMN, TIME_COLUMN, LABEL_COLUMN} - set(frame.columns)
    if missing:
        raise BadInput(f"{data / DATA_FILE} is not the packet's data: no {', '.join(sorted(missing))} column")
    latest = frame[frame[TIME_COLUMN] == frame[TIME_COLUMN].max()].drop_duplicates([ID_COLUMN, TIME_COLUMN])
    sample = latest.sample(n=min(SAMPLE_ROWS, len(latest)), random_state=0).reset_index(drop=True)
    return sample.drop(columns=[LABEL_COLUMN]), sample[[ID_COLUMN, TIME_COLUMN, LABEL_COLUMN]], len(frame)


def _layout(report: PreflightReport, submission: Submission) -> None:
    notebooks = [n.path for n in submission.notebooks if n.valid]
    found = [
        f"{len(notebooks)} notebook(s): {', '.join(notebooks)}" if notebooks else None,
        f"Dockerfile {submission.dockerfile.path}" if submission.dockerfile else None,
        f"service {submission.service.path}" if submission.service else None,
        f"README {submission.readme.path}" if submission.readme else None,
    ]
    if any(found):
        report.add("layout", "ok", "found " + "; ".join(f for f in found if f))
    for missing in submission.missing:
        # Models are checked after the notebooks ran: they usually write them.
        if not missing.startswith(("no committed model", "no trained model")):
            report.add("layout", "problem" if missing.startswith(NEEDED) else "warning", missing)
    for problem in submission.problems[:10]:
        report.add("layout", "warning", problem)


def _models(report: PreflightReport, after_notebooks: Submission) -> None:
    """Models the service loads must exist once the notebooks have run (they go into the image)."""
    for ref in after_notebooks.model_loading.missing_refs:
        report.add(
            "image", "problem", f"the service loads a model from {ref}, which is not there after the notebooks ran"
        )


def _notebooks(report: PreflightReport, run) -> None:
    for notebook in run.notebooks:
        failed = notebook.failed_cells
        if notebook.error or not notebook.executed_path:
            report.add("notebooks", "problem", f"{notebook.path} did not run: {notebook.error or 'no output'}")
        elif failed:
            report.add(
                "notebooks",
                "problem",
                f"{notebook.path}: {len(failed)} cell(s) raised an error",
                [f"cell {cell.index}: {cell.error}" for cell in failed[:10]],
            )
        else:
            report.add("notebooks", "ok", f"{notebook.path} ran top to bottom in {notebook.seconds:.0f} s")
    if run.sandbox and run.sandbox.timed_out:
        report.add("notebooks", "problem", "the notebooks were stopped at the time limit")
    for note in run.notes:
        report.add("notebooks", "ok" if note.startswith("candidate requirements installed") else "warning", note)


def _mlflow(report: PreflightReport, store: TrackingStore) -> None:
    if store.error:
        report.add("mlflow", "problem", f"the MLflow store the notebooks wrote could not be read: {store.error}")
    elif not store.runs:
        report.add("mlflow", "problem", "the notebooks logged no MLflow run (they must log to MLFLOW_TRACKING_URI)")
    else:
        models = len(store.models)
        report.add(
            "mlflow",
            "ok" if models else "problem",
            f"{len(store.runs)} run(s) and {models} logged model(s)"
            + ("" if models else ": log your final model, the grader takes it from MLflow"),
        )


class _StatusHooks(NoHooks):
    def __init__(self, progress: Progress) -> None:
        self.report = progress

    def progress(self, stage: StageName, detail: str | None = None) -> None:
        self.report(stage.value + (f": {detail}" if detail else ""))


def run_preflight(
    submission: Path,
    data: Path | None = None,
    backend: str = "auto",
    progress: Progress = lambda _step: None,
    policy: Policy | None = None,
    settings: ServingSettings = PREFLIGHT_SERVING,
) -> PreflightReport:
    """Check a submission the way a candidate may before submitting; never raises for their faults."""
    if not submission.is_dir():
        raise BadInput(f"submission folder {submission} does not exist")
    submission = submission.resolve()
    data_dir = find_data(submission, data)
    policy = policy or load_policy()
    sandbox = choose_sandbox(backend)
    report = PreflightReport(submission=str(submission), data=str(data_dir), backend=sandbox.backend)
    try:
        progress("layout")
        found = discover(submission)
        _layout(report, found)
        features, labels, rows = _own_rows(data_dir)
        report.add("data", "ok", f"{data_dir / DATA_FILE}: {rows:,} rows")
        with grading_folder() as folder, tempfile.TemporaryDirectory(prefix="churn-grader-check-") as staging:
            evidence = Evidence(
                candidate="preflight",
                spec_version="",
                seed_fingerprint="",
                backend=sandbox.backend,
                graded_at_unix=time.time(),
                submission=found,
            )
            context = GradingContext(
                submission=found,
                folder=folder,
                policy=policy,
                sandbox=sandbox,
                evidence=evidence,
                staging=Path(staging),
                packet_data=data_dir,
                serving_rows=ServingRows(features, labels),
                serving_settings=settings,
                hooks=_StatusHooks(progress),
            )
            run_pipeline(CHECK, context)
            if evidence.notebook_run is not None:
                _notebooks(report, evidence.notebook_run)
            if any(n.valid for n in found.notebooks):
                _mlflow(report, evidence.mlflow[0])
            # What the notebooks wrote is in the image: the models the service loads must be there now.
            _models(report, discover(folder.submission))
            if evidence.serving is not None:
                add_serving_findings(report, evidence.serving)
    finally:
        sandbox.close()
    return report

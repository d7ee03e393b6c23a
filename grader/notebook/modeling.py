"""Modeling and evaluation evidence: runs, metrics, validation, plots, and the holdout.

Read from the MLflow stores (what was logged), the kernel trace (what ran: splits, search,
calibration, metrics, plots; grader.notebook.validation) and the executed notebooks (what
was shown). Source text is never read: a comment or a logged parameter is the candidate's
words. The candidate's final model is scored on the hidden holdout by grader.notebook.score;
here those figures are compared with the oracle, the grader's own reference model and the
candidate's own claims.

A run named "baseline" or "tuned" is only a name: it counts when it logged a model MLflow can
read (its MLmodel names flavors: MLflow 3 logged models, MLflow 2 run artifacts, a custom
pyfunc), or when this execution logged its metrics in a cell where, or after which in the same
notebook, a metric was computed on real labels (`RealRuns`). A logged evaluation plot counts when
its bytes are an image or a figure (grader.notebook.mlflow_store.figure_kind), not its name.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from grader.evidence import Check
from grader.notebook.cells import Cell
from grader.notebook.mlflow_store import RunRecord, TrackingStore
from grader.notebook.months import MonthProfile
from grader.notebook.trace import Executed
from grader.notebook.validation import LABELLED_CALLS, MIN_LABELS, Validation

_EDGE = r"(?:^|[^a-z0-9])"
_END = r"(?:$|[^a-z0-9])"
PR_AUC = re.compile(
    rf"pr[_ -]?auc|average[_ ]precision|{_EDGE}ap{_END}|auprc|aucpr|auc[_ -]?pr{_END}|pr_curve_auc", re.I
)
ROC_AUC = re.compile(rf"{_EDGE}roc{_END}|roc[_ -]?auc|{_EDGE}auc{_END}", re.I)
TRAINING = re.compile(rf"{_EDGE}train", re.I)
BRIER = re.compile(r"brier", re.I)
CALIBRATION_METRIC = re.compile(r"\bece\b|calibration|_ece|ece_", re.I)
BASELINE = re.compile(r"baseline|logistic|logreg|dummy|\blr\b", re.I)
TUNED = re.compile(r"tuned|lgbm|lightgbm|xgb|gbm|boost|forest|best|optuna|search|final|hyperopt|trial", re.I)
EVALUATION_ARTIFACT = re.compile(r"calib|pr_curve|precision|lift|decile", re.I)
# An evaluation artifact named as a plot counts only when it is an image; a lift table may be any table.
PLOT_ARTIFACT = re.compile(r"calib|pr_curve|precision", re.I)
METRIC_LOGGING = ("mlflow.log_metric", "mlflow.log_metrics")

# Every check the modeling reader records, as `modeling.<id>` evidence paths name them.
CHECK_IDS: tuple[str, ...] = (
    "time_split",
    "group_split",
    "random_split",
    "calibrated_model",
    "class_imbalance_handled",
    "hyperparameter_search",
    "calibration_plot",
    "pr_curve",
    "lift_table",
    "mlflow_runs",
    "baseline_run",
    "tuned_run",
    "model_logged",
    "model_signature",
    "pr_auc_used",
    "roc_auc_only",
    "brier_logged",
    "calibration_metric_logged",
    "evaluation_artifacts_logged",
)


class HoldoutScore(BaseModel):
    """The candidate's model (or the grader's reference, or the oracle) on the hidden holdout."""

    who: str
    rows: int
    pr_auc: float | None = None
    roc_auc: float | None = None
    brier: float | None = None
    expected_calibration_error: float | None = None
    top_decile_lift: float | None = None
    lift_by_decile: list[float] = Field(default_factory=list)
    calibration_curve: list[tuple[float, float]] = Field(default_factory=list)
    pr_curve: list[tuple[float, float]] = Field(default_factory=list, description="(recall, precision) points")
    note: str = ""


class ModelingEvidence(BaseModel):
    checks: list[Check] = Field(default_factory=list)
    baseline_runs: list[str] = Field(default_factory=list)
    tuned_runs: list[str] = Field(default_factory=list)
    metric_names: list[str] = Field(default_factory=list)
    holdout: list[HoldoutScore] = Field(default_factory=list)
    final_model_uri: str | None = None
    final_model_reason: str = ""

    def check(self, check_id: str) -> Check:
        return next(c for c in self.checks if c.id == check_id)


def _describe(run: RunRecord) -> str:
    return " ".join([run.name, *run.params.keys(), *run.params.values()])[:2000]


def classify_runs(store: TrackingStore) -> tuple[list[RunRecord], list[RunRecord]]:
    """Baseline-like and tuned-like runs (a run may be neither, never both)."""
    baseline, tuned = [], []
    for run in store.runs:
        text = _describe(run)
        if BASELINE.search(run.name) or (BASELINE.search(text) and not TUNED.search(run.name)):
            baseline.append(run)
        elif TUNED.search(text) or run.parent_run_id:
            tuned.append(run)
    return baseline, tuned


class RealRuns:
    """What makes a logged run more than its name: a model MLflow can read, or metrics this execution
    logged in a cell where (or after which, in the same notebook) a metric was computed on real labels."""

    def __init__(self, stores: list[TrackingStore], executed: Executed) -> None:
        self.executed = executed
        self.with_model = {m.run_id for store in stores for m in store.models if m.run_id and m.flavors}
        computed = [
            (ran.notebook, ran.cell)
            for ran, facts in executed.facts(*LABELLED_CALLS)
            if isinstance(rows := facts.get("y_rows"), int) and rows >= MIN_LABELS
        ]
        self.computed_names: set[str] = set()
        for ran, facts in executed.facts(*METRIC_LOGGING):
            names = facts.get("names")
            if isinstance(names, list) and any(nb == ran.notebook and cell <= ran.cell for nb, cell in computed):
                self.computed_names |= {n for n in names if isinstance(n, str)}

    def why(self, run: RunRecord, kind: str) -> str | None:
        """Why `run` is real work, or None."""
        if run.run_id in self.with_model:
            return "a model logged"
        if kind == "fresh" and self.computed_names & set(run.metrics):
            return "metrics computed in code that ran"
        return None

    def check(self, check_id: str, what: str, named: list[tuple[str, RunRecord]]) -> tuple[Check, list[str]]:
        """The `baseline_run` or `tuned_run` check over the runs named as such (store kind, run), and the runs kept."""
        kept = [(run, why) for kind, run in named if (why := self.why(run, kind))]
        # Without a record of what ran, a fresh run's metrics may have been computed: not known.
        unknown = not self.executed.available and any(kind == "fresh" and run.metrics for kind, run in named)
        empty = sorted({run.name or run.run_id for _, run in named} - {run.name or run.run_id for run, _ in kept})
        if kept:
            detail = ", ".join(f"{run.name or run.run_id} ({why})" for run, why in kept[:5])
        elif named:
            missing = "no record of what ran" if unknown else "no metric computed in code that ran"
            detail = f"{what} runs named but empty: {', '.join(empty[:5])} (no model logged, {missing})"
        else:
            detail = f"no {what} run"
        check = Check(
            id=check_id,
            passed=True if kept else (None if unknown else False),
            detail=detail,
            figures={"named": len(named), "counted": len(kept)},
        )
        return check, sorted({run.name or run.run_id for run, _ in kept})


def _evaluation_artifacts(runs: list[RunRecord]) -> Check:
    """Calibration plots, PR curves and lift tables logged to MLflow: a plot by name must be an image."""
    counted, not_images = [], []
    for run in runs:
        images = set(run.images)
        folders = {artifact.rsplit("/", 1)[0] for artifact in run.artifacts if "/" in artifact}
        for artifact in run.artifacts:
            if artifact in folders or not EVALUATION_ARTIFACT.search(artifact):
                continue
            if PLOT_ARTIFACT.search(artifact) and artifact not in images:
                not_images.append(artifact)
            else:
                counted.append(artifact)
    # The rubric reads the detail for calib / pr_curve / lift: only what counts may appear in it.
    return Check(
        id="evaluation_artifacts_logged",
        passed=bool(counted),
        detail=", ".join(counted)[:300] or "no evaluation artifacts in MLflow",
        figures={"not_images": len(not_images)} if not_images else {},
    )


def collect_modeling(
    cells: list[Cell],
    stores: list[TrackingStore],
    executed: Executed | None = None,
    profile: MonthProfile | None = None,
    columns: tuple[str, str] | None = None,
) -> ModelingEvidence:
    """Everything about the modeling work except the holdout scores. `executed`: what the kernel
    recorded (None: nothing is credited as run); `profile` and `columns` (time, group): the
    candidate's months and column names, to recognise a split by month or customer."""
    executed = executed or Executed(None)
    time_column, group_column = columns or (None, None)
    validation = Validation(executed, cells, profile, time_column, group_column)
    evidence = ModelingEvidence()
    add = evidence.checks.append
    runs = [run for store in stores for run in store.runs]
    baseline: list[tuple[str, RunRecord]] = []
    tuned: list[tuple[str, RunRecord]] = []
    for store in stores:
        b, t = classify_runs(store)
        baseline += [(store.kind, run) for run in b]
        tuned += [(store.kind, run) for run in t]
    real = RealRuns(stores, executed)
    baseline_check, evidence.baseline_runs = real.check("baseline_run", "baseline", baseline)
    tuned_check, evidence.tuned_runs = real.check("tuned_run", "tuned", tuned)
    metrics = sorted({name for run in runs for name in run.metrics})
    evidence.metric_names = metrics
    add(
        Check(
            id="mlflow_runs",
            passed=bool(runs),
            figures={"runs": len(runs)},
            detail=f"{len(runs)} MLflow runs" if runs else "no MLflow run was logged",
        )
    )
    add(baseline_check)
    add(tuned_check)
    models = [m for store in stores for m in store.models]
    add(
        Check(
            id="model_logged",
            passed=bool(models),
            figures={"models": len(models)},
            detail="; ".join(f"{m.name} ({', '.join(m.flavors)})" for m in models[:4]) or "no model logged to MLflow",
        )
    )
    signed = [m for m in models if m.input_columns]
    add(
        Check(
            id="model_signature",
            passed=bool(signed),
            detail="logged with an input signature" if signed else "no signature",
        )
    )

    pr_logged = [m for m in metrics if PR_AUC.search(m)]
    roc_logged = [m for m in metrics if ROC_AUC.search(m) and not PR_AUC.search(m)]
    pr_ran = validation.pr_computed()
    add(
        Check(
            id="pr_auc_used",
            passed=True if pr_ran else (False if executed.available else None),
            quotes=[r.quote(why) for r, why in pr_ran[:2]],
            detail=(pr_ran[0][1] if pr_ran else "no PR-AUC computed in code that ran")
            + f"; logged: {', '.join(pr_logged) or 'none'}",
            figures={"logged": len(pr_logged)},
        )
    )
    roc_ran = validation.roc_computed()
    add(
        Check(
            id="roc_auc_only",
            passed=bool(roc_logged or roc_ran) and not pr_ran and not pr_logged,
            quotes=[r.quote() for r in roc_ran[:1]],
            detail="ROC-AUC is the only ranking metric on a rare class"
            if (roc_logged or roc_ran) and not pr_ran and not pr_logged
            else "not ROC-AUC alone",
        )
    )
    add(
        Check(
            id="brier_logged",
            passed=any(BRIER.search(m) for m in metrics),
            detail=", ".join(m for m in metrics if BRIER.search(m)) or "no Brier score logged",
        )
    )
    add(
        Check(
            id="calibration_metric_logged",
            passed=any(CALIBRATION_METRIC.search(m) for m in metrics),
            detail=", ".join(m for m in metrics if CALIBRATION_METRIC.search(m)) or "no calibration error logged",
        )
    )

    evidence.checks += [
        validation.time_split(),
        validation.group_split(),
        validation.random_split(),
        validation.calibrated_model(),
        validation.class_imbalance_handled(),
        validation.hyperparameter_search(),
        validation.calibration_plot(),
        validation.pr_curve(),
        validation.lift_table(),
    ]
    add(_evaluation_artifacts(runs))
    return evidence


def claimed_pr_auc(stores: list[TrackingStore], run_id: str | None) -> float | None:
    """The best held-out PR-AUC the candidate logged for their final model's run (else any run);
    a training score counts only where nothing else was logged."""
    runs = [r for s in stores for r in s.runs]
    chosen = [r for r in runs if r.run_id == run_id] or runs
    logged = [(k, v) for r in chosen for k, v in r.metrics.items() if PR_AUC.search(k) and 0 <= v <= 1]
    held_out = [v for k, v in logged if not TRAINING.search(k)]
    values = held_out or [v for _, v in logged]
    return max(values) if values else None

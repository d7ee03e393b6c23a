"""Modeling and evaluation evidence: runs, metrics, validation, plots, and the holdout.

Read from the MLflow stores (what was logged) and the executed notebooks (what the code
did and showed). The candidate's final model is scored on the hidden holdout by
grader.notebook.score; here those figures are compared with the oracle, the grader's own
reference model and the candidate's own claims.
"""

from __future__ import annotations

import ast
import re

from pydantic import BaseModel, Field

from grader.evidence import Check
from grader.notebook.cells import Cell
from grader.notebook.mlflow_store import RunRecord, TrackingStore

PR_AUC = re.compile(r"pr[_ -]?auc|average[_ ]precision|\bap\b|auprc|aucpr|pr_curve_auc", re.I)
ROC_AUC = re.compile(r"roc|^auc$|^val_auc$|^test_auc$|(?<!pr_)(?<!pr)auc", re.I)
BRIER = re.compile(r"brier", re.I)
CALIBRATION_METRIC = re.compile(r"\bece\b|calibration|_ece|ece_", re.I)
BASELINE = re.compile(r"baseline|logistic|logreg|dummy|\blr\b", re.I)
TUNED = re.compile(r"tuned|lgbm|lightgbm|xgb|gbm|boost|forest|best|optuna|search|final|hyperopt|trial", re.I)

CODE_PATTERNS = {
    "random_split": re.compile(
        r"train_test_split\(|KFold\((?!.*Group)|StratifiedKFold\(|ShuffleSplit\(|\.sample\(frac", re.I
    ),
    "time_split": re.compile(
        r"TimeSeriesSplit|snapshot_month\W*\s*(<|>|<=|>=|\.isin)|month\w*\s*(<|>|<=|>=)\s*|"
        r"out[-_ ]of[-_ ]time|sort_values\(.*month",
        re.I,
    ),
    "group_split": re.compile(r"GroupKFold|GroupShuffleSplit|StratifiedGroupKFold|LeaveOneGroupOut|groups\s*="),
    "calibration_plot": re.compile(
        r"calibration_curve|CalibrationDisplay|reliability|calibration_plot|plot_calibration", re.I
    ),
    "pr_curve": re.compile(
        r"precision_recall_curve|PrecisionRecallDisplay|pr_curve|pr_plot|plot_pr|precision.recall", re.I
    ),
    "lift_table": re.compile(r"lift|decile|qcut\([^)]*10", re.I),
    "calibrated_model": re.compile(r"CalibratedClassifierCV|IsotonicRegression|isotonic|platt|sigmoid", re.I),
    "class_imbalance_handled": re.compile(r"class_weight|scale_pos_weight|is_unbalance|sample_weight", re.I),
    "hyperparameter_search": re.compile(
        r"GridSearchCV|RandomizedSearchCV|optuna|hyperopt|ParameterGrid|for .* in .*(param|grid)", re.I
    ),
}


# Every check the modeling reader records, as `modeling.<id>` evidence paths name them.
CHECK_IDS: tuple[str, ...] = (
    *CODE_PATTERNS,
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


def _helpers_using(cells: list[Cell], pattern: re.Pattern) -> set[str]:
    """Names of functions defined in the notebooks whose body matches `pattern`."""
    names = set()
    for cell in cells:
        if cell.kind != "code" or not pattern.search(cell.source):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = ast.get_source_segment(cell.source, node) or ""
                if pattern.search(body):
                    names.add(node.name)
    return names


def _code_check(cells: list[Cell], check_id: str, needs_image: bool = False) -> Check:
    pattern = CODE_PATTERNS[check_id]
    hits = [(c, line) for c in cells if c.kind == "code" for line in c.source.splitlines() if pattern.search(line)]
    if needs_image:
        # Shown: drawn in a cell with an image, or by a notebook function called in one.
        helpers = _helpers_using(cells, pattern)
        calls = re.compile(r"\b(" + "|".join(map(re.escape, sorted(helpers))) + r")\(") if helpers else None
        shown = [
            (c, line)
            for c in cells
            if c.kind == "code" and c.images > 0
            for line in c.source.splitlines()
            if pattern.search(line) or (calls is not None and calls.search(line))
        ]
        return Check(
            id=check_id,
            passed=bool(shown),
            quotes=[c.quote(line) for c, line in (shown or hits)[:2]],
            detail="drawn and shown in the notebook"
            if shown
            else ("code present but no image output" if hits else "not found"),
        )
    return Check(
        id=check_id,
        passed=bool(hits),
        quotes=[c.quote(line) for c, line in hits[:2]],
        detail="found in code" if hits else "not found in code",
    )


def collect_modeling(cells: list[Cell], stores: list[TrackingStore]) -> ModelingEvidence:
    """Everything about the modeling work except the holdout scores."""
    evidence = ModelingEvidence()
    add = evidence.checks.append
    runs = [run for store in stores for run in store.runs]
    baseline, tuned = [], []
    for store in stores:
        b, t = classify_runs(store)
        baseline += b
        tuned += t
    evidence.baseline_runs = sorted({r.name or r.run_id for r in baseline})
    evidence.tuned_runs = sorted({r.name or r.run_id for r in tuned})
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
    add(
        Check(
            id="baseline_run", passed=bool(baseline), detail=", ".join(evidence.baseline_runs[:5]) or "no baseline run"
        )
    )
    add(Check(id="tuned_run", passed=bool(tuned), detail=", ".join(evidence.tuned_runs[:5]) or "no tuned run"))
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

    text = "\n".join(c.source + "\n" + c.output for c in cells)
    pr_logged = [m for m in metrics if PR_AUC.search(m)]
    roc_logged = [m for m in metrics if ROC_AUC.search(m) and not PR_AUC.search(m)]
    pr_anywhere = bool(pr_logged) or bool(re.search(r"average_precision_score|pr[_ -]?auc|PrecisionRecall", text, re.I))
    add(
        Check(
            id="pr_auc_used",
            passed=pr_anywhere,
            detail=f"logged: {', '.join(pr_logged) or 'none'}",
            figures={"logged": len(pr_logged)},
        )
    )
    add(
        Check(
            id="roc_auc_only",
            passed=bool(roc_logged or re.search(r"roc_auc_score", text)) and not pr_anywhere,
            detail="ROC-AUC is the only ranking metric on a rare class" if not pr_anywhere else "PR-AUC is used",
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

    for check_id in (
        "time_split",
        "group_split",
        "random_split",
        "calibrated_model",
        "class_imbalance_handled",
        "hyperparameter_search",
    ):
        add(_code_check(cells, check_id))
    for check_id in ("calibration_plot", "pr_curve"):
        add(_code_check(cells, check_id, needs_image=True))
    lift = _code_check(cells, "lift_table")
    lift_shown = [
        c for c in cells if c.kind == "code" and CODE_PATTERNS["lift_table"].search(c.source) and c.output.strip()
    ]
    lift.passed = bool(lift_shown)
    lift.detail = "computed and shown" if lift_shown else lift.detail
    add(lift)
    artifacts = [a for run in runs for a in run.artifacts]
    add(
        Check(
            id="evaluation_artifacts_logged",
            passed=any(re.search(r"calib|pr_curve|precision|lift|decile", a, re.I) for a in artifacts),
            detail=", ".join(a for a in artifacts if re.search(r"calib|pr_curve|precision|lift|decile", a, re.I))[:300]
            or "no evaluation artifacts in MLflow",
        )
    )
    return evidence


def claimed_pr_auc(stores: list[TrackingStore], run_id: str | None) -> float | None:
    """The best PR-AUC the candidate logged for their final model's run (else any run)."""
    runs = [r for s in stores for r in s.runs]
    chosen = [r for r in runs if r.run_id == run_id] or runs
    values = [v for r in chosen for k, v in r.metrics.items() if PR_AUC.search(k) and 0 <= v <= 1]
    return max(values) if values else None

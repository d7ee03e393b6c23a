"""What a README is grounded in: the world's truth and the figures this candidate measured.

`Grounding` is built once per grading from the answer key, the audit and modeling
evidence and the MLflow runs. Every figure keeps the quote that shows where it came from
(a notebook cell, an MLflow run, the hidden holdout, the answer key), so a README number
that contradicts it is reported with both quotes. Nothing here assumes a column name:
the key says which columns are which (world specs vary them per seed).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from grader.evidence import Quote

KEY_SOURCE = "answer key"
HOLDOUT_SOURCE = "hidden holdout"
DECIMAL = re.compile(r"(?<![\d.-])(\d+\.\d+|\d+)(?![\d-])")
PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")
MONTH = re.compile(r"\b(20\d\d)-(0[1-9]|1[0-2])\b")
# Metric names as candidates log them (val_pr_auc, test_ece, top_decile_lift...).
LOGGED = {
    "pr_auc": re.compile(r"(^|_)(pr_auc|average_precision|auprc|ap)$", re.I),
    "ece": re.compile(r"(^|_)(ece|expected_calibration_error|calibration_error)$", re.I),
    "brier": re.compile(r"(^|_)brier(_score)?$", re.I),
    "lift": re.compile(r"(^|_)(top_decile_lift|lift_top_decile|lift@10|lift_10)$", re.I),
}
HOLDOUT_FIELDS = {
    "pr_auc": "pr_auc",
    "ece": "expected_calibration_error",
    "brier": "brier",
    "lift": "top_decile_lift",
    "roc_auc": "roc_auc",
}
METRIC_NAMES = {"pr_auc": "PR-AUC", "ece": "ECE", "brier": "Brier", "lift": "top-decile lift", "roc_auc": "ROC-AUC"}


@dataclass(frozen=True)
class Figure:
    """One number the README can be held to, and where it was shown."""

    what: str
    value: float
    quote: Quote


@dataclass(frozen=True)
class Truth:
    """The answer key's part a README is compared with (none when there is no key)."""

    feature_columns: tuple[str, ...] = ()
    # role -> column: leak, drifting feature, concept drift, missing not at random
    seeded_columns: dict[str, str] = field(default_factory=dict)
    label_column: str = ""
    label_window_days: int | None = None
    churn_rate: float | None = None
    drift_month: str | None = None
    drift_psi: float | None = None
    duplicates: int | None = None
    group_column: str = ""
    time_column: str = ""


@dataclass(frozen=True)
class Measured:
    """What this candidate's own work showed: audit figures, logged metrics, holdout scores."""

    # PSI printed on the audit's drift finding: the largest (the drifting column) and the smallest (its stable months)
    psi_drift: Figure | None = None
    psi_stable: Figure | None = None
    # where the audit dated the drift (to the key's month, within one)
    drift_month: Quote | None = None
    churn_rate: Figure | None = None
    duplicates: Figure | None = None
    # metric -> figures (the final model's logged run first, then the hidden holdout)
    metrics: dict[str, tuple[Figure, ...]] = field(default_factory=dict)

    def figures(self) -> list[Figure]:
        """Every measured figure, for matching a README number."""
        single = [self.psi_drift, self.psi_stable, self.churn_rate, self.duplicates]
        return [f for f in single if f is not None] + [f for found in self.metrics.values() for f in found]


def _document(stage: BaseModel | Mapping[str, Any] | None) -> dict:
    if stage is None:
        return {}
    return stage.model_dump(mode="json") if isinstance(stage, BaseModel) else dict(stage)


def _checks(stage: dict) -> dict[str, dict]:
    return {c["id"]: c for c in stage.get("checks", []) if isinstance(c, dict) and "id" in c}


def _quote(raw: dict) -> Quote | None:
    try:
        return Quote.model_validate(raw)
    except ValueError:
        return None


def truth_from_key(key: Any) -> Truth:
    """The comparable part of an AnswerKey (None: an empty Truth)."""
    if key is None:
        return Truth()
    rates = list(key.churn_rate_by_month.values())
    drift = key.covariate_drift[0]
    return Truth(
        feature_columns=tuple(key.feature_columns),
        seeded_columns={
            "leak": key.leak.column,
            "drifting feature": drift.column,
            "concept drift": key.concept_drift.column,
            "missing not at random": key.missing_not_at_random.column,
        },
        label_column=key.label_column,
        label_window_days=key.label_window_days,
        churn_rate=sum(rates) / len(rates) if rates else None,
        drift_month=drift.from_month,
        drift_psi=drift.psi_first_vs_last,
        duplicates=key.duplicates.count,
        group_column=key.grouping.group_column,
        time_column=key.grouping.time_column,
    )


def _psi_figures(check: dict) -> tuple[Figure | None, Figure | None]:
    """The PSI values the candidate printed on their drift finding (largest and smallest)."""
    for raw in check.get("quotes", []):
        quote = _quote(raw)
        if quote is None:
            continue
        found = re.search(r"\bpsi\b(.{0,160})", quote.text, re.I)
        if not found:
            continue
        segment = re.split(r"\bks\b|kolmogorov", found.group(1), maxsplit=1, flags=re.I)[0]
        segment = MONTH.sub(" ", segment)
        values = [float(v) for v in DECIMAL.findall(segment) if "." in v and 0 <= float(v) < 50]
        if values:
            high = Figure("PSI of the drifting column", max(values), quote)
            low = Figure("PSI of the stable months", min(values), quote) if len(values) > 1 else None
            return high, low
    return None, None


def _first_quote(check: dict) -> Quote | None:
    return next((q for q in (_quote(raw) for raw in check.get("quotes", [])) if q is not None), None)


def _audit_figures(audit: dict, truth: Truth) -> dict[str, Any]:
    checks = _checks(audit)
    found: dict[str, Any] = {}
    drift = checks.get("drift_named", {})
    if drift.get("passed"):
        found["psi_drift"], found["psi_stable"] = _psi_figures(drift)
    month = checks.get("drift_month", {})
    if month.get("passed"):
        found["drift_month"] = _first_quote(drift)
    rate = checks.get("churn_rate_reported", {})
    if rate.get("passed") and (quote := _first_quote(rate)):
        values = [float(v) / 100 for v in PERCENT.findall(quote.text)]
        close = [v for v in values if truth.churn_rate is None or abs(v - truth.churn_rate) <= 0.005]
        if close:
            found["churn_rate"] = Figure("churn rate", close[0], quote)
    duplicates = checks.get("duplicates_count", {})
    if duplicates.get("passed") and truth.duplicates is not None:
        quote = _first_quote(checks.get("duplicates_found", {}))
        if quote is not None:
            found["duplicates"] = Figure("duplicate rows", float(truth.duplicates), quote)
    return found


def _final_run_metrics(modeling: dict, mlflow: list[dict]) -> dict[str, list[Figure]]:
    """The final model's logged run: its metrics as the candidate logged them."""
    runs = {r.get("run_id"): r for store in mlflow for r in store.get("runs", []) if isinstance(r, dict)}
    uri = modeling.get("final_model_uri")
    run_id = next(
        (m.get("run_id") for store in mlflow for m in store.get("models", []) if m.get("uri") == uri and uri), None
    )
    run = runs.get(run_id)
    found: dict[str, list[Figure]] = {}
    if not run:
        return found
    for name, value in sorted((run.get("metrics") or {}).items()):
        for metric, pattern in LOGGED.items():
            if pattern.search(name) and isinstance(value, (int, float)) and not name.startswith("uncalibrated"):
                quote = Quote(source=f"MLflow run {run.get('name') or run_id}", text=f"{name} = {value:.4g}")
                found.setdefault(metric, []).append(Figure(f"{METRIC_NAMES[metric]} logged", float(value), quote))
    return found


def _holdout_metrics(modeling: dict) -> dict[str, list[Figure]]:
    found: dict[str, list[Figure]] = {}
    for score in modeling.get("holdout", []):
        if not str(score.get("who", "")).startswith("candidate"):
            continue
        for metric, name in HOLDOUT_FIELDS.items():
            value = score.get(name)
            if isinstance(value, (int, float)):
                quote = Quote(source=HOLDOUT_SOURCE, text=f"{METRIC_NAMES[metric]} {value:.3f} of the final model")
                found.setdefault(metric, []).append(
                    Figure(f"{METRIC_NAMES[metric]} on the hidden holdout", value, quote)
                )
    return found


def measured_from(
    truth: Truth,
    audit: BaseModel | Mapping[str, Any] | None,
    modeling: BaseModel | Mapping[str, Any] | None,
    mlflow: list[BaseModel] | list[Mapping[str, Any]] | None = None,
) -> Measured:
    """The candidate's own figures, each with its quote."""
    modeling_document = _document(modeling)
    stores = [_document(store) for store in mlflow or []]
    # What they logged first: a README threshold is held to the figure its author saw, then to the holdout's.
    metrics = _final_run_metrics(modeling_document, stores)
    for metric, figures in _holdout_metrics(modeling_document).items():
        metrics.setdefault(metric, []).extend(figures)
    return Measured(
        **_audit_figures(_document(audit), truth), metrics={name: tuple(found) for name, found in metrics.items()}
    )


def truth_quote(text: str) -> Quote:
    """A quote for a fact of the world (the answer key), shown to the hiring side only."""
    return Quote(source=KEY_SOURCE, text=text)

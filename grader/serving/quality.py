"""Score the hidden holdout through the candidate's API; judge correctness and quality.

Rows go in a seeded random order, so a run stopped by its time budget still scores an
unbiased sample. Labels stay in this process: only features are ever sent.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from grader import metrics
from grader.evidence import Check
from grader.serving.contract import Contract, Endpoint
from grader.serving.evidence import QualityRecord, RowKey
from grader.serving.service import Calls
from grader.serving.settings import ServingSettings

_ORDER_SEED = 20240601
# Consecutive requests without any HTTP answer after which the service counts as gone.
_MAX_SILENT = 5
# Batches shrink (halving) down to this size when the service refuses them with a 4xx.
_MIN_BATCH = 8
# Fewer served probabilities than this say nothing about whether the answers vary.
MIN_SPREAD_ROWS = 100


def holdout_order(rows: int) -> list[int]:
    return np.random.default_rng(_ORDER_SEED).permutation(rows).tolist()


def key_columns(holdout_features: pd.DataFrame, holdout_labels: pd.DataFrame) -> list[str]:
    """The columns naming a row: those both frames share (customer id, snapshot month)."""
    return [c for c in holdout_features.columns if c in holdout_labels.columns]


def row_keys(frame: pd.DataFrame, keys: list[str]) -> list[RowKey]:
    return [tuple(str(v) for v in row) for row in frame[keys].itertuples(index=False, name=None)]


@dataclass
class Scored:
    values: dict[int, float] = field(default_factory=dict)
    sent: int = 0
    failed: int = 0
    seconds: float = 0.0
    stopped_early: str | None = None
    problems: list[str] = field(default_factory=list)


def _note(scored: Scored, problem: str | None) -> None:
    if problem and len(scored.problems) < 5 and problem not in scored.problems:
        scored.problems.append(problem)


def _score_singles(calls: Calls, endpoint: Endpoint, positions: list[int], scored: Scored, deadline: float) -> bool:
    """Score rows one by one; False when the service stopped answering or time ran out."""
    silent = 0
    for position in positions:
        if time.monotonic() > deadline:
            scored.stopped_early = "time budget used up"
            return False
        answer, extraction = endpoint.call(calls, [position])
        scored.sent += 1
        silent = silent + 1 if answer.status is None else 0
        if extraction.values is not None:
            scored.values[position] = extraction.values[0]
        else:
            scored.failed += 1
            _note(scored, extraction.problem)
        if silent >= _MAX_SILENT:
            scored.stopped_early = f"{silent} requests in a row got no answer"
            return False
    return True


def score_rows(
    calls: Calls, contract: Contract, positions: list[int], settings: ServingSettings, budget_s: float
) -> Scored:
    """Predictions for `positions`: batches when the service takes them, else one by one (bounded)."""
    scored = Scored()
    started = time.monotonic()
    deadline = started + budget_s
    if contract.batch is None:
        _score_singles(calls, contract.single, positions[: settings.single_max_rows], scored, deadline)
        if len(positions) > settings.single_max_rows and scored.stopped_early is None:
            scored.stopped_early = f"one row per request: capped at {settings.single_max_rows} rows"
    else:
        _score_batches(calls, contract, positions, settings, scored, deadline)
    scored.seconds = round(time.monotonic() - started, 3)
    return scored


def _score_batches(
    calls: Calls, contract: Contract, positions: list[int], settings: ServingSettings, scored: Scored, deadline: float
) -> None:
    assert contract.batch is not None
    size, start, silent = settings.batch_size, 0, 0
    while start < len(positions):
        if time.monotonic() > deadline:
            scored.stopped_early = "time budget used up"
            return
        chunk = positions[start : start + size]
        answer, extraction = contract.batch.call(calls, chunk, timeout_s=settings.batch_timeout_s)
        silent = silent + 1 if answer.status is None else 0
        if extraction.values is not None and len(extraction.values) == len(chunk):
            scored.sent += len(chunk)
            scored.values.update(zip(chunk, extraction.values, strict=True))
            start += len(chunk)
            continue
        _note(scored, f"batch of {len(chunk)}: {extraction.problem}")
        if silent >= _MAX_SILENT:
            scored.stopped_early = f"{silent} batches in a row got no answer"
            return
        if answer.status is not None and 400 <= answer.status < 500 and size > _MIN_BATCH:
            size //= 2  # a service may cap its batch size (413, or a 422 on the list's length)
            continue
        # One bad row should not cost the whole batch: retry the rows one by one.
        if not _score_singles(calls, contract.single, chunk, scored, deadline):
            return
        start += len(chunk)


def _finite(values: list[float]) -> list[float]:
    return [v for v in values if math.isfinite(v)]


def correctness_checks(
    calls: Calls,
    contract: Contract,
    scored: Scored,
    order: list[int],
    keys: list[RowKey],
    expected: dict[RowKey, float] | None,
    settings: ServingSettings,
) -> list[Check]:
    """Range, determinism, and agreement with the candidate's logged model (train/serve skew)."""
    labels_only = contract.kind == "label"
    values = list(scored.values.values())
    checks: list[Check] = []
    if labels_only:
        checks.append(
            Check(
                id="correctness.probabilities_in_range",
                passed=None,
                detail="the service answers labels, not probabilities",
            )
        )
    else:
        outside = [v for v in values if not (math.isfinite(v) and 0.0 <= v <= 1.0)]
        finite = _finite(values)
        checks.append(
            Check(
                id="correctness.probabilities_in_range",
                passed=bool(values) and not outside,
                detail=f"{len(outside)} of {len(values)} answers outside [0, 1] or not finite"
                if values
                else "no answers to judge",
                figures={
                    "answers": len(values),
                    "outside": len(outside),
                    "min": min(finite) if finite else None,
                    "max": max(finite) if finite else None,
                },
            )
        )
    again_positions = [p for p in order[: settings.determinism_rows] if p in scored.values]
    if again_positions:
        again = score_rows(calls, contract, again_positions, settings, settings.quality_budget_s)
        pairs = [(scored.values[p], again.values[p]) for p in again_positions if p in again.values]
        differing = sum(1 for a, b in pairs if not (a == b or abs(a - b) <= 1e-12))
        checks.append(
            Check(
                id="correctness.deterministic",
                passed=bool(pairs) and differing == 0 and len(pairs) == len(again_positions),
                detail=f"{differing} of {len(pairs)} rows changed when sent again"
                + (
                    f"; {len(again_positions) - len(pairs)} got no answer the second time"
                    if len(pairs) < len(again_positions)
                    else ""
                ),
                figures={"rows": len(again_positions), "differing": differing},
            )
        )
    else:
        checks.append(Check(id="correctness.deterministic", passed=None, detail="no row was scored the first time"))
    checks.append(_agreement(scored, keys, expected, labels_only, settings.agreement_tolerance))
    return checks


def _agreement(
    scored: Scored, keys: list[RowKey], expected: dict[RowKey, float] | None, labels_only: bool, tolerance: float
) -> Check:
    check_id = "correctness.matches_logged_model"
    if expected is None:
        return Check(id=check_id, passed=None, detail="no logged-model predictions were given to compare with")
    if labels_only:
        return Check(
            id=check_id,
            passed=None,
            detail="the service answers labels; the logged model's probabilities cannot be compared",
        )
    diffs = [abs(value - expected[keys[p]]) for p, value in scored.values.items() if keys[p] in expected]
    diffs = [d for d in diffs if math.isfinite(d)]
    if not diffs:
        return Check(id=check_id, passed=None, detail="no served row has a logged-model prediction")
    worst, mean = max(diffs), float(np.mean(diffs))
    return Check(
        id=check_id,
        passed=worst <= tolerance,
        detail=f"train/serve skew over {len(diffs)} rows: max |served - logged| {worst:.3g}, mean {mean:.3g} (tolerance {tolerance:g})",
        figures={
            "rows": len(diffs),
            "max_abs_diff": worst,
            "mean_abs_diff": mean,
            "rows_over_tolerance": sum(1 for d in diffs if d > tolerance),
        },
    )


def _metric_set(labels: np.ndarray, scores: np.ndarray) -> dict[str, float | None]:
    if len(labels) == 0 or labels.sum() == 0 or labels.sum() == len(labels):
        return {"pr_auc": None, "brier": None, "ece": None, "top_decile_lift": None}
    return {
        "pr_auc": round(metrics.average_precision(labels, scores), 6),
        "brier": round(metrics.brier(labels, scores), 6),
        "ece": round(metrics.expected_calibration_error(labels, scores), 6),
        "top_decile_lift": round(metrics.lift_by_decile(labels, scores)[0], 4),
    }


def _spread(record: QualityRecord, served: np.ndarray) -> None:
    """How much the served probabilities vary: distinct values, the most common one's share, their std."""
    if len(served) < MIN_SPREAD_ROWS:
        return
    _, counts = np.unique(served, return_counts=True)
    record.distinct_answers = len(counts)
    record.top_answer_share = round(float(counts.max() / len(served)), 4)
    record.answers_std = round(float(served.std()), 6)


def _pass_detail(record: QualityRecord, served: np.ndarray) -> str:
    """The pass's speed, and answers that barely vary, in words."""
    text = ""
    if record.rows_per_s is not None:
        how = f"batches of {record.batch_size}" if record.mode == "batch" else "one row a request"
        text += f" in {record.seconds:g} s ({record.rows_per_s:,.0f} rows/s, {how})"
    if record.distinct_answers == 1:
        text += f"; every answer is {served[0]:g}"
    elif record.top_answer_share is not None and record.top_answer_share > 0.5:
        text += f"; {record.top_answer_share:.0%} of the answers are one value"
    return text


def holdout_quality(
    scored: Scored,
    label_values: np.ndarray,
    true_probability: np.ndarray | None,
    rows_total: int,
    kind: str,
    mode: Literal["batch", "single"],
    batch_size: int | None,
) -> tuple[QualityRecord, Check]:
    """Metrics of the served answers against the holdout labels, with the oracle's on the same rows;
    how fast the pass went (rows per second) and, for probabilities, how much the answers vary."""
    positions = sorted(p for p, v in scored.values.items() if math.isfinite(v))
    record = QualityRecord(
        rows_total=rows_total,
        rows_sent=scored.sent,
        rows_scored=len(positions),
        rows_failed=scored.failed,
        mode=mode,
        batch_size=batch_size,
        seconds=scored.seconds,
        rows_per_s=round(len(positions) / scored.seconds, 1) if positions and scored.seconds > 0 else None,
        stopped_early=scored.stopped_early,
    )
    labels = label_values[positions].astype(np.int64)
    served = np.array([scored.values[p] for p in positions], dtype=np.float64)
    if kind == "label":
        predicted = served >= 0.5
        hits = int((predicted & (labels == 1)).sum())
        record.metrics = {
            "accuracy": round(float((predicted == labels).mean()), 6) if len(labels) else None,
            "precision": round(hits / predicted.sum(), 6) if predicted.sum() else None,
            "recall": round(hits / labels.sum(), 6) if labels.sum() else None,
        }
    else:
        record.metrics = _metric_set(labels, served)
        _spread(record, served)
    record.metrics["positive_rate"] = round(float(labels.mean()), 6) if len(labels) else None
    if true_probability is not None:
        record.oracle_metrics = _metric_set(labels, true_probability[positions])
    share = len(positions) / scored.sent if scored.sent else 0.0
    check = Check(
        id="quality.holdout_scored",
        passed=bool(positions) and share >= 0.99,
        detail=f"{len(positions)} of {rows_total} holdout rows scored ({scored.failed} failed)"
        + _pass_detail(record, served)
        + (f"; stopped early: {scored.stopped_early}" if scored.stopped_early else "")
        + (
            "; the service answers labels only: PR-AUC, Brier, calibration and lift cannot be computed"
            if kind == "label"
            else ""
        ),
        figures={**{k: v for k, v in record.metrics.items()}, "rows_scored": len(positions), "rows_total": rows_total},
    )
    return record, check


# The served answers rank when their PR-AUC is at least this multiple of the base rate; the logged
# model ranks when its own is at least RANKS_AT_LOGGED times it, on the same rows.
RANKS_AT_SERVED = 1.2
RANKS_AT_LOGGED = 2.0


def ranking_check(
    scored: Scored, label_values: np.ndarray, keys: list[RowKey], expected: dict[RowKey, float] | None
) -> Check:
    """`quality.ranks`: do the served answers rank the holdout, where the candidate's logged model does?
    A service that answers anything but its model (a constant, a random number, a stale model) fails."""
    positions = sorted(p for p, v in scored.values.items() if math.isfinite(v) and keys[p] in (expected or {}))
    if expected is None or len(positions) < MIN_SPREAD_ROWS:
        return Check(id="quality.ranks", passed=None, detail="no logged-model predictions on enough served rows")
    labels = label_values[positions].astype(np.int64)
    if labels.sum() == 0:
        return Check(id="quality.ranks", passed=None, detail="no churner among the served rows")
    base = float(labels.mean())
    served = metrics.average_precision(labels, np.array([scored.values[p] for p in positions])) / base
    logged = metrics.average_precision(labels, np.array([expected[keys[p]] for p in positions])) / base
    if logged < RANKS_AT_LOGGED:
        return Check(
            id="quality.ranks",
            passed=None,
            detail=f"the logged model itself barely ranks these rows (PR-AUC {logged:.2f}x the base rate)",
            figures={"served_lift": round(served, 3), "logged_lift": round(logged, 3), "rows": len(positions)},
        )
    ranks = served >= RANKS_AT_SERVED
    return Check(
        id="quality.ranks",
        passed=ranks,
        detail=f"on {len(positions)} holdout rows the served answers reach PR-AUC {served:.2f}x the base rate, "
        f"the logged model {logged:.2f}x" + ("" if ranks else ": the service does not serve a model that ranks"),
        figures={"served_lift": round(served, 3), "logged_lift": round(logged, 3), "rows": len(positions)},
    )

"""Evaluation metrics shared by the world's oracle, the stages and the tests.

Plain numpy so that the figures in the answer key, the evidence and the tests are all
computed the same way.
"""

from __future__ import annotations

import numpy as np


def _ap_grouped(positives: np.ndarray, totals: np.ndarray) -> float:
    """Average precision from per-threshold counts, thresholds in descending score order."""
    all_positives = positives.sum()
    if all_positives == 0:
        return float("nan")
    seen = totals > 0
    true_pos = np.cumsum(positives[seen])
    predicted = np.cumsum(totals[seen])
    return float(np.sum(positives[seen] / all_positives * true_pos / predicted))


def _ap_sorted(labels: np.ndarray, scores: np.ndarray) -> float:
    """Average precision of labels already ordered by descending score (ties grouped)."""
    last_of_run = np.r_[np.flatnonzero(scores[1:] != scores[:-1]), len(scores) - 1]
    true_pos = np.cumsum(labels)[last_of_run]
    positives = np.diff(np.r_[0, true_pos])
    totals = np.diff(np.r_[-1, last_of_run])
    return _ap_grouped(positives, totals)


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """PR-AUC as average precision (step-wise, ties grouped like scikit-learn)."""
    labels = np.asarray(labels, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-scores, kind="stable")
    return _ap_sorted(labels[order], scores[order])


def single_feature_pr_auc(labels: np.ndarray, values: np.ndarray) -> float:
    """Best PR-AUC of one feature used as a score in either direction; missing ranks last."""
    labels = np.asarray(labels, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    if not finite.any():
        return float("nan")
    present, present_labels = values[finite], labels[finite]
    low, high = present.min(), present.max()
    if high - low <= 100_000 and np.array_equal(present, np.round(present)):
        # Integer-valued: count per value instead of sorting (most columns, and O(n)).
        codes = (present - low).astype(np.int64)
        totals = np.bincount(codes)
        positives = np.bincount(codes, weights=present_labels)
    else:
        distinct, codes = np.unique(present, return_inverse=True)
        totals = np.bincount(codes, minlength=len(distinct))
        positives = np.bincount(codes, weights=present_labels, minlength=len(distinct))
    # Missing values form the last threshold in both directions.
    missing_pos = np.array([labels[~finite].sum()])
    missing_tot = np.array([(~finite).sum()])
    high_first = _ap_grouped(np.r_[positives[::-1], missing_pos], np.r_[totals[::-1], missing_tot])
    low_first = _ap_grouped(np.r_[positives, missing_pos], np.r_[totals, missing_tot])
    return max(high_first, low_first)


def brier(labels: np.ndarray, probabilities: np.ndarray) -> float:
    labels = np.asarray(labels, dtype=np.float64)
    return float(np.mean((np.asarray(probabilities, dtype=np.float64) - labels) ** 2))


def expected_calibration_error(labels: np.ndarray, probabilities: np.ndarray, bins: int = 10) -> float:
    """ECE over equal-frequency bins: the weighted mean |mean prediction - event rate|."""
    labels = np.asarray(labels, dtype=np.float64)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    order = np.argsort(probabilities, kind="mergesort")
    total = 0.0
    for chunk in np.array_split(order, bins):
        if len(chunk):
            total += len(chunk) * abs(probabilities[chunk].mean() - labels[chunk].mean())
    return float(total / len(labels))


def lift_by_decile(labels: np.ndarray, scores: np.ndarray) -> list[float]:
    """Event rate of each score decile (highest first) over the overall rate."""
    labels = np.asarray(labels, dtype=np.float64)
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="mergesort")
    base = labels.mean()
    return [float(labels[chunk].mean() / base) for chunk in np.array_split(order, 10)]


def psi(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    """Population stability index of `current` against `reference` (quantile bins)."""
    reference = np.asarray(reference, dtype=np.float64)
    current = np.asarray(current, dtype=np.float64)
    reference = reference[np.isfinite(reference)]
    current = current[np.isfinite(current)]
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    ref_share = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=len(edges) + 1)
    cur_share = np.bincount(np.searchsorted(edges, current, side="right"), minlength=len(edges) + 1)
    ref_share = np.clip(ref_share / len(reference), 1e-4, None)
    cur_share = np.clip(cur_share / len(current), 1e-4, None)
    return float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))


PR_CURVE_POINTS = 50


def pr_curve_points(labels: np.ndarray, scores: np.ndarray, points: int = PR_CURVE_POINTS) -> list[tuple[float, float]]:
    """(recall, precision) at `points` evenly spaced recalls: a PR curve in a few hundred bytes.

    Precision at a recall is the best precision reached at that recall or beyond (the
    usual interpolation), so the curve is monotone and drawn as it is usually read.
    """
    labels = np.asarray(labels, dtype=np.int64)
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    hits = np.cumsum(labels[order])
    positives = hits[-1] if len(hits) else 0
    if positives == 0:
        return []
    recall = hits / positives
    precision = hits / np.arange(1, len(hits) + 1)
    best_after = np.maximum.accumulate(precision[::-1])[::-1]
    grid = np.linspace(1 / points, 1.0, points)
    at = np.searchsorted(recall, grid, side="left").clip(max=len(recall) - 1)
    return [(round(float(r), 4), round(float(best_after[i]), 4)) for r, i in zip(grid, at)]

"""Evaluation metrics shared by the world's oracle, the stages and the tests.

Plain numpy so that the figures in the answer key, the evidence and the tests are all
computed the same way.
"""

from __future__ import annotations

import numpy as np


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """PR-AUC as average precision (step-wise, ties grouped like scikit-learn)."""
    labels = np.asarray(labels, dtype=np.int8)
    scores = np.asarray(scores, dtype=np.float64)
    positives = int(labels.sum())
    if positives == 0:
        return float("nan")
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores = scores[order]
    true_pos = np.cumsum(labels[order])
    # Only the last index of each run of equal scores is a threshold.
    last_of_run = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(scores) - 1]
    tp = true_pos[last_of_run]
    precision = tp / (last_of_run + 1)
    recall = tp / positives
    recall_steps = np.diff(np.r_[0.0, recall])
    return float(np.sum(recall_steps * precision))


def single_feature_pr_auc(labels: np.ndarray, values: np.ndarray) -> float:
    """Best PR-AUC of one feature used as a score in either direction; missing ranks last."""
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    if not finite.any():
        return float("nan")
    low = np.nanmin(values) - 1.0
    high = np.nanmax(values) + 1.0
    up = np.where(finite, values, low)
    down = np.where(finite, -values, -high)
    return max(average_precision(labels, up), average_precision(labels, down))


def brier(labels: np.ndarray, probabilities: np.ndarray) -> float:
    labels = np.asarray(labels, dtype=np.float64)
    return float(np.mean((np.asarray(probabilities, dtype=np.float64) - labels) ** 2))


def expected_calibration_error(
    labels: np.ndarray, probabilities: np.ndarray, bins: int = 10
) -> float:
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

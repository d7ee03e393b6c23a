"""Curves small enough to keep in the evidence: what grade.py can save for the report's plots."""

from __future__ import annotations

import numpy as np

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

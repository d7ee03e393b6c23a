"""Probability calibration stored as plain numbers: Platt scaling or isotonic steps."""

from __future__ import annotations

import numpy as np


def apply(raw_score: np.ndarray, calibration: dict) -> np.ndarray:
    """Calibrated churn probability from the forest's raw log-odds."""
    if calibration["method"] == "platt":
        return 1.0 / (1.0 + np.exp(-(calibration["slope"] * raw_score + calibration["intercept"])))
    if calibration["method"] == "isotonic":
        return np.interp(raw_score, calibration["x"], calibration["y"])
    raise ValueError(f"unknown calibration method {calibration['method']!r}")


def fit(method: str, raw_score: np.ndarray, labels: np.ndarray) -> dict:
    """Fit Platt scaling (logistic on the log-odds) or isotonic regression (scikit-learn)."""
    if method == "platt":
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=1e6, max_iter=1000).fit(raw_score.reshape(-1, 1), labels)
        return {"method": "platt", "slope": float(model.coef_[0, 0]), "intercept": float(model.intercept_[0])}
    if method == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        model = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw_score, labels)
        return {"method": "isotonic", "x": model.X_thresholds_.tolist(), "y": model.y_thresholds_.tolist()}
    raise ValueError(f"unknown calibration method {method!r}")

"""Offline evaluation shared by the notebooks: ranking, calibration and lift (not for serving)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, precision_recall_curve, roc_auc_score


def expected_calibration_error(labels: np.ndarray, probability: np.ndarray, bins: int = 10) -> float:
    """Weighted mean |mean prediction - churn rate| over equal-frequency bins."""
    order = np.argsort(probability, kind="mergesort")
    total = 0.0
    for chunk in np.array_split(order, bins):
        total += len(chunk) * abs(probability[chunk].mean() - labels[chunk].mean())
    return float(total / len(labels))


def lift_table(labels: np.ndarray, probability: np.ndarray) -> pd.DataFrame:
    """Customers, churners, churn rate, lift and cumulative capture per score decile (1 = riskiest)."""
    frame = pd.DataFrame({"label": labels, "p": probability}).sort_values("p", ascending=False, kind="mergesort")
    frame["decile"] = np.repeat(np.arange(1, 11), [len(c) for c in np.array_split(np.arange(len(frame)), 10)])
    table = frame.groupby("decile").agg(
        customers=("label", "size"), churners=("label", "sum"), mean_predicted=("p", "mean"), min_score=("p", "min")
    )
    table["churn_rate"] = table["churners"] / table["customers"]
    table["lift"] = table["churn_rate"] / frame["label"].mean()
    table["cumulative_capture"] = table["churners"].cumsum() / table["churners"].sum()
    return table.round(4)


def scores(labels: np.ndarray, probability: np.ndarray) -> dict[str, float]:
    """The metrics logged for every model. PR-AUC leads: churners are a few percent of rows."""
    labels = np.asarray(labels)
    probability = np.asarray(probability, dtype=float)
    return {
        "pr_auc": float(average_precision_score(labels, probability)),
        "brier": float(brier_score_loss(labels, probability)),
        "ece": expected_calibration_error(labels, probability),
        "top_decile_lift": float(lift_table(labels, probability)["lift"].iloc[0]),
        "roc_auc": float(roc_auc_score(labels, probability)),
        "base_rate": float(labels.mean()),
    }


def calibration_plot(ax, labels: np.ndarray, curves: dict[str, np.ndarray], bins: int = 10) -> None:
    """Reliability diagram over equal-frequency bins, one line per model."""
    top = 0.0
    for name, probability in curves.items():
        order = np.argsort(probability, kind="mergesort")
        chunks = np.array_split(order, bins)
        predicted = [probability[c].mean() for c in chunks]
        observed = [labels[c].mean() for c in chunks]
        top = max(top, max(predicted), max(observed))
        ax.plot(predicted, observed, marker="o", label=name)
    ax.plot([0, top], [0, top], linestyle="--", color="grey", label="perfect")
    ax.set_xlabel("mean predicted churn probability (decile)")
    ax.set_ylabel("observed churn rate")
    ax.set_title("Calibration (out-of-time test month)")
    ax.legend()


def pr_plot(ax, labels: np.ndarray, curves: dict[str, np.ndarray]) -> None:
    """Precision-recall curves with the base rate as the no-skill line."""
    for name, probability in curves.items():
        precision, recall, _ = precision_recall_curve(labels, probability)
        ax.plot(recall, precision, label=f"{name} (PR-AUC {average_precision_score(labels, probability):.3f})")
    ax.axhline(labels.mean(), linestyle="--", color="grey", label=f"no skill ({labels.mean():.3f})")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title("Precision-recall (out-of-time test month)")
    ax.legend()

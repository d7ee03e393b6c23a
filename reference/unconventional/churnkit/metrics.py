"""Evaluation for a ranking + probability use: PR-AUC, Brier, ECE, lift by decile, plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
from sklearn.metrics import average_precision_score, brier_score_loss, precision_recall_curve, roc_auc_score


def ece(labels: np.ndarray, probability: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error over equal-count bins: sum_b n_b/N * |mean p - churn rate|."""
    order = np.argsort(probability, kind="stable")
    total = sum(len(b) * abs(probability[b].mean() - labels[b].mean()) for b in np.array_split(order, bins))
    return float(total / len(labels))


def lift_by_decile(labels: np.ndarray, probability: np.ndarray) -> pl.DataFrame:
    """Deciles of the score (1 = riskiest tenth): customers, churners, churn rate, lift, share of churners caught."""
    n = len(labels)
    frame = pl.DataFrame({"y": labels.astype(np.int64), "p": probability}).with_columns(
        (pl.col("p").rank("ordinal", descending=True) - 1).alias("rank")
    )
    table = (
        frame.with_columns(((pl.col("rank") * 10) // n + 1).cast(pl.Int32).alias("decile"))
        .group_by("decile")
        .agg(
            pl.len().alias("customers"),
            pl.col("y").sum().alias("churners"),
            pl.col("p").mean().alias("mean_score"),
            pl.col("p").min().alias("min_score"),
        )
        .sort("decile")
        .with_columns(
            (pl.col("churners") / pl.col("customers")).alias("churn_rate"),
        )
        .with_columns(
            (pl.col("churn_rate") / labels.mean()).alias("lift"),
            (pl.col("churners").cum_sum() / pl.col("churners").sum()).alias("captured"),
        )
    )
    return table


def scores(labels: np.ndarray, probability: np.ndarray) -> dict[str, float]:
    labels = np.asarray(labels).astype(int)
    probability = np.asarray(probability, dtype=float)
    lift = lift_by_decile(labels, probability)
    return {
        "pr_auc": float(average_precision_score(labels, probability)),
        "brier": float(brier_score_loss(labels, probability)),
        "ece": ece(labels, probability),
        "top_decile_lift": float(lift["lift"][0]),
        "top_decile_capture": float(lift["captured"][0]),
        "roc_auc": float(roc_auc_score(labels, probability)),
        "base_rate": float(labels.mean()),
    }


def reliability_png(path: Path, labels: np.ndarray, curves: dict[str, np.ndarray], title: str, bins: int = 10) -> Path:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 5))
    top = 0.0
    for name, p in curves.items():
        order = np.argsort(p, kind="stable")
        chunks = np.array_split(order, bins)
        x = [p[c].mean() for c in chunks]
        y = [labels[c].mean() for c in chunks]
        top = max(top, *x, *y)
        ax.plot(x, y, marker="o", label=f"{name} (ECE {ece(labels, p):.3f})")
    ax.plot([0, top], [0, top], color="grey", linestyle=":", label="perfectly calibrated")
    ax.set_xlabel("mean predicted probability (bin of equal size)")
    ax.set_ylabel("observed churn rate")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.show()
    plt.close(fig)
    return Path(path)


def pr_curve_png(path: Path, labels: np.ndarray, curves: dict[str, np.ndarray], title: str) -> Path:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 5))
    for name, p in curves.items():
        precision, recall, _ = precision_recall_curve(labels, p)
        ax.step(recall, precision, where="post", label=f"{name} (AP {average_precision_score(labels, p):.3f})")
    ax.axhline(labels.mean(), color="grey", linestyle=":", label=f"random ranking ({labels.mean():.3f})")
    ax.set_xlabel("recall (share of churners reached)")
    ax.set_ylabel("precision (share of contacted who churn)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.show()
    plt.close(fig)
    return Path(path)


def lift_png(path: Path, table: pl.DataFrame, title: str) -> Path:
    """The lift table drawn as a table (plus bars), so it reads in the MLflow UI as an image."""
    import matplotlib.pyplot as plt

    fig, (bars, grid) = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [1, 1.5]})
    bars.bar(table["decile"].to_list(), table["lift"].to_list(), color="#4c72b0")
    bars.axhline(1.0, color="grey", linestyle=":")
    bars.set_xlabel("score decile (1 = riskiest 10%)")
    bars.set_ylabel("lift over the base rate")
    bars.set_xticks(range(1, 11))
    shown = table.select(
        "decile",
        "customers",
        "churners",
        pl.col("churn_rate").map_elements(lambda v: f"{v:.1%}", return_dtype=pl.String),
        pl.col("lift").round(2),
        pl.col("captured").map_elements(lambda v: f"{v:.0%}", return_dtype=pl.String),
    )
    grid.axis("off")
    cells = grid.table(cellText=[[str(v) for v in row] for row in shown.rows()], colLabels=shown.columns, loc="center")
    cells.scale(1, 1.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.show()
    plt.close(fig)
    return Path(path)

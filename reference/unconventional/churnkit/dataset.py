"""From the raw packet to the modeling frame and the out-of-time split, as the audit decided.

Both modeling notebooks call these, so 03 (fit) and 04 (calibrate, evaluate) see the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from churnkit.prep import Preprocessor
from churnkit.roles import Roles


def modeling_frame(raw: pl.DataFrame, roles: Roles, findings: dict) -> pl.DataFrame:
    """Duplicates dropped; each drifted column's months before its step put on the new scale.

    Production sends the new scale, so the old months are multiplied by the factor the audit
    measured; the leak is not dropped here but left out of the Preprocessor's columns.
    """
    frame = raw.unique(maintain_order=True)
    for drift in findings.get("drift", []):
        if "factor" not in drift:
            continue
        column = drift["column"]
        frame = frame.with_columns(
            pl.when(pl.col(roles.month) < drift["from_month"])
            .then(pl.col(column).cast(pl.Float64) * drift["factor"])
            .otherwise(pl.col(column).cast(pl.Float64))
            .alias(column)
        )
    return frame


def preprocessor(roles: Roles, drop: list[str]) -> Preprocessor:
    return Preprocessor(
        numeric=[c for c in roles.numeric if c not in drop],
        boolean=[c for c in roles.boolean if c not in drop],
        categorical={c: v for c, v in roles.categorical.items() if c not in drop},
    )


@dataclass
class Split:
    """Months before `cutoff` fit; `cutoff` validates (search, early stopping); the next month
    calibrates; the last month tests, once."""

    train: list[str]
    valid: str
    calib: str
    test: str

    @property
    def cutoff(self) -> str:
        return self.valid

    @property
    def fit(self) -> list[str]:
        """What the final models are fitted on: everything before the calibration month."""
        return [*self.train, self.valid]


def out_of_time_split(months: list[str]) -> Split:
    months = sorted(months)
    if len(months) < 5:
        raise ValueError(f"need at least 5 months for train / valid / calibration / test, got {len(months)}")
    return Split(train=months[:-3], valid=months[-3], calib=months[-2], test=months[-1])

"""Rows and churners per month of the candidate's data: to tell which months a model saw.

A model fitted on whole months has exactly as many labels, and as many positives, as those
months hold (with or without the duplicate rows). The kernel trace records the size and the
positives of every label vector a fit or a metric was given, so a hand-written month split,
in pandas, polars or numpy, shows in what the model was fitted and evaluated on, whatever the
code looked like.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel


class MonthProfile(BaseModel):
    months: list[str]
    rows: list[int]
    positives: list[int]
    unique_rows: list[int]
    unique_positives: list[int]

    def spans(self, rows: int, positives: int | None) -> list[tuple[int, int]]:
        """Every run of contiguous months (first, last) whose rows, and positives, add up to these."""
        found = []
        for counts, hits in ((self.rows, self.positives), (self.unique_rows, self.unique_positives)):
            for first in range(len(self.months)):
                total = churners = 0
                for last in range(first, len(self.months)):
                    total, churners = total + counts[last], churners + hits[last]
                    if total == rows and (positives is None or churners == positives):
                        found.append((first, last))
                    if total >= rows:
                        break
        return sorted(set(found))


def month_profile(train: pd.DataFrame, is_duplicate: np.ndarray, time_column: str, label_column: str) -> MonthProfile:
    """Per month, in order: rows and churners, with and without the duplicate rows."""
    frame = pd.DataFrame(
        {"month": train[time_column].to_numpy(), "label": train[label_column].to_numpy() == 1, "unique": ~is_duplicate}
    )
    every = frame.groupby("month")["label"].agg(["size", "sum"])
    unique = frame[frame["unique"]].groupby("month")["label"].agg(["size", "sum"]).reindex(every.index, fill_value=0)
    return MonthProfile(
        months=[str(m) for m in every.index],
        rows=[int(v) for v in every["size"]],
        positives=[int(v) for v in every["sum"]],
        unique_rows=[int(v) for v in unique["size"]],
        unique_positives=[int(v) for v in unique["sum"]],
    )

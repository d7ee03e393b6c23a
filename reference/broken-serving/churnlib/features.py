"""The model's input contract and its encoding into a float matrix.

One encoder serves every caller: a pandas DataFrame (training, MLflow) and the
column lists the service builds from validated records both go through `encode`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

ID_COLUMN = "customer_id"
TIME_COLUMN = "snapshot_month"
LABEL_COLUMN = "churned_next_30d"

# Data-dictionary type -> encoding kind.
_KINDS = {"integer": "int", "float": "float", "float (USD, cents)": "float", "boolean": "bool", "category": "category"}


def feature_spec(dictionary: list[dict], drop: Sequence[str]) -> list[dict]:
    """Model features in file order from the data dictionary, minus ids, label and `drop`."""
    skip = {ID_COLUMN, TIME_COLUMN, LABEL_COLUMN, *drop}
    spec = []
    for entry in dictionary:
        if entry["name"] in skip:
            continue
        kind = _KINDS[entry["type"]]
        item: dict[str, Any] = {"name": entry["name"], "kind": kind}
        if kind == "category":
            item["categories"] = list(entry["values"])
        spec.append(item)
    return spec


def encode(columns: Mapping[str, Any], spec: list[dict], rows: int) -> np.ndarray:
    """Float matrix (rows x features); categories become their index, unknown or missing -> NaN.

    `columns` maps a feature name to its values: a DataFrame, or a dict of lists.
    """
    matrix = np.empty((rows, len(spec)), dtype=np.float64)
    for j, feature in enumerate(spec):
        values = columns[feature["name"]]
        if feature["kind"] == "category":
            codes = {v: float(i) for i, v in enumerate(feature["categories"])}
            matrix[:, j] = [codes.get(v, math.nan) for v in values]
        else:
            matrix[:, j] = np.asarray(values, dtype=np.float64)
    return matrix


"""Which column is which, read from the packet's data dictionary and checked against the data.

Column names differ from packet to packet, so nothing downstream types one by hand:
the id, month and label columns are found from their documented type and description
(with the data as a fallback), and every other column is a feature whose kind comes
from its polars dtype.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import polars as pl

MONTH_VALUE = r"^\d{4}-\d{2}$"


@dataclass
class Roles:
    id: str
    month: str
    label: str
    numeric: list[str] = field(default_factory=list)
    boolean: list[str] = field(default_factory=list)
    categorical: dict[str, list[str]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # features in file order
    label_window_days: int | None = None

    @property
    def features(self) -> list[str]:
        return list(self.order)

    def describe(self) -> str:
        window = f", {self.label_window_days}-day label window" if self.label_window_days else ""
        return (
            f"id column: {self.id} | month column: {self.month} | label: {self.label}{window}\n"
            f"{len(self.order)} features: {len(self.numeric)} numeric, {len(self.boolean)} boolean, "
            f"{len(self.categorical)} categorical"
        )

    def to_json(self, path: Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def from_json(cls, path: Path) -> "Roles":
        return cls(**json.loads(Path(path).read_text()))


def _doc(entry: dict) -> str:
    return f"{entry.get('type', '')} {entry.get('description', '')}".lower()


def detect_roles(df: pl.DataFrame, dictionary: list[dict] | None = None) -> Roles:
    docs = {e["name"]: e for e in (dictionary or []) if "name" in e}
    schema = df.schema

    def is_month(column: str) -> bool:
        dtype = schema[column]
        if dtype in (pl.Date, pl.Datetime):
            return True
        if dtype != pl.String:
            return False
        values = df[column].drop_nulls()
        return values.len() > 0 and bool(values.str.contains(MONTH_VALUE).all())

    months = [c for c in df.columns if is_month(c)]
    months.sort(key=lambda c: ("month" not in _doc(docs.get(c, {})) and "month" not in c.lower()))
    if not months:
        raise ValueError("no column holds YYYY-MM months: cannot split by time")
    month = months[0]

    def is_binary(column: str) -> bool:
        dtype = schema[column]
        if not (dtype.is_integer() or dtype == pl.Boolean):
            return False
        return set(df[column].drop_nulls().unique().cast(pl.Int64).to_list()) <= {0, 1}

    binary = [c for c in df.columns if is_binary(c)]

    def label_rank(column: str) -> tuple:
        text = _doc(docs.get(column, {}))
        return ("0/1" not in text, not re.search(r"churn|cancel", text + " " + column.lower()), schema[column] == pl.Boolean)

    if not binary:
        raise ValueError("no 0/1 column: cannot find the label")
    label = sorted(binary, key=label_rank)[0]

    strings = [c for c in df.columns if schema[c] == pl.String and c != month]
    ids = sorted(
        strings,
        key=lambda c: ("identifier" not in _doc(docs.get(c, {})), -df[c].n_unique()),
    )
    # An id is documented as one, or has far more distinct values than any category.
    ident = next(
        (c for c in ids if "identifier" in _doc(docs.get(c, {})) or df[c].n_unique() > max(50, df.height // 50)),
        None,
    )
    if ident is None:
        raise ValueError("no identifier column found")

    window = re.search(r"(\d+)\s*days?", _doc(docs.get(label, {})) + " " + label)
    roles = Roles(id=ident, month=month, label=label, label_window_days=int(window.group(1)) if window else None)
    for column in df.columns:
        if column in (ident, month, label):
            continue
        dtype = schema[column]
        roles.order.append(column)
        if dtype == pl.Boolean:
            roles.boolean.append(column)
        elif dtype.is_numeric():
            roles.numeric.append(column)
        else:
            documented = docs.get(column, {}).get("values")
            observed = sorted(str(v) for v in df[column].drop_nulls().unique().to_list())
            roles.categorical[column] = sorted(set(documented or []) | set(observed))
    return roles

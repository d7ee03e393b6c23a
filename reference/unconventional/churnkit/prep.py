"""Records -> float matrix, the one encoding used in training, in MLflow and in the API.

Numbers and booleans become floats with nulls as NaN (the audit found missingness
that carries signal, and LightGBM routes NaN on its own); a category becomes the index
of its value in the documented list, an unknown value becomes NaN. Columns the model
does not use (the id, the month, the leak, anything else) are ignored; a missing one is
read as null.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl


@dataclass
class Preprocessor:
    numeric: list[str]
    boolean: list[str]
    categorical: dict[str, list[str]]
    _all: list | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def columns(self) -> list[str]:
        return [*self.numeric, *self.boolean, *self.categorical]

    @property
    def categorical_index(self) -> list[int]:
        start = len(self.numeric) + len(self.boolean)
        return list(range(start, start + len(self.categorical)))

    def input_schema(self) -> dict[str, pl.DataType]:
        """The polars dtypes of a raw record (what the API builds its frame with)."""
        return {
            **{c: pl.Float64 for c in self.numeric},
            **{c: pl.Boolean for c in self.boolean},
            **{c: pl.String for c in self.categorical},
        }

    def expressions(self, present: set[str] | None = None) -> list[pl.Expr]:
        """One expression per model column; a column absent from the input is read as null."""

        def column(name: str) -> pl.Expr:
            return pl.col(name) if present is None or name in present else pl.lit(None)

        # NaN and null both reach LightGBM as NaN (missing).
        out = [column(n).cast(pl.Float64, strict=False).alias(n) for n in self.numeric]
        out += [column(n).cast(pl.Float64, strict=False).alias(n) for n in self.boolean]
        # Enum cast: a documented value becomes its index, anything else null.
        out += [
            column(n).cast(pl.String).cast(pl.Enum(values), strict=False).to_physical().cast(pl.Float64).alias(n)
            for n, values in self.categorical.items()
        ]
        return out

    def matrix(self, frame: pl.DataFrame) -> np.ndarray:
        if self._all is None:
            self._all = self.expressions()  # built once: a one-record request should not rebuild 40 expressions
        present = set(frame.columns)
        expressions = self._all if present.issuperset(self.columns) else self.expressions(present)
        return frame.select(expressions).to_numpy().astype(np.float64, copy=False)

    def save(self, path: Path) -> None:
        state = {"numeric": self.numeric, "boolean": self.boolean, "categorical": self.categorical}
        Path(path).write_text(json.dumps(state, indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> "Preprocessor":
        return cls(**json.loads(Path(path).read_text()))

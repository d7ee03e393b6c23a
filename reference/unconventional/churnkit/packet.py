"""Read the packet: data/churn.parquet (or .csv) and data/data_dictionary.json, from the repo root."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from churnkit.roles import Roles, detect_roles


def repo_root() -> Path:
    here = Path.cwd().resolve()
    return here.parent if here.name == "notebooks" else here


def load_packet(root: Path | None = None) -> tuple[pl.DataFrame, list[dict], Roles]:
    data = (root or repo_root()) / "data"
    parquet, csv = data / "churn.parquet", data / "churn.csv"
    frame = pl.read_parquet(parquet) if parquet.exists() else pl.read_csv(csv, infer_schema_length=None)
    dictionary_path = data / "data_dictionary.json"
    dictionary = json.loads(dictionary_path.read_text()) if dictionary_path.exists() else []
    return frame, dictionary, detect_roles(frame, dictionary)

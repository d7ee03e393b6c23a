"""Load the serving artifact (models/) and score records: the one scoring path."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from churnlib import calibration
from churnlib.features import encode
from churnlib.forest import CompiledForest

MANIFEST = "model.json"
FOREST = "forest.npz"


class ChurnScorer:
    """Feature contract + compiled forest + calibration, loaded once."""

    def __init__(self, manifest: dict, forest: CompiledForest):
        self.manifest = manifest
        self.features: list[dict] = manifest["features"]
        self.calibration: dict = manifest["calibration"]
        self.version: str = manifest["model_version"]
        self.forest = forest

    @classmethod
    def load(cls, model_dir: Path) -> "ChurnScorer":
        model_dir = Path(model_dir)
        manifest = json.loads((model_dir / MANIFEST).read_text())
        return cls(manifest, CompiledForest.load(model_dir / FOREST))

    def predict_columns(self, columns: Mapping[str, Any], rows: int) -> np.ndarray:
        """Churn probabilities for `rows` records given column-wise (a DataFrame works)."""
        raw = self.forest.raw_score(encode(columns, self.features, rows))
        return np.clip(calibration.apply(raw, self.calibration), 0.0, 1.0)

    def predict_frame(self, frame: Any) -> np.ndarray:
        """Churn probabilities for a DataFrame; columns the model does not use are ignored."""
        return self.predict_columns(frame, len(frame))


def write_artifact(model_dir: Path, manifest: dict, forest: CompiledForest) -> None:
    """Write models/: the manifest (contract, calibration, version) and the forest."""
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    forest.save(model_dir / FOREST)

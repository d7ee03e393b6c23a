"""The shipped model as three files: preprocess.json, booster.txt, isotonic.json.

ChurnScorer.predict(frame) = isotonic(booster(preprocess(frame))). The MLflow pyfunc and
the API both go through it, so what was evaluated is what is served.
"""

from __future__ import annotations

import json
from pathlib import Path

import lightgbm as lgb
import numpy as np
import polars as pl

from churnkit.prep import Preprocessor

PREPROCESS, BOOSTER, CALIBRATOR, CARD = "preprocess.json", "booster.txt", "isotonic.json", "model_card.json"


class ChurnScorer:
    def __init__(self, prep: Preprocessor, booster: lgb.Booster, calibrator: dict, card: dict | None = None):
        self.prep = prep
        self.booster = booster
        self.calibrator = calibrator
        self.card = card or {}

    @property
    def version(self) -> str:
        return str(self.card.get("version", "dev"))

    def raw_probability(self, frame: pl.DataFrame) -> np.ndarray:
        return self.booster.predict(self.prep.matrix(frame), num_threads=1)

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        return calibrate(self.raw_probability(frame), self.calibrator)

    def save(self, folder: Path) -> dict[str, Path]:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {"preprocess": folder / PREPROCESS, "booster": folder / BOOSTER, "calibrator": folder / CALIBRATOR}
        self.prep.save(paths["preprocess"])
        self.booster.save_model(str(paths["booster"]))
        paths["calibrator"].write_text(json.dumps(self.calibrator) + "\n")
        (folder / CARD).write_text(json.dumps(self.card, indent=2) + "\n")
        return paths

    @classmethod
    def from_files(cls, preprocess: Path, booster: Path, calibrator: Path, card: Path | None = None) -> "ChurnScorer":
        return cls(
            Preprocessor.load(preprocess),
            lgb.Booster(model_file=str(booster)),
            json.loads(Path(calibrator).read_text()),
            json.loads(Path(card).read_text()) if card and Path(card).exists() else None,
        )

    @classmethod
    def load(cls, folder: Path) -> "ChurnScorer":
        folder = Path(folder)
        return cls.from_files(folder / PREPROCESS, folder / BOOSTER, folder / CALIBRATOR, folder / CARD)


def fit_isotonic(raw: np.ndarray, labels: np.ndarray) -> dict:
    """Isotonic regression of the label on the raw probability, stored as points to interpolate.

    Plain isotonic regression is a step function: with ~100 churners in a month it has a
    few dozen steps, and every customer inside a step gets the same score, which throws away
    the booster's ranking (the top of the list turns into ties). So each step is replaced by
    its centre (the mean raw score of the rows in it) and the map interpolates linearly
    between centres ("centred isotonic"): still monotone, still fitted on the later month,
    but strictly increasing between the first and last centre.
    """
    from sklearn.isotonic import IsotonicRegression

    model = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, labels)
    fitted = model.predict(raw)
    levels = np.unique(fitted)
    centres = np.array([raw[fitted == level].mean() for level in levels])
    return {"method": "centred-isotonic", "x": centres.tolist(), "y": levels.tolist(), "rows": int(len(raw))}


def calibrate(raw: np.ndarray, calibrator: dict) -> np.ndarray:
    """Calibrated probability. Beyond the first and last centre the map is flat; a 1e-6 share
    of the raw score breaks those ties, so the ranking is exactly the booster's."""
    calibrated = np.interp(raw, calibrator["x"], calibrator["y"]) + 1e-6 * raw
    return np.clip(calibrated, 0.0, 1.0)

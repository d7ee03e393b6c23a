"""The MLflow model: a PythonModel wrapping preprocessing, booster and calibrator."""

from __future__ import annotations

import mlflow.pyfunc
import numpy as np
import pandas as pd
import polars as pl

from churnkit.scoring import ChurnScorer


class ChurnRankerModel(mlflow.pyfunc.PythonModel):
    """predict(DataFrame of customer records) -> calibrated churn probability per row."""

    def load_context(self, context) -> None:
        a = context.artifacts
        self.scorer = ChurnScorer.from_files(a["preprocess"], a["booster"], a["calibrator"], a.get("card"))

    def predict(self, context, model_input, params=None) -> np.ndarray:
        if isinstance(model_input, pd.DataFrame):
            frame = pl.from_pandas(model_input)
        elif isinstance(model_input, pl.DataFrame):
            frame = model_input
        else:
            frame = pl.DataFrame(model_input)
        return self.scorer.predict(frame)

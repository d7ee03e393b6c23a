"""The MLflow model: the serving artifact behind MLflow's pyfunc interface."""

from __future__ import annotations

from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pandas as pd

from churnlib.scorer import ChurnScorer


class ChurnModel(mlflow.pyfunc.PythonModel):
    """predict(DataFrame of records) -> calibrated churn probability per row."""

    def load_context(self, context):
        self.scorer = ChurnScorer.load(Path(context.artifacts["model_dir"]))

    def predict(self, context, model_input: pd.DataFrame, params=None) -> np.ndarray:
        return self.scorer.predict_frame(model_input)

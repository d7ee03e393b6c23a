"""Churn prediction API: serves the tuned gradient boosting model."""

from pathlib import Path
from typing import Any, Dict, List, Union

import joblib
import pandas as pd
from fastapi import FastAPI

MODEL_PATH = Path(__file__).resolve().parent.parent / "models" / "model.joblib"

app = FastAPI(title="Churn prediction API", version="1.0")

model = joblib.load(MODEL_PATH)
FEATURES = list(model.feature_names_in_)


@app.get("/health")
def health():
    return {"status": "ok"}


@app.post("/predict")
def predict(payload: Union[Dict[str, Any], List[Dict[str, Any]]]):
    """Score one customer (a JSON object) or a batch (a JSON list of objects)."""
    records = payload if isinstance(payload, list) else [payload]
    df = pd.DataFrame(records).reindex(columns=FEATURES)
    proba = model.predict_proba(df)[:, 1]
    return {
        "churn_probability": [round(float(p), 4) for p in proba],
        "will_churn": [bool(p >= 0.5) for p in proba],
    }

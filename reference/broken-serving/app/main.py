"""Churn prediction API."""

from pathlib import Path

import pandas as pd
from fastapi import FastAPI, Request

from churnlib.scorer import ChurnScorer

ROOT = Path(__file__).resolve().parents[1]

app = FastAPI(title="churn api")


@app.post("/predict")
async def predict(request: Request):
    payload = await request.json()
    if "records" in payload:
        records = payload["records"]
    else:
        records = [payload]

    # load the latest model and the training columns so the input lines up with training
    model = ChurnScorer.load(ROOT / "models")
    training = pd.read_parquet(ROOT / "data" / "churn.parquet")
    columns = [c for c in training.columns if c != "churned_next_30d"]

    df = pd.DataFrame(records)[columns]
    for feature in model.features:
        if feature["kind"] in ("int", "float"):
            df[feature["name"]] = df[feature["name"]].astype(float)

    preds = model.predict_frame(df)
    return {"churn_probability": [float(p) for p in preds]}

import joblib
import pandas as pd
from fastapi import FastAPI

app = FastAPI()
model = joblib.load("models/model.joblib")


@app.get("/health")
def health():
    return {"status": "ok"}


@app.post("/predict")
def predict(data: dict | list[dict]):
    if isinstance(data, dict):
        data = [data]
    df = pd.DataFrame(data)
    preds = model.predict_proba(df)[:, 1]
    return {"predictions": preds.tolist()}

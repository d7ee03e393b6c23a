"""The churn-scoring service: GET /health, POST /predict.

The model is loaded once when the process starts (a broken artifact fails the start, not
the first request). Scoring is numpy only: validated records are encoded column by column
with the same code the notebooks trained with, and the compiled forest evaluates all trees
at once, so one request costs well under a millisecond of model time.

No `from __future__ import annotations` here: FastAPI reads the route annotations at
runtime, and the request model is built inside create_app.
"""

import gc
import os
from pathlib import Path
from typing import Annotated

from fastapi import Body, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from app.schema import MAX_BATCH, Health, PredictResponse, record_model, request_model
from churnlib.scorer import ChurnScorer

MODEL_DIR = Path(os.environ.get("MODEL_DIR", Path(__file__).resolve().parents[1] / "models"))


def create_app(model_dir: Path = MODEL_DIR) -> FastAPI:
    scorer = ChurnScorer.load(model_dir)
    names = [feature["name"] for feature in scorer.features]
    Record = record_model(scorer.features)
    PredictRequest = request_model(Record)
    # Fail at start-up, not on the first request, if the artifact cannot score.
    scorer.predict_columns({name: [None] for name in names}, 1)

    app = FastAPI(
        title="Churn scoring",
        version=scorer.version,
        description="Calibrated probability that a customer cancels within 30 days of the snapshot.",
    )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Without the offending input: echoing it back fails on values JSON cannot hold (NaN).
        errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        return JSONResponse(status_code=422, content={"detail": errors})

    @app.get("/health", response_model=Health)
    async def health() -> Health:
        return Health(status="ok", model_version=scorer.version, features=len(names))

    @app.post(
        "/predict",
        response_model=PredictResponse,
        description=f"One customer record, or {{\"records\": [...]}} with up to {MAX_BATCH} records. "
        "Unknown fields (ids, the columns the model does not use) are ignored.",
    )
    async def predict(body: Annotated[PredictRequest, Body()]) -> PredictResponse:
        records = body.records if hasattr(body, "records") else [body]
        columns = {name: [getattr(r, name) for r in records] for name in names}
        probabilities = scorer.predict_columns(columns, len(records))
        return PredictResponse(
            model_version=scorer.version,
            predictions=[
                {"customer_id": r.customer_id, "churn_probability": float(p)} for r, p in zip(records, probabilities)
            ],
        )

    return app


app = create_app()
# The model and schemas live as long as the process: keep them out of the collector's scans,
# which otherwise show up as tail latency.
gc.freeze()

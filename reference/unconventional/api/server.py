"""Churn scoring API: the calibrated LightGBM from 04_evaluate, behind FastAPI on :8080.

Routes
  GET  /healthz             liveness + which model is loaded
  POST /v1/score            {"customer": {...one record...}}           -> one probability
  POST /v1/score/batch      {"customers": [{...}, ...]} (1..1000)      -> one probability per record

The record schema is generated from model/preprocess.json (the model's own feature
contract), so it always matches the model that was trained on this packet: numbers and
booleans may be null (missing is meaningful for one column), categories must be one of
the documented values. Unknown keys (id, month, columns the model does not use) are
ignored. Everything is loaded once at start-up; a request costs one polars frame and one
booster call.

No `from __future__ import annotations`: FastAPI reads the annotations at runtime.
"""

import os
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import polars as pl
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, create_model

from churnkit.scoring import ChurnScorer

MODEL_DIR = Path(os.environ.get("CHURN_MODEL_DIR", Path(__file__).resolve().parents[1] / "model"))
MAX_BATCH = 1000

scorer = ChurnScorer.load(MODEL_DIR)
prep = scorer.prep
ID_FIELD = scorer.card.get("roles", {}).get("id", "customer_id")

Number = Annotated[Optional[float], Field(allow_inf_nan=False)]
fields: dict[str, Any] = {ID_FIELD: (Optional[str], Field(None, max_length=128, description="echoed back, not used"))}
for name in prep.numeric:
    fields[name] = (Number, Field(..., description="null when unknown"))
for name in prep.boolean:
    fields[name] = (Optional[bool], Field(...))
for name, values in prep.categorical.items():
    fields[name] = (Optional[Literal[tuple(values)]], Field(..., description=f"one of {values}, or null"))
Customer = create_model("Customer", __config__=ConfigDict(extra="ignore"), **fields)


class ScoreRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer: Customer


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customers: list[Customer] = Field(..., min_length=1, max_length=MAX_BATCH)


class Score(BaseModel):
    customer_id: Optional[str] = None
    churn_probability: float = Field(ge=0.0, le=1.0)


class ScoreResponse(Score):
    model_version: str


class BatchResponse(BaseModel):
    model_version: str
    scores: list[Score]


SCHEMA = prep.input_schema()


def score(customers: list[BaseModel]) -> list[float]:
    rows = [c.model_dump(exclude={ID_FIELD}) for c in customers]
    frame = pl.DataFrame(rows, schema=SCHEMA)
    return [float(p) for p in scorer.predict(frame)]


# Fail at start-up, not on the first request, if the model cannot score.
score([Customer(**{name: None for name in prep.columns})])

app = FastAPI(title="churn ranker", version=scorer.version,
              description="Calibrated probability that a customer cancels within the label window after the snapshot.")


@app.exception_handler(RequestValidationError)
async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    # Without echoing the input: NaN / huge strings do not belong in an error body.
    return JSONResponse(status_code=422, content={"detail": [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]})


@app.get("/healthz")
async def healthz() -> dict:
    return {"status": "ok", "model_version": scorer.version, "features": len(prep.columns)}


@app.post("/v1/score", response_model=ScoreResponse)
async def score_one(body: ScoreRequest) -> ScoreResponse:
    (p,) = score([body.customer])
    return ScoreResponse(customer_id=getattr(body.customer, ID_FIELD), churn_probability=p, model_version=scorer.version)


@app.post("/v1/score/batch", response_model=BatchResponse)
async def score_batch(body: BatchRequest) -> BatchResponse:
    probabilities = score(body.customers)
    return BatchResponse(
        model_version=scorer.version,
        scores=[Score(customer_id=getattr(c, ID_FIELD), churn_probability=p) for c, p in zip(body.customers, probabilities)],
    )

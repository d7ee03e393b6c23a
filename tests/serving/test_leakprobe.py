"""The served leak probe (grader/serving/leakprobe.py) against real FastAPI apps on 127.0.0.1:
one reads the leak, one takes it and ignores it, one has no field for it.

No `from __future__ import annotations`: FastAPI reads the handlers' annotations at runtime.
"""

import numpy as np
import pandas as pd
import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from test_contract import serve

from grader.evidence import Check
from grader.serving.contract import discover
from grader.serving.evidence import ContractRecord
from grader.serving.leakprobe import LeakProbe, leak_check
from grader.serving.quality import holdout_order, score_rows
from grader.serving.service import Calls
from grader.serving.settings import ServingSettings

ROWS = 400


def holdout() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "customer_id": [f"cus_{i}" for i in range(ROWS)],
            "snapshot_month": ["2026-01"] * ROWS,
            "tenure_months": rng.integers(1, 60, ROWS),
            # As production sees it: almost always 0 before any outcome is known.
            "cancel_requests": (rng.random(ROWS) < 0.02).astype(np.int64),
        }
    )


class WithLeak(BaseModel):
    tenure_months: int
    cancel_requests: int


class WithoutLeak(BaseModel):
    tenure_months: int


def app_for(kind: str) -> FastAPI:
    app = FastAPI()
    if kind == "without_field":

        @app.post("/predict")
        def predict_plain(record: WithoutLeak) -> dict:
            return {"probability": 0.02 + record.tenure_months / 1000}

    else:

        @app.post("/predict")
        def predict(record: WithLeak) -> dict:
            leak = 0.8 * (record.cancel_requests > 0) if kind == "reads_leak" else 0.0
            return {"probability": 0.02 + record.tenure_months / 1000 + leak}

    return app


def probe(kind: str) -> Check:
    frame = holdout()
    # In training the leak lights up for churners: a quarter of the rows hold a count.
    training = np.where(np.random.default_rng(3).random(5000) < 0.25, 2, 0)
    settings = ServingSettings(batch_size=64)
    with serve(app_for(kind)) as url, Calls(url, 5.0, 1 << 20) as calls:
        contract = discover(calls, frame, ["tenure_months", "cancel_requests"], ContractRecord())
        assert contract is not None
        order = holdout_order(ROWS)
        scored = score_rows(calls, contract, order, settings, 60.0)
        return leak_check(calls, contract, frame, order, scored, LeakProbe("cancel_requests", training), settings)


@pytest.mark.parametrize(
    ("kind", "passed", "words"),
    [
        ("reads_leak", False, "depends on the leak"),
        ("ignores_leak", True, "does not depend on the leak"),
        ("without_field", True, "no field for cancel_requests"),
    ],
)
def test_the_service_is_asked_whether_its_answers_move_with_the_leak(kind: str, passed: bool, words: str) -> None:
    check = probe(kind)
    assert check.passed is passed, check.detail
    assert words in check.detail
    if kind == "reads_leak":
        assert check.figures["rows"] == 300 and check.figures["relative_effect"] > 1
    if kind == "ignores_leak":
        assert check.figures["relative_effect"] == 0

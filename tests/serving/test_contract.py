"""OpenAPI reading, field mapping and answer parsing, on real FastAPI apps.

Schemas come from each app's own `openapi()` output; the discovery tests serve the
apps with uvicorn on 127.0.0.1 and talk real HTTP. No `from __future__ import
annotations`: FastAPI reads the handlers' annotations at runtime.
"""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated, Any

import numpy as np
import pandas as pd
import pytest
import uvicorn
from fastapi import Body, FastAPI, Request
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from grader.serving.contract import discover, extract, openapi_candidates
from grader.serving.evidence import ContractRecord
from grader.serving.quality import score_rows
from grader.serving.schema import RecordBuilder, map_fields, wrap
from grader.serving.service import Answer, Calls
from grader.serving.settings import ServingSettings

COLUMNS = [
    "customer_id",
    "snapshot_month",
    "tenure_months",
    "monthly_charges",
    "contract_type",
    "auto_renew",
    "customer_age",
]
FEATURES = COLUMNS[2:]


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["cus_1", "cus_2", "cus_3", "cus_4"],
            "snapshot_month": ["2026-01"] * 4,
            "tenure_months": np.array([3, 40, 12, 7], dtype=np.int64),
            "monthly_charges": [19.5, 70.25, 33.0, 45.5],
            "contract_type": ["monthly", "annual", "monthly", "two_year"],
            "auto_renew": [True, False, True, True],
            "customer_age": [34.0, np.nan, 51.0, 29.0],
        }
    )


class Contract(StrEnum):
    monthly = "Monthly"
    annual = "Annual"
    two_year = "Two_Year"


class Customer(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    tenure: int = Field(alias="Tenure Months")
    monthly_charges: float = Field(alias="monthlyCharges")
    contract_type: Contract = Field(alias="CONTRACT-TYPE")
    auto_renew: int
    customer_age: float | None = None
    loyalty_tier: str | None = None


def candidates_of(app: FastAPI) -> list[tuple[str, str, Any]]:
    return [(path, shape.shape, shape) for path, _, shape in openapi_candidates(app.openapi(), COLUMNS)]


def test_typed_record_maps_fields_ignoring_case_spaces_and_separators() -> None:
    app = FastAPI()

    @app.post("/predict")
    def predict(customer: Customer) -> dict:
        return {}

    [(path, kind, shape)] = candidates_of(app)
    assert (path, kind) == ("/predict", "record")
    mapping = map_fields(shape.record, COLUMNS, FEATURES)
    assert mapping.field_to_column == {
        "Tenure Months": "tenure_months",
        "monthlyCharges": "monthly_charges",
        "CONTRACT-TYPE": "contract_type",
        "auto_renew": "auto_renew",
        "customer_age": "customer_age",
    }
    assert mapping.unmapped_optional == ["loyalty_tier"] and mapping.unmapped_required == []
    record = RecordBuilder(frame(), shape.record, mapping.field_to_column).record(1)
    # Types follow the schema: bool to int, enum matched case-insensitively, NaN to null.
    assert record == {
        "Tenure Months": 40,
        "monthlyCharges": 70.25,
        "CONTRACT-TYPE": "Annual",
        "auto_renew": 0,
        "customer_age": None,
    }
    Customer.model_validate(record)


def test_unmapped_required_field_is_recorded() -> None:
    class Odd(BaseModel):
        tenure_months: int
        household_income: float

    app = FastAPI()

    @app.post("/score")
    def score(row: Odd) -> dict:
        return {}

    [(_, _, shape)] = candidates_of(app)
    assert map_fields(shape.record, COLUMNS, FEATURES).unmapped_required == ["household_income"]


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        ("list", [("array", None)]),
        ("union_free", [("record", None), ("array", None)]),
        ("wrapper", [("wrapper", "instances")]),
        ("embedded", [("wrapped_record", "customer")]),
        ("free_wrapper", [("wrapper", "data")]),
        ("discriminated", [("record", None), ("wrapper", "records")]),
        (
            "undeclared",
            [
                ("record", None),
                ("array", None),
                ("wrapper", "records"),
                ("wrapper", "data"),
                ("wrapper", "instances"),
                ("wrapper", "inputs"),
            ],
        ),
    ],
)
def test_body_shapes(build: str, expected: list[tuple[str, str | None]]) -> None:
    app = FastAPI()

    class Instances(BaseModel):
        instances: list[Customer]

    class FreeData(BaseModel):
        data: list[dict[str, Any]]

    class Batch(BaseModel):
        records: list[Customer] = Field(min_length=1)

    def kind(body: Any) -> str:
        return "batch" if isinstance(body, dict) and "records" in body else "record"

    if build == "list":

        @app.post("/predict")
        def predict(rows: list[Customer]) -> dict:
            return {}
    elif build == "union_free":

        @app.post("/predict")
        def predict(payload: dict[str, Any] | list[dict[str, Any]]) -> dict:
            return {}
    elif build == "wrapper":

        @app.post("/predict")
        def predict(body: Instances) -> dict:
            return {}
    elif build == "embedded":

        @app.post("/predict")
        def predict(customer: Customer = Body(embed=True)) -> dict:
            return {}
    elif build == "free_wrapper":

        @app.post("/predict")
        def predict(body: FreeData) -> dict:
            return {}
    elif build == "discriminated":
        body_type = Annotated[Annotated[Batch, Tag("batch")] | Annotated[Customer, Tag("record")], Discriminator(kind)]

        @app.post("/predict")
        def predict(body: Annotated[body_type, Body()]) -> dict:
            return {}
    else:

        @app.post("/predict")
        async def predict(request: Request) -> dict:
            return await request.json()

    assert [(shape.shape, shape.wrapper_key) for _, _, shape in candidates_of(app)] == expected


def test_route_choice_prefers_predict_over_other_posts() -> None:
    app = FastAPI()

    @app.post("/feedback")
    def feedback(payload: dict) -> dict:
        return {}

    @app.post("/predict/batch")
    def batch(rows: list[Customer]) -> dict:
        return {}

    @app.post("/v1/churn/predict", summary="Score one customer")
    def predict(customer: Customer) -> dict:
        return {}

    @app.get("/health")
    def health() -> dict:
        return {}

    paths = [path for path, _, _ in candidates_of(app)]
    # Other POST routes with a body stay as a last resort; GET routes never qualify.
    assert paths == ["/v1/churn/predict", "/predict/batch", "/feedback"]


def test_wrap_builds_each_shape() -> None:
    app = FastAPI()

    class Instances(BaseModel):
        instances: list[Customer]

    @app.post("/predict")
    def predict(body: Instances) -> dict:
        return {}

    [(_, _, shape)] = candidates_of(app)
    assert wrap(shape, [{"a": 1}, {"a": 2}]) == {"instances": [{"a": 1}, {"a": 2}]}


def answer(payload: str, status: int = 200) -> Answer:
    return Answer(status=status, body=payload.encode())


@pytest.mark.parametrize(
    ("payload", "rows", "values", "kind", "path"),
    [
        ('{"churn_probability": 0.25}', 1, [0.25], "probability", "$.churn_probability"),
        ("0.4", 1, [0.4], "probability", "$"),
        ('{"predictions": [0.1, 0.9]}', 2, [0.1, 0.9], "probability", "$.predictions[*]"),
        (
            '{"predictions": [{"customer_id": "a", "score": 0.3}, {"customer_id": "b", "score": 0.6}]}',
            2,
            [0.3, 0.6],
            "probability",
            "$.predictions[*].score",
        ),
        ('{"proba": [[0.8, 0.2], [0.3, 0.7]]}', 2, [0.2, 0.7], "probability", "$.proba[*][1]"),
        ('{"result": {"churn": {"probability": 0.12}}}', 1, [0.12], "probability", "$.result.churn.probability"),
        ('{"prediction": 1, "label": "churn"}', 1, [1.0], "label", "$.prediction"),
        (
            '{"churn_probability": [0.2, 0.4], "will_churn": [false, false]}',
            2,
            [0.2, 0.4],
            "probability",
            "$.churn_probability[*]",
        ),
        ('[{"p": 0.5}]', 1, [0.5], "probability", "$[*].p"),
    ],
)
def test_extract_finds_predictions(payload: str, rows: int, values: list[float], kind: str, path: str) -> None:
    found = extract(answer(payload), rows)
    assert (found.values, found.kind, found.path) == (values, kind, path)


@pytest.mark.parametrize(
    ("payload", "status", "rows", "problem"),
    [
        ('{"error": "model not loaded"}', 200, 1, "HTTP 200 with an error body"),
        ('{"predictions": [0.1]}', 200, 2, "no 2 prediction(s)"),
        ("<html>oops</html>", 200, 1, "not JSON"),
        ("[" * 100_000, 200, 1, "not JSON"),
        ('{"detail": "bad"}', 422, 1, "HTTP 422"),
    ],
)
def test_extract_refuses_errors(payload: str, status: int, rows: int, problem: str) -> None:
    found = extract(answer(payload, status), rows)
    assert found.values is None and problem in found.problem


def test_extract_survives_an_integer_beyond_any_float() -> None:
    # Read as infinity, which the range check then reports.
    assert extract(answer('{"predictions": [1' + "0" * 400 + "]}"), 1).values == [float("inf")]


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run `app` with uvicorn on a free 127.0.0.1 port in a thread."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not (server.started and server.servers) and time.monotonic() < deadline:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)


def discover_on(app: FastAPI) -> tuple[Any, ContractRecord]:
    record = ContractRecord()
    with serve(app) as url, Calls(url, 2.0, 1 << 20) as calls:
        return discover(calls, frame(), FEATURES, record), record


def test_discover_confirms_single_and_batch_routes_over_http() -> None:
    app = FastAPI()

    class Batch(BaseModel):
        records: list[Customer]

    @app.post("/predict")
    def predict(customer: Customer) -> dict:
        return {"churn_probability": 0.1 + customer.tenure / 1000}

    @app.post("/predict/batch")
    def predict_batch(batch: Batch) -> dict:
        return {"predictions": [0.1 + c.tenure / 1000 for c in batch.records]}

    contract, record = discover_on(app)
    assert record.openapi_found and record.route.path == "/predict" and record.answer_kind == "probability"
    assert (
        record.batch_supported and record.batch_route.path == "/predict/batch" and record.batch_route.shape == "wrapper"
    )
    assert contract.single.route.field_to_column["Tenure Months"] == "tenure_months"


def test_discover_treats_an_error_in_a_200_as_an_error() -> None:
    app = FastAPI()

    @app.post("/predict")
    def predict(payload: dict) -> dict:
        return {"error": "model not loaded"}

    contract, record = discover_on(app)
    assert contract is None
    assert any("HTTP 200 with an error body" in p for p in record.problems)


def test_discover_labels_only_and_free_form_retry_with_all_columns() -> None:
    app = FastAPI()

    @app.post("/classify")
    def classify(payload: dict) -> dict:
        if "customer_id" not in payload:  # insists on the identifier
            return {"detail": "customer_id missing"}
        return {"label": int(payload["tenure_months"] < 10)}

    contract, record = discover_on(app)
    assert contract is not None and contract.kind == "label" and record.answer_kind == "label"
    assert contract.single.route.sends_all_columns is True
    assert not record.batch_supported


def test_discover_without_openapi_guesses_the_usual_paths() -> None:
    app = FastAPI(openapi_url=None)

    @app.post("/predict")
    async def predict(request: Request) -> Any:
        body = await request.json()
        rows = body if isinstance(body, list) else [body]
        scores = [0.5 for _ in rows]
        return scores if isinstance(body, list) else {"score": scores[0]}

    contract, record = discover_on(app)
    assert (
        not record.openapi_found and contract.single.route.path == "/predict" and not contract.single.route.from_openapi
    )
    assert record.batch_supported and record.batch_route.shape == "array"


@pytest.mark.parametrize(
    "document",
    [
        {"paths": []},
        {"paths": {"/predict": []}},
        {"paths": {"/predict": {"post": {"requestBody": []}}}},
        {"paths": {"/predict": {"post": {"requestBody": {"content": {"application/json": {"schema": 7}}}}}}},
        {
            "paths": {"/predict": {"post": {"requestBody": {"$ref": "#/components/requestBodies/Loop"}}}},
            "components": {"requestBodies": {"Loop": {"$ref": "#/components/requestBodies/Loop"}}},
        },
        {
            "paths": {
                "/predict": {
                    "post": {
                        "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/A"}}}}
                    }
                }
            },
            "components": {
                "schemas": {
                    "A": {
                        "type": "object",
                        "required": 5,
                        "properties": {"tenure_months": {"anyOf": [{"$ref": "#/components/schemas/A"}]}, "x": []},
                    }
                }
            },
        },
    ],
)
def test_hostile_openapi_documents_never_raise(document: dict) -> None:
    # Whatever the document claims, reading it yields candidates or none, never an exception.
    for _, _, shape in openapi_candidates(document, COLUMNS):
        map_fields(shape.record, COLUMNS, FEATURES)


def test_batches_shrink_to_what_the_service_accepts() -> None:
    class Batch(BaseModel):
        records: list[Customer] = Field(max_length=50)

    app = FastAPI()

    @app.post("/predict")
    def predict(batch: Batch) -> dict:
        return {"predictions": [c.tenure / 100 for c in batch.records]}

    rows = pd.concat([frame()] * 60, ignore_index=True)  # 240 rows
    with serve(app) as url, Calls(url, 5.0, 1 << 22) as calls:
        contract = discover(calls, rows, FEATURES, ContractRecord())
        scored = score_rows(calls, contract, list(range(len(rows))), ServingSettings(batch_size=256), 30.0)
    assert len(scored.values) == scored.sent == 240 and scored.failed == 0
    assert scored.values[1] == 0.4

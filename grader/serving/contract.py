"""Find the prediction route, learn how to call it, and read its answers.

The OpenAPI document names the candidates (POST routes whose path, operation id or
summary say predict / score / inference ...); a real request built from a holdout row
confirms one, and a three-row request tells whether it takes batches. Without an
OpenAPI document the usual paths are tried. An HTTP 200 whose body carries an error
and no prediction counts as an error.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from grader.serving.evidence import ContractRecord, PredictionRoute, excerpt
from grader.serving.schema import (
    BodyShape,
    RecordBuilder,
    RecordSchema,
    as_dict,
    body_shapes,
    map_fields,
    normalise,
    resolve,
    wrap,
)
from grader.serving.service import Answer, Calls

_ROUTE_WORDS = {
    "predict": 10,
    "prediction": 10,
    "score": 8,
    "scoring": 8,
    "inference": 8,
    "infer": 6,
    "proba": 8,
    "probability": 8,
    "classify": 6,
    "churn": 4,
    "model": 1,
    # A batch route is found separately; one record per request comes first.
    "batch": -2,
    "bulk": -2,
}
_GUESSED_PATHS = ("/predict", "/score", "/predictions", "/inference", "/v1/predict", "/api/predict", "/invocations")
_PROBABILITY_KEYS = (
    "churnprobability",
    "probability",
    "probabilities",
    "proba",
    "predictproba",
    "prob",
    "pchurn",
    "churnprob",
    "churnrisk",
    "risk",
    "riskscore",
    "churnscore",
    "score",
    "scores",
    "yproba",
    "prediction",
    "predictions",
    "output",
    "outputs",
    "result",
    "results",
    "data",
    "value",
    "values",
)
_LABEL_KEYS = (
    "label",
    "labels",
    "churn",
    "willchurn",
    "churned",
    "prediction",
    "predictions",
    "class",
    "predictedclass",
    "predictedlabel",
    "decision",
    "result",
    "results",
    "output",
    "outputs",
)
_ERROR_KEYS = ("error", "errors", "detail", "message", "exception", "traceback")
_KNOWN_KEYS = frozenset((*_PROBABILITY_KEYS, *_LABEL_KEYS, *_ERROR_KEYS))
_MAX_DEPTH = 6
AnswerKind = Literal["probability", "label"]


@dataclass
class Extraction:
    values: list[float] | None
    kind: AnswerKind | None = None
    path: str | None = None
    problem: str | None = None


def _float(value: int | float) -> float:
    try:
        return float(value)
    except OverflowError:  # an integer beyond any float: a hostile or broken answer
        return math.inf


def _numbers(value: Any) -> list[float] | None:
    return [_float(value)] if isinstance(value, (bool, int, float)) else None


def _kind(raw: list[Any]) -> AnswerKind:
    return "label" if all(isinstance(v, (bool, int)) for v in raw) else "probability"


def _from_list(items: list, n: int, path: str, depth: int) -> Extraction | None:
    if len(items) != n or n == 0:
        # One row answered with a [p(no churn), p(churn)] pair, as predict_proba gives it.
        if n == 1 and len(items) == 2 and all(isinstance(v, float) for v in items):
            return Extraction([_float(items[1])], "probability", f"{path}[1]")
        return None
    if all(isinstance(v, (int, float)) for v in items):
        return Extraction([_float(v) for v in items], _kind(items), f"{path}[*]")
    if all(isinstance(v, list) and len(v) == 2 and all(isinstance(x, (int, float)) for x in v) for v in items):
        return Extraction([_float(v[1]) for v in items], "probability", f"{path}[*][1]")
    if all(isinstance(v, list) and len(v) == 1 and isinstance(v[0], (int, float)) for v in items):
        return Extraction([_float(v[0]) for v in items], _kind([v[0] for v in items]), f"{path}[*][0]")
    if all(isinstance(v, dict) for v in items):
        parts = [_extract(v, 1, f"{path}[*]", depth + 1) for v in items]
        answered = [p for p in parts if p is not None]
        firsts = [p.values[0] for p in answered if p.values and len(p.values) == 1]
        if len(firsts) == len(parts):
            kinds = {p.kind for p in answered}
            return Extraction(firsts, "label" if kinds == {"label"} else "probability", answered[0].path)
    return None


def _extract(payload: Any, n: int, path: str, depth: int) -> Extraction | None:
    if depth > _MAX_DEPTH:
        return None
    if n == 1 and (numbers := _numbers(payload)) is not None:
        return Extraction(numbers, _kind([payload]), path)
    if isinstance(payload, list):
        return _from_list(payload, n, path, depth)
    if not isinstance(payload, dict):
        return None
    keyed = {normalise(str(k)): k for k in payload}
    found: list[Extraction] = []
    for wanted in (*_PROBABILITY_KEYS, *_LABEL_KEYS):
        if wanted in keyed:
            key = keyed[wanted]
            result = _extract(payload[key], n, f"{path}.{key}", depth + 1)
            if result is not None:
                found.append(result)
                if result.kind == "probability":
                    return result
    if found:
        return found[0]
    # Any other key whose value reads as n probabilities.
    for key, value in payload.items():
        if normalise(str(key)) in _KNOWN_KEYS:
            continue
        result = _extract(value, n, f"{path}.{key}", depth + 1)
        if result is not None and result.kind == "probability":
            return result
    return None


def extract(answer: Answer, n: int) -> Extraction:
    """n predictions from an answer, or the reason there are none."""
    if not answer.ok:
        return Extraction(None, problem=answer.describe())
    try:
        payload = answer.json()
    except ValueError:
        return Extraction(None, problem=f"HTTP {answer.status} but the body is not JSON: {excerpt(answer.body, 120)}")
    found = _extract(payload, n, "$", 0)
    if found is not None:
        return found
    if isinstance(payload, dict) and any(normalise(str(k)) in _ERROR_KEYS for k in payload):
        return Extraction(None, problem=f"HTTP {answer.status} with an error body: {excerpt(answer.body, 200)}")
    return Extraction(
        None, problem=f"HTTP {answer.status} but no {n} prediction(s) found in {excerpt(answer.body, 200)}"
    )


@dataclass
class Endpoint:
    """A prediction route with one body shape, and how to build its requests."""

    route: PredictionRoute
    shape: BodyShape
    builder: RecordBuilder

    def body(self, positions: list[int]) -> Any:
        return wrap(self.shape, [self.builder.record(p) for p in positions])

    def call(self, calls: Calls, positions: list[int], timeout_s: float | None = None) -> tuple[Answer, Extraction]:
        answer = calls.post(self.route.path, json_body=self.body(positions), timeout_s=timeout_s)
        return answer, extract(answer, len(positions))


@dataclass
class Contract:
    single: Endpoint
    batch: Endpoint | None
    kind: str


# (path, operation or None when guessed, one body shape)
Candidate = tuple[str, dict | None, BodyShape]


def _route_score(path: str, operation: dict) -> int:
    words = " ".join(str(operation.get(k, "")) for k in ("operationId", "summary", "description")) + " " + path
    tokens = re.findall(r"[a-z]+", words.lower())
    score = sum(_ROUTE_WORDS.get(t, 0) for t in set(tokens))
    if any(t in ("health", "healthz", "ready", "metrics", "docs") for t in tokens):
        score -= 20
    return score + (3 if "requestBody" in operation else 0)


def _request_schema(operation: dict, document: dict) -> Any:
    body = resolve(operation.get("requestBody"), document)
    for media, spec in as_dict(body.get("content")).items():
        if "json" in str(media) and isinstance(spec, dict):
            return spec.get("schema", {})
    return None


# A handler that reads the request itself declares no body: try a record, a list, and the usual wrappers.
_UNDECLARED = [
    BodyShape("record", RecordSchema(None)),
    BodyShape("array", RecordSchema(None)),
    *(BodyShape("wrapper", RecordSchema(None), key) for key in ("records", "data", "instances", "inputs")),
]


def openapi_candidates(document: dict, columns: list[str]) -> list[Candidate]:
    """POST routes that may predict, best first, one entry per way their body takes records."""
    scored: list[tuple[int, str, dict, BodyShape]] = []
    for path, item in as_dict(document.get("paths")).items():
        operation = as_dict(item).get("post")
        if not isinstance(operation, dict):
            continue
        score = _route_score(str(path), operation)
        schema = _request_schema(operation, document)
        shapes = body_shapes(schema, document, columns) if schema is not None else _UNDECLARED
        if score > 0:
            scored.extend((score, str(path), operation, shape) for shape in shapes)
    scored.sort(key=lambda c: -c[0])
    return [(path, operation, shape) for _, path, operation, shape in scored]


def _endpoint(candidate: Candidate, frame: pd.DataFrame, feature_columns: list[str], all_columns: bool) -> Endpoint:
    path, operation, shape = candidate
    columns = list(frame.columns)
    mapping = map_fields(shape.record, columns, columns if all_columns else feature_columns)
    route = PredictionRoute(
        path=path,
        operation_id=(operation or {}).get("operationId"),
        summary=(operation or {}).get("summary"),
        from_openapi=operation is not None,
        shape=shape.shape,
        wrapper_key=shape.wrapper_key,
        free_form=shape.record.fields is None,
        field_to_column=mapping.field_to_column,
        unmapped_required=mapping.unmapped_required,
        unmapped_optional=mapping.unmapped_optional,
        columns_not_sent=mapping.columns_not_sent,
        sends_all_columns=all_columns,
    )
    return Endpoint(route, shape, RecordBuilder(frame, shape.record, mapping.field_to_column))


def _confirm(
    calls: Calls,
    candidates: list[Candidate],
    frame: pd.DataFrame,
    feature_columns: list[str],
    rows: int,
    record: ContractRecord,
    all_columns: bool | None = None,
) -> tuple[Endpoint, Answer, Extraction] | None:
    """The first candidate that answers `rows` holdout rows with as many finite predictions."""
    positions = list(range(rows))
    for candidate in candidates:
        free = candidate[2].record.fields is None
        # Free-form bodies get the feature columns; if refused, every column (ids too).
        for every_column in ((False, True) if free else (False,)) if all_columns is None else (all_columns,):
            endpoint = _endpoint(candidate, frame, feature_columns, every_column)
            answer, extraction = endpoint.call(calls, positions)
            if extraction.values is not None and len(extraction.values) == rows and _finite(extraction.values):
                return endpoint, answer, extraction
            what = "one holdout row" if rows == 1 else f"{rows} holdout rows"
            record.problems.append(f"POST {candidate[0]} ({candidate[2].shape}) with {what}: {extraction.problem}")
    return None


def discover(calls: Calls, frame: pd.DataFrame, feature_columns: list[str], record: ContractRecord) -> Contract | None:
    """Confirm a prediction route with real rows; fill `record`; None when no route answers."""
    answer = calls.get("/openapi.json")
    document = None
    if answer.ok:
        try:
            document = answer.json()
        except ValueError:
            record.problems.append("/openapi.json is not JSON")
    if not isinstance(document, dict):
        document = None
    record.openapi_found = document is not None
    if document is not None:
        paths = as_dict(document.get("paths"))
        record.routes_seen = [f"{str(m).upper()} {p}" for p, item in paths.items() for m in as_dict(item)][:50]
        candidates = openapi_candidates(document, list(frame.columns))
    else:
        record.problems.append(f"no OpenAPI document ({answer.describe()}); guessing the usual paths")
        candidates = [(path, None, shape) for path in _GUESSED_PATHS for shape in _UNDECLARED]
    # One record per request where a route takes that; else a list of one.
    ordered = [c for c in candidates if not c[2].takes_list] + [c for c in candidates if c[2].takes_list]
    confirmed = _confirm(calls, ordered, frame, feature_columns, 1, record)
    if confirmed is None:
        return None
    single, answer, extraction = confirmed
    record.route = single.route
    record.answer_kind = extraction.kind
    record.answer_path = extraction.path
    record.sample_request = excerpt(json.dumps(single.body([0])), 600)
    record.sample_response = excerpt(answer.body, 600)
    # Batches: the same path first, then any other list-taking route.
    lists = [c for c in candidates if c[2].takes_list]
    lists.sort(key=lambda c: c[0] != single.route.path)
    batch = _confirm(calls, lists, frame, feature_columns, 3, record, all_columns=single.route.sends_all_columns)
    record.batch_supported = batch is not None
    record.batch_route = batch[0].route if batch else None
    return Contract(single, batch[0] if batch else None, extraction.kind or "probability")


def _finite(values: list[float]) -> bool:
    return all(math.isfinite(v) for v in values)

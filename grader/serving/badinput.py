"""The bad-input battery: hostile requests a production service must refuse cleanly.

Every case must get an HTTP answer that is not 5xx, and the service must be alive
after it. Most cases must be refused with 4xx; a few may also be answered with a valid
prediction where the request is arguably fine (extra fields, an empty batch) or where
the declared schema allows it (a missing optional field, a null in a nullable one).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from grader.evidence import Check
from grader.serving.contract import Contract, Endpoint, extract
from grader.serving.evidence import BadInputCase, excerpt
from grader.serving.schema import normalise, wrap
from grader.serving.service import Answer, Calls, Service
from grader.serving.settings import ServingSettings

STRICT = ["4xx"]
LENIENT = ["4xx", "2xx with a valid prediction"]
_PLACEHOLDER = "__grader_placeholder__"


@dataclass
class _Case:
    name: str
    description: str
    body: bytes | None
    headers: dict[str, str]
    acceptable: list[str]
    rows: int = 1
    timeout_s: float | None = None


def _encode(body: Any, raw_token: str | None = None) -> bytes:
    text = json.dumps(body)
    if raw_token is not None:
        text = text.replace(json.dumps(_PLACEHOLDER), raw_token)
    return text.encode()


def _fields(endpoint: Endpoint, record: dict[str, Any]) -> tuple[str | None, str | None]:
    """A numeric field (required ones first) and a text field of a valid record."""
    specs = endpoint.shape.record.fields or {}
    numeric = [
        k for k, v in record.items() if isinstance(v, (int, float)) and not isinstance(v, bool) and v is not None
    ]
    numeric.sort(key=lambda k: not (specs.get(k) and specs[k].required))
    text = [k for k, v in record.items() if isinstance(v, str)]
    # A category field first: an identifier would tell less about the model's input handling.
    text.sort(key=lambda k: (not (specs.get(k) and specs[k].enum), normalise(k).endswith("id")))
    return (numeric[0] if numeric else None), (text[0] if text else None)


def _allowed(endpoint: Endpoint, name: str | None, nullable: bool) -> bool:
    """Whether the declared schema lets this field be missing (or null)."""
    specs = endpoint.shape.record.fields
    if specs is None or name not in specs:
        return True
    spec = specs[name]
    return spec.nullable if nullable else not spec.required


def _cases(contract: Contract, settings: ServingSettings) -> list[_Case]:
    single = contract.single
    record = single.builder.record(0)
    json_header = {"Content-Type": "application/json"}
    numeric, text = _fields(single, record)
    target = numeric or next(iter(record), "tenure_months")

    def body_with(field: str, value: Any, drop: bool = False) -> Any:
        changed = {k: v for k, v in record.items() if not (drop and k == field)}
        if not drop:
            changed[field] = value
        return wrap(single.shape, [changed])

    cases = [
        _Case(
            "missing_field",
            f"a valid record without {target!r}",
            _encode(body_with(target, None, drop=True)),
            json_header,
            LENIENT if _allowed(single, target, nullable=False) else STRICT,
        ),
        _Case(
            "wrong_type",
            f"{target!r} as the text 'not-a-number'",
            _encode(body_with(target, "not-a-number")),
            json_header,
            STRICT,
        ),
        _Case(
            "null_field",
            f"{target!r} as null",
            _encode(body_with(target, None)),
            json_header,
            LENIENT if _allowed(single, target, nullable=True) else STRICT,
        ),
        _Case(
            "nan_value",
            f"{target!r} as the bare token NaN (not valid JSON)",
            _encode(body_with(target, _PLACEHOLDER), "NaN"),
            json_header,
            LENIENT,
        ),
        _Case(
            "infinity_value",
            f"{target!r} as the bare token Infinity (not valid JSON)",
            _encode(body_with(target, _PLACEHOLDER), "Infinity"),
            json_header,
            LENIENT,
        ),
        _Case(
            "extra_fields",
            "a valid record with an unexpected extra field",
            _encode(body_with("unexpected_field_xyz", 1)),
            json_header,
            LENIENT,
        ),
        _Case("empty_body", "no body at all", b"", json_header, STRICT),
        _Case("malformed_json", "a JSON object cut off mid-way", _encode(record)[:40], json_header, STRICT),
        _Case(
            "wrong_content_type",
            "a valid record sent as text/plain",
            _encode(wrap(single.shape, [record])),
            {"Content-Type": "text/plain"},
            LENIENT,
        ),
    ]
    long_text = "x" * settings.long_string_chars
    if text is not None:
        cases.append(
            _Case(
                "very_long_string",
                f"{text!r} as a {settings.long_string_chars:,}-character string",
                _encode(body_with(text, long_text)),
                json_header,
                LENIENT,
            )
        )
    else:
        cases.append(
            _Case(
                "very_long_string",
                f"{target!r} as a {settings.long_string_chars:,}-character string",
                _encode(body_with(target, long_text)),
                json_header,
                STRICT,
            )
        )
    batch = contract.batch
    if batch is not None:
        cases.append(
            _Case(
                "empty_batch",
                "a batch with no records",
                _encode(wrap(batch.shape, [])),
                json_header,
                ["4xx", "2xx"],
                rows=0,
            )
        )
    rows = settings.oversized_batch_rows
    records = [single.builder.record(i % len(single.builder)) for i in range(rows)]
    oversized = wrap(batch.shape, records) if batch is not None else records
    cases.append(
        _Case(
            "oversized_batch",
            f"a batch of {rows:,} records",
            _encode(oversized),
            json_header,
            LENIENT,
            rows=rows,
            timeout_s=settings.batch_timeout_s,
        )
    )
    return cases


def _acceptable(case: _Case, answer: Answer, kind: str) -> bool:
    if answer.status is None or answer.status >= 500:
        return False
    if 400 <= answer.status < 500:
        return True
    if not answer.ok:
        return False
    if "2xx" in case.acceptable:
        return True
    if "2xx with a valid prediction" not in case.acceptable:
        return False
    values = extract(answer, case.rows).values
    return values is not None and all(math.isfinite(v) and (kind == "label" or 0 <= v <= 1) for v in values)


def run_battery(calls: Calls, contract: Contract, service: Service, settings: ServingSettings) -> list[BadInputCase]:
    """Send each hostile request once and record the answer and whether the service survived."""
    path = contract.single.route.path
    results = []
    for case in _cases(contract, settings):
        target = (
            contract.batch.route.path if case.name in ("empty_batch", "oversized_batch") and contract.batch else path
        )
        answer = calls.post(target, content=case.body, headers=case.headers, timeout_s=case.timeout_s)
        alive = service.state().alive
        passed = _acceptable(case, answer, contract.kind) and alive
        results.append(
            BadInputCase(
                name=case.name,
                description=case.description,
                request_excerpt=excerpt(case.body or b"", 200),
                status=answer.status,
                error=answer.error,
                body_excerpt=excerpt(answer.body, 300),
                seconds=answer.seconds,
                acceptable=case.acceptable,
                passed=passed,
                alive_after=alive,
            )
        )
        if not alive:
            break
    return results


def battery_checks(cases: list[BadInputCase], healthy_after: Callable[[], tuple[bool, str]]) -> list[Check]:
    """Summary checks over the cases: no 5xx, every case handled, healthy afterwards."""
    server_errors = [c for c in cases if c.status is not None and c.status >= 500]
    unanswered = [c for c in cases if c.status is None]
    failed = [c for c in cases if not c.passed]
    healthy, detail = healthy_after()
    return [
        Check(
            id="bad_input.no_5xx",
            passed=not server_errors and not unanswered,
            detail="; ".join(
                [f"{c.name}: HTTP {c.status}" for c in server_errors] + [f"{c.name}: {c.error}" for c in unanswered]
            )
            or f"no 5xx and no dropped request in {len(cases)} cases",
            figures={"cases": len(cases), "server_errors": len(server_errors), "unanswered": len(unanswered)},
        ),
        Check(
            id="bad_input.handled",
            passed=not failed,
            detail=", ".join(f"{c.name} → {c.status if c.status is not None else c.error}" for c in failed)
            or "every case refused with 4xx or answered validly",
            figures={"cases": len(cases), "handled": len(cases) - len(failed)},
        ),
        Check(id="bad_input.still_healthy", passed=healthy, detail=detail),
    ]

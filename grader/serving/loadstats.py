"""What a load step's raw records mean: its figures and its validity.

The rules (the probe itself, `grader.serving.loadprobe`, only records; whether the steps
meet the guide's bar is the rubric's to say, `grader.rubric`'s `sustained` rule):

- Requests due in the first `warmup_s` seconds (connection set-up, lazy model
  loading) are sent but left out of every count and figure except `sent` and
  `warmup_sent`; so ok + errors == measured == sent - warmup_sent.
- ok means a 2xx answer. Everything else is an error: a non-2xx status (also
  counted in `status_counts`), a timeout, or a connection failure. Every error
  enters the percentiles at the timeout value, so a failing service cannot look fast.
- Percentiles are nearest-rank: always a latency that was observed.
- Dispatch lag (actual start - intended start) is the probe's own delay and adds to
  every latency it reports. A probe that falls behind carries its backlog into every
  later request, so one check covers both: a step whose lag p99 exceeds
  max(`max_lag_ms`, 5 % of its p99) is `valid=False` with a reason; it measured the
  probe, not the service. 5 ms: 5 % of the guide's 100 ms p99 bar, five inter-arrival
  gaps at 1,000 requests/s, and well above the ~1 ms a healthy asyncio loop holds (epoll's
  millisecond timer granularity). The 5 % share keeps a stalling service judgeable:
  the burst of answers after a 1 s stall can hold the loop for tens of ms, which
  moves a ~1,000 ms p99 by a few per cent and cannot turn a failure into a pass.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel

MAX_LAG_MS = 5.0
LAG_SHARE = 0.05
# Status codes for requests that got no HTTP answer.
TIMEOUT = -1
CONNECTION_ERROR = -2


class LoadStep(BaseModel):
    """What one constant-rate step measured; latencies are ms from the intended send time."""

    rate: float
    duration_s: float
    warmup_s: float
    timeout_s: float
    sent: int
    warmup_sent: int
    measured: int
    ok: int
    errors: int
    timeouts: int
    connection_errors: int
    status_counts: dict[str, int]
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    dispatch_lag_p50_ms: float
    dispatch_lag_p99_ms: float
    dispatch_lag_max_ms: float
    dispatch_lag_allowed_ms: float
    max_in_flight: int
    connection_limit: int
    actual_duration_s: float
    valid: bool
    invalid_reason: str | None = None


class LoadProfile(BaseModel):
    """Steps of rising rate, as measured."""

    steps: list[LoadStep]


class StepRecords:
    """Per-request outcomes of one step, indexed by request number, in seconds."""

    def __init__(self, total: int, timeout_s: float) -> None:
        self.lag = [0.0] * total
        self.latency = [timeout_s] * total
        # A request that never records an outcome counts as a timeout.
        self.status = [TIMEOUT] * total
        self.in_flight = 0
        self.max_in_flight = 0


def summarise(
    records: StepRecords,
    *,
    rate: float,
    duration_s: float,
    warmup_s: float,
    timeout_s: float,
    max_lag_ms: float,
    actual_duration_s: float,
    connection_limit: int,
) -> LoadStep:
    """The figures of one step, warm-up excluded, errors counted at the timeout."""
    first = math.ceil(rate * warmup_s - 1e-9)
    status = np.asarray(records.status[first:], dtype=np.int64)
    ok = (status >= 200) & (status < 300)
    latency_ms = np.where(ok, np.asarray(records.latency[first:]), timeout_s) * 1000.0
    lag_ms = np.asarray(records.lag[first:]) * 1000.0
    http_codes, counts = np.unique(status[status > 0], return_counts=True)
    lag_p99, p99 = _percentile(lag_ms, 99), _percentile(latency_ms, 99)
    allowed_ms = round(max(max_lag_ms, LAG_SHARE * p99), 3)
    reason = None
    if lag_p99 > allowed_ms:
        reason = (
            f"dispatch lag p99 {lag_p99:.1f} ms exceeds the {allowed_ms:.1f} ms allowed ({max_lag_ms:g} ms or "
            f"{LAG_SHARE:.0%} of the p99): the probe could not hold {rate:g} requests/s "
            "(CPU-starved, or beyond one core)"
        )
    return LoadStep(
        rate=rate,
        duration_s=duration_s,
        warmup_s=warmup_s,
        timeout_s=timeout_s,
        sent=len(records.status),
        warmup_sent=first,
        measured=len(status),
        ok=int(ok.sum()),
        errors=int((~ok).sum()),
        timeouts=int((status == TIMEOUT).sum()),
        connection_errors=int((status == CONNECTION_ERROR).sum()),
        status_counts={str(code): int(count) for code, count in zip(http_codes, counts)},
        p50_ms=_percentile(latency_ms, 50),
        p95_ms=_percentile(latency_ms, 95),
        p99_ms=p99,
        max_ms=round(float(latency_ms.max()), 3),
        dispatch_lag_p50_ms=_percentile(lag_ms, 50),
        dispatch_lag_p99_ms=lag_p99,
        dispatch_lag_max_ms=round(float(lag_ms.max()), 3),
        dispatch_lag_allowed_ms=allowed_ms,
        max_in_flight=records.max_in_flight,
        connection_limit=connection_limit,
        actual_duration_s=round(actual_duration_s, 3),
        valid=reason is None,
        invalid_reason=reason,
    )


def _percentile(values_ms: np.ndarray, q: float) -> float:
    return round(float(np.percentile(values_ms, q, method="inverted_cdf")), 3)

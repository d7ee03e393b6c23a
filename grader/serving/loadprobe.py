"""Open-loop load probe: constant arrival rate, latency from the *intended* send time.

A closed-loop client (send, wait for the answer, send again) slows down exactly when
the server does: a server that stalls for a second gets one slow sample per
connection, and its p99 looks healthy ("coordinated omission"). This probe is
open-loop: request i of a step is due at t0 + i/rate whatever happened to earlier
requests, and its latency is completion time minus that intended time, so a stall
shows up as every request that should have been served during it.

How a step sends (`run_step`); what its records mean is `grader.serving.loadstats`:

- floor(rate * duration_s) requests, never more, each at its own intended time;
  late ones go out at once, in order, so the probe catches up instead of slipping.
- A request's deadline is its intended time + timeout_s, so a step ends by itself
  at most timeout_s after its schedule, however the service behaves.
- Dispatch lag is taken when the request's coroutine starts, before it waits for a
  connection: it is the probe's own delay, not the service's.
- In-flight requests are capped by the connection pool (256). Reaching the cap
  needs rate x latency >= 256, i.e. p99 far over the guide's bar at 500 requests/s;
  beyond it, requests wait for a connection and that wait counts, as it would in a queue.
- Python's cyclic garbage collector is paused during a step (see _collector_paused).

Why aiohttp and not httpx. benchmarks/bench_probe.py, client pinned to one core, a
minimal test server on the other core of this 2-core box, POST of a JSON row:

    closed loop, requests/s at concurrency 1 / 16 / 64, in three runs (the box
    was shared with other jobs to a varying degree)
                 httpx AsyncClient        aiohttp
      run 1      1,650 / 726 / 171        2,399 /  5,055 / 11,135
      run 2        446 / 394 /  76        1,864 /  5,522 /  6,070
      run 3        580 / 589 / 170        7,158 / 16,206 / 14,623
    this probe (aiohttp, open loop, run 3): valid up to 5,000 requests/s, ~110 us of CPU
    per request, dispatch-lag p99 2.9 ms at 1,000 requests/s

An open-loop probe must keep many requests in flight whenever the service slows
down, which is exactly where httpx falls apart: its throughput drops as concurrency
rises (a known issue, encode/httpx#3215) to well under 1,000 requests/s at 16
concurrent requests, even against an instant server. aiohttp, with its C HTTP
parser, gains throughput with concurrency and leaves ample headroom.
"""

from __future__ import annotations

import asyncio
import gc
import json
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple, TypedDict

import aiohttp
from pydantic import BaseModel, Field, model_validator
from yarl import URL

from grader.errors import BadInput
from grader.serving.loadstats import (
    CONNECTION_ERROR,
    MAX_LAG_MS,
    TIMEOUT,
    LoadProfile,
    LoadStep,
    StepRecords,
    summarise,
)

__all__ = [
    "CONNECTION_LIMIT",
    "DEFAULT_RATES",
    "LoadProfile",
    "LoadStep",
    "ProbeRequest",
    "open_session",
    "probe",
    "requests_for",
    "run_profile",
    "run_step",
]

DEFAULT_RATES: tuple[float, ...] = (50.0, 100.0, 250.0, 500.0)
CONNECTION_LIMIT = 256
# The schedule starts a little in the future so request 0 is not late by set-up time.
_START_MARGIN_S = 0.005


class ProbeRequest(BaseModel):
    """One request the probe may send; a step cycles through a list of them."""

    method: str = "GET"
    url: str
    json_body: Any = None
    content: bytes | None = None
    headers: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_body(self) -> ProbeRequest:
        if self.json_body is not None and self.content is not None:
            raise ValueError("give json_body or content, not both")
        return self


class _RequestLine(TypedDict):
    """What every request of one `requests_for` call shares."""

    method: str
    url: str
    headers: dict[str, str]


class _Wire(NamedTuple):
    """A ProbeRequest encoded once, so the hot loop does no JSON or URL parsing."""

    method: str
    url: URL
    body: bytes | None
    headers: dict[str, str]


def requests_for(
    url: str,
    bodies: Sequence[Any] | None = None,
    method: str | None = None,
    headers: dict[str, str] | None = None,
) -> list[ProbeRequest]:
    """One request per body (JSON, or bytes sent as-is), or a single bodiless one.

    The method defaults to POST with bodies and GET without.
    """
    if bodies is not None and len(bodies) == 0:
        raise BadInput("the list of request bodies is empty")
    verb = (method or ("POST" if bodies else "GET")).upper()
    common: _RequestLine = {"method": verb, "url": url, "headers": dict(headers or {})}
    if not bodies:
        return [ProbeRequest(**common)]
    return [
        ProbeRequest(**common, content=body) if isinstance(body, bytes) else ProbeRequest(**common, json_body=body)
        for body in bodies
    ]


def open_session(connection_limit: int = CONNECTION_LIMIT) -> aiohttp.ClientSession:
    """One keep-alive session for a whole profile; deadlines are the probe's, not aiohttp's."""
    connector = aiohttp.TCPConnector(limit=connection_limit, keepalive_timeout=30)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=None),
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
    )


async def run_step(
    session: aiohttp.ClientSession,
    requests: Sequence[ProbeRequest],
    rate: float,
    duration_s: float,
    *,
    warmup_s: float = 1.0,
    timeout_s: float = 1.0,
    max_lag_ms: float = MAX_LAG_MS,
) -> LoadStep:
    """Send `requests` cycled at a constant `rate` for `duration_s` and measure them."""
    _check_step(requests, rate, duration_s, warmup_s, timeout_s)
    wires = [_encode(request) for request in requests]
    loop = asyncio.get_running_loop()
    total = math.floor(rate * duration_s + 1e-9)
    records = StepRecords(total, timeout_s)
    tasks: list[asyncio.Task[None]] = []
    with _collector_paused():
        t0 = loop.time() + _START_MARGIN_S
        index = 0
        while index < total:
            now = loop.time()
            while index < total and t0 + index / rate <= now:
                wire = wires[index % len(wires)]
                tasks.append(asyncio.create_task(_send(session, wire, index, t0 + index / rate, timeout_s, records)))
                index += 1
            if index < total:
                await asyncio.sleep(t0 + index / rate - loop.time())
        # Every request carries its own deadline; this wait is only a backstop.
        _, stragglers = await asyncio.wait(tasks, timeout=timeout_s + 5.0)
        for task in stragglers:
            task.cancel()
        await asyncio.gather(*stragglers, return_exceptions=True)
        actual_duration_s = loop.time() - t0
    return summarise(
        records,
        rate=rate,
        duration_s=duration_s,
        warmup_s=warmup_s,
        timeout_s=timeout_s,
        max_lag_ms=max_lag_ms,
        actual_duration_s=actual_duration_s,
        connection_limit=session.connector.limit if session.connector else 0,
    )


async def run_profile(
    requests: Sequence[ProbeRequest],
    rates: Sequence[float] = DEFAULT_RATES,
    duration_s: float = 10.0,
    *,
    warmup_s: float = 1.0,
    timeout_s: float = 1.0,
    max_lag_ms: float = MAX_LAG_MS,
    connection_limit: int = CONNECTION_LIMIT,
) -> LoadProfile:
    """Run one step per rate, in order, over one session."""
    if not rates:
        raise BadInput("give at least one rate")
    async with open_session(connection_limit) as session:
        steps = [
            await run_step(
                session, requests, rate, duration_s, warmup_s=warmup_s, timeout_s=timeout_s, max_lag_ms=max_lag_ms
            )
            for rate in rates
        ]
    return LoadProfile(steps=steps)


def probe(
    url: str,
    rates: Sequence[float] = DEFAULT_RATES,
    duration_s: float = 10.0,
    *,
    bodies: Sequence[Any] | None = None,
    method: str | None = None,
    headers: dict[str, str] | None = None,
    warmup_s: float = 1.0,
    timeout_s: float = 1.0,
    max_lag_ms: float = MAX_LAG_MS,
    connection_limit: int = CONNECTION_LIMIT,
) -> LoadProfile:
    """Load-probe `url` at each rate in turn (blocking); bodies are cycled through."""
    return asyncio.run(
        run_profile(
            requests_for(url, bodies, method, headers),
            rates,
            duration_s,
            warmup_s=warmup_s,
            timeout_s=timeout_s,
            max_lag_ms=max_lag_ms,
            connection_limit=connection_limit,
        )
    )


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Keep Python's cyclic garbage collector out of a step.

    A full collection walks every object the process holds, which with aiohttp,
    pydantic and numpy loaded took 15-50 ms here: it showed up as dispatch lag and
    invalidated runs. A step is bounded, so its cyclic garbage can wait for its end.
    """
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        gc.collect()


async def _send(
    session: aiohttp.ClientSession, wire: _Wire, index: int, intended: float, timeout_s: float, records: StepRecords
) -> None:
    loop = asyncio.get_running_loop()
    records.lag[index] = loop.time() - intended
    records.in_flight += 1
    records.max_in_flight = max(records.max_in_flight, records.in_flight)
    try:
        async with asyncio.timeout_at(intended + timeout_s):
            async with session.request(wire.method, wire.url, data=wire.body, headers=wire.headers) as response:
                # Drain without keeping the body: a hostile service may answer with gigabytes.
                while await response.content.readany():
                    pass
                status = response.status
        records.latency[index] = loop.time() - intended
    except TimeoutError:
        status = TIMEOUT
    except (aiohttp.ClientError, OSError):
        status = CONNECTION_ERROR
    finally:
        records.in_flight -= 1
    records.status[index] = status


def _encode(request: ProbeRequest) -> _Wire:
    headers = dict(request.headers)
    body = request.content
    if request.json_body is not None:
        body = json.dumps(request.json_body).encode()
        if not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "application/json"
    url = URL(request.url)
    if url.scheme not in ("http", "https") or not url.host:
        raise BadInput(f"cannot probe {request.url!r}: give an http:// or https:// URL with a host")
    return _Wire(request.method.upper(), url, body, headers)


def _check_step(
    requests: Sequence[ProbeRequest], rate: float, duration_s: float, warmup_s: float, timeout_s: float
) -> None:
    if not requests:
        raise BadInput("give at least one request to send")
    if rate <= 0 or timeout_s <= 0:
        raise BadInput(f"rate and timeout must be positive (got rate {rate:g}, timeout {timeout_s:g} s)")
    if not 0 <= warmup_s < duration_s:
        raise BadInput(f"warm-up ({warmup_s:g} s) must be at least 0 and shorter than the duration ({duration_s:g} s)")
    if math.floor(rate * duration_s + 1e-9) - math.ceil(rate * warmup_s - 1e-9) < 1:
        raise BadInput(f"{rate:g} requests/s for {duration_s - warmup_s:g} s after warm-up sends nothing to measure")

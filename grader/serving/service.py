"""Talking to a running candidate service, whichever backend started it.

A `Service` (`grader.sandbox.api`) is what the probes get from the sandbox: where to look
for the service, is it still alive, what did it print. `Calls` makes bounded HTTP requests
(a hostile service may answer slowly or with gigabytes). `wait_until_healthy` finds the
port and the health route and times the start-up.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from grader.sandbox.api import Service

HEALTH_ROUTES = ("/health", "/healthz", "/")
FALLBACK_ROUTES = ("/openapi.json", "/docs")
_ABSENT = (404, 405)
_DROPPED = ("ReadError", "RemoteProtocolError", "WriteError")


@dataclass
class Answer:
    """One HTTP exchange; `status` is None when no HTTP answer came."""

    status: int | None
    body: bytes = b""
    seconds: float = 0.0
    error: str | None = None
    truncated: bool = False
    content_type: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not (NaN and Infinity are accepted)."""
        if self.truncated:
            raise ValueError("the body was larger than the grader reads")
        try:
            return json.loads(self.body)
        except RecursionError:
            raise ValueError("the body nests deeper than the grader reads") from None

    def describe(self) -> str:
        return f"HTTP {self.status}" if self.status is not None else f"no answer ({self.error})"


class Calls:
    """Bounded HTTP requests to one base URL."""

    def __init__(self, base_url: str, timeout_s: float, max_body_bytes: int) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.max_body_bytes = max_body_bytes
        self._client = httpx.Client(timeout=timeout_s, follow_redirects=False)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Calls:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout_s: float | None = None,
    ) -> Answer:
        headers = dict(headers or {})
        if json_body is not None:
            content = json.dumps(json_body, allow_nan=False).encode()
            headers.setdefault("Content-Type", "application/json")
        answer = self._send(method, path, content, headers, timeout_s)
        if answer.status is None and answer.error and answer.error.startswith(_DROPPED):
            # A server may close a kept-alive connection after an error; a fresh one decides.
            answer = self._send(method, path, content, headers, timeout_s)
        return answer

    def _send(
        self, method: str, path: str, content: bytes | None, headers: dict[str, str], timeout_s: float | None
    ) -> Answer:
        started = time.perf_counter()
        timeout = httpx.Timeout(timeout_s or self.timeout_s)
        try:
            with self._client.stream(
                method, self.base_url + path, content=content, headers=headers, timeout=timeout
            ) as response:
                chunks, size, truncated = [], 0, False
                for chunk in response.iter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > self.max_body_bytes:
                        truncated = True
                        break
                return Answer(
                    status=response.status_code,
                    body=b"".join(chunks)[: self.max_body_bytes],
                    seconds=round(time.perf_counter() - started, 4),
                    truncated=truncated,
                    content_type=response.headers.get("content-type", ""),
                )
        except httpx.TimeoutException:
            return Answer(
                status=None,
                seconds=round(time.perf_counter() - started, 4),
                error=f"timed out after {timeout.read:g} s",
            )
        except httpx.HTTPError as exc:
            return Answer(
                status=None, seconds=round(time.perf_counter() - started, 4), error=f"{type(exc).__name__}: {exc}"
            )

    def get(self, path: str, timeout_s: float | None = None) -> Answer:
        return self.request("GET", path, timeout_s=timeout_s)

    def post(self, path: str, **kwargs: Any) -> Answer:
        return self.request("POST", path, **kwargs)


@dataclass
class Health:
    healthy: bool
    base_url: str | None = None
    route: str | None = None
    seconds: float | None = None
    reason: str = ""
    statuses: dict[str, int] = field(default_factory=dict)


def wait_until_healthy(
    service: Service, timeout_s: float, poll_s: float, no_route_grace_s: float, max_body_bytes: int
) -> Health:
    """Poll until a health route answers 2xx; stop early when the service dies."""
    deadline = service.started_at + timeout_s
    locked: str | None = None
    first_http: float | None = None
    statuses: dict[str, int] = {}
    clients = {url: Calls(url, 1.0, max_body_bytes) for url in service.base_urls()}
    try:
        while True:
            state = service.state()
            if not state.alive:
                return Health(
                    False,
                    locked,
                    reason=f"it stopped before it was healthy: {state.detail}",
                    statuses=statuses,
                )
            for url in [locked] if locked else list(clients):
                for route in HEALTH_ROUTES:
                    answer = clients[url].get(route)
                    if answer.status is None:
                        break
                    locked = url
                    first_http = first_http or time.monotonic()
                    statuses[route] = answer.status
                    if answer.ok:
                        return _healthy(service, url, route, statuses)
                if locked and all(statuses.get(r) in _ABSENT for r in HEALTH_ROUTES):
                    for route in FALLBACK_ROUTES:
                        answer = clients[url].get(route)
                        statuses[route] = answer.status or 0
                        if answer.ok:
                            return _healthy(service, url, route, statuses)
                    if time.monotonic() - (first_http or 0) >= no_route_grace_s:
                        health = _healthy(service, url, None, statuses)
                        health.reason = "answers HTTP, but no health route, /openapi.json or /docs answers 2xx"
                        return health
                if locked:
                    break
            if time.monotonic() >= deadline:
                break
            time.sleep(poll_s)
    finally:
        for client in clients.values():
            client.close()
    if locked is None:
        reason = f"no HTTP answer on any of {', '.join(service.base_urls())} within {timeout_s:g} s"
    else:
        seen = ", ".join(f"{route} {status}" for route, status in statuses.items())
        reason = f"answered HTTP at {locked} but no health route answered 2xx within {timeout_s:g} s ({seen})"
    return Health(False, locked, reason=reason, statuses=statuses)


def _healthy(service: Service, url: str, route: str | None, statuses: dict[str, int]) -> Health:
    seconds = round(time.monotonic() - service.started_at, 3)
    return Health(True, url, route, seconds, statuses=statuses)

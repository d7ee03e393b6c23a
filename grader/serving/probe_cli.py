"""`grader probe URL`: run the load probe alone against any running service, print JSON.

One rate prints one step object; several rates print the profile (its steps).
Standalone: `python -m grader.serving.probe_cli URL --rate 500 --duration 10`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from grader.errors import BadInput, GraderError
from grader.serving.loadprobe import CONNECTION_LIMIT, DEFAULT_RATES, probe
from grader.serving.loadstats import MAX_LAG_MS


def probe_command(
    url: Annotated[str, typer.Argument(help="Where to send requests, e.g. http://127.0.0.1:8000/predict.")],
    rate: Annotated[
        list[float] | None,
        typer.Option("--rate", "-r", min=0.001, help="Requests per second; repeat for rising steps."),
    ] = None,
    duration: Annotated[float, typer.Option("--duration", "-d", help="Seconds per step, warm-up included.")] = 10.0,
    warmup: Annotated[
        float, typer.Option("--warmup", help="Seconds at the start of each step left out of the figures.")
    ] = 1.0,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds before a request counts as a timeout.")] = 1.0,
    method: Annotated[
        str | None, typer.Option("--method", help="HTTP method (default: POST with bodies, else GET).")
    ] = None,
    body_file: Annotated[
        Path | None, typer.Option("--body-file", help="JSON array or JSON lines of request bodies, sent in turn.")
    ] = None,
    header: Annotated[list[str] | None, typer.Option("--header", "-H", help="'Name: value'; repeatable.")] = None,
    max_lag_ms: Annotated[
        float, typer.Option("--max-lag-ms", help="Dispatch-lag p99 a valid step may reach (or 5 % of its p99 if more).")
    ] = MAX_LAG_MS,
    connections: Annotated[int, typer.Option("--connections", min=1, help="Connection pool size.")] = CONNECTION_LIMIT,
) -> None:
    """Load-probe a running service open-loop at fixed rates and print the figures as JSON."""
    if rate is None:
        rate = list(DEFAULT_RATES)
    bodies = _read_bodies(body_file) if body_file else None
    headers = _parse_headers(header or [])
    typer.echo(f"probing {url}: {len(rate)} step(s) of {duration:g} s", err=True)
    profile = probe(
        url,
        rate,
        duration,
        bodies=bodies,
        method=method,
        headers=headers,
        warmup_s=warmup,
        timeout_s=timeout,
        max_lag_ms=max_lag_ms,
        connection_limit=connections,
    )
    result = profile.steps[0] if len(rate) == 1 else profile
    typer.echo(result.model_dump_json(indent=2))


def _read_bodies(path: Path) -> list[Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read the body file {path}: {exc}") from exc
    try:
        parsed = json.loads(text)
        return parsed if isinstance(parsed, list) else [parsed]
    except json.JSONDecodeError:
        pass
    try:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise BadInput(f"{path} is neither a JSON array nor JSON lines: line {exc.lineno}: {exc.msg}") from exc


def _parse_headers(pairs: list[str]) -> dict[str, str]:
    headers = {}
    for pair in pairs:
        name, sep, value = pair.partition(":")
        if not sep or not name.strip():
            raise BadInput(f"header {pair!r} is not 'Name: value'")
        headers[name.strip()] = value.strip()
    return headers


if __name__ == "__main__":
    try:
        typer.run(probe_command)
    except GraderError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)

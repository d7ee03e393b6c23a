"""The rules on figures: `scale`, `band` and `sustained`, each evidence -> a share of a criterion's points.

Each returns the share (None when the evidence cannot say: the criterion then earns its
`unknown` share), the reason in words, and the observations it read.
"""

from __future__ import annotations

import math
from typing import Any

from grader.rubric.environment import evidence_stage, set_aside
from grader.rubric.model import Band, Scale, Sustained
from grader.rubric.paths import resolve
from grader.rubric.scorecard import Observation

MAX_VALUE_CHARS = 200


def plain(value: Any) -> bool | float | int | str | None:
    if value is None or isinstance(value, (bool, int, str)):
        return value if not isinstance(value, str) else value[:MAX_VALUE_CHARS]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return repr(value)[:MAX_VALUE_CHARS]


def number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def figure(document: dict, path: str, blocked: dict[str, str]) -> tuple[float | None, Observation]:
    """The number at `path` (None when absent, not a number, or its stage could not run here)."""
    found = resolve(document, path)
    observation = set_aside(
        Observation(
            path=path, found=found.found, value=plain(found.value), detail=found.detail, quotes=found.quotes, test=path
        ),
        blocked,
    )
    usable = found.found and evidence_stage(path) not in blocked
    return (number(found.value) if usable else None), observation


def scale_fraction(
    document: dict, scale: Scale, blocked: dict[str, str]
) -> tuple[float | None, str, list[Observation]]:
    """A figure (divided by or minus another) mapped linearly from `zero_at` to `full_at`."""
    value, observation = figure(document, scale.evidence, blocked)
    observations = [observation]
    if value is None:
        return None, f"{scale.evidence} unknown: {observation.detail or 'not a number'}", observations
    described = f"{scale.evidence} = {value:.4g}"
    if scale.relative_to:
        base, base_observation = figure(document, scale.relative_to, blocked)
        observations.append(base_observation)
        if base is None or (scale.compare == "ratio" and base == 0):
            return (
                None,
                f"{scale.relative_to} unknown: {base_observation.detail or 'not a usable number'}",
                observations,
            )
        value = value / base if scale.compare == "ratio" else value - base
        sign = "/" if scale.compare == "ratio" else "-"
        described = f"{described} {sign} {scale.relative_to} {base:.4g} = {value:.4g}"
    fraction = (value - scale.zero_at) / (scale.full_at - scale.zero_at)
    fraction = min(1.0, max(0.0, fraction))
    return fraction, f"{described} (none at {scale.zero_at:g}, full at {scale.full_at:g})", observations


def band_fraction(document: dict, band: Band, blocked: dict[str, str]) -> tuple[float | None, str, list[Observation]]:
    """Full inside the band, falling linearly to none at its outer bounds."""
    value, observation = figure(document, band.evidence, blocked)
    if value is None:
        return None, f"{band.evidence} unknown: {observation.detail or 'not a number'}", [observation]
    if band.full_from <= value <= band.full_to:
        fraction = 1.0
    elif value < band.full_from:
        fraction = max(0.0, (value - band.zero_below) / (band.full_from - band.zero_below))
    else:
        fraction = max(0.0, (band.zero_above - value) / (band.zero_above - band.full_to))
    text = (
        f"{band.evidence} = {value:g} (full within {band.full_from:g}-{band.full_to:g}, "
        f"none below {band.zero_below:g} or above {band.zero_above:g})"
    )
    return fraction, text, [observation]


def _steps(value: Any) -> list[dict]:
    """The load steps with a rate and a p99 to judge (a step is a dict of evidence.json's LoadStep)."""
    items = value if isinstance(value, list) else []
    return [
        s
        for s in items
        if isinstance(s, dict) and number(s.get("rate")) is not None and number(s.get("p99_ms")) is not None
    ]


def sustained_fraction(
    document: dict, rule: Sustained, blocked: dict[str, str]
) -> tuple[float | None, str, list[Observation]]:
    """The latency bar on the load steps (`grader.rubric.model.Sustained` says how)."""
    found = resolve(document, rule.evidence)
    observation = set_aside(
        Observation(path=rule.evidence, found=found.found, detail=found.detail, test=rule.describe()), blocked
    )
    if not found.found or evidence_stage(rule.evidence) in blocked:
        return None, f"unknown: {observation.detail or 'no load steps'} [{rule.describe()}]", [observation]
    steps = _steps(found.value)
    at_bar = [s for s in steps if float(s["rate"]) >= rule.full_at_rate]
    if not at_bar:
        judged: dict | None = None
        text = f"no step at {rule.full_at_rate:g} requests/s or more"
    else:
        judged = min(at_bar, key=lambda s: float(s["rate"]))
        rate, p99 = float(judged["rate"]), float(judged["p99_ms"])
        errors = f" ({judged.get('errors')} errors of {judged.get('measured')})" if "errors" in judged else ""
        text = (
            f"p99 {p99:.1f} ms at {rate:g} requests/s{errors}"
            if judged.get("valid", True)
            else f"the {rate:g}/s step is invalid: {judged.get('invalid_reason')}"
        )
    holds = None if judged is None or not judged.get("valid", True) else float(judged["p99_ms"]) < rule.p99_below_ms
    value = float(judged["p99_ms"]) if judged is not None else None
    observation = observation.model_copy(update={"value": value, "holds": holds, "detail": text})
    sign = {True: "yes", False: "no", None: "unknown"}[holds]
    marked = f"{sign}: {text} [{rule.describe()}]"
    if holds is not False or rule.zero_at_rate is None:
        return (None if holds is None else float(holds)), marked, [observation]
    # Under the bar at its rate: credit for the highest lower rate a valid step held it at.
    held = [
        float(s["rate"])
        for s in steps
        if s.get("valid", True) and float(s["p99_ms"]) < rule.p99_below_ms and float(s["rate"]) < rule.full_at_rate
    ]
    best = max(held, default=None)
    if best is None:
        return 0.0, f"{marked}; no lower step held it", [observation]
    fraction = min(1.0, max(0.0, (best - rule.zero_at_rate) / (rule.full_at_rate - rule.zero_at_rate)))
    return fraction, f"{marked}; held at {best:g} requests/s", [observation]

"""Does the served model depend on the seeded leak? Asked of the service itself.

The holdout rows the quality pass already scored are sent again with the leak column replaced by
values drawn from its training distribution (the candidate's own packet); the answers are
compared with the first ones. A service that reads the leak moves its answers; one that never
takes it (no field for it in its request, or a model without it) does not. The same rule as the
logged model's sensitivity pass (grader/notebook/reliance.py), with the same threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from grader.evidence import Check
from grader.notebook.reliance import LEAK_RELATIVE_EFFECT, relative_effect
from grader.serving.contract import Contract, Endpoint
from grader.serving.quality import Scored, score_rows
from grader.serving.schema import RecordBuilder
from grader.serving.service import Calls
from grader.serving.settings import ServingSettings

CHECK_ID = "correctness.leak_ignored"
# Rows sent again with the leak replaced; seeded draws from its training values.
LEAK_ROWS = 300
_SEED = 20261202


@dataclass(frozen=True)
class LeakProbe:
    """The answer key's leak column and its values in the candidate's training data."""

    column: str
    training_values: np.ndarray


def _rebuilt(endpoint: Endpoint, frame: pd.DataFrame) -> Endpoint:
    return Endpoint(
        endpoint.route, endpoint.shape, RecordBuilder(frame, endpoint.shape.record, endpoint.builder.field_to_column)
    )


def leak_check(
    calls: Calls,
    contract: Contract,
    holdout_features: pd.DataFrame,
    order: list[int],
    scored: Scored,
    probe: LeakProbe,
    settings: ServingSettings,
) -> Check:
    sent_as = [f for f, column in contract.single.builder.field_to_column.items() if column == probe.column]
    if not sent_as:
        return Check(
            id=CHECK_ID,
            passed=True,
            detail=f"the service's request has no field for {probe.column}: it cannot read the leak",
            figures={"field": None},
        )
    positions = [p for p in order if p in scored.values and math.isfinite(scored.values[p])][:LEAK_ROWS]
    if not positions or len(probe.training_values) == 0:
        return Check(id=CHECK_ID, passed=None, detail="no scored holdout row to send again")
    rng = np.random.default_rng(_SEED)
    subset = holdout_features.iloc[positions].reset_index(drop=True)
    drawn = probe.training_values[rng.integers(0, len(probe.training_values), size=len(subset))]
    try:
        subset[probe.column] = pd.Series(drawn).astype(subset[probe.column].dtype)
    except (TypeError, ValueError):
        subset[probe.column] = drawn
    replaced = Contract(
        single=_rebuilt(contract.single, subset),
        batch=_rebuilt(contract.batch, subset) if contract.batch else None,
        kind=contract.kind,
    )
    again = score_rows(calls, replaced, list(range(len(subset))), settings, settings.quality_budget_s)
    pairs = [(scored.values[positions[i]], value) for i, value in again.values.items() if math.isfinite(value)]
    if not pairs:
        return Check(id=CHECK_ID, passed=None, detail="no answer came back for the rows sent with the leak replaced")
    first = np.array([a for a, _ in pairs])
    moved = np.abs(np.array([b for _, b in pairs]) - first)
    relative = relative_effect(float(moved.mean()), float(np.abs(first).mean()))
    used = relative >= LEAK_RELATIVE_EFFECT
    return Check(
        id=CHECK_ID,
        passed=not used,
        detail=(
            f"{len(pairs)} holdout rows sent again with {probe.column} (field {sent_as[0]!r}) drawn from its "
            f"training values: the answers moved by {moved.mean():.3g} on average ({relative:.1%} of the mean "
            f"answer, {(moved > 0.01).mean():.1%} of rows by more than 0.01): the service "
            + ("depends on the leak" if used else "does not depend on the leak")
        ),
        figures={
            "rows": len(pairs),
            "field": sent_as[0],
            "relative_effect": round(relative, 4),
            "share_changed": round(float((moved > 0.01).mean()), 4),
            "threshold": LEAK_RELATIVE_EFFECT,
        },
    )

"""Does the final model depend on the seeded leak? Decided by behaviour, not by metadata.

The sandbox's sensitivity pass (sandbox/runner/score_model.py) replaces every column of a
holdout sample in turn with values drawn from that column's training distribution and records
how far the model's answers move. Here, outside the sandbox, the answer key says which of those
columns is the leak. A model with or without a signature, a pipeline, a custom pyfunc: each is
judged by what its answers do. Only when the pass could not run does the model's own list of
inputs (its signature, or the names it was fitted on) decide, and the detail says so.
"""

from __future__ import annotations

from typing import Any

from grader.evidence import Check

# The leak counts as used when replacing it moves the answers, on average, by at least this share
# of the mean answer. An honest model moves by exactly 0 (the column is not an input) or by noise
# (an input its trees never split on); a model trained with the leak moves by tens of percent.
LEAK_RELATIVE_EFFECT = 0.02
# Below this mean answer, shares are taken of this floor (a model answering labels or near-zero scores).
_MEAN_FLOOR = 1e-3


def relative_effect(mean_abs_change: float, mean_answer: float) -> float:
    """How far answers moved, as a share of the mean answer (floored for label or near-zero answers)."""
    return mean_abs_change / max(mean_answer, _MEAN_FLOOR)


def _relative(effect: Any, mean: float) -> float | None:
    value = effect.get("mean_abs_change") if isinstance(effect, dict) else None
    return relative_effect(float(value), mean) if isinstance(value, int | float) else None


def leak_excluded_check(leak: str, inputs: list[str] | None, report: dict | None) -> Check:
    """`audit.leak_excluded` from the sensitivity pass when it measured the leak, else from the inputs."""
    report = report or {}
    sensitivity = report.get("sensitivity")
    sensitivity = sensitivity if isinstance(sensitivity, dict) else {}
    effects = sensitivity.get("effects")
    effects = effects if isinstance(effects, dict) else {}
    mean = sensitivity.get("mean_prediction")
    mean = float(mean) if isinstance(mean, int | float) else 0.0
    relative = _relative(effects.get(leak), mean)
    if relative is not None:
        ranked = sorted(
            ((r, column) for column, e in effects.items() if (r := _relative(e, mean)) is not None), reverse=True
        )
        rank = 1 + [column for _, column in ranked].index(leak)
        others = [(r, column) for r, column in ranked if column != leak]
        used = relative >= LEAK_RELATIVE_EFFECT
        effect = effects[leak]
        detail = (
            f"replacing {leak} with values from its training distribution moves the final model's answers by "
            f"{effect['mean_abs_change']:.3g} on average ({relative:.1%} of the mean answer; "
            f"{(effect.get('share_changed') or 0):.1%} of {sensitivity.get('rows', '?')} holdout rows by more "
            f"than 0.01): {'it depends on the leak' if used else 'it does not depend on the leak'}"
            f" (rank {rank} of {len(ranked)} columns"
            + (
                f"; the most influential other column, {others[0][1]}, moves them by {others[0][0]:.1%}"
                if others
                else ""
            )
            + ")"
        )
        return Check(
            id="leak_excluded",
            passed=not used,
            detail=detail,
            figures={
                "leak_relative_effect": round(relative, 4),
                "leak_rank": rank,
                "columns_measured": len(ranked),
                "strongest_other_relative_effect": round(others[0][0], 4) if others else None,
                "threshold": LEAK_RELATIVE_EFFECT,
                "measured_by": "behaviour",
            },
        )
    why = _unmeasured(leak, sensitivity, report)
    if inputs is not None:
        used = leak in inputs
        return Check(
            id="leak_excluded",
            passed=not used,
            detail=f"the final model {'takes' if used else 'does not take'} {leak} among its {len(inputs)} inputs "
            f"(read from the model; {why})",
            figures={"model_columns": len(inputs), "measured_by": "inputs"},
        )
    return Check(id="leak_excluded", passed=None, detail=f"could not be judged: {why}, and the model names no inputs")


def _unmeasured(leak: str, sensitivity: dict, report: dict) -> str:
    if report.get("error"):
        return "the final model could not be scored"
    if not sensitivity:
        return "no sensitivity pass was run"
    if sensitivity.get("error"):
        return f"the sensitivity pass failed ({str(sensitivity['error'])[:200]})"
    failed = sensitivity.get("failed")
    failed = failed if isinstance(failed, dict) else {}
    if leak in failed:
        return f"the model failed on the replaced column ({str(failed[leak])[:200]})"
    if leak in (sensitivity.get("unmeasured") or []):
        return "the sensitivity pass ran out of time before this column"
    return "the holdout has no such column to replace"


def model_inputs(report: dict | None) -> list[str] | None:
    """The final model's own input names: its signature's, else those it was fitted on."""
    for key in ("signature_inputs", "fitted_inputs"):
        names = (report or {}).get(key)
        if isinstance(names, list) and names:
            return [str(name) for name in names]
    return None

"""Stages the grader's environment kept from running, and stages that stopped early.

A stage whose outcome sets `environment` (evidence.json `stages.<name>`, or the `outcome`
of that stage's own evidence) could not run *here*: a base image no registry here can
supply, a builder feature this engine lacks. Nothing the candidate did is known from it,
so the rubric grades nothing from it: its section is "not graded (environment)", its
evidence decides no red flag, and the verdict is incomplete until it is graded where the
stage can run. A stage that failed for the submission's own reasons is not this: it is
graded as it always was, and only its warnings are folded into one line.
"""

from __future__ import annotations

from typing import Any

from grader.rubric.scorecard import Observation

NOT_GRADED = "not graded (environment)"
# The stage's own text says what was missing and how to get it; this says what always holds.
REMEDY = (
    "fix what it names on the grading machine (a base image: pre-pull or `docker load` it, or give the engine "
    "a registry or mirror it can reach; BuildKit-only syntax: an engine with BuildKit), then grade again; a "
    "cohort run grades it again without --force"
)
MAX_TEXT_CHARS = 1000
STOPPED = ("failed", "skipped")


def _text(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = " ".join(value.split())
    return text if len(text) <= MAX_TEXT_CHARS else text[:MAX_TEXT_CHARS] + "…"


def stage_outcome(document: dict, stage: str) -> dict | None:
    """How stage `stage` ended: evidence.json's `stages.<stage>`, else the `outcome` its own evidence holds."""
    recorded = (document.get("stages") or {}).get(stage)
    if isinstance(recorded, dict):
        return recorded
    own = document.get(stage)
    return own["outcome"] if isinstance(own, dict) and isinstance(own.get("outcome"), dict) else None


def blocked_stages(document: dict) -> dict[str, str]:
    """Stage -> what in the grader's environment kept it from running (and what to do), by stage name."""
    found: dict[str, str] = {}
    for stage, outcome in (document.get("stages") or {}).items():
        text = _text(outcome.get("environment")) if isinstance(outcome, dict) else None
        if text:
            found[str(stage)] = text
    # A stage's evidence carries its own outcome too: what it records counts even if `stages` lost it
    # (once: `notebook_run` holds the outcome `stages.notebooks` holds).
    for stage, node in document.items():
        outcome = node.get("outcome") if isinstance(node, dict) else None
        text = _text(outcome.get("environment")) if isinstance(outcome, dict) else None
        if text and text not in found.values():
            found.setdefault(str(stage), text)
    return dict(sorted(found.items()))


def evidence_stage(path: str) -> str:
    """The stage an evidence path comes from: its root (`serving.run.healthy`), or `stages.<name>`."""
    parts = path.split(".")
    return parts[1] if parts[0] == "stages" and len(parts) > 1 else parts[0]


def set_aside(observation: Observation, blocked: dict[str, str]) -> Observation:
    """An observation of a blocked stage's evidence decides nothing: what it holds is unknown."""
    stage = evidence_stage(observation.path)
    if stage not in blocked:
        return observation
    detail = f"{NOT_GRADED}: the {stage} stage could not run here, so its evidence decides nothing"
    return observation.model_copy(update={"holds": None, "detail": detail})


def stopped_early(document: dict, stage: str) -> str | None:
    """'the serving stage did not run to the end (failed: why)' when it failed or was skipped, else None."""
    outcome = stage_outcome(document, stage)
    if outcome is None or outcome.get("status") not in STOPPED:
        return None
    why = _text("; ".join(str(reason) for reason in outcome.get("reasons") or [])) or ""
    return f"the {stage} stage did not run to the end ({outcome.get('status')}" + (f": {why}" if why else "") + ")"

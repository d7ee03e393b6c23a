"""The writeup stage: read the README, build the judge's context, record its checks and review items."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from grader.evidence import Check, StageOutcome
from grader.writeup import observations
from grader.writeup.boilerplate import shared_paragraphs
from grader.writeup.evidence import OBSERVATIONS, WRITEUP_CHECK_IDS, ReviewItem, WriteupEvidence
from grader.writeup.facts import JudgeContext
from grader.writeup.grounding import measured_from, truth_from_key
from grader.writeup.judge import HeuristicJudge, Judge, Verdicts
from grader.writeup.text import Document, read_document

Stage = BaseModel | Mapping[str, Any] | None


def _passed_by_id(stage: Stage) -> dict[str, bool | None]:
    if stage is None:
        return {}
    document = stage.model_dump(mode="json") if isinstance(stage, BaseModel) else stage
    return {c["id"]: c.get("passed") for c in document.get("checks", []) if isinstance(c, dict) and "id" in c}


def _holdout(modeling: Stage) -> dict[str, float]:
    if modeling is None:
        return {}
    document = modeling.model_dump(mode="json") if isinstance(modeling, BaseModel) else modeling
    for score in document.get("holdout", []):
        if str(score.get("who", "")).startswith("candidate"):
            return {k: float(score[k]) for k in ("pr_auc", "roc_auc") if isinstance(score.get(k), (int, float))}
    return {}


def judge_context(
    key: Any = None,
    audit: Stage = None,
    modeling: Stage = None,
    cohort_readmes: Mapping[str, str] | None = None,
    mlflow: list | None = None,
) -> JudgeContext:
    """What a judge compares the README with. `key` is an AnswerKey (or None); `mlflow` the tracking stores."""
    truth = truth_from_key(key)
    return JudgeContext(
        truth=truth,
        measured=measured_from(truth, audit, modeling, mlflow),
        audit=_passed_by_id(audit),
        modeling=_passed_by_id(modeling),
        holdout=_holdout(modeling),
        cohort=dict(cohort_readmes or {}),
    )


def _unreadable(document: Document) -> list[Check]:
    why = document.problem or "no README"
    return [
        Check(
            id=check_id,
            passed=False if check_id not in OBSERVATIONS else None,
            detail=why,
            figures={"strength": 0.0, "score": 0.0, "share": 0.0, "words": 0},
        )
        for check_id in WRITEUP_CHECK_IDS
    ]


def review_items(document: Document) -> list[ReviewItem]:
    """Every sentence that suggests one of the guide's red flags, for a reviewer (never a failure)."""
    return [
        *observations.roc_auc(document)[1],
        *observations.promotion(document)[2],
        *observations.deployment(document)[1],
    ]


def judge_document(document: Document, context: JudgeContext, judge: Judge | None = None) -> WriteupEvidence:
    """Run a judge on an already-read README; every writeup check id must come back."""
    judge = judge or HeuristicJudge()
    started = time.monotonic()
    shared = shared_paragraphs(document, context.cohort) if not document.problem else []
    context = dataclasses.replace(context, shared=tuple(shared))
    review: list[ReviewItem] = []
    verdicts = Verdicts([], judge.name)
    if document.problem:
        checks = _unreadable(document)
        outcome = StageOutcome(status="failed", reasons=[document.problem])
    else:
        answer = judge.judge(document, context)
        verdicts = answer if isinstance(answer, Verdicts) else Verdicts(answer, judge.name)
        checks = verdicts.checks
        missing = [i for i in WRITEUP_CHECK_IDS if i not in {c.id for c in checks}]
        if missing:
            raise ValueError(f"judge {judge.name} returned no check for {', '.join(missing)}")
        outcome = StageOutcome(status="ok", reasons=list(document.notes))
        review = review_items(document)
    outcome.duration_s = round(time.monotonic() - started, 3)
    if verdicts.note:
        outcome.reasons.append(f"judge: {verdicts.note}")
    return WriteupEvidence(
        source=document.source,
        judge=verdicts.judge,
        judge_model=verdicts.model,
        judge_note=verdicts.note,
        words=document.words,
        outcome=outcome,
        checks=checks,
        review=review,
        shared=shared,
    )


def collect_writeup(
    readme: Path | None,
    *,
    source: str | None = None,
    key: Any = None,
    audit: Stage = None,
    modeling: Stage = None,
    mlflow: list | None = None,
    cohort_readmes: Mapping[str, str] | None = None,
    judge: Judge | None = None,
) -> WriteupEvidence:
    """Judge the README at `readme` (None: the submission has none) against the candidate's own work.

    `source` is the README's path as the report shows it; `key` the AnswerKey; `audit`,
    `modeling` and `mlflow` the stage evidence (their figures are what the README's numbers
    are held to); `cohort_readmes` other candidates' READMEs by id, to find shared
    paragraphs; `judge` defaults to the heuristic judge.
    """
    document = read_document(readme, source)
    return judge_document(document, judge_context(key, audit, modeling, cohort_readmes, mlflow), judge)

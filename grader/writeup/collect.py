"""The writeup stage: read the README, build the judge's context, record its checks."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from grader.evidence import Check, StageOutcome
from grader.writeup.evidence import WRITEUP_CHECK_IDS, WriteupEvidence
from grader.writeup.facts import JudgeContext
from grader.writeup.judge import HeuristicJudge, Judge
from grader.writeup.text import Document, read_document


def _passed_by_id(stage: BaseModel | Mapping[str, Any] | None) -> dict[str, bool | None]:
    if stage is None:
        return {}
    document = stage.model_dump(mode="json") if isinstance(stage, BaseModel) else stage
    return {c["id"]: c.get("passed") for c in document.get("checks", []) if isinstance(c, dict) and "id" in c}


def _holdout(modeling: BaseModel | Mapping[str, Any] | None) -> dict[str, float]:
    if modeling is None:
        return {}
    document = modeling.model_dump(mode="json") if isinstance(modeling, BaseModel) else modeling
    for score in document.get("holdout", []):
        if str(score.get("who", "")).startswith("candidate"):
            return {k: float(score[k]) for k in ("pr_auc", "roc_auc") if isinstance(score.get(k), (int, float))}
    return {}


def judge_context(
    key: Any = None,
    audit: BaseModel | Mapping[str, Any] | None = None,
    modeling: BaseModel | Mapping[str, Any] | None = None,
    cohort_readmes: Mapping[str, str] | None = None,
) -> JudgeContext:
    """What a judge compares the README with. `key` is an AnswerKey (or None)."""
    seeded: dict[str, str] = {}
    churn_rate = None
    columns: tuple[str, ...] = ()
    if key is not None:
        columns = tuple(key.feature_columns)
        seeded = {
            "leak": key.leak.column,
            "drifting feature": key.covariate_drift[0].column,
            "concept drift": key.concept_drift.column,
            "missing not at random": key.missing_not_at_random.column,
        }
        rates = list(key.churn_rate_by_month.values())
        churn_rate = sum(rates) / len(rates) if rates else None
    return JudgeContext(
        feature_columns=columns,
        seeded_columns=seeded,
        churn_rate=churn_rate,
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
            passed=False
            if check_id not in ("roc_auc_headline", "promotes_on_offline_metric", "deployment_disowned")
            else None,
            detail=why,
            figures={"strength": 0.0, "score": 0.0, "share": 0.0, "words": 0},
        )
        for check_id in WRITEUP_CHECK_IDS
    ]


def judge_document(document: Document, context: JudgeContext, judge: Judge | None = None) -> WriteupEvidence:
    """Run a judge on an already-read README; every writeup check id must come back."""
    judge = judge or HeuristicJudge()
    started = time.monotonic()
    if document.problem:
        checks = _unreadable(document)
        outcome = StageOutcome(status="failed", reasons=[document.problem])
    else:
        checks = judge.judge(document, context)
        missing = [i for i in WRITEUP_CHECK_IDS if i not in {c.id for c in checks}]
        if missing:
            raise ValueError(f"judge {judge.name} returned no check for {', '.join(missing)}")
        outcome = StageOutcome(status="ok", reasons=list(document.notes))
    outcome.duration_s = round(time.monotonic() - started, 3)
    return WriteupEvidence(
        source=document.source, judge=judge.name, words=document.words, outcome=outcome, checks=checks
    )


def collect_writeup(
    readme: Path | None,
    *,
    source: str | None = None,
    key: Any = None,
    audit: BaseModel | Mapping[str, Any] | None = None,
    modeling: BaseModel | Mapping[str, Any] | None = None,
    cohort_readmes: Mapping[str, str] | None = None,
    judge: Judge | None = None,
) -> WriteupEvidence:
    """Judge the README at `readme` (None: the submission has none) against the candidate's own work.

    `source` is the README's path as the report shows it; `key` the AnswerKey; `audit` and
    `modeling` the stage evidence; `cohort_readmes` other candidates' READMEs by id, to
    find shared paragraphs; `judge` defaults to the heuristic judge.
    """
    document = read_document(readme, source)
    return judge_document(document, judge_context(key, audit, modeling, cohort_readmes), judge)

"""What the writeup stage records about the README: checks with quotes, never points.

Check ids (the rubric reads them as `writeup.<id>` and `writeup.<id>.<figure>`):

- `length`: words against the 500-word brief (figure `words`).
- `covers.<concept>`: one per production-judgment concept (CONCEPTS); `passed` when a real
  sentence covers it; figure `strength` 0-1: 1 specific (numbers, thresholds, windows,
  named tests) in a real sentence, 0.5 generic, 0.25 a platitude/boilerplate or a
  sentence that lists many concepts, 0.1 a keyword fragment.
- `prose`: the README is written in sentences, not keyword lists (figure `share`).
- `specificity`: share of real sentences that carry numbers, thresholds or windows.
- `originality`: share of sentences that are known boilerplate or shared with other
  candidates of the cohort (figures `boilerplate_share`, `shared_sentences`).
- `own_data`: references to the candidate's own data and model that the audit evidence
  or the answer key confirm (figure `score` 0-1).
- `consistency` and `consistency.<topic>`: README claims checked against what the
  notebook did; `passed=False` when a claim is contradicted (figure `score` 0-1).
- `monitoring_plan`: a concrete monitoring plan exists (at least two monitoring concepts,
  one with specifics).
- `online_evaluation`: online evaluation (shadow, A/B, live business metric) is described.

Observation checks, where `passed=True` means the problem was seen:
`roc_auc_headline`, `promotes_on_offline_metric`, `deployment_disowned`.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from grader.evidence import Check, StageOutcome

WRITEUP_SCHEMA = "writeup/1"

CONCEPTS: dict[str, str] = {
    "data_drift": "data drift on the inputs, with named tests (PSI, KS...)",
    "prediction_drift": "prediction drift: the score distribution",
    "concept_drift": "concept drift: the relation between features and churn",
    "delayed_labels": "delayed ground-truth labels",
    "business_metric": "the business metric",
    "calibration": "calibration monitoring",
    "alert_thresholds": "concrete alert thresholds",
    "retraining_schedule": "a retraining schedule",
    "retraining_drift": "retraining triggered by drift",
    "retraining_performance": "retraining triggered by a performance drop",
    "shadow_deployment": "shadow deployment",
    "ab_test": "A/B test (or canary) with guardrails",
    "rollback": "rollback",
    "ownership": "ownership and on-call",
    "tradeoffs": "nuance: feedback loops, selection bias, seasonality, cost of errors",
}
CONSISTENCY_TOPICS = ("metric", "split", "calibration", "baseline", "leak", "metric_value")
OBSERVATIONS = ("roc_auc_headline", "promotes_on_offline_metric", "deployment_disowned")

WRITEUP_CHECK_IDS: tuple[str, ...] = (
    "length",
    *(f"covers.{c}" for c in CONCEPTS),
    "prose",
    "specificity",
    "originality",
    "own_data",
    "consistency",
    *(f"consistency.{t}" for t in CONSISTENCY_TOPICS),
    "monitoring_plan",
    "online_evaluation",
    *OBSERVATIONS,
)


class WriteupEvidence(BaseModel):
    """Everything the writeup stage saw in one README."""

    schema_version: str = WRITEUP_SCHEMA
    source: str | None = Field(default=None, description="the README's path in the submission")
    judge: str = Field(description="which judge produced the checks, e.g. heuristic/1")
    words: int = 0
    outcome: StageOutcome
    checks: list[Check] = Field(default_factory=list)

    def check(self, check_id: str) -> Check:
        return next(c for c in self.checks if c.id == check_id)

"""What the writeup stage records about the README: checks with quotes, never points.

Check ids (the rubric reads them as `writeup.<id>` and `writeup.<id>.<figure>`):

- `length`: words against the 500-word brief (figure `words`).
- `covers.<concept>`: one per production-judgment concept (CONCEPTS), read in statements
  (a sentence with its lead-in line or heading, or two consecutive sentences). Figure
  `strength` 0-1 adds up: named in a real statement 0.25, specific (a threshold, window
  or named test; a bare digit is not) +0.25, argued for this use case (monthly batch
  ranking for a retention campaign: its words and a reason) +0.25, grounded in the
  candidate's own data (an own column as an identifier, a finding their audit confirms, a
  number that fits their figures) +0.25; where own data cannot apply (`DATA_FREE`),
  the argument counts twice. A contradicting number costs 0.25; a keyword fragment is 0.1,
  boilerplate or a shared paragraph 0.15, a sentence listing five concepts 0.25. A README
  that names nothing of its own data is capped at 0.35. Figures also `specific`,
  `argued` (0, 0.5, 1), `grounded` (0/1), `statements`.
  `covers.retraining_triggers` has `kinds` (schedule, drift, performance: how many);
  `covers.use_case_fit` is the share of covered concepts argued for this use case (1 with
  a reasoned case against a practice that does not fit, e.g. a shadow endpoint).
- `prose`: the README is written in sentences, not keyword lists (figure `share`).
- `specificity`: figure `score` 0-1: specific statements (grounded ones count fully,
  others half) over the statements on production judgment, full at 40 %; capped at 0.35
  when the README names nothing of its own data.
- `originality`: share of sentences that are not boilerplate or shared with other
  candidates of the cohort (figures `share`, `boilerplate_sentences`, `shared_paragraphs`).
- `own_data`: references to the candidate's own data and model that the key, the audit
  or their own figures confirm (figure `score` 0-1).
- `consistency` and `consistency.<topic>`: README claims and numbers checked against what
  the notebook did and measured and against the world's truth; `passed=False` when
  contradicted, with the README's quote and the evidence's (figure `score` 0-1).
- `monitoring_plan`: a concrete monitoring plan exists (two monitoring concepts covered,
  one specific).
- `online_evaluation`: online evaluation (a control group, A/B, shadow, live metric).

Observation checks, `passed=True` when the README reads as the guide words the flag:
`roc_auc_headline`, `promotes_on_offline_metric`, `deployment_disowned`. Wording is never a
measured failure: each suggestive sentence is also a `ReviewItem` in `review`.

`review` (for the rubric's review verdict, `writeup.review`): a list of
`{flag, check, reading, why, quotes}`: `flag` the rubric's red-flag id a reviewer should
weigh (`roc_auc_on_rare_class`, `deployment_not_my_problem`, `offline_online_confusion`);
`check` the observation that found it; `reading` "as the guide words it" or "weaker than
the guide's wording"; `why` in words; `quotes` the README lines. An empty list: nothing
for a reviewer.

`shared`: paragraphs of this README that reappear in other candidates' READMEs, each with
this candidate's paragraph and the other's, side by side in both reports.

`judge`: which judge produced the checks (`heuristic/2`, or `model/1 <model>`);
`judge_model` the model asked, when one was; `judge_note` why the model's answer was not
used (the endpoint failed: the heuristic judged instead) or what of it was dropped.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from grader.evidence import Check, Quote, StageOutcome

WRITEUP_SCHEMA = "writeup/2"
Reading = Literal["as the guide words it", "weaker than the guide's wording"]
AS_WORDED: Reading = "as the guide words it"
WEAKER: Reading = "weaker than the guide's wording"

CONCEPTS: dict[str, str] = {
    "data_drift": "input drift, with a named test (PSI, KS) and thresholds that fit what the audit measured",
    "prediction_drift": "drift of the scores: the share above the campaign cut-off, mean predicted churn",
    "concept_drift": "concept drift: performance on matured labels (PR-AUC, lift) against the offline figures",
    "delayed_labels": "label delay: month T's outcome is known only after the label window",
    "feedback_loop": "the campaign's feedback loop on the labels: contacted customers, a no-contact control group",
    "calibration": "calibration, because probabilities size the offer budget (observed vs predicted churners)",
    "business_metric": "the business metric: retained customers or revenue per contact, treated against control",
    "retraining_triggers": "what triggers retraining: a schedule tied to label maturity, drift, a performance drop",
    "retraining_decision": "who decides: a gate against the live model on the newest month, a sign-off",
    "rollout": "a rollout that fits a monthly batch (champion/challenger, control group, shadow or A/B), or a "
    "reasoned case against one that does not",
    "rollback": "rollback to the previous model version",
    "ownership": "ownership: who owns the model and who is paged",
    "use_case_fit": "judgment for this use case: concepts argued for monthly batch ranking for a retention campaign",
}
# Concepts own data cannot ground: their argument for the use case counts twice.
DATA_FREE = ("feedback_loop", "business_metric", "retraining_decision", "rollout", "rollback", "ownership")
CONSISTENCY_TOPICS = (
    "metric",
    "split",
    "calibration",
    "baseline",
    "leak",
    "metric_value",
    "numbers",
    "findings",
)
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


class ReviewItem(BaseModel):
    """Wording that suggests one of the guide's red flags, for a person to weigh: never a measured failure."""

    flag: str = Field(description="the rubric's red-flag id a reviewer should weigh")
    check: str = Field(description="the writeup observation that found it")
    reading: Reading
    why: str
    quotes: list[Quote] = Field(default_factory=list)


class SharedParagraph(BaseModel):
    """A paragraph of this README that largely reappears in another candidate's README."""

    line: int
    text: str
    candidate: str = Field(description="the other candidate")
    their_line: int
    their_text: str
    overlap: float = Field(description="share of this paragraph's word 5-grams found in theirs")


class WriteupEvidence(BaseModel):
    """Everything the writeup stage saw in one README."""

    schema_version: str = WRITEUP_SCHEMA
    source: str | None = Field(default=None, description="the README's path in the submission")
    judge: str = Field(description="which judge produced the checks, e.g. heuristic/2")
    judge_model: str | None = Field(default=None, description="the model asked, when a model judge was chosen")
    judge_note: str | None = Field(default=None, description="why (some of) the model's answer was not used")
    words: int = 0
    outcome: StageOutcome
    checks: list[Check] = Field(default_factory=list)
    review: list[ReviewItem] = Field(default_factory=list)
    shared: list[SharedParagraph] = Field(default_factory=list)

    def check(self, check_id: str) -> Check:
        return next(c for c in self.checks if c.id == check_id)

"""Debrief questions: what the interviewer asks about the practical, where its evidence was thin.

The guide closes the interview with the practical "so you are hiring on evidence": each report
lists three to five follow-up questions, each tied to a criterion that lost points (weak:
partial points; missing: none, or not verifiable; contradictory: the candidate's claim and
their own evidence disagree) or to an open README review item, citing the evidence it rests on.
Where the guide's question bank has a fitting question, `bank` names it (`grader decide` adds
its words and what to look for); otherwise the question is written for this take-home.

Picked deterministically: most points lost first (rubric order breaks ties), one per section
before a second from any section; open review items are a section of their own (`review`), so
one always makes the first round; at most five. A criterion at full points is never asked about,
nor one whose section the grader's environment kept from being graded.
"""

from __future__ import annotations

from typing import Any

from grader.evidence import Quote
from grader.rubric.paths import resolve
from grader.rubric.scorecard import (
    CriterionScore,
    DebriefKind,
    DebriefQuestion,
    Observation,
    Scorecard,
    SectionScore,
)

MAX_QUESTIONS = 5
MAX_EVIDENCE_CHARS = 300
MAX_QUOTES = 2
REVIEW_SECTION = "review"
# Less than this is rounding, not a point lost.
LOST = 0.005

# Evidence path (or the start of one) -> (question-bank id or None, the question). The longest
# prefix of the weakest observation's path wins; a criterion none matches gets GENERIC.
QUESTIONS: dict[str, tuple[str | None, str]] = {
    "audit.leak": (
        "churn-week-one-audit",
        "Which column of your data is only known once a customer has churned, and how would you find such a "
        "column in a week-one audit?",
    ),
    "audit.drift": (
        "drift-types-and-monitoring",
        "One feature's distribution shifts partway through your months: how would you find which one and from "
        "when, and what would you do about it in training and monitoring?",
    ),
    "audit.concept_drift_named": (
        "drift-types-and-monitoring",
        "One feature's effect on churn changes over the months: how would you tell that apart from a shift in "
        "its distribution, and what would it mean for this model?",
    ),
    "audit.mnar_named": (
        "churn-week-one-audit",
        "One column is missing far more often for churners: how would you check whether missingness carries "
        "signal, and how would you encode it?",
    ),
    "audit.missingness_by_label": (
        "churn-week-one-audit",
        "One column is missing far more often for churners: how would you check whether missingness carries "
        "signal, and how would you encode it?",
    ),
    "audit.duplicates": (
        "churn-week-one-audit",
        "How many duplicate rows does this data hold, and what would they have done to your validation scores?",
    ),
    "audit.churn_rate_reported": (
        "fraud-class-imbalance",
        "What is the churn rate in this data, month by month, and what does it change in how you train and evaluate?",
    ),
    "audit.label_window_checked": (
        "churn-week-one-audit",
        "How is churn defined in this data (the label window), and what would change with a 90-day window?",
    ),
    "audit.grouping_noted": (
        "time-series-cross-validation",
        "Customers repeat across the monthly snapshots: how should that shape your split and your duplicate checks?",
    ),
    "audit": (
        "churn-week-one-audit",
        "Walk me through the audit you would run on this data in week one: which checks, and what each would "
        "change in the model.",
    ),
    "modeling.holdout.candidate.pr_auc": (
        None,
        "Your final model ranks later months' churners less well than the data allows: where do you think it "
        "loses, and how would you find out?",
    ),
    "modeling.holdout.candidate.expected_calibration_error": (
        "calibration",
        "Your model's probabilities are off on later months: how would you check and fix calibration, and why "
        "does it matter when the probabilities size the retention offer budget?",
    ),
    "modeling.holdout.candidate.top_decile_lift": (
        None,
        "The campaign contacts the top decile: how well does your ranking concentrate churners there, and what "
        "would you try first to improve it?",
    ),
    "modeling.baseline_run": (
        "rules-engine-vs-model",
        "What simple baseline would you compare this model with, and how much did your tuned model gain over it?",
    ),
    "modeling.tuned_run": (
        "rules-engine-vs-model",
        "What simple baseline would you compare this model with, and how much did your tuned model gain over it?",
    ),
    "modeling.hyperparameter_search": (
        None,
        "How did you choose your hyperparameters, and how would you keep a search from overfitting the "
        "validation months?",
    ),
    "modeling.pr_auc_used": (
        "fraud-class-imbalance",
        "Churn is a rare class here: what does ROC-AUC hide that PR-AUC or lift by decile would show?",
    ),
    "modeling.roc_auc_only": (
        "fraud-class-imbalance",
        "Churn is a rare class here: what does ROC-AUC hide that PR-AUC or lift by decile would show?",
    ),
    "modeling.brier_logged": (
        "calibration",
        "Which metrics tell you whether the predicted probabilities can be trusted, and which would you log?",
    ),
    "modeling.calibrat": (
        "calibration",
        "How would you check and fix your model's calibration, and why does it matter for a retention campaign?",
    ),
    "modeling.time_split": (
        "time-series-cross-validation",
        "Your validation held out neither later months nor whole customers, although customers repeat across "
        "months: what would change with an out-of-time split?",
    ),
    "modeling.group_split": (
        "time-series-cross-validation",
        "Your validation held out neither later months nor whole customers, although customers repeat across "
        "months: what would change with an out-of-time split?",
    ),
    "modeling.claim_matches_holdout": (
        "offline-online-gap",
        "The PR-AUC you logged does not hold on later months: what in your validation made the offline figure "
        "optimistic?",
    ),
    "modeling.pr_curve": (
        "fraud-class-imbalance",
        "How would you choose the campaign's cut-off from the precision-recall trade-off?",
    ),
    "modeling.lift_table": (
        None,
        "How would you show the retention team what contacting the top decile buys them, and where would you cut?",
    ),
    "modeling.evaluation_artifacts_logged": (
        None,
        "Which evaluation plots and tables would you log with the model, and what would each tell a reviewer?",
    ),
    "modeling": (
        None,
        "Walk me through how you chose and evaluated the final model, and what you would do with another day.",
    ),
    "serving.build": (
        "dev-prod-debugging",
        "Your service did not build or start here: what would you check first, and how would you make it start "
        "the same way on any machine?",
    ),
    "serving.run": (
        "dev-prod-debugging",
        "Your service did not stay healthy here: how would you find out why, and what would a health check catch?",
    ),
    "serving.contract": (
        None,
        "What does your prediction endpoint accept and return, and how does it validate a request?",
    ),
    "serving.correctness.matches_logged_model": (
        "feature-store-offline-online",
        "Your service's answers differ from the logged model's: where can train/serve skew come from in your pipeline?",
    ),
    "serving.bad_input": (
        None,
        "What does your service do with a malformed request, and why should that be a 4xx rather than a 5xx?",
    ),
    "serving.load": (
        "realtime-pytorch-endpoint",
        "Your endpoint misses p99 under 100 ms at 500 requests/s here: where does the time go, and what would "
        "you change first?",
    ),
    "serving.dockerfile": (
        None,
        "Which container practices does your image skip (non-root user, HEALTHCHECK, pinned requirements, no "
        "baked data), and what does each protect against in production?",
    ),
    "serving": (
        None,
        "Walk me through how your service would run in production, and what you would harden first.",
    ),
    "writeup.covers.data_drift": (
        "drift-types-and-monitoring",
        "How would you monitor input drift for this model: which test, on which columns, with which thresholds "
        "from what your audit measured?",
    ),
    "writeup.covers.prediction_drift": (
        "drift-types-and-monitoring",
        "How would you watch the model's own scores from month to month, and what shift would worry you?",
    ),
    "writeup.covers.concept_drift": (
        "drift-types-and-monitoring",
        "How would you notice that the relationship between the features and churn has changed, once labels mature?",
    ),
    "writeup.covers.delayed_labels": (
        "offline-online-gap",
        "A month's churn labels arrive only after the label window: what can you monitor before they do, and "
        "what only after?",
    ),
    "writeup.covers.feedback_loop": (
        "offline-online-gap",
        "The campaign changes the outcomes it is trained on: how would you keep contacted customers from "
        "corrupting the next training set?",
    ),
    "writeup.covers.calibration": (
        "calibration",
        "The probabilities size the offer budget: how would you check in production that predicted and "
        "observed churners agree?",
    ),
    "writeup.covers.business_metric": (
        "last-ml-system-shipped",
        "Which business metric would tell you this model pays for itself, and against what control?",
    ),
    "writeup.covers.retraining": (
        None,
        "What exactly would trigger retraining this model, and who decides that the new one replaces the old?",
    ),
    "writeup.covers.rollout": (
        "shadow-deployment",
        "How would you roll out a new version of a monthly batch model, and why that way rather than a shadow "
        "endpoint?",
    ),
    "writeup.covers.rollback": (
        None,
        "A new model version turns out worse after a month: how do you roll back, and how fast?",
    ),
    "writeup.covers.ownership": (
        "on-call",
        "Who owns this model once it is live, and what would you want to be paged for?",
    ),
    "writeup.covers.use_case_fit": (
        None,
        "The model ranks customers once a month for a retention campaign: which parts of your monitoring plan "
        "matter most for that, and which would you drop?",
    ),
    "writeup.specificity": (
        None,
        "Which thresholds and windows would you set for this model, from what your own audit measured?",
    ),
    "writeup.own_data": (
        None,
        "Your README names little of your own data: which of your findings would drive what you monitor?",
    ),
    "writeup.consistency": (
        None,
        "Your README and your own evidence disagree (quoted below): which is right, and how did the README's "
        "figure come about?",
    ),
    "writeup.originality": (
        None,
        "Parts of your README read as boilerplate or appear in other submissions: what would you write "
        "instead, for this data?",
    ),
    "writeup.length": (
        None,
        "Your README is far from the 500-word brief: what would you add, or cut, to make the monitoring plan usable?",
    ),
    "writeup": (
        None,
        "How would you monitor this model in production, and what would trigger retraining?",
    ),
}
GENERIC = (None, "Walk me through what you did for “{title}”, and what you would do with another day.")

# A README review item's red flag -> (question-bank id, the question after "You wrote “…”: ").
REVIEW_QUESTIONS: dict[str, tuple[str | None, str]] = {
    "roc_auc_on_rare_class": (
        "fraud-class-imbalance",
        "on a churn rate this low, what would ROC-AUC hide that PR-AUC or lift would show?",
    ),
    "deployment_not_my_problem": ("on-call", "who owns this model once it is live, and what would you be paged for?"),
    "offline_online_confusion": (
        "offline-online-gap",
        "how would you know the new model retains more customers than the old one, not only scores better offline?",
    ),
}
REVIEW_GENERIC = (None, "what did you mean, and what would you do in production?")


def _short(text: str, limit: int = MAX_EVIDENCE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _lookup(path: str, table: dict[str, tuple[str | None, str]]) -> tuple[str | None, str] | None:
    """The entry for the longest key that `path` is, or starts with (on a dot or mid-name: `audit.drift`)."""
    for key in sorted(table, key=len, reverse=True):
        if path.startswith(key):
            return table[key]
    return None


def _check(document: dict, path: str) -> dict[str, Any] | None:
    """The evidence check an observation's path reads, when it reads one."""
    found = resolve(document, path)
    stage = document.get(path.split(".")[0])
    if found.check_id is None or not isinstance(stage, dict):
        return None
    return next((c for c in stage.get("checks") or [] if isinstance(c, dict) and c.get("id") == found.check_id), None)


def _contradicts(document: dict, observation: Observation) -> bool:
    """The candidate's own claim and their evidence disagree: a logged figure the holdout denies, a README number."""
    check = _check(document, observation.path)
    if check is None:
        return False
    check_id, passed = str(check.get("id", "")), check.get("passed")
    contradicted = (check.get("figures") or {}).get("contradicted")
    return (
        (check_id == "claim_matches_holdout" and passed is False)
        or (check_id.startswith("consistency") and passed is False)
        or (isinstance(contradicted, int | float) and contradicted > 0)
    )


def _focus(criterion: CriterionScore) -> Observation | None:
    """The observation the question is about: the first that fails, else the first unknown, else the first."""
    for state in (False, None):
        found = next((o for o in criterion.evidence if o.holds is state and (state is not None or o.found)), None)
        if found is not None:
            return found
    return criterion.evidence[0] if criterion.evidence else None


def _cited(section: SectionScore, criterion: CriterionScore, focus: Observation | None) -> str:
    """The evidence a question cites: the check's own words, or why there are none (the stage stopped first)."""
    if section.stage_stopped and (focus is None or not focus.found):
        return section.stage_stopped
    return (focus.detail if focus else "") or criterion.reason


def _criterion_question(document: dict, section: SectionScore, criterion: CriterionScore) -> DebriefQuestion:
    focus = _focus(criterion)
    contradictory = any(_contradicts(document, o) for o in criterion.evidence)
    kind: DebriefKind = (
        "contradictory"
        if contradictory
        else "missing"
        if criterion.points < LOST or criterion.reason.startswith("not verifiable")
        else "weak"
    )
    bank, question = (_lookup(focus.path, QUESTIONS) if focus else None) or GENERIC
    quotes = (focus.quotes if focus else []) or [q for o in criterion.evidence for q in o.quotes]
    return DebriefQuestion(
        topic=criterion.id,
        title=criterion.title,
        section=section.id,
        kind=kind,
        points=criterion.points,
        max=criterion.max,
        lost=round(criterion.max - criterion.points, 2),
        question=question.format(title=criterion.title),
        bank=bank,
        evidence=_short(_cited(section, criterion, focus)),
        quotes=quotes[:MAX_QUOTES],
    )


def _quoted(quotes: list[Quote]) -> str:
    return f"“{_short(quotes[0].text, 160)}”" if quotes else "this"


def _review_questions(card: Scorecard) -> list[DebriefQuestion]:
    questions = []
    for item in card.open_review():
        bank, question = REVIEW_QUESTIONS.get(item.flag, REVIEW_GENERIC)
        questions.append(
            DebriefQuestion(
                topic=f"red_flag.{item.flag}",
                title=item.message,
                section=REVIEW_SECTION,
                kind="contradictory",
                points=None,
                max=None,
                lost=0.0,
                question=f"You wrote {_quoted(item.quotes)}: {question}",
                bank=bank,
                evidence=_short(item.why),
                quotes=item.quotes[:MAX_QUOTES],
            )
        )
    return questions


def debrief(card: Scorecard, document: dict) -> list[DebriefQuestion]:
    """At most five questions for the interviewer from a scored card and the evidence it was scored on."""
    candidates = [
        _criterion_question(document, section, criterion)
        for section in card.sections.values()
        if section.environment is None
        for criterion in section.criteria
        if criterion.max - criterion.points >= LOST
    ]
    candidates += _review_questions(card)
    # Stable sort: rubric order breaks ties in points lost.
    ordered = sorted(candidates, key=lambda q: -q.lost)
    rank: dict[str, int] = {}
    rounds = []
    for question in ordered:
        rounds.append(rank.get(question.section, 0))
        rank[question.section] = rounds[-1] + 1
    picked = sorted(zip(rounds, ordered, strict=True), key=lambda pair: pair[0])
    return [question for _, question in picked[:MAX_QUESTIONS]]

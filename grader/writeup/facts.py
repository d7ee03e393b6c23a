"""The README against the candidate's own work: references to their data, and claims checked.

A README that names the columns this candidate's audit actually found (from the answer
key), or describes findings the audit evidence confirms, is about *this* model; generic
text is not. A claim ("we used PR-AUC", "out-of-time split", "calibrated with isotonic",
"ROC-AUC of 0.97") that the notebook or the hidden holdout contradicts is flagged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from grader.evidence import Check, Quote
from grader.writeup.concepts import CRAMMED_CONCEPTS, crowd
from grader.writeup.text import Document, Sentence

MAX_COLUMNS_PER_SENTENCE = 3
OWN_DATA_ITEMS_FOR_FULL = 4
MAX_QUOTES = 4
NEGATED = re.compile(r"\b(no|not|never|without|didn't|did not|don't|nothing|none)\b", re.I)
FAR_ABSOLUTE = 0.1
FAR_RATIO = 1.25
# "validation is out of time", "an out-of-time split": not "I ran out of time".
OUT_OF_TIME = (
    r"out[- ]of[- ]time (split|validation|test|evaluation|holdout|fold)|"
    r"(validation|split|test|evaluation)\w* (is |was |are )?out[- ]of[- ]time"
)


@dataclass(frozen=True)
class JudgeContext:
    """What the judge may compare the README with: answer-key names and stage evidence."""

    feature_columns: tuple[str, ...] = ()
    # role -> column: leak, covariate_drift, concept_drift, missing_not_at_random
    seeded_columns: dict[str, str] = field(default_factory=dict)
    churn_rate: float | None = None
    # check id -> passed, from the audit and modeling evidence
    audit: dict[str, bool | None] = field(default_factory=dict)
    modeling: dict[str, bool | None] = field(default_factory=dict)
    # the candidate's model on the hidden holdout: pr_auc, roc_auc
    holdout: dict[str, float] = field(default_factory=dict)
    # other candidates' READMEs (cohort runs), by candidate id
    cohort: dict[str, str] = field(default_factory=dict)


def _quote(document: Document, sentence: Sentence) -> Quote:
    return Quote(source=document.source, line=sentence.line, text=sentence.text[:300])


def _named(sentence: Sentence, columns: tuple[str, ...]) -> set[str]:
    return {c for c in columns if re.search(rf"(?<![A-Za-z0-9_]){re.escape(c)}(?![A-Za-z0-9_])", sentence.text)}


# (finding, README wording, evidence that confirms the candidate really found it)
MONTHS = r"(20\d\d-\d\d|january|february|march|april|may|june|july|august|september|october|november|december|mid-year)"
FINDINGS: tuple[tuple[str, re.Pattern, tuple[tuple[str, str], ...]], ...] = (
    ("leak", re.compile(r"leak", re.I), (("audit", "leak_named"),)),
    (
        "covariate drift",
        re.compile(
            rf"(drift|shift|chang|step|mov)\w*.{{0,60}}\b(from|since|after|in) {MONTHS}|recording changed|"
            r"changed mid|step in (one|a) feature|rescal|(found|saw|observed|noticed|detected|already)\w* "
            r".{0,40}(drift|shift|moved)",
            re.I,
        ),
        (("audit", "drift_named"),),
    ),
    (
        "concept drift",
        re.compile(r"effect .{0,40}(chang|grow|tripl|doubl)|(chang|grew|tripl|doubl)\w* .{0,30}effect", re.I),
        (("audit", "concept_drift_named"),),
    ),
    (
        "missing not at random",
        re.compile(
            r"missing\w*.{0,60}(churn|not at random|informative|more (often|common)|mostly)|"
            r"(not at random|informative).{0,60}missing",
            re.I,
        ),
        (("audit", "mnar_named"),),
    ),
    ("duplicates", re.compile(r"duplicat", re.I), (("audit", "duplicates_found"),)),
    (
        "validation split",
        re.compile(
            OUT_OF_TIME + r"|time[- ]based (split|validation)|temporal (split|validation)|"
            r"split by (month|customer)|repeat across|grouped (split|k-?fold|cross)|group ?k-?fold",
            re.I,
        ),
        (("modeling", "time_split"), ("modeling", "group_split"), ("audit", "grouping_noted")),
    ),
)


def own_data_check(document: Document, context: JudgeContext) -> Check:
    """References to this candidate's data and model, confirmed by the key or the audit."""
    real = [s for s in document.sentences if s.real and crowd(s) < CRAMMED_CONCEPTS]
    items: list[str] = []
    quotes: list[Quote] = []
    seeded = {column: role for role, column in context.seeded_columns.items()}
    other_columns: set[str] = set()
    for sentence in real:
        named = _named(sentence, context.feature_columns)
        if not named or len(named) > MAX_COLUMNS_PER_SENTENCE:
            continue
        for column in sorted(named):
            if column in seeded and f"names {column} ({seeded[column]})" not in items:
                items.append(f"names {column} ({seeded[column]})")
                quotes.append(_quote(document, sentence))
            elif column not in seeded:
                other_columns.add(column)
    for finding, wording, confirmations in FINDINGS:
        confirmed = [f"{stage}.{check}" for stage, check in confirmations if getattr(context, stage).get(check) is True]
        said = next((s for s in real if wording.search(s.text) and not _denies(s, wording)), None)
        if said is not None and confirmed:
            items.append(f"{finding} (confirmed by {confirmed[0]})")
            quotes.append(_quote(document, said))
    rate = _base_rate_sentence(real, context.churn_rate)
    if rate is not None:
        items.append(f"the churn rate ({context.churn_rate:.1%})")
        quotes.append(_quote(document, rate))
    count = len(items) + 0.5 * min(2, len(other_columns))
    score = min(1.0, count / OWN_DATA_ITEMS_FOR_FULL)
    detail = ("; ".join(items) if items else "nothing specific to this candidate's data or model") + (
        f"; also names {', '.join(sorted(other_columns)[:4])}" if other_columns else ""
    )
    return Check(
        id="own_data",
        passed=score >= 0.5,
        detail=detail[:600],
        quotes=quotes[:MAX_QUOTES],
        figures={"score": round(score, 3), "items": len(items), "other_columns": len(other_columns)},
    )


def _denies(sentence: Sentence, wording: re.Pattern) -> bool:
    """'no leakage', 'the data is clean, no duplicates': naming a problem to deny it."""
    match = wording.search(sentence.text)
    return bool(match and NEGATED.search(sentence.text[max(0, match.start() - 30) : match.start()]))


def _base_rate_sentence(real: list[Sentence], churn_rate: float | None) -> Sentence | None:
    if churn_rate is None:
        return None
    context = re.compile(r"churn|positive|base rate|imbalanc|prevalence", re.I)
    percent = re.compile(r"(\d+(?:\.\d+)?)\s*%")
    for sentence in real:
        rates = [float(v) / 100 for v in percent.findall(sentence.text)]
        if context.search(sentence.text) and any(abs(rate - churn_rate) <= 0.01 for rate in rates):
            return sentence
    return None


# topic -> (claim wording, evidence that must hold, what the claim says)
CLAIMS: dict[str, tuple[re.Pattern, tuple[tuple[str, str], ...], str]] = {
    "metric": (
        re.compile(r"pr-?auc|average precision|precision[- ]recall (auc|area)|auprc", re.I),
        (("modeling", "pr_auc_used"),),
        "PR-AUC was used",
    ),
    "split": (
        re.compile(
            OUT_OF_TIME + r"|time[- ]based (split|validation)|temporal (split|validation)|"
            r"split by (month|time|customer)|group ?k-?fold|grouped split",
            re.I,
        ),
        (("modeling", "time_split"), ("modeling", "group_split")),
        "a time-based or grouped split",
    ),
    "calibration": (
        re.compile(
            r"isotonic|platt|calibrated (model|probabilities|with|using|on)|"
            r"(model|probabilities) (is|are|were|was) (well[- ])?calibrated|calibrat\w+ (with|using|via)",
            re.I,
        ),
        (("modeling", "calibrated_model"),),
        "the model was calibrated",
    ),
    "baseline": (re.compile(r"baseline", re.I), (("modeling", "baseline_run"),), "a baseline model was trained"),
    "leak": (
        re.compile(r"leak\w*.{0,80}(drop|remov|exclud|found|caught)|(drop|remov|exclud)\w*.{0,60}leak", re.I),
        (("audit", "leak_excluded"),),
        "the leakage column was kept out of the final model",
    ),
}
# A value about one column, or a threshold, is not a claim about the final model.
NOT_THE_MODEL = re.compile(
    r"leak|on its own|alone|single[- ]feature|by itself|\bcolumn\b|alert|threshold|drops?\b|below", re.I
)
METRIC_VALUE = re.compile(
    r"(?P<name>pr[- ]?auc|average precision|auprc|roc[- ]?auc|(?<![a-z-])auc)\b[^0-9\n|]{0,40}?"
    r"(?P<value>0?\.\d{1,4}|1\.0+)(?!\d)",
    re.I,
)


def _claim_check(topic: str, document: Document, context: JudgeContext) -> Check:
    wording, evidence, claim = CLAIMS[topic]
    said = [s for s in document.sentences if s.real and wording.search(s.text) and not _denies(s, wording)]
    check_id = f"consistency.{topic}"
    if not said:
        return Check(id=check_id, passed=None, detail=f"no claim that {claim}")
    states = [getattr(context, stage).get(name) for stage, name in evidence]
    quotes = [_quote(document, s) for s in said[:2]]
    names = " or ".join(f"{stage}.{name}" for stage, name in evidence)
    if True in states:
        return Check(id=check_id, passed=True, quotes=quotes, detail=f"claims {claim}; {names} agrees")
    if all(state is False for state in states):
        return Check(id=check_id, passed=False, quotes=quotes, detail=f"claims {claim}, but {names} says no")
    return Check(id=check_id, passed=None, quotes=quotes, detail=f"claims {claim}; {names} could not verify it")


def _metric_value_check(document: Document, context: JudgeContext) -> Check:
    claims = []
    for sentence in document.sentences:
        if sentence.kind == "heading" or NOT_THE_MODEL.search(sentence.text):
            continue
        for match in METRIC_VALUE.finditer(sentence.text):
            name = "pr_auc" if re.match(r"pr|average|auprc", match.group("name"), re.I) else "roc_auc"
            claims.append((sentence, name, float(match.group("value"))))
    if not claims:
        return Check(id="consistency.metric_value", passed=None, detail="states no PR-AUC or ROC-AUC value")
    far, checked = [], []
    for sentence, name, value in claims:
        measured = context.holdout.get(name)
        if measured is None or measured <= 0:
            continue
        checked.append((sentence, name, value, measured))
        if abs(value - measured) > FAR_ABSOLUTE and not 1 / FAR_RATIO <= value / measured <= FAR_RATIO:
            far.append((sentence, name, value, measured))
    if not checked:
        return Check(
            id="consistency.metric_value",
            passed=None,
            quotes=[_quote(document, claims[0][0])],
            detail="states a metric value, but the model was not scored on the holdout",
        )
    shown = far or checked
    sentence, name, value, measured = shown[0]
    label = "PR-AUC" if name == "pr_auc" else "ROC-AUC"
    verdict = "far from" if far else "in line with"
    return Check(
        id="consistency.metric_value",
        passed=not far,
        quotes=[_quote(document, s) for s, *_ in shown[:2]],
        detail=f"states {label} {value:g}, {verdict} the {measured:.3f} measured on the hidden holdout",
        figures={"stated": value, "measured": round(measured, 4), "metric": name},
    )


def consistency_checks(document: Document, context: JudgeContext) -> list[Check]:
    """One check per topic, and the aggregate `consistency` with a 0-1 score."""
    checks = [_claim_check(topic, document, context) for topic in CLAIMS]
    checks.append(_metric_value_check(document, context))
    held = sum(c.passed is True for c in checks)
    contradicted = [c for c in checks if c.passed is False]
    claims = held + len(contradicted)
    score = max(0, held - 2 * len(contradicted)) / max(claims, 3)
    detail = f"{claims} claim(s) about the work checked: {held} hold, {len(contradicted)} contradicted" + "".join(
        f"; {c.detail}" for c in contradicted
    )
    aggregate = Check(
        id="consistency",
        passed=not contradicted,
        detail=detail,
        quotes=[q for c in contradicted for q in c.quotes][:MAX_QUOTES],
        figures={"claims": claims, "held": held, "contradicted": len(contradicted), "score": round(score, 3)},
    )
    return [aggregate, *checks]

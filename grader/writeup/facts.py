"""The README against the candidate's own work: references to their data, and claims checked.

A README that names this candidate's columns (as identifiers: `plan` in backticks, or
`tenure_months`; the English word "plan" is not a column), describes findings the audit
evidence confirms, or quotes figures their notebook measured is about *this* model. A
claim ("we used PR-AUC", "out-of-time split", "calibrated with isotonic", "ROC-AUC of
0.97") that the notebook or the hidden holdout contradicts is flagged, and so is a number
that contradicts their figures or the world's truth: both quotes are kept, the README's
and the evidence's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from grader.evidence import Check, Quote
from grader.writeup.concepts import CRAMMED_CONCEPTS, crowd
from grader.writeup.evidence import SharedParagraph
from grader.writeup.grounding import Measured, Truth, truth_quote
from grader.writeup.numbers import Comparison, compare
from grader.writeup.statements import Statement, sentence_quote
from grader.writeup.text import Document, Sentence

MAX_COLUMNS_PER_STATEMENT = 3
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
FACTUAL = ("label window", "churn rate", "duplicates", "drift month")


@dataclass(frozen=True)
class JudgeContext:
    """What the judge may compare the README with: the world's truth and the candidate's evidence."""

    truth: Truth = field(default_factory=Truth)
    measured: Measured = field(default_factory=Measured)
    # check id -> passed, from the audit and modeling evidence
    audit: dict[str, bool | None] = field(default_factory=dict)
    modeling: dict[str, bool | None] = field(default_factory=dict)
    # the candidate's model on the hidden holdout: pr_auc, roc_auc
    holdout: dict[str, float] = field(default_factory=dict)
    # other candidates' READMEs (cohort runs), by candidate id
    cohort: dict[str, str] = field(default_factory=dict)
    # this README's paragraphs found in theirs (set by the stage before judging)
    shared: tuple[SharedParagraph, ...] = ()


def named_columns(statement: Statement | Sentence, columns: tuple[str, ...]) -> set[str]:
    """Columns named as identifiers: with an underscore as written, or in a code span."""
    text = statement.text
    named = set()
    for column in columns:
        if column in statement.code or (
            "_" in column and re.search(rf"(?<![A-Za-z0-9_]){re.escape(column)}(?![A-Za-z0-9_])", text)
        ):
            named.add(column)
    return named


# (finding, README wording, evidence that confirms the candidate really found it)
MONTHS = r"(20\d\d-\d\d|january|february|march|april|may|june|july|august|september|october|november|december|mid-year)"
FINDINGS: tuple[tuple[str, re.Pattern, tuple[tuple[str, str], ...]], ...] = (
    ("leak", re.compile(r"leak", re.I), (("audit", "leak_named"),)),
    (
        "covariate drift",
        re.compile(
            rf"(drift|shift|chang|step|mov)\w*.{{0,60}}\b(from|since|after|in) {MONTHS}|recording changed|"
            r"changed mid|step in (one|a) feature|rescal|(found|saw|observed|noticed|detected|already)\w* "
            r".{0,40}(drift|shift|moved)|as in the audit",
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
            r"missing\w*.{0,60}(churn|not[- ]at[- ]random|informative|more (often|common)|mostly)|"
            r"(not[- ]at[- ]random|informative).{0,60}missing",
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


def _denies(text: str, wording: re.Pattern) -> bool:
    """'no leakage', 'the data is clean, no duplicates': naming a problem to deny it."""
    match = wording.search(text)
    return bool(match and NEGATED.search(text[max(0, match.start() - 30) : match.start()]))


def confirmed_findings(text: str, context: JudgeContext) -> list[str]:
    """Findings this text states that the candidate's own evidence confirms."""
    found = []
    for finding, wording, confirmations in FINDINGS:
        confirmed = [f"{stage}.{check}" for stage, check in confirmations if getattr(context, stage).get(check) is True]
        if confirmed and wording.search(text) and not _denies(text, wording):
            found.append(f"{finding} (confirmed by {confirmed[0]})")
    return found


def grounding_of(statement: Statement, context: JudgeContext, comparisons: list[Comparison]) -> str | None:
    """Why the statement is about this candidate's data (None: it is not)."""
    columns = named_columns(statement, context.truth.feature_columns)
    if columns and len(columns) <= MAX_COLUMNS_PER_STATEMENT:
        return f"names {', '.join(sorted(columns))}"
    findings = confirmed_findings(statement.text, context)
    if findings:
        return findings[0]
    fitting = [c for c in comparisons if c.verdict != "contradicts"]
    return fitting[0].why if fitting else None


def own_data_check(
    document: Document, units: list[Statement], context: JudgeContext, comparisons: dict[Sentence, list[Comparison]]
) -> Check:
    """References to this candidate's data and model, confirmed by the key, the audit or their figures."""
    real = [u for u in units if u.real and len(u.sentences) == 1 and crowd(u.anchor.text) < CRAMMED_CONCEPTS]
    items: list[str] = []
    quotes: list[Quote] = []
    seeded = {column: role for role, column in context.truth.seeded_columns.items()}
    other_columns: set[str] = set()

    def add(item: str, unit: Statement) -> None:
        if item not in items:
            items.append(item)
            quotes.append(unit.quotes(document.source)[-1])

    for unit in real:
        named = named_columns(unit, context.truth.feature_columns)
        if named and len(named) <= MAX_COLUMNS_PER_STATEMENT:
            for column in sorted(named):
                if column in seeded:
                    add(f"names {column} ({seeded[column]})", unit)
                else:
                    other_columns.add(column)
        for finding in confirmed_findings(unit.anchor.text, context):
            add(finding, unit)
        for comparison in comparisons.get(unit.anchor, []):
            if comparison.verdict == "own figure" or (comparison.kind == "churn rate" and comparison.verdict == "fits"):
                add(f"states their own {comparison.kind} ({comparison.stated})", unit)
    figures = {"items": len(items), "other_columns": len(other_columns)}
    score = min(1.0, own_data_items(figures) / OWN_DATA_ITEMS_FOR_FULL)
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


def own_data_items(figures: Mapping[str, float | int | str | None]) -> float:
    """How many things of its own data the README names, from the own-data check's figures (the cap's input)."""
    return float(figures.get("items") or 0) + 0.5 * min(2, float(figures.get("other_columns") or 0))


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
FINDING_COLUMN = {
    "leak": re.compile(r"\bleak", re.I),
    "drifting feature": re.compile(r"\bdrift|\bshift", re.I),
    "missing not at random": re.compile(r"not[- ]at[- ]random|\bmnar\b", re.I),
}


def _claim_check(topic: str, document: Document, context: JudgeContext) -> Check:
    wording, evidence, claim = CLAIMS[topic]
    said = [s for s in document.sentences if s.real and wording.search(s.text) and not _denies(s.text, wording)]
    check_id = f"consistency.{topic}"
    if not said:
        return Check(id=check_id, passed=None, detail=f"no claim that {claim}")
    states = [getattr(context, stage).get(name) for stage, name in evidence]
    quotes = [sentence_quote(document, s) for s in said[:2]]
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
        logged = [f.value for f in context.measured.metrics.get(name, ()) if f.quote.source.startswith("MLflow")]
        checked.append((sentence, name, value, measured))
        near = [
            m for m in (measured, *logged) if abs(value - m) <= FAR_ABSOLUTE or 1 / FAR_RATIO <= value / m <= FAR_RATIO
        ]
        if not near:
            far.append((sentence, name, value, measured))
    if not checked:
        return Check(
            id="consistency.metric_value",
            passed=None,
            quotes=[sentence_quote(document, claims[0][0])],
            detail="states a metric value, but the model was not scored on the holdout",
        )
    shown = far or checked
    sentence, name, value, measured = shown[0]
    label = "PR-AUC" if name == "pr_auc" else "ROC-AUC"
    verdict = "far from" if far else "in line with"
    return Check(
        id="consistency.metric_value",
        passed=not far,
        quotes=[sentence_quote(document, s) for s, *_ in shown[:2]],
        detail=f"states {label} {value:g}, {verdict} the {measured:.3f} measured on the hidden holdout",
        figures={"stated": value, "measured": round(measured, 4), "metric": name},
    )


def _numbers_check(document: Document, comparisons: dict[Sentence, list[Comparison]]) -> Check:
    """README thresholds and figures against the candidate's figures and the truth: both quotes when they clash."""
    contradicted: list[tuple[Sentence, Comparison]] = []
    held: dict[str, tuple[Sentence, Comparison]] = {}
    for unit, found in comparisons.items():
        for comparison in found:
            if comparison.verdict == "contradicts":
                if all(c.why != comparison.why for _, c in contradicted):
                    contradicted.append((unit, comparison))
            elif comparison.kind in FACTUAL or comparison.verdict == "own figure":
                held.setdefault(comparison.kind, (unit, comparison))
    if not contradicted and not held:
        return Check(id="consistency.numbers", passed=None, detail="no number compared with the evidence")
    if contradicted:
        quotes = []
        for sentence, comparison in contradicted[:2]:
            quotes += [sentence_quote(document, sentence), comparison.evidence]
        return Check(
            id="consistency.numbers",
            passed=False,
            quotes=quotes,
            detail="; ".join(f"{c.stated}: {c.why}" for _, c in contradicted[:4]),
            figures={"held": len(held), "contradicted": len(contradicted)},
        )
    return Check(
        id="consistency.numbers",
        passed=True,
        quotes=[sentence_quote(document, sentence) for sentence, _ in list(held.values())[:2]],
        detail="; ".join(f"{c.stated}: {c.why}" for _, c in held.values())[:600],
        figures={"held": len(held), "contradicted": 0},
    )


def _findings_check(document: Document, units: list[Statement], context: JudgeContext) -> Check:
    """A column the README calls the leak, the drifting or the MNAR column, against the truth."""
    # (statement, role, the column it names, the role's true column)
    wrong: list[tuple[Statement, str, str, str]] = []
    right: list[tuple[Statement, str, str, str]] = []
    for unit in units:
        if len(unit.sentences) != 1 or not unit.anchor.real:
            continue
        named = named_columns(unit.anchor, context.truth.feature_columns)
        if not named or len(named) > 1:
            continue
        (column,) = named
        for role, wording in FINDING_COLUMN.items():
            truth = context.truth.seeded_columns.get(role)
            if truth is None or not wording.search(unit.anchor.text) or _denies(unit.anchor.text, wording):
                continue
            (right if column == truth else wrong).append((unit, role, column, truth))
    if wrong:
        unit, role, column, truth = wrong[0]
        return Check(
            id="consistency.findings",
            passed=False,
            quotes=[unit.quotes(document.source)[-1], truth_quote(f"the {role} column is {truth}")],
            detail="; ".join(f"calls {c} the {r} column; it is {t}" for _, r, c, t in wrong[:3]),
            figures={"held": len(right), "contradicted": len(wrong)},
        )
    if right:
        return Check(
            id="consistency.findings",
            passed=True,
            quotes=[u.quotes(document.source)[-1] for u, *_ in right[:2]],
            detail="; ".join(sorted({f"names {c} as the {r} column" for _, r, c, _ in right})),
            figures={"held": len(right), "contradicted": 0},
        )
    return Check(id="consistency.findings", passed=None, detail="names no column as a seeded problem")


def consistency_checks(
    document: Document, units: list[Statement], context: JudgeContext, comparisons: dict[Sentence, list[Comparison]]
) -> list[Check]:
    """One check per topic, and the aggregate `consistency` with a 0-1 score."""
    checks = [_claim_check(topic, document, context) for topic in CLAIMS]
    checks += [
        _metric_value_check(document, context),
        _numbers_check(document, comparisons),
        _findings_check(document, units, context),
    ]
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
        detail=detail[:900],
        quotes=[q for c in contradicted for q in c.quotes][:MAX_QUOTES],
        figures={"claims": claims, "held": held, "contradicted": len(contradicted), "score": round(score, 3)},
    )
    return [aggregate, *checks]


def comparisons_by_sentence(document: Document, context: JudgeContext) -> dict[Sentence, list[Comparison]]:
    """Each sentence's numbers compared with the candidate's figures and the truth."""
    return {
        sentence: found
        for sentence in document.sentences
        if sentence.kind != "heading" and (found := compare(sentence.text, context.measured, context.truth))
    }

"""The production-judgment concepts, and how strongly one statement covers one.

The model ranks customers once a month for a retention campaign, so a concept is worth
what the README makes of it for that use, not that it is named. A statement's strength
adds up, each part shown in words:

- named in a real statement: 0.25 (a keyword fragment 0.1, boilerplate 0.15, one sentence
  listing five concepts 0.25: a list, not a plan);
- specific: a threshold, a window or a named test (a bare digit is not): +0.25;
- argued for this use case: its words (campaign, contacted customers, offer budget,
  monthly batch, month T / T+1, decile, cut-off) and a reason (because, so, rather than,
  only...): +0.25, or +0.125 for either alone; where own data cannot apply (rollout,
  rollback, ownership, the business metric, the feedback loop, who decides) twice that;
- grounded in this candidate's own data: an own column named as an identifier, an audit
  finding the evidence confirms, or a number that fits their figures: +0.25;
- a number that contradicts their figures: -0.25.

A reasoned case against a practice that does not fit (a shadow endpoint, p99 alerting for a
monthly batch) is argued judgment, and covers the rollout concept as such.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from grader.writeup.evidence import DATA_FREE
from grader.writeup.statements import Statement

FRAGMENT = 0.1
PLATITUDE = 0.15
LISTED = 0.25
NAMED = 0.25
SPECIFIC = 0.25
ARGUED = 0.25
GROUNDED = 0.25
CONTRADICTED = 0.25
COVERED = 0.5
LIST_FACTOR = 0.75  # a sentence naming LIST_CONCEPTS concepts
LIST_CONCEPTS = 4
CRAMMED_CONCEPTS = 5  # ... or more: a keyword list written as one sentence
# What a README can reach, per concept and in specificity and consistency, by how many things
# of its own data it names (none: a low cap; one: a higher one; two or more: no cap).
NO_OWN_DATA_CAP = 0.35
ONE_OWN_ITEM_CAP = 0.7


def own_data_cap(items: float) -> float:
    """The cap on every concept for a README naming `items` things of its own data."""
    return NO_OWN_DATA_CAP if items <= 0 else ONE_OWN_ITEM_CAP if items < 2 else 1.0


RETRAIN = re.compile(r"re-?train|re-?fit|rebuild|new model|challenger", re.I)
USE_CASE = re.compile(
    r"campaign|retention (team|offer|budget|call|list)|\boffers?\b|budget|\bcontact(ed|s|ing)?\b|call list|"
    r"treat(ed|ment) (group|customers|arm|effect)|treated (versus|vs\.?|against)|treatment as|"
    r"(control|holdout|hold-out|no-contact) group|no-contact|uplift|"
    r"monthly (batch|run|scor\w*|rank\w*|list|cycle|job)|once a month|month t\b|t ?\+ ?1\b|\bbatch\b|"
    r"\brank(ed|ing|s)?\b|decile|cut-?off|top[- ]?\d+ ?%|capacity|expected (number of )?churners|"
    r"how many customers|retention team",
    re.I,
)
REASON = re.compile(
    r"\bbecause\b|\bsince\b|\bso\b|\btherefore\b|\bwhich means\b|\bthis means\b|\bmeans\b|\botherwise\b|"
    r"\brather than\b|\binstead\b|\bonly\b|\bunless\b|\bgiven\b|\bwhy\b|\bmatters?\b|\bso that\b|\bto avoid\b",
    re.I,
)
# A reasoned case against a practice that does not fit a monthly batch.
AGAINST_PRACTICE = re.compile(
    r"shadow|a/b|\bab test|canary|p99|p95|latency|real[- ]time|endpoint|online (serving|traffic)|live traffic|"
    r"per-request|requests? per second",
    re.I,
)
AGAINST_WORDS = re.compile(
    r"matters? (little|less|much less|not much)|little (value|point|use)|adds? little|buys? (little|nothing)|"
    r"not (needed|necessary|worth|useful|the point)|no need|unnecessary|overkill|does not need|doesn't need|"
    r"rather than|instead of|less (important|useful|relevant)|pointless|would not (tell|show|catch)|"
    r"cannot (tell|show)|irrelevant|does not fit|doesn't fit|not a (real-time|live)",
    re.I,
)
BATCH_REASON = re.compile(
    r"monthly|once a month|\bbatch\b|no (live|request|real-time)|scores? (the base|all customers|everyone)|"
    r"campaign|a month|per month|each month",
    re.I,
)


@dataclass(frozen=True)
class Concept:
    id: str
    pattern: re.Pattern
    # Only in a retraining statement (or under a retraining heading).
    retraining: bool = False

    @property
    def data(self) -> bool:
        """Own data can ground it (drift against measured PSI, performance against their PR-AUC...)."""
        return self.id not in DATA_FREE


def _c(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.I)


_DROP = r"(drop|fall|falls|fell|below|degrad|declin|wors|decreas|under|lower)"
_METRIC = r"(pr-?auc|auc|precision|recall|lift|brier|performance|accuracy|metric|ece|f1)"
RETRAIN_KINDS = {
    "schedule": _c(
        r"daily|weekly|monthly|quarterly|every (day|week|month|quarter|\d+)|each (month|week)|schedul|cadence|"
        r"\bcron\b|regular(ly)?|periodic|labels? matur|month of labels"
    ),
    "drift": _c(r"drift|\bpsi\b|\bks\b|distribution|data changes|shift"),
    "performance": _c(rf"{_METRIC}\w*.{{0,60}}{_DROP}|{_DROP}\w*.{{0,40}}{_METRIC}"),
}

CATALOG: tuple[Concept, ...] = (
    Concept(
        "data_drift",
        _c(
            r"data drift|input drift|feature drift|covariate (drift|shift)|\bpsi\b|population stability|"
            r"\bks\b|kolmogorov|jensen|wasserstein|chi[- ]?squared?|(input|feature)s? (distribution|drift)|"
            r"(drift|shift|change|step)s? (in|of) (the |one |a )?(input|feature)s?|missing rate|"
            r"(track|monitor)\w* .{0,40}\binput (data|features)"
        ),
    ),
    Concept(
        "prediction_drift",
        _c(
            r"prediction drift|output drift|score drift|(distribution|histogram|mean|average|share) "
            r"of (the )?(predict\w*|scores?|outputs?)|(score|prediction|output) distribution|"
            r"mean predicted|predicted (churn )?rate|share of customers above|above the (campaign )?cut-?off"
        ),
    ),
    Concept(
        "concept_drift",
        _c(
            r"concept drift|relationship between .{0,60}(chang|shift|drift)|"
            r"(relationship|relation|link|effect)s? .{0,40}(to|with|on) (the )?(label|target|churn|outcome)"
            r".{0,30}(chang|shift|drift)|p\(y\s*\|\s*x\)|"
            r"(pr-?auc|lift|precision|brier|performance)[^.]{0,60}(matur|labell?ed month|once (the )?labels|"
            r"when (the )?labels|month t\b)"
        ),
    ),
    Concept(
        "delayed_labels",
        _c(
            r"(labels?|ground[- ]truth|outcomes?|actuals)\b.{0,50}(delay|lag|matur|arriv|come in|"
            r"become available|are known|is known)|(delay|lag|matur)\w*.{0,40}\b(labels?|ground[- ]truth|outcomes?)|"
            r"once (the )?(actual )?(churn )?(labels|outcomes)|label (delay|latency|maturity)|"
            r"month t'?s? (outcome|label)|known only (at|after|a month)|t ?\+ ?1\b"
        ),
    ),
    Concept(
        "feedback_loop",
        _c(
            r"feedback loop|contacted customers?|customers? (we|who were|that were) (contact|call|target|treat)\w*|"
            r"treat(ed|ment) (group|customers|arm|effect)|treated (versus|vs\.?|against)|treatment as|"
            r"(no-contact|control|holdout|hold-out) group|selection bias|"
            r"biased by the (campaign|offer|intervention)|(offer|campaign|intervention) (changes|affects|prevents|"
            r"saves|removes)|uplift model|change (their|its) own labels?"
        ),
    ),
    Concept(
        "calibration",
        _c(
            r"calibrat|reliability (curve|diagram)|\bece\b|brier|observed\s*(/|vs\.?|versus|against|over)\s*"
            r"predicted|predicted\s*(/|vs\.?|versus)\s*(observed|actual)|expected (number of )?churners"
        ),
    ),
    Concept(
        "business_metric",
        _c(
            r"business (metric|kpi|outcome|value|impact)|revenue|retained (customers|revenue)|"
            r"retention (rate|uplift)|saved customers|cost per (contact|customer|call)|uplift|"
            r"incremental|\broi\b|lifetime value|\bltv\b|\bclv\b|profit"
        ),
    ),
    Concept(
        "retraining_triggers",
        _c("|".join(p.pattern for p in RETRAIN_KINDS.values()) + r"|trigger|\bwhen\b|\bif\b"),
        retraining=True,
    ),
    Concept(
        "retraining_decision",
        _c(
            r"\bgate\b|must beat|has to beat|champion|promot\w*|sign[- ]?off|signs? off|approv\w*|\bdecides?\b|"
            r"decision|reviewed by|who (decides|approves)"
        ),
    ),
    Concept(
        "rollout",
        _c(
            r"\bshadow|dark launch|\ba/b\b|\bab test|a-b test|canary|champion.{0,20}challenger|randomi[sz]\w*|"
            r"\bramp|split (the )?traffic|guardrail|online (test|experiment)|interleav|"
            r"(control|holdout|hold-out|no-contact) group|side by side|back-?test"
        ),
    ),
    Concept(
        "rollback",
        _c(r"roll ?back|revert|previous (model|version|tag|image)|kill switch|fall ?back to"),
    ),
    Concept(
        "ownership",
        _c(
            r"on-?call|\bpager|\bowner|ownership|\bi own\b|\bwe own\b|owned by|runbook|escalat|responsib|"
            r"who (is|gets) paged"
        ),
    ),
)
BY_ID = {concept.id: concept for concept in CATALOG}
# Say something about another concept; never add to a sentence's crowd.
QUALIFIERS = frozenset({"retraining_triggers", "retraining_decision"})
MONITORING = ("data_drift", "prediction_drift", "concept_drift", "delayed_labels", "calibration", "business_metric")


def mentions(concept: Concept, statement: Statement) -> bool:
    """The statement names the concept (a retraining concept only in a retraining statement)."""
    text = statement.text
    if concept.retraining and not (RETRAIN.search(text) or RETRAIN.search(statement.heading)):
        return False
    return concept.pattern.search(text) is not None or (concept.id == "rollout" and argues_against(statement))


def argues_against(statement: Statement) -> bool:
    """A reasoned case against a practice that does not fit a monthly batch ranking."""
    text = statement.text
    return bool(AGAINST_PRACTICE.search(text) and AGAINST_WORDS.search(text) and BATCH_REASON.search(text))


def crowd(text: str) -> int:
    """How many distinct concepts one sentence names (qualifiers say something about another)."""
    return sum(
        1
        for concept in CATALOG
        if concept.id not in QUALIFIERS and not concept.retraining and concept.pattern.search(text)
    )


def argument(statement: Statement) -> tuple[float, str]:
    """How far the statement argues for this use case (0, 0.5, 1), and the words that show it."""
    use = USE_CASE.search(statement.text)
    reason = REASON.search(statement.text)
    if argues_against(statement):
        return 1.0, "a reasoned case that a practice does not fit a monthly batch"
    if use and reason:
        return 1.0, f"argued for this use case ('{use.group(0)}', '{reason.group(0)}')"
    if use:
        return 0.5, f"tied to the use case ('{use.group(0)}') without a reason"
    if reason:
        return 0.5, f"reasoned ('{reason.group(0)}') but not about this use case"
    return 0.0, ""


@dataclass(frozen=True)
class Scored:
    """One statement's strength for one concept, and why, part by part."""

    value: float
    why: str
    specific: bool = False
    argued: float = 0.0
    grounded: bool = False


def strength(
    concept: Concept,
    statement: Statement,
    *,
    boilerplate: str | None,
    crowd_size: int,
    specific: bool,
    grounded: str | None,
    contradicted: str | None,
) -> Scored:
    """How well the statement covers the concept (0-1), with its parts in words."""
    if not statement.real:
        return Scored(FRAGMENT, "a keyword fragment, not a sentence")
    if boilerplate:
        return Scored(PLATITUDE, f"boilerplate ({boilerplate}): could be in any README")
    if crowd_size >= CRAMMED_CONCEPTS:
        return Scored(LISTED, f"one sentence listing {crowd_size} concepts: a list, not a plan")
    argued, argued_why = argument(statement)
    weight = ARGUED if concept.data else ARGUED + GROUNDED
    value = NAMED + (SPECIFIC if specific else 0.0) + weight * argued
    parts = ["named", "specific" if specific else "no threshold, window or named test"]
    if argued_why:
        parts.append(argued_why)
    if concept.data and grounded:
        value += GROUNDED
        parts.append(f"grounded: {grounded}")
    elif concept.data:
        parts.append("nothing of this candidate's data")
    if contradicted:
        value -= CONTRADICTED
        parts.append(f"contradicts the evidence: {contradicted}")
    if crowd_size >= LIST_CONCEPTS:
        value *= LIST_FACTOR
        parts.append(f"one of {crowd_size} concepts in the sentence")
    value = round(max(FRAGMENT, min(1.0, value)), 3)
    return Scored(value, "; ".join(parts), specific, argued, bool(grounded))

"""The production-judgment concepts a README should cover, and how strongly a sentence covers one.

Transparent on purpose: each concept is a regular expression, and every match is kept
with its sentence as the quote. Strength resists keyword stuffing: a keyword fragment
("PSI, KS, drift") is worth little, a sentence that lists many concepts at once is a
list rather than a plan, and boilerplate is worth what a platitude is worth. Only a real
sentence with specifics (a number, a threshold, a window, a named test) counts fully.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from grader.writeup.text import Sentence

FRAGMENT = 0.1
FRAGMENT_SPECIFIC = 0.2
PLATITUDE = 0.25
GENERIC = 0.5
SPECIFIC = 1.0
LIST_FACTOR = 0.75  # a sentence covering LIST_CONCEPTS concepts
LIST_CONCEPTS = 4
CRAMMED_CONCEPTS = 5  # ... or more: a keyword list written as one sentence
COVERED = 0.5

NUMBER = re.compile(
    r"(?<![\w.])(\d+(?:[.,]\d+)?)\s*(%|ms|s\b|days?|weeks?|months?|hours?|x\b|pp\b|points?|percent|"
    r"requests?/s|rps)?",
    re.I,
)
WINDOW = re.compile(
    r"\b(hourly|daily|weekly|monthly|quarterly|every (day|week|month|quarter|night)|each (day|week|month)|"
    r"per (day|week|month)|rolling|two months running|full (monthly |weekly )?cycle)\b",
    re.I,
)
NAMED_TEST = re.compile(
    r"\b(psi|ks|kolmogorov|jensen|wasserstein|chi[- ]?squared?|ece|brier|pr-?auc|p99|p95|"
    r"average precision|top-decile|lift)\b",
    re.I,
)
RETRAIN = re.compile(r"re-?train|re-?fit", re.I)
_DROP = r"(drop|fall|falls|fell|below|degrad|declin|wors|decreas|under|lower)"
_METRIC = r"(pr-?auc|auc|precision|recall|lift|brier|performance|accuracy|metric|ece|f1)"


@dataclass(frozen=True)
class Concept:
    id: str
    pattern: re.Pattern
    # A number is needed for this concept to count as covered at all (e.g. alert thresholds).
    needs_number: bool = False
    # Only in a retraining sentence or under a retraining heading.
    retraining: bool = False


def _c(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.I)


CATALOG: tuple[Concept, ...] = (
    Concept(
        "data_drift",
        _c(
            r"data drift|input drift|feature drift|covariate (drift|shift)|\bpsi\b|population stability|"
            r"\bks\b|kolmogorov|jensen|wasserstein|chi[- ]?squared?|(input|feature)s? (distribution|drift)|"
            r"(drift|shift|change)s? (in|of) (the )?(input|feature)s?|missing rate|"
            r"(track|monitor)\w* .{0,40}\binput (data|features)"
        ),
    ),
    Concept(
        "prediction_drift",
        _c(
            r"prediction drift|output drift|score drift|(distribution|histogram|mean|average|share) "
            r"of (the )?(predict\w*|scores?|outputs?)|(score|prediction|output) distribution|"
            r"mean predicted|predicted (churn )?rate"
        ),
    ),
    Concept(
        "concept_drift",
        _c(
            r"concept drift|relationship between .{0,60}(chang|shift|drift)|"
            r"(relationship|relation|link|effect)s? .{0,40}(to|with|on) (the )?(label|target|churn|outcome)"
            r".{0,30}(chang|shift|drift)|p\(y\s*\|\s*x\)"
        ),
    ),
    Concept(
        "delayed_labels",
        _c(
            r"(labels?|ground[- ]truth|outcomes?|actuals)\b.{0,50}(delay|lag|matur|arriv|come in|"
            r"become available|are known)|(delay|lag|matur)\w*.{0,40}\b(labels?|ground[- ]truth|outcomes?)|"
            r"once (the )?(actual )?(churn )?(labels|outcomes)|label (delay|latency|maturity)"
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
        "calibration",
        _c(
            r"calibrat|reliability (curve|diagram)|\bece\b|brier|observed\s*(/|vs\.?|versus|against)\s*"
            r"predicted|predicted\s*(/|vs\.?|versus)\s*(observed|actual)"
        ),
    ),
    Concept("alert_thresholds", _c(r"\balert|\bpag(e|ed|ing)\b|\bwarn|threshold"), needs_number=True),
    Concept(
        "retraining_schedule",
        _c(
            r"daily|weekly|monthly|quarterly|every (day|week|month|quarter|\d+)|each (month|week)|"
            r"schedul|cadence|\bcron\b|regular(ly)?|periodic"
        ),
        retraining=True,
    ),
    Concept("retraining_drift", _c(r"drift|\bpsi\b|\bks\b|distribution|data changes|shift"), retraining=True),
    Concept(
        "retraining_performance", _c(rf"{_METRIC}\w*.{{0,60}}{_DROP}|{_DROP}\w*.{{0,40}}{_METRIC}"), retraining=True
    ),
    Concept("shadow_deployment", _c(r"\bshadow|dark launch|mirror(ed|ing)? (the )?traffic")),
    Concept(
        "ab_test",
        _c(
            r"\ba/b\b|\bab test|a-b test|canary|champion.{0,20}challenger|randomi[sz]\w*|\bramp|"
            r"split (the )?traffic|guardrail|online (test|experiment)|interleav"
        ),
    ),
    Concept("rollback", _c(r"roll ?back|revert|previous (model|version|tag|image)|kill switch|fall ?back to")),
    Concept("ownership", _c(r"on-?call|\bpager|\bowner|ownership|runbook|escalat|responsib|who (is|gets) paged")),
    Concept(
        "tradeoffs",
        _c(
            r"feedback loop|selection bias|treatment|biased by|seasonal|weekly cycle|trade-?off|"
            r"cost of (a )?(false|missed)|intervention|causal"
        ),
    ),
)
BY_ID = {concept.id: concept for concept in CATALOG}
QUALIFIERS = frozenset({"alert_thresholds", "retraining_schedule", "retraining_drift", "retraining_performance"})
MONITORING = (
    "data_drift",
    "prediction_drift",
    "concept_drift",
    "delayed_labels",
    "business_metric",
    "calibration",
    "alert_thresholds",
    "retraining_performance",
)


def has_number(sentence: Sentence) -> bool:
    return NUMBER.search(sentence.text) is not None


def is_specific(sentence: Sentence) -> bool:
    """Numbers, windows or named tests: what separates a plan from a platitude."""
    text = sentence.text
    return bool(NUMBER.search(text) or WINDOW.search(text) or NAMED_TEST.search(text))


def mentions(concept: Concept, sentence: Sentence) -> bool:
    if sentence.kind == "heading":
        return False
    if concept.retraining and not (RETRAIN.search(sentence.text) or RETRAIN.search(sentence.heading)):
        return False
    return concept.pattern.search(sentence.text) is not None


def concepts_in(sentence: Sentence) -> list[str]:
    return [concept.id for concept in CATALOG if mentions(concept, sentence)]


def crowd(sentence: Sentence) -> int:
    """How many distinct concepts one sentence names; qualifiers (thresholds, retraining
    triggers) say something about another concept, so they do not add to the crowd."""
    return sum(1 for concept in CATALOG if concept.id not in QUALIFIERS and mentions(concept, sentence))


def strength(concept: Concept, sentence: Sentence, boilerplate: str | None, crowd: int) -> tuple[float, str]:
    """How well this sentence covers the concept (0-1), and why, in words.

    `boilerplate` says why the sentence is boilerplate (None: it is not); `crowd` is how
    many concepts the sentence names.
    """
    specific = has_number(sentence) if concept.needs_number else is_specific(sentence)
    if not sentence.real:
        return (FRAGMENT_SPECIFIC if specific else FRAGMENT), "a keyword fragment, not a sentence"
    if boilerplate:
        if specific and boilerplate.startswith("stock phrase"):
            return GENERIC, f"specific, but padded with a {boilerplate}"
        return PLATITUDE, f"boilerplate ({boilerplate}): could be in any README"
    if crowd >= CRAMMED_CONCEPTS:
        return PLATITUDE, f"one sentence listing {crowd} concepts: a list, not a plan"
    if not specific:
        value = PLATITUDE if concept.needs_number else GENERIC
        return value, "no number" if concept.needs_number else "generic: no number, threshold, window or named test"
    value = SPECIFIC * (LIST_FACTOR if crowd >= LIST_CONCEPTS else 1.0)
    return value, "specific" + (f", but one of {crowd} concepts in the sentence" if crowd >= LIST_CONCEPTS else "")

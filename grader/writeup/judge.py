"""Judges turn a README into writeup checks. The heuristic judge is plain-text and transparent.

A stronger judge (a model, a human reviewer's form) implements `Judge` and returns checks
with the same ids (`WRITEUP_CHECK_IDS`), so the rubric does not change. It may start from
`HeuristicJudge().judge(...)` and replace the checks it judges better (`grader.writeup.model`
does, for the concepts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from grader.evidence import Check
from grader.writeup import concepts, observations
from grader.writeup.boilerplate import boilerplate_reason, shared_lines
from grader.writeup.concepts import CATALOG, COVERED, Concept, Scored, own_data_cap
from grader.writeup.evidence import CONCEPTS
from grader.writeup.facts import (
    JudgeContext,
    comparisons_by_sentence,
    consistency_checks,
    grounding_of,
    own_data_check,
    own_data_items,
)
from grader.writeup.numbers import Comparison, is_specific
from grader.writeup.statements import Statement, sentence_quote, statements
from grader.writeup.text import Document, Sentence

BRIEF_WORDS = 500
LENGTH_OK = (350, 800)
QUOTES_PER_CHECK = 2
MIN_ORIGINAL = 10
CAP_WHY = "the README names little or nothing of this candidate's data"
# retraining triggers: how many kinds (schedule, drift, performance) the README names
TRIGGER_KINDS = {0: 0.0, 1: 0.7, 2: 0.85, 3: 1.0}
# use-case fit: full when this share of the covered concepts is argued for the use case
ARGUED_FOR_FULL = 0.6
# specificity: full when this share of the judgment statements is specific and grounded
SPECIFIC_FOR_FULL = 0.4


@dataclass(frozen=True)
class Verdicts:
    """A judge's checks, and what it has to say about them: who answered in the end, which model, a note."""

    checks: list[Check]
    judge: str
    model: str | None = None
    note: str | None = None


class Judge(Protocol):
    """Anything that turns a README into the writeup checks."""

    name: str

    def judge(self, document: Document, context: JudgeContext) -> list[Check] | Verdicts:
        """Every id of WRITEUP_CHECK_IDS, each with its quotes (a `Verdicts` to say more)."""
        ...


@dataclass
class _Reading:
    """One README read once: its statements, boilerplate, numbers and own data, shared by every check."""

    document: Document
    context: JudgeContext
    units: list[Statement]
    boiler: dict[Sentence, str | None]
    comparisons: dict[Sentence, list[Comparison]]
    cap: float

    def boilerplate(self, unit: Statement) -> str | None:
        return next((self.boiler[s] for s in unit.sentences if self.boiler.get(s)), None)

    def crowd(self, unit: Statement) -> int:
        return max(concepts.crowd(s.text) for s in unit.sentences)

    def found(self, unit: Statement) -> list[Comparison]:
        return [c for s in unit.sentences for c in self.comparisons.get(s, [])]

    def score(self, concept: Concept, unit: Statement) -> Scored:
        found = self.found(unit)
        contradiction = next((c for c in found if c.verdict == "contradicts"), None)
        return concepts.strength(
            concept,
            unit,
            boilerplate=self.boilerplate(unit),
            crowd_size=self.crowd(unit),
            specific=is_specific(unit.text),
            grounded=grounding_of(unit, self.context, found),
            contradicted=f"{contradiction.stated}: {contradiction.why}" if contradiction else None,
        )


def read(document: Document, context: JudgeContext) -> tuple[_Reading, Check]:
    """Read the README once; also its own-data check, which sets the cap on everything else."""
    # A paragraph shared with another candidate of the cohort is not boilerplate here: which of the two
    # wrote it is unknown, so it costs neither the concepts it covers. It costs originality, and both
    # reports show the two paragraphs side by side for a person to judge.
    boiler = {s: boilerplate_reason(s) for s in document.sentences if s.kind != "heading"}
    units = statements(document)
    comparisons = comparisons_by_sentence(document, context)
    own = own_data_check(document, units, context, comparisons)
    return _Reading(document, context, units, boiler, comparisons, own_data_cap(own_data_items(own.figures))), own


def _figure(check: Check, name: str) -> float:
    """A figure this judge recorded as a number on one of its own checks."""
    value = check.figures[name]
    if isinstance(value, int | float):
        return float(value)
    raise TypeError(f"{check.id}: figure {name!r} is {value!r}, not a number")


class HeuristicJudge:
    """Regular expressions and counts over statements; every part of a score shows the statement it came from."""

    name = "heuristic/2"

    def judge(self, document: Document, context: JudgeContext) -> list[Check]:
        reading, own = read(document, context)
        coverage = {concept.id: self._coverage(reading, concept) for concept in CATALOG}
        coverage["use_case_fit"] = self._use_case_fit(reading, coverage)
        roc, _ = observations.roc_auc(document)
        promotes, online, _ = observations.promotion(document)
        disowned, _ = observations.deployment(document)
        return [
            self._length(document),
            *(coverage[c] for c in CONCEPTS),
            self._prose(document),
            self._specificity(reading),
            self._originality(reading),
            own,
            *self._consistency(reading),
            self._monitoring_plan(coverage),
            online,
            roc,
            promotes,
            disowned,
        ]

    def _length(self, document: Document) -> Check:
        words = document.words
        low, high = LENGTH_OK
        verdict = "about right" if low <= words <= high else ("too short" if words < low else "too long")
        return Check(
            id="length",
            passed=low <= words <= high,
            figures={"words": words, "brief": BRIEF_WORDS},
            detail=f"{words} words against a {BRIEF_WORDS}-word brief: {verdict}",
        )

    def _coverage(self, reading: _Reading, concept: Concept) -> Check:
        scored = sorted(
            ((reading.score(concept, unit), unit) for unit in reading.units if concepts.mentions(concept, unit)),
            key=lambda item: (-item[0].value, item[1].line, len(item[1].sentences)),
        )
        label = CONCEPTS[concept.id]
        if not scored:
            return Check(
                id=f"covers.{concept.id}",
                passed=False,
                detail=f"{label}: not covered",
                figures={"strength": 0.0, "uncapped": 0.0, "statements": 0},
            )
        best, unit = scored[0]
        value, detail = best.value, f"{label}: {best.why}"
        figures: dict = {"statements": len({u.line for _, u in scored})}
        if concept.id == "retraining_triggers":
            kinds = sorted({k for _, u in scored for k, p in concepts.RETRAIN_KINDS.items() if p.search(u.text)})
            value = round(value * TRIGGER_KINDS[len(kinds)], 3)
            detail += f"; triggers named: {', '.join(kinds) or 'none'}"
            figures["kinds"] = len(kinds)
        capped = min(value, reading.cap)
        if capped < value:
            detail += f"; capped at {reading.cap:g}: {CAP_WHY}"
        quotes = unit.quotes(reading.document.source)
        quotes += [
            q for _, other in scored[1:2] if other.line != unit.line for q in other.quotes(reading.document.source)[-1:]
        ]
        return Check(
            id=f"covers.{concept.id}",
            passed=capped >= COVERED,
            detail=detail,
            quotes=quotes[:QUOTES_PER_CHECK],
            figures={
                "strength": capped,
                "uncapped": value,
                "specific": int(best.specific),
                "argued": best.argued,
                "grounded": int(best.grounded),
                **figures,
            },
        )

    def _use_case_fit(self, reading: _Reading, coverage: dict[str, Check]) -> Check:
        """Are the covered concepts argued for monthly batch ranking for a retention campaign?"""
        against = [u for u in reading.units if u.real and concepts.argues_against(u)]
        covered = {c: check for c, check in coverage.items() if _figure(check, "uncapped") >= COVERED}
        argued = sum(_figure(check, "argued") for check in covered.values())
        share = argued / len(covered) if covered else 0.0
        value = 1.0 if against else min(1.0, share / ARGUED_FOR_FULL)
        if against:
            detail = "a reasoned case that a practice does not fit a monthly batch ranking"
            quotes = against[0].quotes(reading.document.source)
        elif covered:
            detail = f"{argued:g} of {len(covered)} covered concepts argued for this use case ({share:.0%})"
            quotes = [q for check in covered.values() if _figure(check, "argued") >= 1 for q in check.quotes[-1:]]
        else:
            detail, quotes = "no concept covered", []
        value = round(value, 3)
        capped = min(value, reading.cap)
        if capped < value:
            detail += f"; capped at {reading.cap:g}: {CAP_WHY}"
        return Check(
            id="covers.use_case_fit",
            passed=capped >= COVERED,
            detail=f"{CONCEPTS['use_case_fit']}: {detail}",
            quotes=quotes[:QUOTES_PER_CHECK],
            figures={"strength": capped, "uncapped": value, "argued": 1.0 if against else round(share, 3)},
        )

    def _prose(self, document: Document) -> Check:
        body = [s for s in document.sentences if s.kind != "heading"]
        words = sum(len(s.words) for s in body)
        real_words = sum(len(s.words) for s in body if s.real)
        share = real_words / words if words else 0.0
        fragments = [s for s in body if not s.real]
        return Check(
            id="prose",
            passed=share >= 0.6,
            figures={"share": round(share, 3), "fragments": len(fragments)},
            detail=f"{share:.0%} of the text is in real sentences; {len(fragments)} fragments or keyword items",
            quotes=[sentence_quote(document, s) for s in fragments[:QUOTES_PER_CHECK]] if share < 0.6 else [],
        )

    def _specificity(self, reading: _Reading) -> Check:
        """Among the statements on production judgment, how many give numbers, windows or tests that fit this data."""
        judged = [
            u
            for u in reading.units
            if len(u.sentences) == 1 and u.real and any(concepts.mentions(c, u) for c in CATALOG)
        ]
        weights = []
        shown = []
        for unit in judged:
            if (
                reading.boilerplate(unit)
                or reading.crowd(unit) >= concepts.CRAMMED_CONCEPTS
                or not is_specific(unit.text)
            ):
                weights.append(0.0)
                continue
            found = reading.found(unit)
            grounded = grounding_of(unit, reading.context, found) is not None
            contradicted = any(c.verdict == "contradicts" for c in found)
            weight = 0.0 if contradicted else (1.0 if grounded else 0.5)
            weights.append(weight)
            if weight:
                shown.append((weight, unit))
        share = sum(weights) / len(weights) if weights else 0.0
        value = round(min(1.0, share / SPECIFIC_FOR_FULL), 3)
        capped = min(value, reading.cap)
        grounded_count = sum(1 for w in weights if w == 1.0)
        detail = (
            f"{sum(1 for w in weights if w)} of {len(weights)} statements on monitoring, retraining and rollout give "
            f"numbers, windows or named tests; {grounded_count} of them fit this candidate's data "
            "(boilerplate and contradicted numbers never count)"
        )
        if capped < value:
            detail += f"; capped at {reading.cap:g}: {CAP_WHY}"
        shown.sort(key=lambda item: (-item[0], item[1].line))
        return Check(
            id="specificity",
            passed=capped >= 0.5,
            figures={"score": capped, "share": round(share, 3), "grounded": grounded_count, "statements": len(weights)},
            detail=detail,
            quotes=[unit.quotes(reading.document.source)[-1] for _, unit in shown[:QUOTES_PER_CHECK]],
        )

    def _originality(self, reading: _Reading) -> Check:
        document = reading.document
        real = [s for s in document.sentences if s.real]
        in_shared = shared_lines(reading.context.shared, document)
        why = {
            s: reading.boiler.get(s) or ("shared with another candidate" if s.paragraph in in_shared else None)
            for s in real
        }
        flagged = [s for s in real if why[s] is not None]
        # Over at least MIN_ORIGINAL sentences: three original sentences are not a writeup.
        original = (len(real) - len(flagged)) / max(len(real), MIN_ORIGINAL)
        shared = reading.context.shared
        cohort = sorted({p.candidate for p in shared})
        detail = (
            f"{len(real) - len(flagged)} original real sentences (of {len(real)}; scored over at least {MIN_ORIGINAL}); "
            f"{len(flagged)} boilerplate or shared"
            + (f" (shared with {', '.join(cohort)}: both paragraphs are shown in the report)" if cohort else "")
            + "".join(f"; line {s.line}: {why[s]}" for s in flagged[:3])
        )
        return Check(
            id="originality",
            passed=bool(real) and original >= 0.75,
            detail=detail,
            quotes=[sentence_quote(document, s) for s in flagged[:3]],
            figures={
                "share": round(original, 3),
                "boilerplate_sentences": len(flagged),
                "shared_paragraphs": len({p.line for p in shared}),
                "shared_with": ", ".join(cohort)[:200],
            },
        )

    def _consistency(self, reading: _Reading) -> list[Check]:
        """Claims held against the work; a README naming nothing of its data makes no claim about it (capped)."""
        checks = consistency_checks(reading.document, reading.units, reading.context, reading.comparisons)
        aggregate = checks[0]
        value = _figure(aggregate, "score")
        if reading.cap < value:
            aggregate.figures["score"] = reading.cap
            aggregate.detail += f"; capped at {reading.cap:g}: {CAP_WHY}"
        return checks

    def _monitoring_plan(self, coverage: dict[str, Check]) -> Check:
        """Two monitoring concepts covered, one of them specific (before any cap: a generic plan is still a plan)."""
        covered = [c for c in concepts.MONITORING if _figure(coverage[c], "uncapped") >= COVERED]
        specific = [c for c in covered if coverage[c].figures.get("specific")]
        present = len(covered) >= 2 and bool(specific)
        quotes = [q for c in covered for q in coverage[c].quotes[-1:]][:3]
        return Check(
            id="monitoring_plan",
            passed=present,
            quotes=quotes,
            figures={"covered": len(covered), "specific": len(specific)},
            detail=(
                f"monitors {', '.join(covered)}; specific on {', '.join(specific) or 'nothing'}"
                if covered
                else "no monitoring concept covered in a real statement"
            )
            + ("" if present else ": no concrete monitoring plan"),
        )

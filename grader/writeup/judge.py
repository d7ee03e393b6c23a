"""Judges turn a README into writeup checks. The heuristic judge is plain-text and transparent.

A stronger judge (an LLM, a human reviewer's form) implements `Judge` and returns checks
with the same ids (`WRITEUP_CHECK_IDS`), so the rubric does not change. It may start from
`HeuristicJudge().judge(...)` and replace the checks it judges better.
"""

from __future__ import annotations

import re
from typing import Protocol

from grader.evidence import Check, Quote
from grader.writeup import concepts
from grader.writeup.boilerplate import boilerplate_reason, shared_lines, shared_paragraphs
from grader.writeup.evidence import CONCEPTS
from grader.writeup.facts import JudgeContext, consistency_checks, own_data_check
from grader.writeup.text import Document, Sentence

BRIEF_WORDS = 500
LENGTH_OK = (350, 800)
QUOTES_PER_CHECK = 2
MIN_ORIGINAL = 10
ROC = re.compile(r"roc[- ]?auc|(?<![a-z-])auc\b", re.I)
PR = re.compile(r"pr[- ]?auc|average precision|auprc|precision[- ]recall", re.I)
PRAISE = re.compile(r"great|excellent|strong|impressive|very good|outstanding|near[- ]perfect", re.I)
PROMOTION = re.compile(
    r"(promot|deploy|replac|swap|push|ship)\w*.{0,60}\b(if|when|once|whenever)\b.{0,60}"
    r"(auc|metric|score|accuracy|f1|better|higher|improv)",
    re.I,
)
ONLINE = re.compile(
    r"online (evaluation|metric|test|experiment)|offline .{0,60}online|live traffic|"
    r"(holdout|control|no-contact) group|randomi[sz]",
    re.I,
)
DISOWNED = re.compile(
    r"deploy\w*.{0,60}(out of scope|not (my|our|in) (job|responsibility|scope)|someone else|"
    r"(devops|platform|infra\w*|ops|sre) team)|(devops|platform|infra\w*|ops|sre) team .{0,40}"
    r"(will|would|can|should) (handle|take care|deploy|own)|not (responsible|my concern) .{0,40}"
    r"(deploy|production)|left (it )?to (the )?(devops|ops|platform)",
    re.I,
)


class Judge(Protocol):
    """Anything that turns a README into the writeup checks."""

    name: str

    def judge(self, document: Document, context: JudgeContext) -> list[Check]:
        """Every id of WRITEUP_CHECK_IDS, each with its quotes."""
        ...


def _quote(document: Document, sentence: Sentence) -> Quote:
    return Quote(source=document.source, line=sentence.line, text=sentence.text[:300])


class HeuristicJudge:
    """Regular expressions and counts; every matched concept shows the sentence it matched."""

    name = "heuristic/1"

    def judge(self, document: Document, context: JudgeContext) -> list[Check]:
        shared = shared_paragraphs(document, context.cohort)
        shared_numbers = shared_lines(shared, document)
        boiler = {
            s: boilerplate_reason(s) or ("shared with another candidate" if s.paragraph in shared_numbers else None)
            for s in document.sentences
            if s.kind != "heading"
        }
        coverage = [self._coverage(document, concept, boiler) for concept in concepts.CATALOG]
        checks = [
            self._length(document),
            *coverage,
            self._prose(document),
            self._specificity(document, boiler),
            self._originality(document, boiler, shared),
            own_data_check(document, context),
            *consistency_checks(document, context),
        ]
        by_id = {c.id: c for c in checks}
        checks += [
            self._monitoring_plan(by_id),
            self._online(document, by_id),
            self._roc_headline(document),
            self._promotion(document),
            self._disowned(document),
        ]
        return checks

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

    def _coverage(self, document: Document, concept: concepts.Concept, boiler: dict) -> Check:
        scored = []
        for sentence in document.sentences:
            if concepts.mentions(concept, sentence):
                value, why = concepts.strength(concept, sentence, boiler.get(sentence), concepts.crowd(sentence))
                scored.append((value, -sentence.line, sentence, why))
        scored.sort(key=lambda item: (item[0], item[1]), reverse=True)
        best = scored[0][0] if scored else 0.0
        label = CONCEPTS[concept.id]
        if not scored:
            detail = f"{label}: not covered"
        else:
            detail = f"{label}: {scored[0][3]}" + (f" ({len(scored)} sentences)" if len(scored) > 1 else "")
        return Check(
            id=f"covers.{concept.id}",
            passed=best >= concepts.COVERED,
            detail=detail,
            quotes=[_quote(document, s) for _, _, s, _ in scored[:QUOTES_PER_CHECK]],
            figures={"strength": best, "sentences": len(scored)},
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
            quotes=[_quote(document, s) for s in fragments[:QUOTES_PER_CHECK]] if share < 0.6 else [],
        )

    def _specificity(self, document: Document, boiler: dict) -> Check:
        """Among the sentences about production judgment, the share that are specific."""
        real = [s for s in document.sentences if s.real and concepts.concepts_in(s)]
        specific = [
            s
            for s in real
            if boiler.get(s) is None and concepts.is_specific(s) and concepts.crowd(s) < concepts.CRAMMED_CONCEPTS
        ]
        share = len(specific) / len(real) if real else 0.0
        return Check(
            id="specificity",
            passed=share >= 0.25,
            figures={"share": round(share, 3), "specific_sentences": len(specific), "sentences": len(real)},
            detail=(
                f"{len(specific)} of {len(real)} sentences on monitoring, retraining and rollout give numbers, "
                "thresholds, windows or named tests (boilerplate never counts)"
            ),
            quotes=[_quote(document, s) for s in specific[:QUOTES_PER_CHECK]],
        )

    def _originality(self, document: Document, boiler: dict, shared: list) -> Check:
        real = [s for s in document.sentences if s.real]
        flagged = [s for s in real if boiler.get(s) is not None]
        # Over at least MIN_ORIGINAL sentences: three original sentences are not a writeup.
        original = (len(real) - len(flagged)) / max(len(real), MIN_ORIGINAL)
        cohort = sorted({c for p in shared for c in p.candidates})
        detail = (
            f"{len(real) - len(flagged)} original real sentences (of {len(real)}; scored over at least {MIN_ORIGINAL}); "
            f"{len(flagged)} boilerplate or shared"
            + (f" (shared with {', '.join(cohort)})" if cohort else "")
            + "".join(f"; line {s.line}: {boiler[s]}" for s in flagged[:3])
        )
        return Check(
            id="originality",
            passed=bool(real) and original >= 0.75,
            detail=detail,
            quotes=[_quote(document, s) for s in flagged[:3]],
            figures={
                "share": round(original, 3),
                "boilerplate_sentences": len(flagged),
                "shared_paragraphs": len(shared),
                "shared_with": ", ".join(cohort)[:200],
            },
        )

    def _monitoring_plan(self, by_id: dict[str, Check]) -> Check:
        strengths = {c: float(by_id[f"covers.{c}"].figures["strength"] or 0) for c in concepts.MONITORING}
        covered = [c for c, value in strengths.items() if value >= concepts.COVERED]
        specific = [c for c, value in strengths.items() if value >= concepts.SPECIFIC * concepts.LIST_FACTOR]
        present = len(covered) >= 2 and bool(specific)
        quotes = [q for c in covered for q in by_id[f"covers.{c}"].quotes[:1]][:3]
        return Check(
            id="monitoring_plan",
            passed=present,
            quotes=quotes,
            figures={"covered": len(covered), "specific": len(specific)},
            detail=(
                f"monitors {', '.join(covered)}; specific on {', '.join(specific) or 'nothing'}"
                if covered
                else "no monitoring concept covered in a real sentence"
            )
            + ("" if present else ": no concrete monitoring plan"),
        )

    def _online(self, document: Document, by_id: dict[str, Check]) -> Check:
        quotes = [
            q
            for c in ("shadow_deployment", "ab_test")
            if by_id[f"covers.{c}"].passed
            for q in by_id[f"covers.{c}"].quotes[:1]
        ]
        quotes += [_quote(document, s) for s in document.sentences if s.real and ONLINE.search(s.text)][:1]
        return Check(
            id="online_evaluation",
            passed=bool(quotes),
            quotes=quotes[:2],
            detail="describes evaluating the model online (shadow, A/B, live business metric)"
            if quotes
            else "no online evaluation: only offline metrics",
        )

    def _roc_headline(self, document: Document) -> Check:
        roc = [s for s in document.sentences if s.kind != "heading" and ROC.search(s.text)]
        pr = [s for s in document.sentences if PR.search(s.text)]
        praised = [s for s in roc if PRAISE.search(s.text)]
        seen = bool(roc) and not pr
        detail = (
            "reports ROC-AUC on a rare class and never PR-AUC" + (", and calls it great" if praised else "")
            if seen
            else ("reports PR-AUC" if pr else "does not headline ROC-AUC")
        )
        return Check(
            id="roc_auc_headline",
            passed=seen,
            detail=detail,
            quotes=[_quote(document, s) for s in (praised or roc)[:QUOTES_PER_CHECK]] if seen else [],
        )

    def _promotion(self, document: Document) -> Check:
        found = [s for s in document.sentences if s.kind != "heading" and PROMOTION.search(s.text)]
        return Check(
            id="promotes_on_offline_metric",
            passed=bool(found),
            quotes=[_quote(document, s) for s in found[:QUOTES_PER_CHECK]],
            detail="promotes a model on an offline comparison" if found else "no offline-only promotion rule",
        )

    def _disowned(self, document: Document) -> Check:
        found = [s for s in document.sentences if s.kind != "heading" and DISOWNED.search(s.text)]
        return Check(
            id="deployment_disowned",
            passed=bool(found),
            quotes=[_quote(document, s) for s in found[:QUOTES_PER_CHECK]],
            detail="hands deployment to someone else" if found else "does not disown deployment",
        )

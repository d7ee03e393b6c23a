"""What `grader grade --ci` adds: a compact summary, JUnit XML, and an exit code for CI.

The exit code says whether the *grader* worked, not how the candidate did: 0 when every
submission was graded (fully or partly), GRADER_FAILED when the grader could not grade
one. Only `--fail-on-fail` (verdict not pass) or `--fail-under N` (total below N) turn a
candidate's result into a non-zero exit, CANDIDATE_BELOW_BAR, and only for a result the
candidate earned: a candidate the grader's environment kept from being graded (a base image
it could not get) gives NOT_GRADED_HERE instead, since no bar can be judged on a stage that
never ran. Without either option such a candidate exits 0, as any partly graded one does.
With `--fail-on-fail`, a candidate whose verdict is `review` (nothing measured fails them; README
wording suggests a red flag, for a person to confirm or clear) gives NEEDS_REVIEW, not
CANDIDATE_BELOW_BAR: the result is not known until a person decides.
Precedence: GRADER_FAILED, then NOT_GRADED_HERE, then NEEDS_REVIEW, then CANDIDATE_BELOW_BAR.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from grader.cohort.state import Outcome
from grader.report.text import printable, verdict_word
from grader.rubric import Scorecard
from grader.rubric.environment import REMEDY

CANDIDATE_BELOW_BAR = 1
GRADER_FAILED = 3
NOT_GRADED_HERE = 4
NEEDS_REVIEW = 5


@dataclass
class CiEntry:
    """One submission as CI sees it: its scorecard, or why the grader failed on it."""

    candidate: str
    card: Scorecard | None
    grader_failed: bool
    reasons: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    outcome: Outcome = "graded"


def read_scorecard(path: Path) -> Scorecard | None:
    try:
        return Scorecard.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def exit_code(entries: list[CiEntry], fail_under: float | None, fail_on_fail: bool) -> int:
    if any(entry.grader_failed for entry in entries):
        return GRADER_FAILED
    cards = [entry.card for entry in entries if entry.card is not None]
    if (fail_on_fail or fail_under is not None) and any(card.environment for card in cards):
        return NOT_GRADED_HERE
    if fail_on_fail and any(card.verdict == "review" for card in cards):
        return NEEDS_REVIEW
    if fail_on_fail and any(card.verdict != "pass" for card in cards):
        return CANDIDATE_BELOW_BAR
    if fail_under is not None and any(card.total < fail_under for card in cards):
        return CANDIDATE_BELOW_BAR
    return 0


def compact_summary(entries: list[CiEntry]) -> list[str]:
    """Two lines per candidate: the headline, then sections and red flags (and what stopped a stage here)."""
    return [printable(line) for line in _summary_lines(entries)]


def _summary_lines(entries: list[CiEntry]) -> list[str]:
    lines = []
    for entry in entries:
        card = entry.card
        if entry.grader_failed or card is None:
            lines.append(f"{entry.candidate}: GRADER FAILED: {'; '.join(entry.reasons)[:300] or 'no report'}")
            continue
        bonus = f" +{card.bonus:g} bonus" if card.bonus else ""
        took = f"{entry.duration_s:.0f} s" if entry.duration_s else ""
        how = ", ".join(filter(None, [entry.outcome, card.backend, took]))
        headline = f"{entry.candidate}: {card.total:g}/100{bonus}, {verdict_word(card).upper()}"
        lines.append(headline + (f" ({how})" if how else ""))
        sections = " · ".join(
            f"{s.id} {s.score:g}/{s.max:g}"
            if s.graded
            else f"{s.id} not graded" + (" here (environment)" if s.environment else "")
            for s in card.sections.values()
        )
        flags = ", ".join(flag.id for flag in card.red_flags) or "none"
        lines.append(f"  {sections} · red flags: {flags}")
        lines += [f"  not graded here (environment): {stage}: {text}" for stage, text in card.environment.items()]
        lines += [f"  what to do: {REMEDY}"] if card.environment else []
        lines += [
            f"  needs a person: README wording resembles {item.flag}: "
            + "; ".join(" ".join(q.text.split())[:160] for q in item.quotes)
            for item in card.open_review()
        ]
        if entry.reasons:
            lines.append(f"  partly graded: {'; '.join(entry.reasons)[:300]}")
    return lines


def _case(suite: ET.Element, classname: str, name: str) -> ET.Element:
    return ET.SubElement(suite, "testcase", classname=classname, name=name, time="0")


def _suite(entry: CiEntry) -> ET.Element:
    suite = ET.Element("testsuite", name=entry.candidate, time=f"{entry.duration_s:.1f}")
    card = entry.card
    if entry.grader_failed or card is None:
        case = _case(suite, entry.candidate, "grading")
        ET.SubElement(case, "error", message="; ".join(entry.reasons)[:1000] or "no report", type="grader_failed")
        return suite
    properties = ET.SubElement(suite, "properties")
    where = "; ".join(f"{stage}: {text}" for stage, text in card.environment.items())
    for name, value in (
        ("total", f"{card.total:g}"),
        ("bonus", f"{card.bonus:g}"),
        ("verdict", card.verdict),
        ("backend", card.backend or ""),
        ("rubric", f"{card.rubric.id} {card.rubric.version}"),
        *([("environment", where)] if where else []),
    ):
        ET.SubElement(properties, "property", name=name, value=value)
    for section in card.sections.values():
        for criterion in section.criteria:
            case = _case(suite, f"{entry.candidate}.{section.id}", f"{criterion.id}: {criterion.title}")
            message = f"{criterion.points:g}/{criterion.max:g} points: {criterion.reason}"[:1000]
            if not section.graded:
                ET.SubElement(case, "skipped", message=f"section not graded: {section.reason}"[:1000])
            elif criterion.points < criterion.max:
                ET.SubElement(case, "failure", message=message, type="points_withheld").text = message
            else:
                ET.SubElement(case, "system-out").text = message
    for flag in card.red_flags_checked:
        case = _case(suite, f"{entry.candidate}.red_flags", flag.id)
        if flag.raised:
            ET.SubElement(case, "failure", message=f"{flag.message}: {flag.detail}"[:1000], type="red_flag")
        elif not flag.judged and flag.environment:
            ET.SubElement(case, "skipped", message=f"not judged here (environment): {flag.environment}"[:1000])
    case = _case(suite, entry.candidate, "pass_rule")
    if where:
        # Neither a pass nor a failure: the candidate's result is not known until it is graded where it can run.
        ET.SubElement(case, "skipped", message=f"not graded here (environment): {where}; what to do: {REMEDY}"[:1000])
    elif card.verdict == "review":
        # Neither: nothing measured fails the candidate, and wording alone is for a person to weigh.
        ET.SubElement(case, "skipped", message=f"review (needs a person): {'; '.join(card.verdict_reasons)}"[:1000])
    elif not card.passed:
        ET.SubElement(
            case, "failure", message=f"{card.verdict}: {'; '.join(card.verdict_reasons)}"[:1000], type="verdict"
        )
    return suite


def junit_xml(entries: list[CiEntry]) -> str:
    """JUnit XML: a test suite per candidate, a test case per rubric criterion, red flag and the pass rule."""
    root = ET.Element("testsuites", name="churn-grader")
    for entry in entries:
        suite = _suite(entry)
        cases = suite.findall("testcase")
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
        suite.set("errors", str(sum(1 for c in cases if c.find("error") is not None)))
        suite.set("skipped", str(sum(1 for c in cases if c.find("skipped") is not None)))
        root.append(suite)
    for total in ("tests", "failures", "errors", "skipped"):
        root.set(total, str(sum(int(s.get(total, "0")) for s in root)))
    ET.indent(root)
    # XML 1.0 allows no control character but tab and newlines, not even escaped: ElementTree writes them raw.
    return printable(ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n")

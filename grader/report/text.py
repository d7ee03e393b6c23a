"""Small wordings shared by the Markdown and HTML reports, and the one filter every written report passes."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from grader.evidence import Quote, StageOutcome
from grader.rubric.environment import NOT_GRADED, REMEDY
from grader.rubric.scorecard import CriterionScore, DebriefQuestion, ReviewResult, Scorecard, SectionScore

# C0 controls but tab and newline, DEL, and C1 controls: a NUL makes grep call a report binary,
# an escape sequence repaints the terminal of whoever cats it.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# What a JSON encoder leaves raw: they can only stand inside strings, where an escape means the same.
_JSON_UNESCAPED = re.compile("[\x7f-\x9f]")
NOT_RECORDED = "no evidence: the stage stopped before recording it"


def printable(text: str) -> str:
    """`text` without control characters (newline and tab kept; carriage returns become newlines)."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def json_text(text: str) -> str:
    """JSON text with DEL and C1 controls escaped too (JSON escapes only C0): the same values, no raw controls."""
    return _JSON_UNESCAPED.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def graded_at(scorecard: Scorecard) -> str:
    """When the evidence was collected (not when the report was rendered: reports are reproducible)."""
    if scorecard.graded_at_unix is None:
        return "at an unknown time"
    return datetime.fromtimestamp(scorecard.graded_at_unix, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def quote_origin(quote: Quote) -> str:
    where = quote.source
    if quote.cell is not None:
        where += f", cell {quote.cell}"
    if quote.line is not None:
        where += f", line {quote.line}"
    return where


NEEDS_A_PERSON = "needs a person"


def verdict_word(scorecard: Scorecard) -> str:
    """The verdict as shown: `incomplete (environment)` when the grader's environment is why, never the candidate;
    `review (needs a person)` when only README wording stands between the candidate and a pass."""
    if scorecard.environment:
        return f"{scorecard.verdict} (environment)"
    return f"review ({NEEDS_A_PERSON})" if scorecard.verdict == "review" else scorecard.verdict


def verdict_label(scorecard: Scorecard) -> str:
    return f"{verdict_word(scorecard)} ({scorecard.total:g}/100 + bonus {scorecard.bonus:g})"


NOT_GRADED_HERE = "Not graded here: the grader's environment, not the submission, kept a stage from running"


def environment_lines(scorecard: Scorecard) -> list[str]:
    """`stage: what happened`, one per stage the environment kept from running, then what to do; empty otherwise."""
    if not scorecard.environment:
        return []
    return [f"{stage}: {text}" for stage, text in scorecard.environment.items()] + [f"What to do: {REMEDY}."]


def headline_reasons(scorecard: Scorecard) -> str:
    """The verdict's reasons, less those the environment block right after shows in full."""
    shown_apart = {f"{NOT_GRADED}: {stage}: {text}" for stage, text in scorecard.environment.items()}
    shown_apart |= {f"what to do: {REMEDY}"} if scorecard.environment else set()
    return "; ".join(reason for reason in scorecard.verdict_reasons if reason not in shown_apart)


def section_points(section: SectionScore) -> str:
    """`12.5 / 20`; `– / 20` for a section not graded (no points lost), unless a reviewer gave some."""
    counted = section.graded or any(c.override is not None for c in section.criteria)
    return f"{section.score:g} / {section.max:g}" if counted else f"\u2013 / {section.max:g}"


def criterion_points(criterion: CriterionScore, section: SectionScore) -> str:
    counted = section.graded or criterion.override is not None
    return f"{criterion.points:g} / {criterion.max:g}" if counted else f"\u2013 / {criterion.max:g}"


def section_status(section: SectionScore) -> str:
    """A section's level and meaning, or why it was not graded."""
    if section.level:
        return f"{section.level}: {section.level_meaning}"
    return section.reason if section.environment else f"not graded: {section.reason}"


def stage_reasons(outcome: StageOutcome) -> list[str]:
    """A stage's reasons, less the environment problem the report shows on its own."""
    return [reason for reason in outcome.reasons if reason != outcome.environment]


def stage_stopped_line(section: SectionScore) -> str:
    """The section's stage that stopped early, as a sentence: 'The serving stage did not run to the end (...)'."""
    text = section.stage_stopped or ""
    return text[:1].upper() + text[1:]


def criterion_reason(criterion: CriterionScore, section: SectionScore) -> str:
    """A criterion's reason, without repeating what the section says once for all of them."""
    if not section.graded:
        return "not graded (see the section)"
    if section.stage_stopped and criterion.evidence and not any(o.found for o in criterion.evidence):
        return NOT_RECORDED
    return criterion.reason


REVIEW_HOW = (
    "README wording alone never fails a candidate: a reviewer confirms an item (it counts as that red flag) or "
    "clears it with a red_flag override (`grader report REPORTS/_graded --out REPORTS --overrides FILE`)"
)


def review_status(item: ReviewResult) -> str:
    """`open: a person decides`, or who confirmed or cleared it and why."""
    if item.override is None:
        return "open: a person decides"
    return f"{item.status} by {item.override.reviewer}: {item.override.reason}"


def debrief_about(question: DebriefQuestion) -> str:
    """What a debrief question is tied to: `Calibration plot (missing, 0 / 1.5)`, or the review item's flag."""
    if question.points is None or question.max is None:
        return f"{question.title} (README review item, {question.topic.removeprefix('red_flag.')})"
    return f"{question.title} ({question.kind}, {question.points:g} / {question.max:g})"

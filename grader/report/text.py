"""Small wordings shared by the Markdown and HTML reports."""

from __future__ import annotations

from datetime import UTC, datetime

from grader.evidence import Quote
from grader.rubric.scorecard import Scorecard


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


def verdict_label(scorecard: Scorecard) -> str:
    return f"{scorecard.verdict} ({scorecard.total:g}/100 + bonus {scorecard.bonus:g})"

"""README wording that suggests a red flag: review items for a person, never a failure on their own.

The writeup stage records each README sentence that suggests one of the guide's red flags in
`writeup.review` (`grader/writeup/evidence.py`). The rubric keeps those whose flag it has; an
open one makes the verdict `review` when nothing measured fails the candidate. A reviewer's
override of that red flag settles it: `raised = true` confirms it (the flag counts),
`raised = false` clears it.
"""

from __future__ import annotations

from pydantic import ValidationError

from grader.evidence import Quote
from grader.rubric.scorecard import RedFlagResult, ReviewResult

# Where the writeup stage records README wording that suggests a red flag.
REVIEW_STAGE = "writeup"


def review_items(document: dict, flags: list[RedFlagResult], blocked: dict[str, str]) -> list[ReviewResult]:
    """README wording that suggests one of the rubric's red flags; a reviewer's override of that flag settles it."""
    writeup = document.get(REVIEW_STAGE)
    items = writeup.get("review") if isinstance(writeup, dict) and REVIEW_STAGE not in blocked else None
    by_id = {flag.id: flag for flag in flags}
    results = []
    for item in items if isinstance(items, list) else []:
        flag_id = item.get("flag") if isinstance(item, dict) else None
        flag = by_id.get(flag_id) if isinstance(flag_id, str) else None
        if flag is None:
            continue  # wording about a flag this rubric does not have
        override = flag.override
        status = "open" if override is None else "confirmed" if override.value else "cleared"
        try:
            result = ReviewResult.model_validate({**item, "message": flag.message, "status": status})
        except ValidationError:
            continue
        quotes = list({(q.source, q.cell, q.line, q.text): q for q in result.quotes}.values())
        results.append(result.model_copy(update={"override": override, "quotes": quotes}))
    return results


def _quoted(quote: Quote) -> str:
    where = quote.source + (f" line {quote.line}" if quote.line is not None else "")
    return f"{where}: \u201c{' '.join(quote.text.split())}\u201d"


def review_lines(review: list[ReviewResult]) -> tuple[list[str], list[str]]:
    """Each open item quoted (the quote, the flag it resembles, why only for review); each settled one's reviewer."""
    open_lines, settled = [], []
    for item in review:
        if item.override is not None:
            settled.append(
                f"README review item {item.flag} {item.status} by {item.override.reviewer}: {item.override.reason}"
            )
            continue
        quoted = "; ".join(_quoted(q) for q in item.quotes) or "the README"
        open_lines.append(
            f"review: {quoted} resembles the red flag {item.flag} (\u201c{item.message}\u201d): {item.why}. "
            "Only README wording, not measured evidence: a person confirms it (it then counts as that flag) or "
            "clears it, with a red_flag override"
        )
    return open_lines, settled

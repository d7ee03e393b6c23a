"""The cohort leaderboard: a CSV for spreadsheets and a sortable, self-contained HTML table."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from html import escape

from grader.report.text import verdict_word
from grader.rubric.environment import REMEDY
from grader.rubric.scorecard import Scorecard

FIXED = ("candidate", "total", "bonus", "passed", "verdict", "red_flags", "decision")
# A decision made before the practical report last changed: shown, but not as a current one.
STALE_MARK = " (stale)"

SORT_SCRIPT = """
document.querySelectorAll('th[data-col]').forEach(function (th) {
  th.addEventListener('click', function () {
    var table = th.closest('table'), body = table.tBodies[0], col = +th.dataset.col;
    var ascending = th.dataset.order !== 'asc';
    table.querySelectorAll('th').forEach(function (h) { delete h.dataset.order; });
    th.dataset.order = ascending ? 'asc' : 'desc';
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[col].dataset.sort, y = b.cells[col].dataset.sort;
      var nx = parseFloat(x), ny = parseFloat(y);
      var cmp = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      return ascending ? cmp : -cmp;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  });
});
"""


def _columns(scorecards: list[Scorecard]) -> list[str]:
    sections = list(dict.fromkeys(s for card in scorecards for s in card.sections))
    # New columns go last: a reader that counts columns keeps working.
    return [*FIXED, *sections, *(f"{s}_level" for s in sections), "backend", "environment", "review"]


def _rows(scorecards: list[Scorecard], decisions: Mapping[str, str]) -> list[tuple[Scorecard, dict]]:
    """Best total first; `decision` is the hiring recommendation, maybe marked stale (None before `grader decide`)."""
    ordered = sorted(scorecards, key=lambda card: (-card.total, card.candidate))
    return [(card, {**card.summary(), "decision": decisions.get(card.candidate)}) for card in ordered]


def _decision_class(cell: str) -> str:
    if cell.endswith(STALE_MARK):
        return "stale"
    return {"hire": "pass", "pending": "incomplete"}.get(cell, "fail")


def leaderboard_csv(scorecards: list[Scorecard], decisions: Mapping[str, str] | None = None) -> str:
    """One row per candidate, best total first; ungraded sections and undecided candidates are empty cells."""
    columns = _columns(scorecards)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for _, row in _rows(scorecards, decisions or {}):
        writer.writerow({c: ("" if row.get(c) is None else row.get(c)) for c in columns})
    return buffer.getvalue()


def leaderboard_html(
    scorecards: list[Scorecard], decisions: Mapping[str, str] | None = None, title: str = "Cohort leaderboard"
) -> str:
    """The leaderboard as a page; click a column header to sort. Links to each candidate's report."""
    columns = _columns(scorecards)
    head = "".join(f'<th data-col="{i}" title="click to sort">{escape(c)}</th>' for i, c in enumerate(columns))
    rows = []
    for card, row in _rows(scorecards, decisions or {}):
        cells = []
        for column in columns:
            value = row.get(column)
            shown = "" if value is None else ("yes" if value is True else "no" if value is False else str(value))
            sort_key = "-1" if value is None else ("1" if value is True else "0" if value is False else str(value))
            body = escape(shown)
            if column == "candidate":
                body = f'<a href="{escape(card.candidate, quote=True)}/report.html">{body}</a>'
            elif column == "verdict":
                body = f'<span class="{escape(card.verdict)}">{escape(verdict_word(card))}</span>'
            elif column == "passed" and (card.environment or card.verdict == "review"):
                body = "not yet"
            elif column in card.sections and card.sections[column].environment:
                body = '<span class="incomplete">not graded here</span>'
            elif column == "decision" and value is not None:
                body = f'<span class="{_decision_class(value)}">{body}</span>'
            cells.append(f'<td data-sort="{escape(sort_key, quote=True)}">{body}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    note = ""
    if any(card.environment for card in scorecards):
        note = (
            f'<p><span class="incomplete">incomplete (environment)</span>: the grader\'s environment, not the '
            f"submission, kept a stage from running (the environment column says which and why). What to do: "
            f"{escape(REMEDY)}.</p>"
        )
    if any(card.verdict == "review" for card in scorecards):
        note += (
            '<p><span class="review">review (needs a person)</span>: nothing measured fails the candidate, but '
            "README wording suggests a red flag (the review column says which): a person confirms or clears it "
            "in the candidate's report.</p>"
        )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title><style>
body{{font:14px system-ui,sans-serif;margin:24px;color:#1f2328}} table{{border-collapse:collapse}}
th,td{{padding:6px 10px;border-bottom:1px solid #eaeef2;text-align:left}} th{{cursor:pointer;background:#f6f8fa}}
th[data-order=asc]::after{{content:" \\25B2"}} th[data-order=desc]::after{{content:" \\25BC"}}
.pass{{color:#1a7f37;font-weight:600}} .fail{{color:#cf222e;font-weight:600}} .incomplete{{color:#9a6700;font-weight:600}}
.stale{{color:#59636e;font-weight:600}} .review{{color:#8250df;font-weight:600}}
</style></head><body><h1>{escape(title)}</h1><p>{len(scorecards)} candidate(s). Click a column to sort.</p>
<table id="leaderboard"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>{note}
<script>{SORT_SCRIPT}</script></body></html>
"""

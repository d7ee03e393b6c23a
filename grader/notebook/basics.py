"""The basics of an audit: duplicate rows, class balance, label window, repeated customers.

A duplicate count or a churn rate counts when it is printed and agrees with the answer key; a
duplicate check or a count of rows per customer also counts when it ran on the candidate's data
(the kernel's record). Words in a code comment never count.
"""

from __future__ import annotations

import re

from grader.evidence import Check
from grader.notebook.analyses import ran_on_data
from grader.notebook.cells import Cell
from grader.notebook.findings import close_to, figures
from grader.notebook.trace import Executed
from grader.world.key import AnswerKey

MAX_QUOTES = 3
DUPLICATE_TOLERANCE = 0.03
RATE_TOLERANCE = 0.005
DUPLICATE_WORDS = re.compile(r"duplicat", re.I)
RATE_WORDS = re.compile(r"churn rate|positive rate|base rate|class (im)?balance|imbalance|prevalence|positives", re.I)
WINDOW_WORDS = r"label window|label definition|{days}[- ]day|{days} days|next {days}|{label}.*(defin|window|mean)"
CUSTOMER_WORDS = re.compile(r"customer|account|client|user", re.I)


def _output_lines(cells: list[Cell]) -> list[tuple[Cell, str]]:
    return [(c, line.strip()) for c in cells if c.kind == "code" for line in c.output.splitlines() if line.strip()]


def _prose_lines(cells: list[Cell]) -> list[tuple[Cell, str]]:
    markdown = [(c, line.strip()) for c in cells if c.kind == "markdown" for line in c.source.splitlines()]
    return [(c, line) for c, line in markdown if line] + _output_lines(cells)


def duplicate_count_matches(value: float, count: int) -> bool:
    """A printed duplicate count within a few percent of the truth (or of twice it: keep=False)."""
    return count > 0 and any(abs(value - n) <= DUPLICATE_TOLERANCE * n for n in (count, 2 * count))


def basics_checks(cells: list[Cell], key: AnswerKey, executed: Executed) -> list[Check]:
    """Duplicates, churn rate, label window and grouping: printed figures, and what ran."""
    checks = []
    count = key.duplicates.count
    ran_in = {(r.notebook, r.cell) for r in ran_on_data(executed, key, "duplicates")}
    matching = [
        (c, line)
        for c, line in _output_lines(cells)
        if (DUPLICATE_WORDS.search(line) or (c.notebook, c.index) in ran_in)
        and any(duplicate_count_matches(v, count) for v in figures(line))
    ]
    checked = bool(ran_in)
    found = True if matching or checked else (False if executed.available else None)
    words = [(c, line) for c, line in _prose_lines(cells) if DUPLICATE_WORDS.search(line)]
    checks.append(
        Check(
            id="duplicates_found",
            passed=found,
            quotes=[c.quote(line) for c, line in (matching or words)[:MAX_QUOTES]],
            detail="looked for duplicate rows in the data (it ran)"
            if checked
            else ("prints the duplicate count" if matching else "no duplicate check ran"),
        )
    )
    checks.append(
        Check(
            id="duplicates_count",
            passed=bool(matching),
            figures={"true_count": count},
            detail=f"prints the duplicate count within {DUPLICATE_TOLERANCE:.0%} of {count}"
            if matching
            else f"does not print the true count {count}",
        )
    )

    overall = sum(key.churn_rate_by_month.values()) / len(key.churn_rate_by_month)
    rate_lines = [(c, line) for c, line in _prose_lines(cells) if RATE_WORDS.search(line)]
    close_rate = [
        (c, line)
        for c, line in rate_lines
        if c.kind == "code" and any(abs(v - overall) <= RATE_TOLERANCE for v in figures(line) if v < 1)
    ]
    printed_rates = [(c, line) for c, line in rate_lines if c.kind == "code" and any(0 < v < 1 for v in figures(line))]
    checks.append(
        Check(
            id="churn_rate_reported",
            passed=bool(close_rate),
            figures={"true_rate": round(overall, 4), "printed": len(printed_rates)},
            quotes=[c.quote(line) for c, line in (close_rate or rate_lines)[:MAX_QUOTES]],
            detail=f"prints a churn rate within 0.5 points of {overall:.1%}"
            if close_rate
            else f"no churn rate near the true {overall:.1%} printed",
        )
    )

    window_words = re.compile(WINDOW_WORDS.format(days=key.label_window_days, label=re.escape(key.label_column)), re.I)
    window = [(c, line) for c, line in _prose_lines(cells) if window_words.search(line)]
    checks.append(
        Check(
            id="label_window_checked",
            passed=bool(window),
            quotes=[c.quote(line) for c, line in window[:MAX_QUOTES]],
            detail="discusses the label window" if window else "the label definition is not examined",
        )
    )

    grouping = key.grouping
    printed = [
        (c, line)
        for c, line in _output_lines(cells)
        if CUSTOMER_WORDS.search(line)
        and any(
            close_to(v, grouping.customers, 0, 0.02) or close_to(v, grouping.mean_rows_per_customer, 0.05, 0.05)
            for v in figures(line)
        )
    ]
    ran = ran_on_data(executed, key, "grouping")
    passed = True if printed or ran else (False if executed.available else None)
    checks.append(
        Check(
            id="grouping_noted",
            passed=passed,
            quotes=([r.quote() for r in ran] + [c.quote(line) for c, line in printed])[:MAX_QUOTES],
            detail=(
                "counts rows per customer, or splits by customer, in code that ran"
                if ran
                else (
                    "prints how often customers repeat"
                    if printed
                    else "nothing that ran or printed shows repeated customers were accounted for"
                )
            ),
        )
    )
    return checks

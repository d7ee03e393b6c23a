"""The analyses a thorough audit runs, from what executed (the kernel trace) or what it printed.

Each analysis counts when the call that does it ran on the candidate's data (pandas or polars,
scipy, scikit-learn: grader.notebook.trace), or when the notebook printed the figure it yields
and the figure agrees with the truth: figures from their own data are stronger evidence than a
call. A comment or a string naming the function never counts. Without a record of what ran,
an analysis whose figure was not printed is unknown, not failed.
"""

from __future__ import annotations

from grader.evidence import Check, Quote
from grader.notebook.cells import Cell
from grader.notebook.findings import figures, months_in
from grader.notebook.trace import Executed, Fact, Ran
from grader.world.key import AnswerKey

ANALYSES = ("duplicates_checked", "missingness_by_label", "drift_statistic", "single_feature_ranking", "rate_by_month")

DUPLICATE_CALLS = (
    "pandas.DataFrame.duplicated",
    "pandas.DataFrame.drop_duplicates",
    "polars.DataFrame.is_duplicated",
    "polars.DataFrame.unique",
)
MISSING_CALLS = (
    "pandas.DataFrame.isna",
    "pandas.DataFrame.isnull",
    "pandas.DataFrame.notna",
    "pandas.Series.isna",
    "pandas.Series.isnull",
    "pandas.Series.notna",
    "polars.Expr.is_null",
    "polars.Series.is_null",
    "polars.DataFrame.null_count",
)
GROUPING_CALLS = (
    "pandas.DataFrame.groupby",
    "pandas.Series.groupby",
    "pandas.DataFrame.pivot_table",
    "pandas.crosstab",
    "polars.DataFrame.group_by",
    "polars.LazyFrame.group_by",
)
# A selection on a column: comparisons, membership, a polars filter.
SELECTION_CALLS = (
    "pandas.Series.",
    "polars.Expr.",
    "polars.Series.",
    "polars.DataFrame.filter",
    "polars.LazyFrame.filter",
)
TWO_SAMPLE_CALLS = ("scipy.stats.", "scipy.spatial.distance.jensenshannon")
RANKING_CALLS = ("sklearn.metrics.average_precision_score", "sklearn.metrics.roc_auc_score")
# A ranking of single features: this many scores computed in one cell.
RANKED_COLUMNS = 5
MIN_SAMPLE = 30
MIN_LABELS = 100
MONTHS_MATCHED = 3


def _names(facts: dict) -> set[str]:
    found = set()
    for key in ("name", "by", "subset"):
        value = facts.get(key)
        found |= set(value) if isinstance(value, list) else ({value} if isinstance(value, str) else set())
    return found


def ran_on_data(executed: Executed, key: AnswerKey, what: str) -> list[Ran]:
    """Calls that did `what` ("duplicates", "grouping") on the candidate's data."""
    if what == "duplicates":
        return [
            ran
            for ran, facts in executed.facts(*DUPLICATE_CALLS)
            if isinstance(rows := facts.get("rows"), int) and rows >= key.rows // 2
        ]
    group = key.grouping.group_column
    return [
        ran
        for ran, facts in executed.facts(
            *GROUPING_CALLS, "pandas.Series.nunique", "pandas.Series.value_counts", "sklearn.split", "sklearn.fit"
        )
        if group in _names(facts) or facts.get("groups") is True
    ]


def _number(facts: dict[str, Fact], name: str) -> int | float:
    """A numeric fact, 0 when it is missing or not a number (the trace is hostile input)."""
    value = facts.get(name)
    return value if isinstance(value, (int, float)) else 0


def _keyed_by(executed: Executed, column: str, *calls: str) -> list[Ran]:
    return [ran for ran, facts in executed.facts(*calls) if column in _names(facts)]


def monthly_rates_printed(cells: list[Cell], key: AnswerKey) -> list[Quote]:
    """Printed lines that give a month's churn rate as the truth has it."""
    matched: dict[str, Quote] = {}
    for cell in cells:
        for line in cell.output.splitlines() if cell.kind == "code" else []:
            months = [m for m in months_in(line) if m in key.churn_rate_by_month]
            if len(months) != 1 or months[0] in matched:
                continue
            rate = key.churn_rate_by_month[months[0]]
            if any(abs(v - rate) <= 0.005 for v in figures(line) if 0 < v < 1):
                matched[months[0]] = cell.quote(line)
    return list(matched.values()) if len(matched) >= MONTHS_MATCHED else []


def _check(check_id: str, executed: Executed, ran: list[Ran], printed: list[Quote], what: str) -> Check:
    if ran or printed:
        passed: bool | None = True
        detail = f"{what}: ran" if ran else f"{what}: its figures are printed and agree with the truth"
    else:
        passed = False if executed.available else None
        detail = f"{what}: did not run" if executed.available else f"{what}: no record of what ran"
    return Check(
        id=check_id,
        passed=passed,
        quotes=([r.quote() for r in ran] + printed)[:2],
        detail=detail,
        figures={"basis": "executed" if ran else ("printed" if printed else "none")},
    )


def analyses_checks(
    cells: list[Cell], key: AnswerKey, executed: Executed, printed: dict[str, list[Quote]]
) -> list[Check]:
    """One check per analysis in ANALYSES, from what ran, or from `printed`: per analysis, the printed
    figures (agreeing with the truth) that the audit's findings found, where that problem was not blanket-flagged."""
    label, month = key.label_column, key.grouping.time_column
    missing_cells = {(r.notebook, r.cell) for r in executed.calls(*MISSING_CALLS)}
    by_label = [
        ran
        for ran in _keyed_by(executed, label, *GROUPING_CALLS, *SELECTION_CALLS)
        if (ran.notebook, ran.cell) in missing_cells
    ]
    two_sample = [
        ran
        for ran, facts in executed.facts(*TWO_SAMPLE_CALLS)
        if isinstance(sizes := facts.get("sizes"), list)
        and len(sizes) == 2
        and all(isinstance(size, int) and size >= MIN_SAMPLE for size in sizes)
    ]
    ranking = [
        ran
        for ran in executed.calls(*RANKING_CALLS)
        if ran.count >= RANKED_COLUMNS and any(_number(f, "y_rows") >= MIN_LABELS for f in ran.described)
    ] + [
        ran
        for ran, facts in executed.facts("sklearn.feature_selection.mutual_info_classif")
        if _number(facts, "cols") >= RANKED_COLUMNS
    ]
    ran = {
        "duplicates_checked": ran_on_data(executed, key, "duplicates"),
        "missingness_by_label": by_label,
        "drift_statistic": two_sample,
        "single_feature_ranking": _unique(ranking),
        "rate_by_month": _keyed_by(executed, month, *GROUPING_CALLS),
    }
    printed = {**printed, "rate_by_month": monthly_rates_printed(cells, key)}
    what = {
        "duplicates_checked": "duplicate rows looked for",
        "missingness_by_label": "missingness compared between the labels",
        "drift_statistic": "a drift statistic computed",
        "single_feature_ranking": "single features ranked",
        "rate_by_month": "churn rate by month",
    }
    return [_check(a, executed, _unique(ran[a]), printed.get(a, [])[:1], what[a]) for a in ANALYSES]


def _unique(ran: list[Ran]) -> list[Ran]:
    seen, kept = set(), []
    for item in ran:
        if (item.notebook, item.cell, item.call) not in seen:
            seen.add((item.notebook, item.cell, item.call))
            kept.append(item)
    return kept

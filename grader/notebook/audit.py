"""Audit evidence: which seeded problems the notebooks found, checked against the key.

A finding counts when a line of markdown, output or code comment names the right column
in the right context ("leak" near the leak column, "drift" near the drifting one...).
Naming many columns at once does not count (a line that names more than three features
is a table or a keyword list, not a finding), and columns wrongly named are recorded as
false alarms, so listing every column as a leak earns nothing. Printed figures are
compared with the truth where the notebook printed them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pydantic import BaseModel, Field

from grader.evidence import Check, Quote
from grader.notebook.cells import Cell
from grader.world.key import AnswerKey

MAX_COLUMNS_PER_FINDING = 3
MAX_QUOTES = 3
PROXIMITY = 60
# A line that names the column to deny the problem is not a finding.
NEGATION = re.compile(
    r"\bno (feature|column|sign|evidence|significant|leak|drift)|not significant|\bnone of\b|"
    r"did not (change|drift|leak)|no .{0,20}changed significantly",
    re.I,
)

LEAK_WORDS = re.compile(
    r"leak|post[- ]?(outcome|churn|event|cancel)|after (the )?(churn|cancel|outcome)|"
    r"future information|not (be )?(known|available) at (prediction|scoring|inference)|target proxy",
    re.I,
)
DRIFT_WORDS = re.compile(
    r"drift|\bpsi\b|population stability|\bks\b|kolmogorov|distribution (shift|change)|shift(ed|s)? (from|in|after|since)",
    re.I,
)
CONCEPT_WORDS = re.compile(
    r"concept drift|relationship .{0,40}chang|relation to churn|effect .{0,40}(chang|grow|increas|doubl|tripl)|"
    r"(chang|grow|increas)\w* (effect|relationship|association)|slope|log-odds",
    re.I,
)
MISSING_WORDS = re.compile(r"missing|null|\bnan\b|not at random|\bmnar\b|\bmcar\b|\bmar\b", re.I)
MNAR_CONTEXT = re.compile(r"churn|label|target|not at random|\bmnar\b|informative|depend|positive", re.I)
DUPLICATE_WORDS = re.compile(r"duplicat", re.I)
RATE_WORDS = re.compile(r"churn rate|positive rate|base rate|class (im)?balance|imbalance|prevalence|positives", re.I)
WINDOW_WORDS = re.compile(
    r"label window|30[- ]day|30 days|next 30|label definition|churned_next_30d.*(defin|window|mean)", re.I
)
GROUP_WORDS = re.compile(
    r"(customer_id|customers?) .*(repeat|appear|multiple|group|across months|leak)|"
    r"group ?k ?fold|groupshufflesplit|out[- ]of[- ]time (split|validation|test|evaluation|holdout)|"
    r"time[- ]based split|temporal split|split by (month|time|customer)",
    re.I,
)
MONTH = re.compile(r"\b(20\d\d)-(0[1-9]|1[0-2])\b")
NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(\s*%)?")

# Analyses a thorough audit runs, found in code.
ANALYSES = {
    "duplicates_checked": re.compile(r"\.duplicated\(|drop_duplicates\("),
    "missingness_by_label": re.compile(r"isna\(\)|isnull\(\)"),
    "drift_statistic": re.compile(r"ks_2samp|\bpsi\b|population_stability|wasserstein|jensen", re.I),
    "single_feature_ranking": re.compile(r"average_precision_score|roc_auc_score|mutual_info", re.I),
    "rate_by_month": re.compile(r"groupby\(\s*['\"]?\w*month", re.I),
}


# Every check the audit records, as `audit.<id>` evidence paths name them.
CHECK_IDS: tuple[str, ...] = (
    "leak_named",
    "leak_excluded",
    "drift_named",
    "drift_month",
    "concept_drift_named",
    "mnar_named",
    "duplicates_found",
    "duplicates_count",
    "churn_rate_reported",
    "label_window_checked",
    "grouping_noted",
    *ANALYSES,
)


class AuditEvidence(BaseModel):
    checks: list[Check] = Field(default_factory=list)
    false_leak_claims: list[str] = Field(default_factory=list)
    false_drift_claims: list[str] = Field(default_factory=list)

    def check(self, check_id: str) -> Check:
        return next(c for c in self.checks if c.id == check_id)


def _named(line: str, columns: Iterable[str]) -> set[str]:
    return {c for c in columns if re.search(rf"(?<![A-Za-z0-9_]){re.escape(c)}(?![A-Za-z0-9_])", line)}


def _context_lines(cells: list[Cell], words: re.Pattern) -> list[tuple[Cell, str]]:
    return [(cell, line) for cell in cells for _where, line in cell.lines() if words.search(line)]


def _near(line: str, words: re.Pattern, columns: Iterable[str]) -> set[str]:
    """Columns named within PROXIMITY characters of a context word on this line."""
    spans = [m.span() for m in words.finditer(line)]
    near = set()
    for column in columns:
        for match in re.finditer(rf"(?<![A-Za-z0-9_]){re.escape(column)}(?![A-Za-z0-9_])", line):
            if any(match.start() - PROXIMITY <= end and match.end() + PROXIMITY >= start for start, end in spans):
                near.add(column)
    return near


def _column_finding(
    cells: list[Cell], words: re.Pattern, columns: list[str], truth: str, extra: re.Pattern | None = None
) -> tuple[list[Quote], set[str], list[tuple[Cell, str]], list[Quote]]:
    """Lines that name `truth` specifically in this context; other columns so named; and
    lines that name it only to say there is no such problem."""
    quotes, others, hits, denied = [], set(), [], []
    for cell, line in _context_lines(cells, words):
        if extra is not None and not extra.search(line):
            continue
        named = _near(line, words, columns)
        if not named or len(named) > MAX_COLUMNS_PER_FINDING:
            continue
        if NEGATION.search(line):
            if truth in named:
                denied.append(cell.quote(line))
            continue
        others |= named - {truth}
        if truth in named:
            hits.append((cell, line))
            if len(quotes) < MAX_QUOTES:
                quotes.append(cell.quote(line))
    return quotes, others, hits, denied


def _numbers(line: str) -> list[float]:
    values = []
    for whole, fraction, percent in NUMBER.findall(line):
        value = float(whole.replace(",", "") + (f".{fraction}" if fraction else ""))
        values.append(value / 100 if percent else value)
    return values


def _month_distance(a: str, b: str) -> int:
    ya, ma = (int(x) for x in a.split("-"))
    yb, mb = (int(x) for x in b.split("-"))
    return abs((ya * 12 + ma) - (yb * 12 + mb))


def collect_audit(cells: list[Cell], key: AnswerKey, final_model_columns: list[str] | None) -> AuditEvidence:
    """Evidence for each seeded problem; `final_model_columns` from the logged model's signature."""
    columns = key.feature_columns
    evidence = AuditEvidence()
    add = evidence.checks.append

    leak = key.leak.column
    quotes, others, _, _ = _column_finding(cells, LEAK_WORDS, columns, leak)
    evidence.false_leak_claims = sorted(others)
    specific = len(others) < MAX_COLUMNS_PER_FINDING
    add(
        Check(
            id="leak_named",
            passed=bool(quotes) and specific,
            quotes=quotes,
            detail=(f"names {leak} as leakage" if quotes else f"never names {leak} as leakage")
            + ("" if specific else f"; but also calls {len(others)} honest columns leaks: not a specific finding"),
            figures={"false_alarms": len(others)},
        )
    )
    if final_model_columns is None:
        add(Check(id="leak_excluded", passed=None, detail="the final model's input columns are unknown (no signature)"))
    else:
        used = leak in final_model_columns
        add(
            Check(
                id="leak_excluded",
                passed=not used,
                detail=f"the final model {'uses' if used else 'does not use'} {leak}",
                figures={"model_columns": len(final_model_columns)},
            )
        )

    drift = key.covariate_drift[0]
    quotes, others, hits, _ = _column_finding(cells, DRIFT_WORDS, columns, drift.column)
    evidence.false_drift_claims = sorted(others)
    add(
        Check(
            id="drift_named",
            passed=bool(quotes),
            quotes=quotes,
            detail=f"names {drift.column} as drifting" if quotes else f"never names {drift.column} as drifting",
            figures={"true_from_month": drift.from_month, "other_columns_called_drifting": len(others)},
        )
    )
    months = [m.group(0) for cell, line in hits for m in MONTH.finditer(line)]
    close = [m for m in months if _month_distance(m, drift.from_month) <= 1]
    add(
        Check(
            id="drift_month",
            passed=bool(close) if hits else False,
            detail=(
                f"dates the shift to {close[0]} (truth {drift.from_month})"
                if close
                else f"no month within one of {drift.from_month} given for the shift"
            ),
            figures={"months_given": ", ".join(sorted(set(months)))[:100]},
        )
    )

    concept = key.concept_drift
    quotes, _, _, denied = _column_finding(cells, CONCEPT_WORDS, columns, concept.column)
    add(
        Check(
            id="concept_drift_named",
            passed=bool(quotes),
            quotes=quotes or denied[:1],
            detail=f"notes that the effect of {concept.column} changes"
            if quotes
            else (
                f"names {concept.column} but concludes there is no concept drift"
                if denied
                else "no concept drift finding"
            ),
        )
    )

    mnar = key.missing_not_at_random
    quotes, _, _, _ = _column_finding(cells, MISSING_WORDS, columns, mnar.column, extra=MNAR_CONTEXT)
    add(
        Check(
            id="mnar_named",
            passed=bool(quotes),
            quotes=quotes,
            detail=f"links missing {mnar.column} to churn"
            if quotes
            else f"does not link missing {mnar.column} to churn",
            figures={
                "churner_missing_rate": round(mnar.missing_rate_churners, 3),
                "stayer_missing_rate": round(mnar.missing_rate_stayers, 3),
            },
        )
    )

    duplicate_lines = _context_lines(cells, DUPLICATE_WORDS)
    count = key.duplicates.count
    matching = [
        (c, line) for c, line in duplicate_lines if {count, 2 * count} & {int(v) for v in _numbers(line) if v == int(v)}
    ]
    add(
        Check(
            id="duplicates_found",
            passed=bool(duplicate_lines),
            quotes=[c.quote(line) for c, line in (matching or duplicate_lines)[:MAX_QUOTES]],
            detail="reports duplicate rows" if duplicate_lines else "no duplicate check reported",
        )
    )
    add(
        Check(
            id="duplicates_count",
            passed=bool(matching),
            figures={"true_count": count},
            detail=f"prints the true duplicate count {count}" if matching else f"does not print the true count {count}",
        )
    )

    overall = sum(key.churn_rate_by_month.values()) / len(key.churn_rate_by_month)
    rate_lines = _context_lines(cells, RATE_WORDS)
    close_rate = [
        (c, line) for c, line in rate_lines if any(abs(v - overall) <= 0.005 for v in _numbers(line) if v < 1)
    ]
    add(
        Check(
            id="churn_rate_reported",
            passed=bool(close_rate),
            figures={"true_rate": round(overall, 4)},
            quotes=[c.quote(line) for c, line in (close_rate or rate_lines)[:MAX_QUOTES]],
            detail=f"reports a churn rate within 0.5 points of {overall:.1%}"
            if close_rate
            else f"no churn rate near the true {overall:.1%} reported",
        )
    )

    window = _context_lines(cells, WINDOW_WORDS)
    add(
        Check(
            id="label_window_checked",
            passed=bool(window),
            quotes=[c.quote(line) for c, line in window[:MAX_QUOTES]],
            detail="discusses the label window" if window else "the label definition is not examined",
        )
    )

    grouping = [
        (c, line)
        for c in cells
        for line in (c.source.splitlines() if c.kind == "code" else []) + [line for _, line in c.lines()]
        if GROUP_WORDS.search(line)
    ]
    add(
        Check(
            id="grouping_noted",
            passed=bool(grouping),
            quotes=[c.quote(line) for c, line in grouping[:MAX_QUOTES]],
            detail="accounts for customers repeating across months"
            if grouping
            else "nothing shows that repeated customers were accounted for",
        )
    )

    code_cells = [c for c in cells if c.kind == "code"]
    for analysis, pattern in ANALYSES.items():
        found = [(c, line) for c in code_cells for line in c.source.splitlines() if pattern.search(line)]
        add(
            Check(
                id=analysis,
                passed=bool(found),
                quotes=[c.quote(line) for c, line in found[:1]],
                detail="found in code" if found else "not found in code",
            )
        )
    return evidence

"""Audit evidence: which seeded problems the notebooks found, checked against the answer key.

A finding counts when the notebook *states* it (a line of markdown or printed output names the
right column in the problem's words, not to deny it: grader.notebook.findings) and a printed
*figure* about that column agrees with the truth: the leak ranked first by some statistic or its
value split by label; a drift month within one, or a PSI / KS / mean-shift figure; missing rates
by label near the true ones; a duplicate count within a few percent. Words alone earn nothing,
and a code comment is not even words here.

Calling many columns a case of the same problem is blanket flagging: that problem's finding
fails, and `blanket_flagging` records how many honest columns each problem was pinned on (and the
largest as a `share` of the honest columns, for the rubric's `blanket_findings` red flag).
The analyses a thorough audit runs come from what executed (grader.notebook.analyses).
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from grader.evidence import Check, Quote
from grader.notebook.analyses import ANALYSES, analyses_checks
from grader.notebook.basics import basics_checks
from grader.notebook.cells import Cell
from grader.notebook.findings import (
    LABEL_WORDS,
    MAX_COLUMNS_PER_STATEMENT,
    Statement,
    TextLine,
    claims,
    close_to,
    factors,
    figures,
    month_distance,
    months_in,
    named,
    ranked_first,
    stat_values,
    statements,
    text_lines,
)
from grader.notebook.reliance import leak_excluded_check
from grader.notebook.trace import Executed
from grader.world.key import AnswerKey

MAX_QUOTES = 3
# This many honest columns called the same problem is blanket flagging, not a finding.
BLANKET = MAX_COLUMNS_PER_STATEMENT

LEAK_WORDS = re.compile(
    r"leak|post[- ]?(outcome|churn|event|cancel)|after (the )?(churn|cancel|outcome)|"
    r"future information|not (be )?(known|available) at (prediction|scoring|inference)|target proxy",
    re.I,
)
DRIFT_WORDS = re.compile(
    r"drift|\bpsi\b|population stability|\bks\b|kolmogorov|distribution (shift|change)|shift(ed|s)? (from|in|after|since)|"
    r"\bbreak\b|step change|level shift",
    re.I,
)
CONCEPT_WORDS = re.compile(
    r"concept drift|relationship .{0,40}chang|relation to churn|effect .{0,40}(chang|grow|increas|doubl|tripl)|"
    r"(chang|grow|increas)\w* (effect|relationship|association)|slope|log-odds",
    re.I,
)
MISSING_WORDS = re.compile(r"missing|null|\bnan\b|not at random|\bmnar\b|\bmcar\b|\bmar\b", re.I)
MNAR_CONTEXT = re.compile(r"churn|label|target|not at random|\bmnar\b|informative|depend|positive|stayer", re.I)
# For MNAR, "missing completely at random" clears the column.
MCAR = re.compile(r"completely at random|\bmcar\b|\bat random\b(?<!not at random)", re.I)
PR_STAT = re.compile(r"pr[-_ ]?auc|average[-_ ]precision|\bap\b|auprc|auc[-_ ]?pr", re.I)
ROC_STAT = re.compile(r"roc[-_ ]?auc|\bauc\b(?![-_ ]?pr)", re.I)
PSI_STAT = re.compile(r"\bpsi\b|population stability", re.I)
KS_STAT = re.compile(r"\bks\b|kolmogorov", re.I)
SHIFT_WORDS = re.compile(r"mean|median|average|scale|step|shift|level", re.I)
LEAK_HEADER = re.compile(r"auc|precision|\bap\b|importance|gain|mutual|corr|lift|score|rank", re.I)


class AuditEvidence(BaseModel):
    checks: list[Check] = Field(default_factory=list)
    false_leak_claims: list[str] = Field(default_factory=list)
    false_drift_claims: list[str] = Field(default_factory=list)
    false_concept_drift_claims: list[str] = Field(default_factory=list)
    false_mnar_claims: list[str] = Field(default_factory=list)

    def check(self, check_id: str) -> Check:
        return next(c for c in self.checks if c.id == check_id)


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
    "blanket_flagging",
    "execution_recorded",
)


class Finding(BaseModel):
    """One seeded problem as the notebook reads: its statements, its support, the columns wrongly named."""

    stated: list[Quote] = Field(default_factory=list)
    support: list[Quote] = Field(default_factory=list)
    support_detail: str = ""
    denied: list[Quote] = Field(default_factory=list)
    others: list[str] = Field(default_factory=list)
    months: list[str] = Field(default_factory=list)
    # A printed table in which the column stands out.
    ranked: list[Quote] = Field(default_factory=list)

    @property
    def blanket(self) -> bool:
        return len(self.others) >= BLANKET

    @property
    def found(self) -> bool:
        return bool(self.stated and self.support) and not self.blanket


def _support(lines: list[TextLine], column: str, judge) -> tuple[list[Quote], str]:
    """Printed lines about `column` whose figures `judge` accepts (it returns why, or '')."""
    quotes, why = [], ""
    for line in lines:
        if line.where != "output" or not re.search(rf"(?<![A-Za-z0-9_]){re.escape(column)}(?![A-Za-z0-9_])", line.text):
            continue
        reason = judge(" ".join([*line.context, line.text, line.following]), line)
        if reason:
            quotes.append(line.quote())
            why = why or reason
    return quotes[:MAX_QUOTES], why


def _finding(
    found: list[Statement], truth: str, lines: list[TextLine], columns: list[str], judge, table: re.Pattern | None
) -> Finding:
    """A problem's finding: statements about `truth`, printed figures about it that `judge` accepts
    (or a printed table under a `table` heading where it stands out), and the other columns called."""
    called = claims(found)
    mine = [s for s in called if truth in s.columns]
    quotes, why = _support(lines, truth, judge)
    row = ranked_first(lines, truth, columns, table) if table is not None else None
    ranked = [row.quote()] if row is not None else []
    if ranked and not quotes:
        quotes, why = ranked, "ranked first in a printed table"
    return Finding(
        ranked=ranked,
        stated=[s.line.quote() for s in mine][:MAX_QUOTES],
        support=quotes,
        support_detail=why,
        denied=[s.line.quote() for s in found if s.negated and truth in s.columns][:MAX_QUOTES],
        others=sorted({c for s in called for c in s.columns} - {truth}),
        months=sorted({m for s in mine for m in s.months}),
    )


def _finding_check(check_id: str, finding: Finding, what: str, column: str, figures_: dict | None = None) -> Check:
    if finding.found:
        detail = f"finds {what} {column}, with a printed figure that agrees ({finding.support_detail})"
    elif finding.blanket:
        detail = f"calls {len(finding.others)} honest columns the same: blanket flagging, not a finding"
    elif finding.stated:
        detail = f"states {what} {column}, but no printed figure about it agrees with the truth"
    elif finding.denied:
        detail = f"names {column} only to rule it out"
    else:
        detail = f"never finds {what} {column}"
    quotes = list({(q.source, q.cell, q.text): q for q in finding.stated + finding.support}.values())
    return Check(
        id=check_id,
        passed=finding.found,
        quotes=quotes[:MAX_QUOTES] or finding.denied[:1],
        detail=detail,
        figures={"false_alarms": len(finding.others), **(figures_ or {})},
    )


def collect_audit(
    cells: list[Cell],
    key: AnswerKey,
    final_model_columns: list[str] | None,
    executed: Executed | None = None,
    model_report: dict | None = None,
) -> AuditEvidence:
    """Evidence for each seeded problem; `final_model_columns` the logged model's own inputs (signature
    or fitted names), `executed` what the kernel recorded (None: graded without a record, nothing
    credited as run), `model_report` the sandbox's account of the final model with its sensitivity
    pass, which decides whether the model depends on the leak."""
    executed = executed or Executed(None)
    columns = key.feature_columns
    lines = text_lines(cells, columns)
    evidence = AuditEvidence()
    add = evidence.checks.append

    leak = key.leak
    honest_ceiling = max(0.3, 2 * leak.best_honest_pr_auc)

    def leak_figure(text: str, line: TextLine) -> str:
        if any(0 < v <= 1 and v >= honest_ceiling for v in stat_values(text, PR_STAT)):
            return "a PR-AUC far above every honest column's"
        if any(0.85 <= v <= 1 for v in stat_values(text, ROC_STAT)):
            return "a ROC-AUC no honest column reaches"
        if LABEL_WORDS.search(text) and any(f >= 2 for f in factors(text)):
            return "a ratio between the labels"
        rates = [v for v in figures(line.text) if 0 <= v <= 1]
        if LABEL_WORDS.search(text) and len(rates) >= 2 and max(rates) >= 3 * max(min(rates), 1e-3):
            return "its values split by label"
        return ""

    findings: dict[str, Finding] = {}
    finding = findings["leak"] = _finding(
        statements(lines, LEAK_WORDS, columns), leak.column, lines, columns, leak_figure, LEAK_HEADER
    )
    evidence.false_leak_claims = finding.others
    add(_finding_check("leak_named", finding, "leakage in", leak.column))
    add(leak_excluded_check(leak.column, final_model_columns, model_report))

    drift = key.covariate_drift[0]

    def drift_figure(text: str, line: TextLine) -> str:
        if any(month_distance(m, drift.from_month) <= 1 for m in months_in(text)):
            return "the month the shift starts"
        if any(v >= 0.1 for v in stat_values(text, PSI_STAT)):
            return "a PSI of a shifted feature"
        if any(0.1 <= v <= 1 for v in stat_values(text, KS_STAT)):
            return "a KS statistic of a shifted feature"
        if SHIFT_WORDS.search(text) and any(f >= 1.2 or 0 < f <= 0.83 for f in factors(text)):
            return "a shift of its level"
        return ""

    finding = findings["drift"] = _finding(
        statements(lines, DRIFT_WORDS, columns), drift.column, lines, columns, drift_figure, DRIFT_WORDS
    )
    evidence.false_drift_claims = finding.others
    add(
        _finding_check(
            "drift_named",
            finding,
            "drift in",
            drift.column,
            {"true_from_month": drift.from_month, "other_columns_called_drifting": len(finding.others)},
        )
    )
    close = [m for m in finding.months if month_distance(m, drift.from_month) <= 1]
    add(
        Check(
            id="drift_month",
            passed=bool(close) and not finding.blanket,
            detail=(
                f"dates the shift to {close[0]} (truth {drift.from_month})"
                if close
                else f"no month within one of {drift.from_month} given for the shift"
            ),
            figures={"months_given": ", ".join(finding.months)[:100]},
        )
    )

    concept = key.concept_drift

    def concept_figure(text: str, line: TextLine) -> str:
        if CONCEPT_WORDS.search(text) and any(month_distance(m, concept.from_month) <= 1 for m in months_in(text)):
            return "the month the effect changes"
        values = [abs(v) for v in figures(line.text) if v != 0]
        if CONCEPT_WORDS.search(text) and len(values) >= 2 and max(values) >= 1.5 * min(values):
            return "its effect before and after"
        return ""

    finding = _finding(
        statements(lines, CONCEPT_WORDS, columns), concept.column, lines, columns, concept_figure, CONCEPT_WORDS
    )
    evidence.false_concept_drift_claims = finding.others
    add(_finding_check("concept_drift_named", finding, "a changing effect on churn of", concept.column))

    mnar = key.missing_not_at_random
    ratio = mnar.missing_rate_churners / max(mnar.missing_rate_stayers, 1e-9)

    def mnar_figure(text: str, line: TextLine) -> str:
        for values in (
            figures(line.text),
            figures(line.block) if _only_names(line.block, mnar.column, columns) else [],
        ):
            rates = [v for v in values if 0 <= v <= 1]
            if any(close_to(v, mnar.missing_rate_churners, 0.02, 0.25) for v in rates) and any(
                close_to(v, mnar.missing_rate_stayers, 0.02, 0.25) for v in rates
            ):
                return "missing rates of churners and stayers near the true ones"
        if any(close_to(f, ratio, 0, 0.3) for f in factors(text)):
            return "the ratio of missing rates between the labels"
        return ""

    found = statements(lines, MISSING_WORDS, columns, negation=MCAR, extra=MNAR_CONTEXT)
    finding = findings["mnar"] = _finding(found, mnar.column, lines, columns, mnar_figure, None)
    evidence.false_mnar_claims = finding.others
    add(
        _finding_check(
            "mnar_named",
            finding,
            "missingness linked to churn in",
            mnar.column,
            {
                "churner_missing_rate": round(mnar.missing_rate_churners, 3),
                "stayer_missing_rate": round(mnar.missing_rate_stayers, 3),
            },
        )
    )

    basics = basics_checks(cells, key, executed)
    evidence.checks += basics
    count = next(c for c in basics if c.id == "duplicates_count")
    printed = {
        "duplicates_checked": next(c for c in basics if c.id == "duplicates_found").quotes if count.passed else [],
        "missingness_by_label": [] if findings["mnar"].blanket else findings["mnar"].support,
        "drift_statistic": [] if findings["drift"].blanket else findings["drift"].support,
        "single_feature_ranking": [] if findings["leak"].blanket else findings["leak"].ranked,
    }
    evidence.checks += analyses_checks(cells, key, executed, printed)
    blanket = {
        "leak": len(evidence.false_leak_claims),
        "drift": len(evidence.false_drift_claims),
        "concept_drift": len(evidence.false_concept_drift_claims),
        "mnar": len(evidence.false_mnar_claims),
    }
    pinned = [problem for problem, count in blanket.items() if count >= BLANKET]
    # The most honest columns any one problem was pinned on, as a share of them all (every column but the one
    # with that problem): the rubric's `blanket_findings` flag reads it.
    share = round(max(blanket.values()) / max(1, len(columns) - 1), 3)
    add(
        Check(
            id="blanket_flagging",
            passed=bool(pinned),
            detail=(
                f"pins {', '.join(pinned)} on {max(blanket.values())} or more honest columns "
                f"({share:.0%} of them): blanket flagging"
                if pinned
                else "no problem is pinned on many honest columns"
            ),
            figures={**blanket, "columns": len(columns), "share": share},
        )
    )
    add(
        Check(
            id="execution_recorded",
            passed=executed.available,
            detail="the kernel recorded what ran"
            if executed.available
            else "no record of what ran: nothing is credited as executed",
        )
    )
    return evidence


def _only_names(block: str, column: str, columns: list[str]) -> bool:
    """Whether a printed paragraph is about this one feature column alone."""
    return {c for c, _, _ in named(block, columns)} == {column}

"""collect_audit on synthetic cells and kernel records against a small real answer key, in seconds.

Each seeded problem gets positive and negative cases: a finding needs a statement (markdown or
printed output, never a code comment) and a printed figure about that column that agrees with the
truth; negations clear a column; blanket flagging voids a problem; the analyses come from what ran
(`ran(call(...))`, the kernel's record) or from printed figures, never from source text.
Assertions are on check ids, `passed`, figures and the cells quoted, never on wording.
"""

from __future__ import annotations

import datetime

import pytest
from reader_kit import NOTEBOOK, call, code, markdown, quoted, ran

from grader.notebook.audit import AuditEvidence, collect_audit
from grader.notebook.cells import Cell
from grader.notebook.trace import Executed
from grader.world.key import AnswerKey, DuplicateTruth

AUDIT_IDS = [
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
    "duplicates_checked",
    "missingness_by_label",
    "drift_statistic",
    "single_feature_ranking",
    "rate_by_month",
    "blanket_flagging",
    "execution_recorded",
]
# A duplicate count no other figure on the test lines can hit by chance (the generated one is tiny).
DUPLICATES = 1234


@pytest.fixture(scope="module")
def key(make_world) -> AnswerKey:
    """The key of a 600-row world (generated in well under a second), with a distinctive duplicate count."""
    real = make_world("audit-reader", 600).key
    return real.model_copy(update={"duplicates": DuplicateTruth(count=DUPLICATES, share=DUPLICATES / real.rows)})


@pytest.fixture(scope="module")
def honest(key: AnswerKey) -> list[str]:
    """Four honest columns (no seeded problem of any kind), the shortest, so that a line naming them all
    keeps each within the reader's proximity of its context word."""
    seeded = {
        key.leak.column,
        key.covariate_drift[0].column,
        key.concept_drift.column,
        key.missing_not_at_random.column,
        key.missing_completely_at_random.column,
    }
    columns = sorted((c for c in key.stable_features if c not in seeded), key=lambda c: (len(c), c))[:4]
    assert len(columns) == 4
    return columns


def audit(
    key: AnswerKey, *cells: Cell, model_columns: list[str] | None = None, executed: Executed | None = None
) -> AuditEvidence:
    """The audit of these cells; by default the kernel recorded nothing (a record, empty)."""
    return collect_audit(list(cells), key, model_columns, executed if executed is not None else ran())


def shift(month: str, months: int) -> str:
    year, number = (int(part) for part in month.split("-"))
    total = year * 12 + number - 1 + months
    return f"{total // 12}-{total % 12 + 1:02d}"


def leak_figure(key: AnswerKey, index: int = 9) -> Cell:
    """Printed output that supports the leak finding: a single-feature PR-AUC no honest column reaches."""
    return code("rank()", output=f"single-feature PR-AUC of {key.leak.column}: 0.81", index=index)


# ------------------------------------------------------------------------------------------- every id


def test_every_check_is_emitted_once_and_nothing_passes_on_an_empty_notebook(key: AnswerKey) -> None:
    evidence = audit(key)
    assert [c.id for c in evidence.checks] == AUDIT_IDS
    expected = dict.fromkeys(AUDIT_IDS, False) | {"leak_excluded": None, "execution_recorded": True}
    assert {c.id: c.passed for c in evidence.checks} == expected
    assert all(not c.quotes for c in evidence.checks)
    assert evidence.false_leak_claims == [] and evidence.false_drift_claims == []


def test_without_a_record_of_what_ran_executed_checks_are_unknown(key: AnswerKey) -> None:
    evidence = audit(key, executed=Executed(None))
    unknown = {"duplicates_found", "grouping_noted", "duplicates_checked", "missingness_by_label"}
    unknown |= {"drift_statistic", "single_feature_ranking", "rate_by_month"}
    assert {c.id for c in evidence.checks if c.passed is None} == unknown | {"leak_excluded"}
    assert evidence.check("execution_recorded").passed is False


# ------------------------------------------------------------------------------------------- leak


@pytest.mark.parametrize(
    "sentence",
    [
        "{leak} leaks the target",
        "{leak} is post-churn information",
        "{leak} is only filled after the cancellation",
        "{leak} is not known at prediction time",
        "{leak} is a target proxy",
    ],
)
def test_leak_stated_and_supported_by_a_printed_figure(key: AnswerKey, sentence: str) -> None:
    cells = [markdown("# Audit", index=0), markdown(sentence.format(leak=key.leak.column), index=3), leak_figure(key)]
    check = audit(key, *cells).check("leak_named")
    assert check.passed is True
    assert quoted(check) == [(NOTEBOOK, 3), (NOTEBOOK, 9)]
    assert check.figures == {"false_alarms": 0}


@pytest.mark.parametrize(
    "printed",
    [
        "Leakage: {leak} has a single-feature PR-AUC of 0.81",
        "Leakage: {leak} is non-zero for 85% of churners vs 1.2% of stayers",
        "Leakage: {leak} is x40 more often set for churners than for stayers",
        "Leakage: {leak} alone reaches a ROC-AUC of 0.97",
    ],
)
def test_a_printed_finding_carries_its_own_figure(key: AnswerKey, printed: str) -> None:
    check = audit(key, code("report()", output=printed.format(leak=key.leak.column), index=4)).check("leak_named")
    assert check.passed is True and quoted(check) == [(NOTEBOOK, 4)]


def test_a_finding_printed_as_a_label_with_its_figures_indented_under_it(key: AnswerKey, honest: list[str]) -> None:
    # reference/unconventional's layout: the column on its own line, the evidence indented below.
    printed = "\n".join(
        [
            f"LEAK: {key.leak.column}",
            f"  alone it reaches average precision 0.790; the best other column ({honest[0]}) 0.101",
            "  -> removed from every model",
        ]
    )
    check = audit(key, code("report()", output=printed, index=4)).check("leak_named")
    assert check.passed is True, check.detail
    # The same figure on a following line that is not indented under it belongs to nothing.
    flat = printed.replace("\n  ", "\n")
    assert audit(key, code("report()", output=flat, index=4)).check("leak_named").passed is False
    # Indented under another column's line, it supports that column, not the leak.
    other = f"LEAK: {key.leak.column}\nnext: {honest[1]}\n  average precision 0.790"
    assert audit(key, code("report()", output=other, index=4)).check("leak_named").passed is False


def test_the_leak_ranked_first_in_a_printed_table_supports_the_finding(key: AnswerKey, honest: list[str]) -> None:
    table = "\n".join(
        ["                 single_feature_pr_auc", f"{key.leak.column}  0.812"]
        + [f"{column}  0.0{i + 4}" for i, column in enumerate(honest)]
    )
    cells = [markdown(f"{key.leak.column} leaks the label", index=1), code("ranking", output=table, index=2)]
    evidence = audit(key, *cells)
    assert evidence.check("leak_named").passed is True
    assert evidence.check("single_feature_ranking").passed is True
    # The same table with an honest column on top supports nothing.
    swapped = table.replace("0.812", "0.05")
    assert audit(key, cells[0], code("ranking", output=swapped, index=2)).check("leak_named").passed is False


def test_words_alone_do_not_find_the_leak(key: AnswerKey) -> None:
    check = audit(key, markdown(f"{key.leak.column} leaks the target", index=2)).check("leak_named")
    assert check.passed is False and quoted(check) == [(NOTEBOOK, 2)]


def test_a_figure_that_disagrees_with_the_truth_does_not_support(key: AnswerKey) -> None:
    printed = f"Leakage: {key.leak.column} has a single-feature PR-AUC of 0.06"
    assert audit(key, code("report()", output=printed)).check("leak_named").passed is False


def test_a_code_comment_is_not_a_statement(key: AnswerKey) -> None:
    cells = [code(f"x = 1\n# {key.leak.column} is leakage", index=2), leak_figure(key)]
    assert audit(key, *cells).check("leak_named").passed is False


def test_code_statements_are_not_read_as_findings(key: AnswerKey) -> None:
    cell = code(f'leak_columns = ["{key.leak.column}"]\nframe = frame.drop(columns=leak_columns)  # leak')
    assert audit(key, cell, leak_figure(key)).check("leak_named").passed is False


def test_leak_word_too_far_or_a_longer_identifier_does_not_count(key: AnswerKey) -> None:
    line = f"Leakage is a worry in general and we looked at many columns very carefully indeed: {key.leak.column}"
    assert line.index(key.leak.column) - len("Leakage") > 60
    assert audit(key, markdown(line), leak_figure(key)).check("leak_named").passed is False
    assert audit(key, markdown(f"{key.leak.column}_log leaks"), leak_figure(key)).check("leak_named").passed is False


def test_more_than_three_features_on_a_line_is_a_keyword_list(key: AnswerKey, honest: list[str]) -> None:
    listed = markdown(f"{key.leak.column}, {honest[0]}: leaks, {honest[1]}, {honest[2]}")
    evidence = audit(key, listed, leak_figure(key))
    assert evidence.check("leak_named").passed is False
    assert evidence.false_leak_claims == []


def test_two_honest_columns_called_leaks_are_false_alarms_but_the_finding_stands(
    key: AnswerKey, honest: list[str]
) -> None:
    evidence = audit(key, markdown(f"leaks: {key.leak.column}, {honest[0]}, {honest[1]}", index=5), leak_figure(key))
    check = evidence.check("leak_named")
    assert check.passed is True and check.figures == {"false_alarms": 2}
    assert evidence.false_leak_claims == sorted(honest[:2])
    assert evidence.check("blanket_flagging").passed is False


def test_three_false_alarms_are_blanket_flagging(key: AnswerKey, honest: list[str]) -> None:
    cells = [markdown(f"{column} leaks", index=i) for i, column in enumerate([key.leak.column, *honest[:3]])]
    evidence = audit(key, *cells, leak_figure(key))
    assert evidence.check("leak_named").passed is False
    assert evidence.check("leak_named").figures == {"false_alarms": 3}
    blanket = evidence.check("blanket_flagging")
    assert blanket.passed is True and blanket.figures["leak"] == 3
    # three of the honest columns: the finding is void, but far from the red flag's "more than half"
    assert blanket.figures["share"] == round(3 / (len(key.feature_columns) - 1), 3) < 0.5


@pytest.mark.parametrize(
    "sentence",
    [
        "no leak in {column}",
        "We found no evidence of leakage in {column}",
        "{column}: none of these leak",
        "{column} is not a leak",
        "{column} is not leakage",
        "{column} isn't a leak",
        "Leakage ruled out for {column}",
    ],
)
def test_a_negation_is_neither_a_finding_nor_a_false_alarm(key: AnswerKey, honest: list[str], sentence: str) -> None:
    cells = [markdown(sentence.format(column=key.leak.column)), markdown(sentence.format(column=honest[0]))]
    evidence = audit(key, *cells, leak_figure(key))
    assert evidence.check("leak_named").passed is False
    assert evidence.false_leak_claims == []


def test_a_careful_candidate_clears_three_suspects_and_keeps_the_leak(key: AnswerKey, honest: list[str]) -> None:
    cells = [markdown(f"{column} is not a leak: its lift is flat before churn.") for column in honest[:3]]
    cells += [markdown(f"{key.leak.column} leaks the target: it is filled by the cancellation workflow.")]
    evidence = audit(key, *cells, leak_figure(key))
    assert evidence.check("leak_named").passed is True
    assert evidence.false_leak_claims == [] and evidence.check("blanket_flagging").passed is False


def test_at_most_three_quotes_naming_their_notebook(key: AnswerKey) -> None:
    cells = [markdown(f"{key.leak.column} leaks ({i})", index=i, notebook="01_audit.ipynb") for i in range(5)]
    check = audit(key, *cells, leak_figure(key)).check("leak_named")
    assert quoted(check) == [("01_audit.ipynb", 0), ("01_audit.ipynb", 1), ("01_audit.ipynb", 2)]


# ----------------------------------------------------------------------------- leak kept out (signature)


def test_leak_excluded_from_the_signature(key: AnswerKey, honest: list[str]) -> None:
    assert audit(key, model_columns=None).check("leak_excluded").passed is None
    check = audit(key, model_columns=[honest[0], key.leak.column]).check("leak_excluded")
    assert check.passed is False and check.figures == {"model_columns": 2, "measured_by": "inputs"}
    check = audit(key, model_columns=honest).check("leak_excluded")
    assert check.passed is True and check.figures == {"model_columns": 4, "measured_by": "inputs"}


# ------------------------------------------------------------------------------------------- drift


def test_drift_printed_with_its_month_and_psi(key: AnswerKey) -> None:
    drift = key.covariate_drift[0]
    evidence = audit(key, code("report()", output=f"{drift.column} drifts from {drift.from_month} (PSI 3.8)", index=4))
    named, dated = evidence.check("drift_named"), evidence.check("drift_month")
    assert named.passed is True and quoted(named) == [(NOTEBOOK, 4)]
    assert named.figures == {"false_alarms": 0, "true_from_month": drift.from_month, "other_columns_called_drifting": 0}
    assert dated.passed is True and dated.figures == {"months_given": drift.from_month}
    assert evidence.check("drift_statistic").passed is True  # its figure printed and true


def test_a_finding_laid_out_over_two_lines(key: AnswerKey) -> None:
    """A heading, then the column and its figures: the layout of an honest unconventional notebook."""
    drift = key.covariate_drift[0]
    printed = f"The drifting features\n{drift.column}: break at {drift.from_month}: month-over-month PSI 5.00"
    evidence = audit(key, code("report()", output=printed, index=7))
    assert evidence.check("drift_named").passed is True
    assert evidence.check("drift_month").passed is True


@pytest.mark.parametrize(("offset", "passed"), [(-1, True), (1, True), (-2, False), (2, False)])
def test_drift_month_within_one_month(key: AnswerKey, offset: int, passed: bool) -> None:
    drift = key.covariate_drift[0]
    given = shift(drift.from_month, offset)
    evidence = audit(key, code("report()", output=f"{drift.column} shifted from {given}: PSI 2.9"))
    assert evidence.check("drift_named").passed is True
    assert evidence.check("drift_month").passed is passed
    assert evidence.check("drift_month").figures == {"months_given": given}


def test_drift_dated_in_words(key: AnswerKey) -> None:
    drift = key.covariate_drift[0]
    in_words = datetime.date.fromisoformat(f"{drift.from_month}-01").strftime("%B %Y")
    evidence = audit(key, code("report()", output=f"{drift.column} drifts from {in_words}"))
    assert evidence.check("drift_named").passed is True and evidence.check("drift_month").passed is True


def test_drift_in_words_only_is_not_a_finding(key: AnswerKey) -> None:
    drift = key.covariate_drift[0]
    evidence = audit(key, markdown(f"{drift.column} drifts.\nSomething happened in {drift.from_month}."))
    assert evidence.check("drift_named").passed is False
    assert evidence.check("drift_month").passed is False


def test_a_measured_psi_table_supports_a_statement_and_calls_nothing_else_drifting(
    key: AnswerKey, honest: list[str]
) -> None:
    drift = key.covariate_drift[0]
    rows = [f"{drift.column}  3.21"] + [f"{column}  0.0{i + 1}" for i, column in enumerate(honest)]
    cells = [
        markdown(f"{drift.column} drifts", index=1),
        code("psi", output="PSI first vs last month\n" + "\n".join(rows)),
    ]
    evidence = audit(key, *cells)
    assert evidence.check("drift_named").passed is True
    assert evidence.false_drift_claims == []


def test_a_uniform_made_up_table_under_a_drift_heading_finds_nothing(key: AnswerKey) -> None:
    rows = [f"{column}: PSI 0.40" for column in key.feature_columns]
    evidence = audit(key, code("print(report)", output="Drifting features:\n" + "\n".join(rows)))
    assert evidence.check("drift_named").passed is False


def test_another_column_named_with_the_true_one_is_recorded(key: AnswerKey, honest: list[str]) -> None:
    drift = key.covariate_drift[0]
    evidence = audit(key, code("ks()", output=f"KS test: {drift.column} and {honest[1]} drift (KS 0.6)"))
    assert evidence.check("drift_named").passed is True
    assert evidence.false_drift_claims == [honest[1]]


def test_no_drift_is_not_a_drift_finding(key: AnswerKey) -> None:
    drift = key.covariate_drift[0]
    evidence = audit(key, code("ks()", output=f"no drift in {drift.column} (PSI 3.1 from {drift.from_month})"))
    assert evidence.check("drift_named").passed is False
    assert evidence.false_drift_claims == []


# ---------------------------------------------------------------------------------------- concept drift


def test_concept_drift_with_its_effect_before_and_after(key: AnswerKey) -> None:
    concept = key.concept_drift
    printed = f"Concept drift: {concept.column}: churn log-odds per SD +0.10 before vs +0.35 after"
    check = audit(key, code("slopes()", output=printed, index=6)).check("concept_drift_named")
    assert check.passed is True and quoted(check) == [(NOTEBOOK, 6)]


def test_concept_drift_denied_is_quoted_but_fails(key: AnswerKey) -> None:
    line = f"No evidence that the relation to churn of {key.concept_drift.column} changed"
    check = audit(key, markdown(line, index=8)).check("concept_drift_named")
    assert check.passed is False and quoted(check) == [(NOTEBOOK, 8)]


def test_concept_drift_in_words_only(key: AnswerKey) -> None:
    line = f"{key.concept_drift.column}: its relation to churn changes"
    assert audit(key, markdown(line)).check("concept_drift_named").passed is False


# ------------------------------------------------------------------------------------ missing not at random


def test_mnar_with_missing_rates_by_label_near_the_truth(key: AnswerKey) -> None:
    mnar = key.missing_not_at_random
    printed = (
        f"{mnar.column} is missing for {mnar.missing_rate_churners:.1%} of churners "
        f"vs {mnar.missing_rate_stayers:.1%} of stayers: missing not at random"
    )
    check = audit(key, code("rates()", output=printed, index=9)).check("mnar_named")
    assert check.passed is True and quoted(check) == [(NOTEBOOK, 9)]
    assert check.figures["churner_missing_rate"] == round(mnar.missing_rate_churners, 3)


def test_mnar_stated_in_prose_supported_by_a_printed_groupby(key: AnswerKey) -> None:
    mnar = key.missing_not_at_random
    printed = (
        f"{key.label_column}\n0    {mnar.missing_rate_stayers:.4f}\n1    {mnar.missing_rate_churners:.4f}\n"
        f"Name: {mnar.column}, dtype: float64"
    )
    cells = [markdown(f"{mnar.column} goes missing more often for churners", index=1), code("g", output=printed)]
    assert audit(key, *cells).check("mnar_named").passed is True


def test_mnar_rates_that_disagree_with_the_truth(key: AnswerKey) -> None:
    printed = f"{key.missing_not_at_random.column} is missing for 90% of churners vs 80% of stayers"
    assert audit(key, code("rates()", output=printed)).check("mnar_named").passed is False


@pytest.mark.parametrize(
    "sentence",
    [
        "{column} has many missing values (42%)",  # missing, not linked to the label
        "{column} is missing completely at random: 6% of churners vs 6% of stayers",
    ],
)
def test_mnar_needs_the_label_and_no_denial(key: AnswerKey, sentence: str) -> None:
    line = sentence.format(column=key.missing_not_at_random.column)
    assert audit(key, code("r()", output=line)).check("mnar_named").passed is False


def test_the_completely_at_random_column_is_not_the_mnar_finding(key: AnswerKey) -> None:
    mcar = key.missing_completely_at_random
    line = f"{mcar.column} is missing for {mcar.missing_rate_churners:.1%} of churners, more often for churners"
    assert audit(key, code("r()", output=line)).check("mnar_named").passed is False


# ------------------------------------------------------------------------------------------- duplicates


@pytest.mark.parametrize(
    "printed",
    [
        "1234 duplicate rows",
        "duplicated rows: 1,234",
        "1234.0 duplicates",
        "2468 rows are duplicated (keep=False)",
        "1210 duplicate rows",
    ],
)
def test_duplicate_count_within_a_few_percent(key: AnswerKey, printed: str) -> None:
    evidence = audit(key, code("frame.duplicated().sum()", output=printed, index=3))
    assert evidence.check("duplicates_found").passed is True
    count = evidence.check("duplicates_count")
    assert count.passed is True and count.figures == {"true_count": DUPLICATES}
    assert evidence.check("duplicates_checked").passed is True
    assert quoted(evidence.check("duplicates_found")) == [(NOTEBOOK, 3)]


@pytest.mark.parametrize("printed", ["1100 duplicate rows", "12.34% duplicates", "duplicate rows: 617"])
def test_duplicate_count_outside_the_tolerance(key: AnswerKey, printed: str) -> None:
    evidence = audit(key, code("frame.duplicated().sum()", output=printed, index=3))
    assert evidence.check("duplicates_count").passed is False
    assert evidence.check("duplicates_found").passed is False  # nothing ran, nothing true printed


def test_a_bare_count_printed_where_the_duplicate_check_ran(key: AnswerKey) -> None:
    executed = ran(call("pandas.DataFrame.duplicated", cell=3, rows=key.rows, cols=43))
    evidence = audit(key, code("frame.duplicated().sum()", output="1234", index=3), executed=executed)
    assert evidence.check("duplicates_found").passed is True
    assert evidence.check("duplicates_count").passed is True


def test_a_duplicate_check_that_ran_on_the_data_finds_them(key: AnswerKey) -> None:
    on_data = ran(call("polars.DataFrame.is_duplicated", cell=2, rows=key.rows, cols=43))
    assert audit(key, executed=on_data).check("duplicates_found").passed is True
    on_a_toy = ran(call("pandas.DataFrame.duplicated", cell=2, rows=3, cols=2))
    assert audit(key, executed=on_a_toy).check("duplicates_found").passed is False


def test_duplicates_in_markdown_are_words(key: AnswerKey) -> None:
    evidence = audit(key, markdown("We found 1234 duplicated rows from an ETL replay."))
    assert evidence.check("duplicates_count").passed is False


def test_a_month_is_not_a_duplicate_count(key: AnswerKey) -> None:
    small = key.model_copy(update={"duplicates": DuplicateTruth(count=3, share=3 / key.rows)})
    evidence = collect_audit([code("x", output="no duplicated rows in 2025-03")], small, None, ran())
    assert evidence.check("duplicates_count").passed is False


def test_a_todo_comment_does_not_report_duplicates(key: AnswerKey) -> None:
    assert audit(key, code("# TODO: check for duplicates\nframe.head()")).check("duplicates_found").passed is False


# ----------------------------------------------------------------------------------------- churn rate


def overall_rate(key: AnswerKey) -> float:
    return sum(key.churn_rate_by_month.values()) / len(key.churn_rate_by_month)


@pytest.mark.parametrize(
    ("template", "offset"),
    [
        ("Churn rate: {rate:.1%}", 0.0),
        ("positive rate {rate:.4f}", 0.004),
        ("class imbalance: {rate:.2%} positives", -0.004),
    ],
)
def test_churn_rate_within_half_a_point(key: AnswerKey, template: str, offset: float) -> None:
    overall = overall_rate(key)
    check = audit(key, code("y.mean()", output=template.format(rate=overall + offset), index=2)).check(
        "churn_rate_reported"
    )
    assert check.passed is True and quoted(check) == [(NOTEBOOK, 2)]
    assert check.figures == {"true_rate": round(overall, 4), "printed": 1}


@pytest.mark.parametrize("offset", [0.007, -0.007])
def test_churn_rate_outside_the_tolerance_is_quoted_but_fails(key: AnswerKey, offset: float) -> None:
    check = audit(key, code("y.mean()", output=f"churn rate {overall_rate(key) + offset:.4f}", index=1)).check(
        "churn_rate_reported"
    )
    assert check.passed is False and quoted(check) == [(NOTEBOOK, 1)]


def test_a_churn_rate_in_markdown_is_quoted_not_credited(key: AnswerKey) -> None:
    check = audit(key, markdown(f"churn rate {overall_rate(key):.4f}", index=1)).check("churn_rate_reported")
    assert check.passed is False and quoted(check) == [(NOTEBOOK, 1)]
    assert check.figures["printed"] == 0  # quoted as examined, not printed


def test_a_count_of_positives_is_not_a_rate(key: AnswerKey) -> None:
    check = audit(key, code("y.sum()", output="positives: 49 of 603")).check("churn_rate_reported")
    assert check.passed is False and len(check.quotes) == 1


# ------------------------------------------------------------------------------------------- label window


@pytest.mark.parametrize(
    "sentence",
    [
        "The label window is 30 days after the snapshot",
        "churned_next_30d means cancelled in the next 30 days",
        "A 30-day label: is it complete for the last month?",
    ],
)
def test_label_window_checked(key: AnswerKey, sentence: str) -> None:
    check = audit(key, markdown(sentence, index=4)).check("label_window_checked")
    assert check.passed is True and quoted(check) == [(NOTEBOOK, 4)]


def test_label_window_not_examined(key: AnswerKey) -> None:
    assert audit(key, markdown("The label is churned_next_30d.")).check("label_window_checked").passed is False


# ------------------------------------------------------------------------------------------- grouping


def test_grouping_from_what_ran(key: AnswerKey) -> None:
    group = key.grouping.group_column
    for executed in (
        ran(call("sklearn.split", cell=3, splitter="GroupKFold", rows=key.rows, groups=True)),
        ran(call("pandas.DataFrame.groupby", cell=3, by=[group], rows=key.rows)),
        ran(call("pandas.Series.nunique", cell=3, name=[group], rows=key.rows)),
    ):
        check = audit(key, executed=executed).check("grouping_noted")
        assert check.passed is True and quoted(check) == [(NOTEBOOK, 3)]


def test_grouping_from_a_printed_figure(key: AnswerKey) -> None:
    printed = f"{key.grouping.customers:,} customers with {key.grouping.mean_rows_per_customer:.1f} rows each"
    assert audit(key, code("g()", output=printed, index=3)).check("grouping_noted").passed is True


@pytest.mark.parametrize(
    "cell",
    [
        code("from sklearn.model_selection import GroupKFold"),
        code("# GroupKFold by customer_id"),
        markdown("Each customer_id appears in several monthly snapshots."),
    ],
)
def test_grouping_in_words_or_an_unused_import_does_not_count(key: AnswerKey, cell: Cell) -> None:
    assert audit(key, cell).check("grouping_noted").passed is False


# ------------------------------------------------------------------------------- analyses a thorough audit runs


def analysis_runs(key: AnswerKey) -> dict[str, list[tuple]]:
    """For each analysis, two records of it running (pandas, polars, scipy, scikit-learn)."""
    label, month = key.label_column, key.grouping.time_column
    return {
        "duplicates_checked": [
            [call("pandas.DataFrame.duplicated", cell=5, rows=key.rows, cols=43)],
            [call("polars.DataFrame.is_duplicated", cell=5, rows=key.rows, cols=43)],
        ],
        "missingness_by_label": [
            [
                call("pandas.DataFrame.isna", cell=5, rows=key.rows, cols=43),
                call("pandas.DataFrame.groupby", cell=5, by=[label], rows=key.rows),
            ],
            [
                call("polars.Expr.is_null", cell=5, name=["x"]),
                call("polars.DataFrame.group_by", cell=5, by=[label], rows=key.rows),
            ],
        ],
        "drift_statistic": [
            [call("scipy.stats.ks_2samp", cell=5, sizes=[1500, 1600])],
            [call("scipy.stats.wasserstein_distance", cell=5, sizes=[1500, 1600])],
        ],
        "single_feature_ranking": [
            [call("sklearn.metrics.average_precision_score", cell=5, count=40, y_rows=key.rows, y_pos=30)],
            [call("sklearn.feature_selection.mutual_info_classif", cell=5, rows=key.rows, cols=40)],
        ],
        "rate_by_month": [
            [call("pandas.DataFrame.groupby", cell=5, by=[month], rows=key.rows)],
            [call("polars.DataFrame.group_by", cell=5, by=[month], rows=key.rows)],
        ],
    }


@pytest.mark.parametrize(
    "analysis",
    ["duplicates_checked", "missingness_by_label", "drift_statistic", "single_feature_ranking", "rate_by_month"],
)
@pytest.mark.parametrize("which", [0, 1])
def test_analysis_that_ran(key: AnswerKey, analysis: str, which: int) -> None:
    evidence = audit(key, executed=ran(*analysis_runs(key)[analysis][which]))
    check = evidence.check(analysis)
    assert check.passed is True and quoted(check) == [(NOTEBOOK, 5)]
    assert check.figures == {"basis": "executed"}
    others = {a for a in analysis_runs(key) if a != analysis and evidence.check(a).passed}
    assert not others, f"{analysis} also counted as {others}"


@pytest.mark.parametrize("analysis", ["duplicates_checked", "drift_statistic", "single_feature_ranking"])
def test_an_analysis_on_a_toy_does_not_count(key: AnswerKey, analysis: str) -> None:
    toys = {
        "duplicates_checked": call("pandas.DataFrame.duplicated", cell=5, rows=4, cols=2),
        "drift_statistic": call("scipy.stats.ks_2samp", cell=5, sizes=[2, 2]),
        "single_feature_ranking": call("sklearn.metrics.average_precision_score", cell=5, y_rows=4, y_pos=2),
    }
    assert audit(key, executed=ran(toys[analysis])).check(analysis).passed is False


def test_missingness_overall_is_not_missingness_by_label(key: AnswerKey) -> None:
    executed = ran(call("pandas.DataFrame.isna", cell=5, rows=key.rows, cols=43))
    assert audit(key, executed=executed).check("missingness_by_label").passed is False


@pytest.mark.parametrize(
    "text",
    [
        "# TODO: ks_2samp on every column\nframe.duplicated()  # later\nframe.groupby('snapshot_month')",
        "print('isna().groupby(label) average_precision_score mutual_info_classif')",
    ],
)
def test_source_text_is_never_an_analysis(key: AnswerKey, text: str) -> None:
    evidence = audit(key, code(text, output="isna groupby ks_2samp"), markdown(text))
    assert not any(evidence.check(a).passed for a in analysis_runs(key))


def test_monthly_churn_rates_printed_as_the_truth_has_them(key: AnswerKey) -> None:
    lines = [f"{month}  {rate:.4f}" for month, rate in key.churn_rate_by_month.items()]
    assert audit(key, code("rates", output="\n".join(lines))).check("rate_by_month").passed is True
    wrong = [f"{month}  {rate + 0.02:.4f}" for month, rate in key.churn_rate_by_month.items()]
    assert audit(key, code("rates", output="\n".join(wrong))).check("rate_by_month").passed is False


# ------------------------------------------------------------------------------- keyword lists, one per line


@pytest.mark.parametrize(
    ("check_id", "template", "problem"),
    [
        ("leak_named", "{column} leaks: single-feature PR-AUC 0.81", "leak"),
        ("drift_named", "{column} drifts from {month} (PSI 0.4)", "drift"),
        ("concept_drift_named", "the relation to churn of {column} changes: +0.10 vs +0.35", "concept_drift"),
        ("mnar_named", "missing {column} depends on churn: {churners:.1%} vs {stayers:.1%}", "mnar"),
    ],
)
def test_every_column_one_per_line_is_blanket_flagging(
    key: AnswerKey, check_id: str, template: str, problem: str
) -> None:
    mnar = key.missing_not_at_random
    text = "\n".join(
        template.format(
            column=column,
            month=key.covariate_drift[0].from_month,
            churners=mnar.missing_rate_churners,
            stayers=mnar.missing_rate_stayers,
        )
        for column in key.feature_columns
    )
    evidence = audit(key, code("print(findings)", output=text))
    assert evidence.check(check_id).passed is False
    blanket = evidence.check("blanket_flagging")
    assert blanket.passed is True and blanket.figures[problem] == len(key.feature_columns) - 1
    assert blanket.figures["share"] == 1.0  # every honest column: the rubric's blanket_findings flag

    assert evidence.check("drift_statistic").passed is False  # a stuffed figure is not an analysis


def test_the_text_stuffers_line_per_column_pins_the_leak_and_drift_on_every_honest_column(key: AnswerKey) -> None:
    line = (
        "{column}: possible target leak; data drift since 2025-03 (PSI 0.31, KS p<0.01); "
        "missing more often for churners (MNAR); effect changes over time"
    )
    text = "\n".join(line.format(column=column) for column in key.feature_columns)
    blanket = audit(key, code("for col in df.columns: print(...)", output=text)).check("blanket_flagging")
    honest = len(key.feature_columns) - 1
    assert blanket.passed is True and blanket.figures["share"] == 1.0
    assert (blanket.figures["leak"], blanket.figures["drift"]) == (honest, honest)

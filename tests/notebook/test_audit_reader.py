"""collect_audit on synthetic cells against a small real answer key: every check it emits, in seconds.

Each seeded problem gets a positive and a negative case, plus the edge cases the reader handles on
purpose (more than three features on a line, negations, false alarms, figures against the truth,
which parts of a cell are read). Assertions are on check ids, `passed`, figures and the cells quoted,
never on wording. Strict xfails state what a fair grader should do where the reader does not yet
(issue #15); they are listed in /work/notes/fast-tests.md.
"""

from __future__ import annotations

import datetime

import pytest
from reader_kit import NOTEBOOK, code, markdown, quoted

from grader.notebook.audit import AuditEvidence, collect_audit
from grader.notebook.cells import Cell
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


def audit(key: AnswerKey, *cells: Cell, model_columns: list[str] | None = None) -> AuditEvidence:
    return collect_audit(list(cells), key, model_columns)


def shift(month: str, months: int) -> str:
    year, number = (int(part) for part in month.split("-"))
    total = year * 12 + number - 1 + months
    return f"{total // 12}-{total % 12 + 1:02d}"


# ------------------------------------------------------------------------------------------- every id


def test_every_check_is_emitted_once_and_nothing_passes_on_an_empty_notebook(key: AnswerKey) -> None:
    evidence = audit(key)
    assert [c.id for c in evidence.checks] == AUDIT_IDS
    assert {c.id: c.passed for c in evidence.checks} == {
        i: (None if i == "leak_excluded" else False) for i in AUDIT_IDS
    }
    assert all(not c.quotes for c in evidence.checks)
    assert evidence.false_leak_claims == [] and evidence.false_drift_claims == []


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
def test_leak_named_near_a_leak_word(key: AnswerKey, sentence: str) -> None:
    evidence = audit(key, markdown("# Audit", index=0), markdown(sentence.format(leak=key.leak.column), index=3))
    check = evidence.check("leak_named")
    assert check.passed is True
    assert quoted(check) == [(NOTEBOOK, 3)]
    assert check.figures == {"false_alarms": 0}


@pytest.mark.parametrize("where", ["markdown", "comment", "output"])
def test_leak_finding_counts_in_markdown_a_whole_line_comment_or_printed_output(key: AnswerKey, where: str) -> None:
    line = f"{key.leak.column} is leakage"
    cell = {
        "markdown": markdown(line, index=2),
        "comment": code(f"x = 1\n# {line}\ny = 2", index=2),
        "output": code("print(finding)", output=line, index=2),
    }[where]
    check = audit(key, cell).check("leak_named")
    assert check.passed is True and quoted(check) == [(NOTEBOOK, 2)]


def test_code_statements_are_not_read_as_findings(key: AnswerKey) -> None:
    """Only markdown, output and whole-line comments are prose: a variable named leak_columns is not a finding."""
    cell = code(f'leak_columns = ["{key.leak.column}"]\nframe = frame.drop(columns=leak_columns)  # leak')
    assert audit(key, cell).check("leak_named").passed is False


def test_leak_not_named_or_named_without_a_leak_word(key: AnswerKey) -> None:
    assert audit(key, markdown("We found leakage.")).check("leak_named").passed is False
    check = audit(key, markdown(f"{key.leak.column} is strongly related to churn")).check("leak_named")
    assert check.passed is False and check.quotes == []


def test_leak_word_too_far_from_the_column_does_not_count(key: AnswerKey) -> None:
    line = f"Leakage is a worry in general and we looked at many columns very carefully indeed: {key.leak.column}"
    assert line.index(key.leak.column) - len("Leakage") > 60
    assert audit(key, markdown(line)).check("leak_named").passed is False


def test_a_longer_identifier_containing_the_column_is_not_the_column(key: AnswerKey) -> None:
    assert audit(key, markdown(f"{key.leak.column}_log leaks")).check("leak_named").passed is False


def test_more_than_three_features_on_a_line_is_a_keyword_list(key: AnswerKey, honest: list[str]) -> None:
    listed = markdown(f"{key.leak.column}, {honest[0]}: leaks, {honest[1]}, {honest[2]}")
    evidence = audit(key, listed)
    assert evidence.check("leak_named").passed is False
    assert evidence.false_leak_claims == []


def test_three_features_on_a_line_count_and_the_honest_ones_are_false_alarms(key: AnswerKey, honest: list[str]) -> None:
    evidence = audit(key, markdown(f"leaks: {key.leak.column}, {honest[0]}, {honest[1]}", index=5))
    check = evidence.check("leak_named")
    assert check.passed is True and quoted(check) == [(NOTEBOOK, 5)]
    assert check.figures == {"false_alarms": 2}
    assert evidence.false_leak_claims == sorted(honest[:2])


def test_three_false_alarms_make_the_finding_unspecific(key: AnswerKey, honest: list[str]) -> None:
    cells = [markdown(f"{key.leak.column} leaks", index=0)]
    cells += [markdown(f"{column} leaks", index=i + 1) for i, column in enumerate(honest[:3])]
    evidence = audit(key, *cells)
    check = evidence.check("leak_named")
    assert check.passed is False
    assert quoted(check) == [(NOTEBOOK, 0)]
    assert check.figures == {"false_alarms": 3}
    assert evidence.false_leak_claims == sorted(honest[:3])


def test_an_honest_column_called_a_leak_is_a_false_alarm(key: AnswerKey, honest: list[str]) -> None:
    evidence = audit(key, markdown(f"{honest[0]} leaks the target"))
    assert evidence.check("leak_named").passed is False
    assert evidence.false_leak_claims == [honest[0]]
    assert evidence.check("leak_named").figures == {"false_alarms": 1}


@pytest.mark.parametrize(
    "sentence",
    [
        "no leak in {column}",
        "We found no evidence of leakage in {column}",
        "{column}: none of these leak",
    ],
)
def test_a_negation_is_neither_a_finding_nor_a_false_alarm(key: AnswerKey, honest: list[str], sentence: str) -> None:
    evidence = audit(
        key, markdown(sentence.format(column=key.leak.column)), markdown(sentence.format(column=honest[0]))
    )
    assert evidence.check("leak_named").passed is False
    assert evidence.false_leak_claims == []


@pytest.mark.xfail(strict=True, reason="#15: 'X is not a leak' is read as naming X as leakage (NEGATION misses it)")
def test_saying_the_leak_column_is_not_a_leak_does_not_name_it(key: AnswerKey) -> None:
    assert audit(key, markdown(f"{key.leak.column} is not a leak")).check("leak_named").passed is False


@pytest.mark.xfail(strict=True, reason="#15: 'X is not a leak' about an honest column is recorded as a false alarm")
def test_clearing_an_honest_column_is_not_a_false_alarm(key: AnswerKey, honest: list[str]) -> None:
    assert audit(key, markdown(f"{honest[0]} is not a leak")).false_leak_claims == []


def test_at_most_three_quotes_in_cell_order(key: AnswerKey) -> None:
    cells = [markdown(f"{key.leak.column} leaks ({i})", index=i) for i in range(5)]
    assert quoted(audit(key, *cells).check("leak_named")) == [(NOTEBOOK, 0), (NOTEBOOK, 1), (NOTEBOOK, 2)]


def test_quotes_name_the_notebook_they_come_from(key: AnswerKey) -> None:
    cells = [
        markdown("Intro", index=0, notebook="01_audit.ipynb"),
        code("check()", output=f"{key.leak.column} leaks", index=7, notebook="02_more.ipynb"),
    ]
    check = audit(key, *cells).check("leak_named")
    assert quoted(check) == [("02_more.ipynb", 7)]
    assert check.quotes[0].text == f"{key.leak.column} leaks"


# ----------------------------------------------------------------------------- leak kept out (signature)


def test_leak_excluded_unknown_without_a_signature(key: AnswerKey) -> None:
    assert audit(key, model_columns=None).check("leak_excluded").passed is None


def test_leak_in_the_signature_is_not_excluded(key: AnswerKey, honest: list[str]) -> None:
    check = audit(key, model_columns=[honest[0], key.leak.column]).check("leak_excluded")
    assert check.passed is False and check.figures == {"model_columns": 2}


def test_leak_missing_from_the_signature_is_excluded(key: AnswerKey, honest: list[str]) -> None:
    check = audit(key, model_columns=honest).check("leak_excluded")
    assert check.passed is True and check.figures == {"model_columns": 4}


# ------------------------------------------------------------------------------------------- drift


def test_drift_named_and_dated_to_the_month(key: AnswerKey) -> None:
    drift = key.covariate_drift[0]
    evidence = audit(key, code("report()", output=f"{drift.column} drifts from {drift.from_month} (PSI 3.8)", index=4))
    named, dated = evidence.check("drift_named"), evidence.check("drift_month")
    assert named.passed is True and quoted(named) == [(NOTEBOOK, 4)]
    assert named.figures == {"true_from_month": drift.from_month, "other_columns_called_drifting": 0}
    assert dated.passed is True and dated.figures == {"months_given": drift.from_month}


@pytest.mark.parametrize(("offset", "passed"), [(-1, True), (1, True), (-2, False), (2, False)])
def test_drift_month_within_one_month(key: AnswerKey, offset: int, passed: bool) -> None:
    drift = key.covariate_drift[0]
    given = shift(drift.from_month, offset)
    evidence = audit(key, markdown(f"{drift.column} shifted from {given}"))
    assert evidence.check("drift_named").passed is True
    assert evidence.check("drift_month").passed is passed
    assert evidence.check("drift_month").figures == {"months_given": given}


def test_drift_month_must_be_on_the_finding_line(key: AnswerKey) -> None:
    drift = key.covariate_drift[0]
    evidence = audit(key, markdown(f"{drift.column} drifts.\nSomething happened in {drift.from_month}."))
    assert evidence.check("drift_named").passed is True
    assert evidence.check("drift_month").passed is False


def test_drift_month_without_the_drift_finding_does_not_count(key: AnswerKey, honest: list[str]) -> None:
    evidence = audit(key, markdown(f"{honest[0]} drifts from {key.covariate_drift[0].from_month}"))
    assert evidence.check("drift_named").passed is False
    assert evidence.check("drift_month").passed is False
    assert evidence.false_drift_claims == [honest[0]]
    assert evidence.check("drift_named").figures["other_columns_called_drifting"] == 1


def test_other_columns_called_drifting_are_recorded_but_do_not_fail_the_finding(
    key: AnswerKey, honest: list[str]
) -> None:
    drift = key.covariate_drift[0]
    evidence = audit(key, markdown(f"KS test: {drift.column} and {honest[1]} drift"))
    assert evidence.check("drift_named").passed is True
    assert evidence.false_drift_claims == [honest[1]]


def test_no_drift_is_not_a_drift_finding(key: AnswerKey) -> None:
    evidence = audit(key, markdown(f"no drift in {key.covariate_drift[0].column}"))
    assert evidence.check("drift_named").passed is False
    assert evidence.false_drift_claims == []


@pytest.mark.xfail(strict=True, reason="#15: only YYYY-MM dates the drift; a month written in words is not read")
def test_drift_dated_in_words(key: AnswerKey) -> None:
    drift = key.covariate_drift[0]
    in_words = datetime.date.fromisoformat(f"{drift.from_month}-01").strftime("%B %Y")
    assert audit(key, markdown(f"{drift.column} drifts from {in_words}")).check("drift_month").passed is True


# ---------------------------------------------------------------------------------------- concept drift


def test_concept_drift_named(key: AnswerKey) -> None:
    line = f"{key.concept_drift.column}: its relation to churn changes from {key.concept_drift.from_month}"
    check = audit(key, markdown(line, index=6)).check("concept_drift_named")
    assert check.passed is True and quoted(check) == [(NOTEBOOK, 6)]


def test_concept_drift_denied_is_quoted_but_fails(key: AnswerKey) -> None:
    line = f"No evidence that the relation to churn of {key.concept_drift.column} changed"
    check = audit(key, markdown(line, index=8)).check("concept_drift_named")
    assert check.passed is False
    assert quoted(check) == [(NOTEBOOK, 8)]


def test_concept_column_without_concept_words(key: AnswerKey) -> None:
    check = audit(key, markdown(f"{key.concept_drift.column} is skewed")).check("concept_drift_named")
    assert check.passed is False and check.quotes == []


# ------------------------------------------------------------------------------------ missing not at random


def test_mnar_linked_to_churn(key: AnswerKey) -> None:
    mnar = key.missing_not_at_random
    check = audit(key, code("rates()", output=f"{mnar.column} is missing far more often for churners", index=9)).check(
        "mnar_named"
    )
    assert check.passed is True and quoted(check) == [(NOTEBOOK, 9)]
    assert check.figures == {
        "churner_missing_rate": round(mnar.missing_rate_churners, 3),
        "stayer_missing_rate": round(mnar.missing_rate_stayers, 3),
    }


@pytest.mark.parametrize(
    "sentence",
    [
        "{column} has many missing values",  # missing, but not linked to the label
        "{column} differs between churners and stayers",  # linked, but not about missingness
    ],
)
def test_mnar_needs_both_missingness_and_the_label(key: AnswerKey, sentence: str) -> None:
    line = sentence.format(column=key.missing_not_at_random.column)
    assert audit(key, markdown(line)).check("mnar_named").passed is False


def test_the_completely_at_random_column_is_not_the_mnar_finding(key: AnswerKey) -> None:
    line = f"{key.missing_completely_at_random.column} is missing more often for churners"
    assert audit(key, markdown(line)).check("mnar_named").passed is False


# ------------------------------------------------------------------------------------------- duplicates


@pytest.mark.parametrize(
    "printed",
    ["1234 duplicate rows", "duplicated rows: 1,234", "1234.0 duplicates", "2468 rows are duplicated (keep=False)"],
)
def test_duplicate_count_matches_the_truth(key: AnswerKey, printed: str) -> None:
    evidence = audit(key, code("frame.duplicated().sum()", output=printed, index=3))
    assert evidence.check("duplicates_found").passed is True
    count = evidence.check("duplicates_count")
    assert count.passed is True and count.figures == {"true_count": DUPLICATES}
    assert quoted(evidence.check("duplicates_found")) == [(NOTEBOOK, 3)]


@pytest.mark.parametrize(
    "printed", ["1233 duplicate rows", "1235 duplicate rows", "12.34% duplicates", "duplicate rows: 617"]
)
def test_duplicate_count_outside_the_tolerance(key: AnswerKey, printed: str) -> None:
    evidence = audit(key, code("frame.duplicated().sum()", output=printed, index=3))
    assert evidence.check("duplicates_found").passed is True
    assert evidence.check("duplicates_count").passed is False
    assert quoted(evidence.check("duplicates_found")) == [(NOTEBOOK, 3)]


def test_the_matching_line_is_quoted_first(key: AnswerKey) -> None:
    cells = [markdown("Duplicates next.", index=0), code("x", output="duplicates: 1234", index=1)]
    assert quoted(audit(key, *cells).check("duplicates_found")) == [(NOTEBOOK, 1)]


def test_duplicates_in_markdown_count_as_words(key: AnswerKey) -> None:
    evidence = audit(key, markdown("We found 1234 duplicated rows from an ETL replay."))
    assert evidence.check("duplicates_found").passed is True
    assert evidence.check("duplicates_count").passed is True


def test_no_duplicate_report(key: AnswerKey) -> None:
    evidence = audit(key, code("frame.shape", output="(603, 43)"))
    assert evidence.check("duplicates_found").passed is False
    assert evidence.check("duplicates_count").passed is False


@pytest.mark.xfail(strict=True, reason="#15: the figure reader takes '-03' of a YYYY-MM month as the number 3")
def test_a_month_is_not_a_duplicate_count(key: AnswerKey) -> None:
    small = key.model_copy(update={"duplicates": DuplicateTruth(count=3, share=3 / key.rows)})
    evidence = collect_audit([code("x", output="no duplicated rows in 2025-03")], small, None)
    assert evidence.check("duplicates_count").passed is False


@pytest.mark.xfail(strict=True, reason="#15: a TODO comment is read as reporting duplicate rows")
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
    assert check.figures == {"true_rate": round(overall, 4)}


@pytest.mark.parametrize("offset", [0.007, -0.007])
def test_churn_rate_outside_the_tolerance_is_quoted_but_fails(key: AnswerKey, offset: float) -> None:
    check = audit(key, markdown(f"churn rate {overall_rate(key) + offset:.4f}", index=1)).check("churn_rate_reported")
    assert check.passed is False
    assert quoted(check) == [(NOTEBOOK, 1)]  # the rubric gives the examination itself a share


def test_a_count_of_positives_is_not_a_rate(key: AnswerKey) -> None:
    check = audit(key, code("y.sum()", output="positives: 49 of 603")).check("churn_rate_reported")
    assert check.passed is False and len(check.quotes) == 1


def test_no_rate_words(key: AnswerKey) -> None:
    check = audit(key, code("y.mean()", output=f"{overall_rate(key):.4f}")).check("churn_rate_reported")
    assert check.passed is False and check.quotes == []


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


@pytest.mark.parametrize(
    "cell",
    [
        code("cv = GroupKFold(n_splits=5)", index=3),
        markdown("Each customer_id appears in several monthly snapshots.", index=3),
        code("print(note)", output="split by customer so nobody is on both sides", index=3),
    ],
)
def test_grouping_noted_in_code_prose_or_output(key: AnswerKey, cell: Cell) -> None:
    check = audit(key, cell).check("grouping_noted")
    assert check.passed is True and quoted(check) == [(NOTEBOOK, 3)]


def test_grouping_not_noted(key: AnswerKey) -> None:
    cells = [code("cv = KFold(n_splits=5)"), markdown("customers churn at about 8%.")]
    assert audit(key, *cells).check("grouping_noted").passed is False


@pytest.mark.xfail(
    strict=True, reason="#15: an unused import of GroupKFold counts as accounting for repeated customers"
)
def test_an_import_alone_does_not_account_for_grouping(key: AnswerKey) -> None:
    assert audit(key, code("from sklearn.model_selection import GroupKFold")).check("grouping_noted").passed is False


# ------------------------------------------------------------------------------- analyses a thorough audit runs


ANALYSIS_CODE = {
    "duplicates_checked": ["frame.duplicated().sum()", "frame = frame.drop_duplicates()"],
    "missingness_by_label": ["frame.isna().groupby(frame[label]).mean()", "frame[col].isnull().mean()"],
    "drift_statistic": ["ks_2samp(first[col], last[col])", "scores[col] = psi(first[col], last[col])"],
    "single_feature_ranking": ["average_precision_score(y, frame[col])", "mutual_info_classif(X, y)"],
    "rate_by_month": ['frame.groupby("snapshot_month")[label].mean()', "frame.groupby('month').churn.mean()"],
}


@pytest.mark.parametrize(("analysis", "line"), [(a, line) for a, lines in ANALYSIS_CODE.items() for line in lines])
def test_analysis_found_in_code(key: AnswerKey, analysis: str, line: str) -> None:
    evidence = audit(key, code("import pandas as pd", index=0), code(f"x = 1\n{line}", index=5))
    check = evidence.check(analysis)
    assert check.passed is True and quoted(check) == [(NOTEBOOK, 5)]
    assert check.quotes[0].text == line
    others = {a for a in ANALYSIS_CODE if a != analysis and evidence.check(a).passed}
    assert not others, f"{line!r} also counted as {others}"


@pytest.mark.parametrize("analysis", list(ANALYSIS_CODE))
def test_analysis_only_in_prose_or_output_does_not_count(key: AnswerKey, analysis: str) -> None:
    line = ANALYSIS_CODE[analysis][0]
    evidence = audit(key, markdown(line), code("print(summary)", output=line))
    assert evidence.check(analysis).passed is False


@pytest.mark.xfail(strict=True, reason="#15: polars calls are not recognised (is_duplicated, is_null, group_by)")
@pytest.mark.parametrize(
    ("analysis", "line"),
    [
        ("duplicates_checked", "frame.is_duplicated().sum()"),
        ("missingness_by_label", "frame.group_by(label).agg(pl.col(col).is_null().mean())"),
        ("rate_by_month", 'frame.group_by("snapshot_month").agg(pl.col(label).mean())'),
    ],
)
def test_polars_analyses_count(key: AnswerKey, analysis: str, line: str) -> None:
    assert audit(key, code(line)).check(analysis).passed is True


@pytest.mark.xfail(strict=True, reason="#15: rate_by_month misses pandas groupby with a list or by= keyword")
@pytest.mark.parametrize(
    "line", ['frame.groupby(["snapshot_month"])[label].mean()', 'frame.groupby(by="snapshot_month")[label].mean()']
)
def test_rate_by_month_with_a_list_or_keyword(key: AnswerKey, line: str) -> None:
    assert audit(key, code(line)).check("rate_by_month").passed is True


@pytest.mark.xfail(strict=True, reason="#15: a comment in a code cell counts as an analysis that ran")
@pytest.mark.parametrize(
    ("analysis", "comment"),
    [("drift_statistic", "# TODO: ks_2samp on every column"), ("duplicates_checked", "# frame.duplicated() later")],
)
def test_a_comment_is_not_an_analysis(key: AnswerKey, analysis: str, comment: str) -> None:
    assert audit(key, code(f"{comment}\nframe.head()")).check(analysis).passed is False


@pytest.mark.xfail(strict=True, reason="#15: missingness_by_label passes on any isna() call, the label never involved")
def test_missingness_overall_is_not_missingness_by_label(key: AnswerKey) -> None:
    assert audit(key, code("frame.isna().sum()")).check("missingness_by_label").passed is False


# ------------------------------------------------------------------------------- keyword lists, one per line


@pytest.mark.xfail(
    strict=True,
    reason="#15: only the leak finding is voided by false alarms; one line per column earns "
    "the drift, concept drift and MNAR findings",
)
@pytest.mark.parametrize(
    ("check_id", "template"),
    [
        ("drift_named", "{column} drifts"),
        ("concept_drift_named", "the relation to churn of {column} changes"),
        ("mnar_named", "missing {column} depends on churn"),
    ],
)
def test_every_column_one_per_line_is_not_a_finding(key: AnswerKey, check_id: str, template: str) -> None:
    listing = markdown("\n".join(template.format(column=column) for column in key.feature_columns))
    assert audit(key, listing).check(check_id).passed is False


def test_every_column_one_per_line_is_not_a_leak_finding(key: AnswerKey) -> None:
    evidence = audit(key, markdown("\n".join(f"{column} leaks" for column in key.feature_columns)))
    assert evidence.check("leak_named").passed is False
    assert len(evidence.false_leak_claims) == len(key.feature_columns) - 1

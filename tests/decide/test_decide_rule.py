"""The hire rule at its edges, on scorecard files and practical reports rendered from evidence."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from decide_kit import BALANCED, BEHAVIORAL, GUIDE, ROLE_FIT, TECHNICAL, failing, scores, write_report, write_scorecard

from grader.decide.combine import shown
from grader.decide.rule import decide
from grader.decide.scorecard import load_scorecards
from grader.decision import Decision
from grader.report.render import load_report


def decision(tmp_path: Path, report: Path | None = None) -> Decision:
    loaded = load_scorecards(tmp_path / "cards", "cand-1", GUIDE)
    return decide("cand-1", loaded, load_report(report) if report else None, str(report or ""), GUIDE)


def reasons(made: Decision) -> dict[str, tuple[bool, str]]:
    return {reason.id: (reason.met, reason.detail) for reason in made.reasons}


def test_an_average_of_exactly_3_hires_even_where_floats_would_miss_it(tmp_path: Path) -> None:
    # Three interviewers; technical question means 1, 11/3, 11/3, 11/3: exactly 3, but 2.9999999999999996 in floats.
    first, rest = TECHNICAL[0], TECHNICAL[1:]
    for interviewer, last in (("a.lee", 4), ("b.kim", 4), ("c.ng", 3)):
        write_scorecard(
            tmp_path / "cards", interviewer, {first: 1, **scores(last, rest), **scores(3, BEHAVIORAL + ROLE_FIT)}
        )
    assert sum([1, 11 / 3, 11 / 3, 11 / 3]) / 4 < 3
    made = decision(tmp_path, write_report(tmp_path / "REPORTS"))
    assert made.hire and made.recommendation == "hire"
    assert made.categories["technical"].average.exact == "3" and made.categories["technical"].average.value == 3.0
    assert reasons(made)["overall"] == (
        True,
        "overall: average 3.00 ≥ 3.0 (mean of technical 3.00, behavioral 3.00, role-fit 3.00)",
    )
    assert [r.id for r in made.reasons] == ["overall", "red_flags", "practical"]
    assert all(r.met for r in made.reasons) and made.mix_warnings == [] and made.overall.exact == "3"
    assert made.category_warnings == []


def test_an_overall_of_exactly_3_over_uneven_categories_hires_and_flags_the_weak_one(tmp_path: Path) -> None:
    # technical 7/2, behavioral 3, role-fit 5/2: each category weighs the same, so the overall is exactly 3.
    write_scorecard(
        tmp_path / "cards",
        "m.jones",
        {**scores(4, TECHNICAL[:2]), **scores(3, TECHNICAL[2:] + BEHAVIORAL), "on-call": 3, "stack-gaps": 2},
    )
    made = decision(tmp_path, write_report(tmp_path / "REPORTS"))
    assert made.overall.exact == "3" and made.hire
    assert made.category_warnings == [
        "role-fit averages 2.50, below 3.0: the overall passes the guide's rule; weigh it"
    ]


def test_a_weak_category_carried_by_strong_ones_is_a_hire_with_a_warning(tmp_path: Path) -> None:
    write_scorecard(tmp_path / "cards", "m.jones", {**scores(4, TECHNICAL + BEHAVIORAL), "on-call": 2})
    made = decision(tmp_path, write_report(tmp_path / "REPORTS"))
    assert made.hire and made.overall.exact == "10/3"
    assert reasons(made)["overall"] == (
        True,
        "overall: average 3.33 ≥ 3.0 (mean of technical 4.00, behavioral 4.00, role-fit 2.00)",
    )
    assert made.category_warnings == [
        "role-fit averages 2.00, below 3.0: the overall passes the guide's rule; weigh it"
    ]


def test_an_overall_of_2_99_is_no_hire(tmp_path: Path) -> None:
    # Six interviewers, six technical questions; one 2 among the 3s: the overall is 3 - 1/108.
    six_technical = (*TECHNICAL, "shadow-deployment", "rules-engine-vs-model")
    for n, interviewer in enumerate(("a", "b", "c", "d", "e", "f")):
        answers = scores(3, six_technical + BEHAVIORAL + ROLE_FIT)
        write_scorecard(tmp_path / "cards", interviewer, {**answers, "calibration": 2} if n == 0 else answers)
    made = decision(tmp_path, write_report(tmp_path / "REPORTS"))
    assert made.overall.exact == "323/108" and made.overall.text() == "2.99"
    assert not made.hire and reasons(made)["overall"][0] is False and made.category_warnings == []


def test_just_under_3_is_no_hire_and_never_shows_as_3(tmp_path: Path) -> None:
    write_scorecard(tmp_path / "cards", "m.jones", {**scores(3), TECHNICAL[0]: 2})
    made = decision(tmp_path, write_report(tmp_path / "REPORTS"))
    assert not made.hire and reasons(made)["overall"] == (
        False,
        "overall: average 2.91 < 3.0 (mean of technical 2.75, behavioral 3.00, role-fit 3.00)",
    )
    assert made.category_warnings == []  # a failing overall is the reason; its categories are not warnings
    assert shown(Fraction(2999, 1000)).text() == "2.99" and shown(Fraction(8, 3)).text() == "2.66"


def test_one_interview_red_flag_with_perfect_scores_is_no_hire(tmp_path: Path) -> None:
    write_scorecard(tmp_path / "cards", "m.jones", scores(4), red_flags=("defensive_about_failures",))
    made = decision(tmp_path, write_report(tmp_path / "REPORTS"))
    assert made.recommendation == "no hire"
    assert reasons(made)["red_flags"] == (
        False,
        "red flags: 1 of the guide's list raised: defensive_about_failures (interview: m.jones)",
    )
    assert [r.met for r in made.reasons] == [True, False, True]
    flag = made.red_flags[0]
    assert flag.text.startswith("Gets defensive when asked about failures") and flag.note == "seen in the interview"


def test_a_failed_practical_with_perfect_interviews_is_no_hire(tmp_path: Path) -> None:
    write_scorecard(tmp_path / "cards", "m.jones", scores(4))
    made = decision(tmp_path, write_report(tmp_path / "REPORTS", document=failing()))
    met, detail = reasons(made)["practical"]
    assert not made.hire and not met
    assert detail == "practical test: fail 60.66/100 (total 60.66 is under the pass mark 70)"
    assert made.practical.passed is False and made.red_flags == []


def test_no_practical_report_is_no_hire(tmp_path: Path) -> None:
    write_scorecard(tmp_path / "cards", "m.jones", scores(4))
    made = decision(tmp_path)
    assert not made.hire and made.practical is None
    assert reasons(made)["practical"] == (False, "practical test: no report yet, so no pass")


def test_a_missing_category_is_no_hire_and_no_overall(tmp_path: Path) -> None:
    write_scorecard(tmp_path / "cards", "m.jones", scores(4, TECHNICAL + BEHAVIORAL))
    made = decision(tmp_path, write_report(tmp_path / "REPORTS"))
    assert not made.hire and made.overall is None
    assert reasons(made)["overall"] == (
        False,
        "overall: missing category role-fit: no role-fit question asked, so the rule cannot be applied",
    )
    assert made.categories["role-fit"].questions == 0 and made.categories["role-fit"].average is None
    assert (
        "m.jones (m.jones.toml): 0 role-fit question(s) asked; the guide asks for 1-2 for a mid role"
        in made.mix_warnings
    )


def test_a_practical_red_flag_on_the_guides_list_counts(tmp_path: Path) -> None:
    write_scorecard(tmp_path / "cards", "m.jones", scores(4))
    made = decision(tmp_path, write_report(tmp_path / "REPORTS", **{"modeling.baseline_run": False}))
    assert not made.hire
    assert [(f.id, f.source, f.by) for f in made.red_flags] == [("no_baseline", "practical", "no_baseline")]
    assert reasons(made)["red_flags"] == (
        False,
        "red flags: 1 of the guide's list raised: no_baseline (practical: no_baseline)",
    )
    assert made.practical_flags_not_counted == []


def test_a_practical_red_flag_off_the_guides_list_is_shown_not_counted(tmp_path: Path) -> None:
    write_scorecard(tmp_path / "cards", "m.jones", scores(4))
    made = decision(tmp_path, write_report(tmp_path / "REPORTS", **{"audit.leak_excluded": False}))
    assert made.red_flags == [] and reasons(made)["red_flags"][0] is True
    assert [(f.id, f.message) for f in made.practical_flags_not_counted] == [
        ("leak_in_final_model", "The seeded target-leakage column is among the final model's inputs.")
    ]
    # The practical fails on its own rule (no red flag of its rubric), which is a separate condition.
    assert reasons(made)["practical"][0] is False


def test_interviewers_combine_per_question_and_2_points_apart_is_shown(tmp_path: Path) -> None:
    write_scorecard(tmp_path / "cards", "a.lee", {**scores(3), "calibration": 4, "on-call": 4})
    write_scorecard(tmp_path / "cards", "m.jones", {**scores(3, TECHNICAL), "calibration": 2, "on-call": 3})
    made = decision(tmp_path, write_report(tmp_path / "REPORTS"))
    calibration = next(q for q in made.questions if q.id == "calibration")
    assert calibration.scores == {"a.lee": 4, "m.jones": 2} and calibration.average.exact == "3"
    assert [(d.key, d.scores, d.spread) for d in made.disagreements] == [("calibration", {"a.lee": 4, "m.jones": 2}, 2)]
    # on-call: 4 and 3 is one point apart, not shown; behavioral was asked by a.lee alone.
    assert made.categories["role-fit"].average.exact == "7/2" and made.categories["behavioral"].questions == 2
    assert [i.interviewer for i in made.interviewers] == ["a.lee", "m.jones"] and made.hire


def test_a_short_interview_mix_is_flagged_and_the_decision_still_made(tmp_path: Path) -> None:
    write_scorecard(
        tmp_path / "cards", "m.jones", scores(4, TECHNICAL[1:3] + BEHAVIORAL[:1] + ROLE_FIT), role_level="senior"
    )
    made = decision(tmp_path, write_report(tmp_path / "REPORTS"))
    assert made.hire
    assert made.mix_warnings == [
        f"m.jones (m.jones.toml): {warning}"
        for warning in (
            "2 technical question(s) asked; the guide asks for 4-6 for a senior role",
            "1 behavioral question(s) asked; the guide asks for 2-3 for a senior role",
            "1 role-fit question(s) asked; the guide asks for at least 2 for a senior role",
            "technical questions span 1 difficulty level(s) (medium); the guide asks for questions across "
            "difficulties (at least 2)",
            "0 hard technical question(s) for a senior role; the guide weights harder technical questions higher "
            "for it (at least 2)",
        )
    ]


def test_the_mix_is_checked_on_each_scorecard_not_on_the_panel(tmp_path: Path) -> None:
    # Together they asked the guide's mix; each alone fell short, and each warning names its scorecard.
    write_scorecard(tmp_path / "cards", "a.lee", scores(3, TECHNICAL))
    write_scorecard(tmp_path / "cards", "m.jones", scores(3, BEHAVIORAL + ROLE_FIT))
    made = decision(tmp_path, write_report(tmp_path / "REPORTS"))
    assert made.mix_warnings == [
        "a.lee (a.lee.toml): 0 behavioral question(s) asked; the guide asks for 2-3 for a mid role",
        "a.lee (a.lee.toml): 0 role-fit question(s) asked; the guide asks for 1-2 for a mid role",
        "m.jones (m.jones.toml): 0 technical question(s) asked; the guide asks for 4-6 for a mid role",
    ]
    assert made.hire  # a flag, never a rejection


def test_a_senior_interview_with_more_role_fit_than_usual_is_not_warned(tmp_path: Path) -> None:
    hard = ("offline-online-gap", "loan-fairness-audit")
    asked = ("lightgbm-vs-neural-net", "calibration", *hard, *BEHAVIORAL, "on-call", "stack-gaps", "classical-vs-llm")
    write_scorecard(tmp_path / "cards", "m.jones", scores(3, asked), role_level="senior")
    made = decision(tmp_path, write_report(tmp_path / "REPORTS"))
    assert made.categories["role-fit"].questions == 3 and made.mix_warnings == []
    write_scorecard(tmp_path / "cards", "m.jones", scores(3, asked), role_level="mid")
    assert decision(tmp_path).mix_warnings == [
        "m.jones (m.jones.toml): 3 role-fit question(s) asked; the guide asks for 1-2 for a mid role"
    ]


def test_questions_outside_the_bank_count_in_their_category(tmp_path: Path) -> None:
    extra = (
        '\n[[question]]\ntext = "Which part of our product would you own first?"\ncategory = "role-fit"\nscore = 2\n'
    )
    write_scorecard(tmp_path / "cards", "m.jones", scores(3), extra=extra)
    made = decision(tmp_path, write_report(tmp_path / "REPORTS"))
    outside = made.questions[-1]
    assert (outside.id, outside.key, outside.category) == (
        None,
        "outside: which part of our product would you own first?",
        "role-fit",
    )
    assert made.categories["role-fit"].average.text() == "2.50" and not made.hire
    assert len(made.questions) == len(BALANCED) + 1


def test_question_notes_and_overall_notes_are_kept(tmp_path: Path) -> None:
    extra = (
        '\n[[question]]\ntext = "Which team would you join first?"\ncategory = "role-fit"\nscore = 3\n'
        'notes = "  Picked the pricing team.  "\n'
    )
    path = write_scorecard(tmp_path / "cards", "m.jones", scores(3), extra=extra)
    path.write_text(path.read_text().replace('notes = "written by a test"', 'notes = """\nCalm under pressure.\n"""'))
    made = decision(tmp_path, write_report(tmp_path / "REPORTS"))
    assert made.interviewers[0].notes == "Calm under pressure."
    outside = made.questions[-1]
    assert outside.notes == {"m.jones": "Picked the pricing team."} and outside.outside_bank
    assert all(q.notes == {} for q in made.questions[:-1])

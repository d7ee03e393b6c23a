"""A practical whose verdict is review needs a person: no hire decision on it yet, never a pass or a fail;
and the practical report's debrief questions in `grader decide`'s view, with the guide's words."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import typer
from decide_kit import GUIDE, RUBRIC, scores, write_report, write_scorecard
from synthetic import perfect, set_check, with_review
from typer.testing import CliRunner

from grader.decide.command import decide_command
from grader.decide.rule import decide
from grader.decide.scorecard import load_scorecards
from grader.decision import Decision, load_decision, write_decision
from grader.report import rerender, write_leaderboard
from grader.report.render import load_report, show_decision
from grader.rubric import parse_overrides
from grader.rubric.debrief import QUESTIONS, REVIEW_QUESTIONS

FLAG = "deployment_not_my_problem"


def reviewed(candidate: str = "cand-1") -> dict:
    document = set_check(perfect(candidate), "modeling.time_split", False)
    document = set_check(document, "modeling.group_split", False)
    return with_review(document)


def decision(tmp_path: Path, report: Path, score: int = 4) -> Decision:
    write_scorecard(tmp_path / "cards", "m.jones", scores(score))
    loaded = load_scorecards(tmp_path / "cards", "cand-1", GUIDE)
    return decide("cand-1", loaded, load_report(report), str(report), GUIDE)


def practical(made: Decision):
    return next(reason for reason in made.reasons if reason.id == "practical")


def test_strong_interviews_and_a_practical_for_review_are_pending_not_hire_and_not_no_hire(tmp_path: Path) -> None:
    made = decision(tmp_path, write_report(tmp_path / "REPORTS", document=reviewed()))
    assert made.recommendation == "pending" and made.pending and not made.hire
    condition = practical(made)
    assert not condition.met and condition.pending
    assert condition.detail.startswith("practical test: review 96.5/100: needs a person: README wording suggests ")
    assert FLAG in condition.detail and "a reviewer confirms or clears it" in condition.detail
    assert made.practical.verdict == "review" and made.practical.review == [FLAG]
    assert made.red_flags == []  # wording is not a raised flag
    assert all(reason.met for reason in made.reasons if reason.id != "practical")


def test_interviews_that_rule_a_hire_out_still_give_no_hire(tmp_path: Path) -> None:
    made = decision(tmp_path, write_report(tmp_path / "REPORTS", document=reviewed()), score=2)
    assert made.recommendation == "no hire" and practical(made).pending


def test_a_reviewer_clears_it_the_decision_is_stale_and_deciding_again_hires(tmp_path: Path) -> None:
    reports = tmp_path / "REPORTS"
    report = write_report(reports, document=reviewed())
    write_decision(decision(tmp_path, report), report.parent / "decision.json")
    overrides = parse_overrides(
        f'[[override]]\ncandidate = "cand-1"\nred_flag = "{FLAG}"\nraised = false\n'
        'reason = "they own the on-call rotation"\nreviewer = "m.jones"\n',
        RUBRIC,
    )
    (tmp_path / "evidence.json").write_text(json.dumps(reviewed()))
    rerender([tmp_path / "evidence.json"], reports, RUBRIC, overrides)
    card = load_report(report.parent)
    assert card.verdict == "pass" and load_decision(report.parent).stale_against(card) is not None
    assert decision(tmp_path, report).recommendation == "hire"


def test_the_debrief_questions_come_with_the_guides_question_and_what_to_look_for(tmp_path: Path) -> None:
    report = write_report(tmp_path / "REPORTS", document=reviewed())
    made = decision(tmp_path, report)
    card = load_report(report.parent)
    assert [f.topic for f in made.follow_ups] == [q.topic for q in card.debrief]
    assert [f.topic for f in made.follow_ups] == ["modeling.validation_split", "red_flag.deployment_not_my_problem"]
    split = made.follow_ups[0]
    bank = GUIDE.question("time-series-cross-validation")
    assert (split.bank, split.bank_question, split.look_for) == (bank.id, bank.text, bank.look_for)
    assert split.evidence == "time_split set to False"


@pytest.mark.parametrize("bank", sorted({b for b, _ in [*QUESTIONS.values(), *REVIEW_QUESTIONS.values()] if b}))
def test_every_bank_id_the_debrief_names_is_in_the_guides_question_bank(bank: str) -> None:
    assert GUIDE.question(bank) is not None


def test_reports_and_the_leaderboard_show_the_pending_decision(tmp_path: Path) -> None:
    reports = tmp_path / "REPORTS"
    report = write_report(reports, document=reviewed())
    write_decision(decision(tmp_path, report), report.parent / "decision.json")
    show_decision(report.parent)
    markdown = (report.parent / "report.md").read_text()
    assert "## Hiring decision: PENDING" in markdown and "- **pending**: practical test: review 96.5/100" in markdown
    write_leaderboard([load_report(report)], reports)
    row = next(csv.DictReader((reports / "leaderboard.csv").open()))
    assert (row["decision"], row["verdict"], row["review"]) == ("pending", "review", FLAG)


def test_the_command_shows_review_as_needing_a_person_with_the_debrief(tmp_path: Path) -> None:
    app = typer.Typer()
    app.command("decide")(decide_command)
    app.callback()(lambda: None)
    write_scorecard(tmp_path / "SCORECARDS" / "cand-1", "m.jones", scores(4))
    write_report(tmp_path / "REPORTS", document=reviewed())
    result = CliRunner().invoke(
        app,
        ["decide", "--cohort", "--scorecards", str(tmp_path / "SCORECARDS"), "--reports", str(tmp_path / "REPORTS")],
        env={"COLUMNS": "300"},
    )
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "cand-1" in line)
    assert "pending" in row and "review 96.5 (needs a person)" in row and "no hire" not in row
    one = CliRunner().invoke(
        app,
        [
            "decide",
            "cand-1",
            "--scorecards",
            str(tmp_path / "SCORECARDS"),
            "--report",
            str(tmp_path / "REPORTS" / "cand-1" / "report.json"),
        ],
        env={"COLUMNS": "300"},
    )
    assert one.exit_code == 0, one.output
    assert "cand-1: PENDING" in one.output and "pending practical test: review 96.5/100: needs a person" in one.output
    assert "Debrief questions (from the practical report):" in one.output
    assert "1. Your validation held out neither later months nor whole customers" in one.output
    assert "evidence: time_split set to False" in one.output
    assert "look for: Random k-fold leaks future into past." in one.output  # the guide's words (wrapped at 160)
    assert "2. You wrote “Deployment goes through the platform team's Kubernetes cluster" in one.output

"""A practical the grader's environment kept from being graded: no hire decision on it yet, never a failed one."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import typer
from decide_kit import GUIDE, scores, write_report, write_scorecard
from synthetic import ENVIRONMENT, perfect, serving_stopped, set_check
from typer.testing import CliRunner

from grader.decide.command import decide_command
from grader.decide.rule import decide
from grader.decide.scorecard import load_scorecards
from grader.decision import Decision, load_decision, write_decision
from grader.report import write_leaderboard
from grader.report.render import load_report, show_decision

MISSING_IMAGE = "base image python:3.12-slim is not available"


def blocked(candidate: str = "cand-1") -> dict:
    return serving_stopped(perfect(candidate), MISSING_IMAGE, environment=ENVIRONMENT)


def decision(tmp_path: Path, report: Path, score: int = 4, red_flags: tuple[str, ...] = ()) -> Decision:
    write_scorecard(tmp_path / "cards", "m.jones", scores(score), red_flags=red_flags)
    loaded = load_scorecards(tmp_path / "cards", "cand-1", GUIDE)
    return decide("cand-1", loaded, load_report(report), str(report), GUIDE)


def practical(made: Decision):
    return next(reason for reason in made.reasons if reason.id == "practical")


def test_strong_interviews_and_a_practical_not_graded_here_are_pending(tmp_path: Path) -> None:
    made = decision(tmp_path, write_report(tmp_path / "REPORTS", document=blocked()))
    assert made.recommendation == "pending" and not made.hire and made.pending
    condition = practical(made)
    assert not condition.met and condition.pending
    assert condition.detail == (
        f"practical not graded: serving: {ENVIRONMENT} (the grader's environment, not the "
        "candidate's work): grade it again where it can run, then run grader decide again"
    )
    assert made.practical.environment == {"serving": ENVIRONMENT}
    assert all(reason.met for reason in made.reasons if reason.id != "practical")


def test_interviews_that_rule_a_hire_out_give_no_hire_for_their_own_reasons(tmp_path: Path) -> None:
    made = decision(tmp_path, write_report(tmp_path / "REPORTS", document=blocked()), score=2)
    assert made.recommendation == "no hire"
    assert practical(made).pending  # shown as pending, not as the reason
    assert next(r for r in made.reasons if r.id == "overall").met is False


def test_a_red_flag_from_a_stage_that_ran_still_counts(tmp_path: Path) -> None:
    document = set_check(blocked(), "modeling.baseline_run", False)
    made = decision(tmp_path, write_report(tmp_path / "REPORTS", document=document))
    assert made.recommendation == "no hire" and made.practical.red_flags == ["no_baseline"]


def test_a_failed_practical_is_still_no_hire_and_not_pending(tmp_path: Path) -> None:
    failed = serving_stopped(set_check(perfect(), "modeling.baseline_run", False), "the image failed to build")
    made = decision(tmp_path, write_report(tmp_path / "REPORTS", document=failed))
    assert made.recommendation == "no hire" and not practical(made).pending
    assert made.practical.environment == {}


def test_reports_and_the_leaderboard_show_pending_and_regrading_makes_it_stale(tmp_path: Path) -> None:
    reports = tmp_path / "REPORTS"
    report = write_report(reports, document=blocked())
    write_decision(decision(tmp_path, report), report.parent / "decision.json")
    show_decision(report.parent)
    markdown = (report.parent / "report.md").read_text()
    assert "## Hiring decision: PENDING" in markdown and "- **pending**: practical not graded: serving:" in markdown
    page = (report.parent / "report.html").read_text()
    assert 'class="badge incomplete">PENDING</span>' in page and '<span class="pending">pending</span>' in page
    write_leaderboard([load_report(report)], reports)
    assert next(csv.DictReader((reports / "leaderboard.csv").open()))["decision"] == "pending"
    assert '<span class="incomplete">pending</span>' in (reports / "leaderboard.html").read_text()
    # Graded again where the image could be had: the pending decision is out of date.
    regraded = write_report(reports, document=perfect())
    assert load_decision(regraded.parent).stale_against(load_report(regraded)) is not None
    assert json.loads((regraded.parent / "decision.json").read_text())["recommendation"] == "pending"


def test_a_decision_written_before_the_environment_field_reads_and_is_not_stale(tmp_path: Path) -> None:
    report = write_report(tmp_path / "REPORTS")
    made = decision(tmp_path, report)
    stored = json.loads(made.model_dump_json())
    del stored["practical"]["environment"]
    for reason in stored["reasons"]:
        del reason["pending"]
    old = Decision.model_validate(stored)
    assert old.stale_against(load_report(report)) is None and old.recommendation == "hire"


def test_the_command_prints_pending_and_why(tmp_path: Path) -> None:
    app = typer.Typer()
    app.command("decide")(decide_command)
    app.callback()(lambda: None)
    write_scorecard(tmp_path / "SCORECARDS" / "cand-1", "m.jones", scores(4))
    write_report(tmp_path / "REPORTS", document=blocked())
    result = CliRunner().invoke(
        app,
        ["decide", "--cohort", "--scorecards", str(tmp_path / "SCORECARDS"), "--reports", str(tmp_path / "REPORTS")],
        env={"COLUMNS": "300"},
    )
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "cand-1" in line)
    assert "pending" in row and "not graded here (environment)" in row and "no hire" not in row
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
    assert "cand-1: PENDING" in one.output and "pending practical not graded: serving: base image" in one.output

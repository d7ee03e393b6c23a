"""`grader decide` as a command: one candidate, a cohort, and user errors as one line with exit code 2."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import typer
from decide_kit import BEHAVIORAL, TECHNICAL, scores, write_report, write_scorecard
from typer.testing import CliRunner

from grader.decide.command import decide_command
from grader.errors import BadInput, BadScorecard
from grader.report import write_leaderboard
from grader.report.render import load_report

app = typer.Typer()
app.command("decide")(decide_command)

# The real entry point (grader.cli.main turns user errors into one line and exit code 2), with
# `decide` registered as grader/cli.py registers it.
REAL_GRADER = """
import sys
from grader.cli import app, main
from grader.decide.command import decide_command
if not any(command.name == "decide" for command in app.registered_commands):
    app.command("decide")(decide_command)
sys.argv[0] = "grader"
main()
"""


@app.callback()
def _group() -> None:
    """Keep `decide` a subcommand, as in `grader decide`."""


def run(*args: str | Path):
    return CliRunner().invoke(app, ["decide", *map(str, args)])


def grader(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", REAL_GRADER, "decide", *map(str, args)], capture_output=True, text=True, timeout=120
    )


def test_one_candidate_writes_decision_json_next_to_the_report(tmp_path: Path) -> None:
    report = write_report(tmp_path / "REPORTS")
    write_leaderboard([load_report(report)], tmp_path / "REPORTS")
    write_scorecard(tmp_path / "SCORECARDS" / "cand-1", "m.jones", scores(3))
    result = run("cand-1", "--scorecards", tmp_path / "SCORECARDS", "--report", report)
    assert result.exit_code == 0, result.output
    assert "cand-1: HIRE" in result.output and "met     practical test: pass 100/100" in result.output
    decision = json.loads((report.parent / "decision.json").read_text())
    assert decision["schema_version"] == "decision/2" and decision["recommendation"] == "hire"
    assert "updated report.md, report.html, leaderboard.csv, leaderboard.html" in result.output
    assert "Hiring decision" in (report.parent / "report.html").read_text()
    rows = list(csv.DictReader((tmp_path / "REPORTS" / "leaderboard.csv").open()))
    assert rows[0]["decision"] == "hire"


def test_the_same_inputs_give_a_byte_identical_decision(tmp_path: Path) -> None:
    report = write_report(tmp_path / "REPORTS")
    write_scorecard(tmp_path / "cards", "m.jones", scores(3))
    outputs = []
    for name in ("a.json", "b.json"):
        assert (
            run("cand-1", "--scorecards", tmp_path / "cards", "--report", report, "--out", tmp_path / name).exit_code
            == 0
        )
        outputs.append((tmp_path / name).read_bytes())
    assert outputs[0] == outputs[1]
    # --out leaves the reports as they were.
    assert not (report.parent / "decision.json").exists()
    assert "Hiring decision" not in (report.parent / "report.html").read_text()


def test_a_cohort_decides_everyone_with_scorecards_or_a_report(tmp_path: Path) -> None:
    reports, cards = tmp_path / "REPORTS", tmp_path / "SCORECARDS"
    written = [write_report(reports, name) for name in ("ann", "bob")]
    write_leaderboard([load_report(path) for path in written], reports)
    write_scorecard(cards / "ann", "a.lee", scores(4), candidate="ann")
    write_scorecard(cards / "ann", "m.jones", scores(3), candidate="ann")
    write_scorecard(cards / "cy", "m.jones", scores(4, TECHNICAL + BEHAVIORAL), candidate="cy")
    (reports / "_graded").mkdir()
    result = run("--cohort", "--scorecards", cards, "--reports", reports, "--allow-missing-report")
    assert result.exit_code == 0, result.output
    assert "no interview yet" in result.output
    assert json.loads((reports / "ann" / "decision.json").read_text())["recommendation"] == "hire"
    assert not (reports / "bob" / "decision.json").exists()
    cy = json.loads((reports / "cy" / "decision.json").read_text())
    assert cy["recommendation"] == "no hire" and cy["practical"] is None
    rows = {row["candidate"]: row["decision"] for row in csv.DictReader((reports / "leaderboard.csv").open())}
    assert rows == {"ann": "hire", "bob": ""}


def test_a_cohort_writes_nothing_when_one_scorecard_is_invalid(tmp_path: Path) -> None:
    reports, cards = tmp_path / "REPORTS", tmp_path / "SCORECARDS"
    for name in ("ann", "bob"):
        write_report(reports, name)
        write_scorecard(cards / name, "m.jones", scores(3), candidate=name)
    write_scorecard(cards / "bob", "a.lee", {**scores(3), "calibration": 5}, candidate="bob")
    result = run("--cohort", "--scorecards", cards, "--reports", reports)
    assert isinstance(result.exception, BadScorecard) and "a.lee.toml:" in str(result.exception)
    assert not list(reports.glob("*/decision.json"))


def test_usage_mistakes_are_bad_input(tmp_path: Path) -> None:
    report = write_report(tmp_path / "REPORTS")
    write_scorecard(tmp_path / "cards", "m.jones", scores(3))
    for args in (
        ["cand-1", "--scorecards", tmp_path / "cards"],
        ["--cohort", "--scorecards", tmp_path / "cards"],
        ["cand-1", "--cohort", "--scorecards", tmp_path / "cards", "--reports", tmp_path / "REPORTS"],
        ["cand-2", "--scorecards", tmp_path / "cards", "--report", report],
        ["--cohort", "--scorecards", tmp_path / "cards", "--reports", tmp_path / "REPORTS"],
        ["cand-1", "--scorecards", tmp_path / "cards", "--report", report, "--allow-missing-report"],
    ):
        result = run(*args)
        assert isinstance(result.exception, BadInput), (args, result.output)
    assert "is the report of cand-1, not of cand-2" in str(
        run("cand-2", "--scorecards", tmp_path / "cards", "--report", report).exception
    )


def test_a_scorecard_folder_with_no_report_is_refused_in_a_cohort(tmp_path: Path) -> None:
    reports, cards = tmp_path / "REPORTS", tmp_path / "SCORECARDS"
    for name in ("cand-1", "cand-2"):
        write_report(reports, name)
        write_scorecard(cards / name, "m.jones", scores(3), candidate=name)
    write_scorecard(cards / "cand-3", "m.jones", scores(3), candidate="cand-3")  # a typo for cand-2's second card
    result = run("--cohort", "--scorecards", cards, "--reports", reports)
    assert isinstance(result.exception, BadInput)
    message = str(result.exception)
    assert f"no report in {reports} for the scorecard folder(s) {cards / 'cand-3'} (did you mean cand-" in message
    assert "--allow-missing-report" in message
    assert not list(reports.glob("*/decision.json")) and not (reports / "cand-3").exists()
    assert run("--cohort", "--scorecards", cards, "--reports", reports, "--allow-missing-report").exit_code == 0
    assert json.loads((reports / "cand-3" / "decision.json").read_text())["practical"] is None


def test_a_stray_file_in_a_candidate_folder_stops_the_decision(tmp_path: Path) -> None:
    # Only alice.toml would have been read before: a HIRE from one interviewer out of four.
    report = write_report(tmp_path / "REPORTS")
    folder = tmp_path / "SCORECARDS" / "cand-1"
    write_scorecard(folder, "alice", scores(3))
    write_scorecard(folder, "carol", scores(1)).rename(folder / "carol.TOML")
    write_scorecard(folder, "dan", scores(1)).rename(folder / "dan.toml.txt")
    write_scorecard(folder / "sub", "x", scores(1))
    result = run("cand-1", "--scorecards", tmp_path / "SCORECARDS", "--report", report)
    assert isinstance(result.exception, BadScorecard)
    assert "dan.toml.txt: not a scorecard" in str(result.exception) and f"{folder / 'sub'}: a folder" in str(
        result.exception
    )
    assert not (report.parent / "decision.json").exists()
    (folder / "dan.toml.txt").unlink()
    (folder / "sub" / "x.toml").unlink()
    (folder / "sub").rmdir()
    result = run("cand-1", "--scorecards", tmp_path / "SCORECARDS", "--report", report)
    assert result.exit_code == 0 and "cand-1: NO HIRE" in result.output and "2 interviewer(s)" in result.output


def test_scorecards_may_be_one_file_for_one_candidate_but_a_folder_for_a_cohort(tmp_path: Path) -> None:
    report = write_report(tmp_path / "REPORTS")
    path = write_scorecard(tmp_path / "cards", "m.jones", scores(3))
    write_scorecard(tmp_path / "cards", "a.lee", scores(1))
    result = run("cand-1", "--scorecards", path, "--report", report)
    assert result.exit_code == 0, result.output
    assert "cand-1: HIRE" in result.output and "1 interviewer(s)" in result.output
    result = run("--cohort", "--scorecards", path, "--reports", tmp_path / "REPORTS")
    assert isinstance(result.exception, BadInput)
    assert f"scorecards {path} is a file: give the folder holding one subfolder per candidate" in str(result.exception)


def test_a_cohort_folder_without_the_candidate_says_so(tmp_path: Path) -> None:
    report = write_report(tmp_path / "REPORTS")
    write_scorecard(tmp_path / "SCORECARDS" / "cand-2", "m.jones", scores(3), candidate="cand-2")
    result = run("cand-1", "--scorecards", tmp_path / "SCORECARDS", "--report", report)
    assert isinstance(result.exception, BadInput)
    assert f"no {tmp_path / 'SCORECARDS' / 'cand-1'} folder" in str(result.exception)


def test_a_leaderboard_that_cannot_be_refreshed_is_a_warning_once_the_decision_is_written(tmp_path: Path) -> None:
    reports = tmp_path / "REPORTS"
    report = write_report(reports)
    write_leaderboard([load_report(report)], reports)
    (reports / "bob").mkdir()
    (reports / "bob" / "report.json").write_text("{")
    write_scorecard(tmp_path / "cards", "m.jones", scores(3))
    result = run("cand-1", "--scorecards", tmp_path / "cards", "--report", report)
    assert result.exit_code == 0, result.output
    assert "warning: the leaderboard in" in result.output and "bob" in result.output
    assert json.loads((report.parent / "decision.json").read_text())["recommendation"] == "hire"
    assert "updated report.md, report.html" in result.output


def test_the_real_command_line_exits_2_with_file_and_line(tmp_path: Path) -> None:
    report = write_report(tmp_path / "REPORTS")
    path = write_scorecard(tmp_path / "cards", "m.jones", {**scores(3), "calibration": 5})
    line = path.read_text().splitlines().index("score = 5") + 1
    result = grader("cand-1", "--scorecards", tmp_path / "cards", "--report", report)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert f"m.jones.toml:{line}: question 3 score: score 5 is outside 1-4" in result.stderr
    path.write_text(path.read_text().replace("score = 5", "score = 4"))
    result = grader("cand-1", "--scorecards", tmp_path / "cards", "--report", report)
    assert result.returncode == 0, result.stderr
    assert "cand-1: HIRE" in result.stdout

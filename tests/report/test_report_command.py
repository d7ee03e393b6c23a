"""`grader report REPORT_DIR [--overrides FILE]` as a command, on saved evidence."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rubric"))
from synthetic import perfect

from grader.errors import BadInput
from grader.report import report_command
from grader.rubric import OverridesError, RubricError

app = typer.Typer()
app.command("report")(report_command)


@app.callback()
def _group() -> None:
    """Keep `report` a subcommand, as in `grader report`."""


def graded_folder(tmp_path: Path, candidate: str = "cand-1") -> Path:
    folder = tmp_path / f"graded-{candidate}"
    folder.mkdir()
    (folder / "evidence.json").write_text(json.dumps(perfect(candidate)))
    return folder


def test_report_rerenders_into_report_dir_reports(tmp_path: Path) -> None:
    folder = graded_folder(tmp_path)
    result = CliRunner().invoke(app, ["report", str(folder)])
    assert result.exit_code == 0, result.output
    assert "cand-1" in result.output and "pass" in result.output
    for name in ("report.json", "report.md", "report.html"):
        assert (folder / "reports" / "cand-1" / name).is_file()
    assert (folder / "reports" / "leaderboard.csv").is_file()


def test_report_with_overrides_and_another_rubric(tmp_path: Path) -> None:
    folder = graded_folder(tmp_path)
    overrides = tmp_path / "overrides.toml"
    overrides.write_text(
        '[[override]]\ncandidate = "cand-1"\ncriterion = "judgment.monitoring"\npoints = 5\n'
        'reason = "half the plan is generic"\nreviewer = "m.jones"\n'
    )
    junior = Path(__file__).resolve().parents[2] / "rubrics" / "churn-take-home-junior.toml"
    out = tmp_path / "REPORTS"
    result = CliRunner().invoke(
        app, ["report", str(folder), "--overrides", str(overrides), "--rubric", str(junior), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "1 reviewer override(s) applied" in result.output
    payload = json.loads((out / "cand-1" / "report.json").read_text())
    assert payload["rubric"]["id"] == "churn-take-home-junior" and payload["total"] == 97  # monitoring: 8 -> 5
    # The saved evidence is untouched: re-rendering without overrides gives the original score back.
    CliRunner().invoke(app, ["report", str(folder), "--rubric", str(junior), "--out", str(out)])
    assert json.loads((out / "cand-1" / "report.json").read_text())["total"] == 100


def test_user_errors_are_grader_errors(tmp_path: Path) -> None:
    folder = graded_folder(tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[override]]\ncandidate = "cand-1"\ncriterion = "nope.nope"\npoints = 1\nreason = "x y z"\nreviewer = "me"\n'
    )
    result = CliRunner().invoke(app, ["report", str(folder), "--overrides", str(bad)])
    assert isinstance(result.exception, OverridesError) and "nope.nope" in str(result.exception)
    result = CliRunner().invoke(app, ["report", str(tmp_path / "missing")])
    assert isinstance(result.exception, BadInput) and "does not exist" in str(result.exception)
    result = CliRunner().invoke(app, ["report", str(folder), "--rubric", str(bad)])
    assert isinstance(result.exception, RubricError)


def test_report_names_a_candidate_the_environment_kept_from_being_graded(tmp_path: Path) -> None:
    from synthetic import ENVIRONMENT, serving_stopped

    folder = tmp_path / "graded-cand-env"
    folder.mkdir()
    document = serving_stopped(perfect("cand-env"), "base image python:3.12-slim is not available", ENVIRONMENT)
    (folder / "evidence.json").write_text(json.dumps(document))
    result = CliRunner().invoke(app, ["report", str(folder)], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    assert "incomplete (environment)" in result.output and "fail" not in result.output
    assert "cand-env: serving not graded here (environment): base image python:3.12-slim" in result.output
    assert "what to do: fix what it names on the grading machine" in result.output

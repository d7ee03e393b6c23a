"""Reports of a candidate the grader's environment kept from being graded, of a stage that stopped
early, and of candidate text holding control characters."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rubric"))
from synthetic import ENVIRONMENT, perfect, serving_stopped, with_control_characters

from grader.report import render_reports, write_leaderboard
from grader.report.text import NOT_RECORDED, printable
from grader.rubric import load_rubric, score
from grader.rubric.environment import REMEDY

RUBRIC = load_rubric()
# Every control character but tab and newline, C1 included: none may reach a written report.
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def blocked(candidate: str = "cand-env") -> dict:
    return serving_stopped(perfect(candidate), "base image python:3.12-slim is not available", environment=ENVIRONMENT)


def write(document: dict, reports: Path) -> Path:
    return render_reports(document, score(document, RUBRIC), reports)


def test_markdown_says_not_graded_here_with_the_reason_and_what_to_do(tmp_path: Path) -> None:
    markdown = (write(blocked(), tmp_path) / "report.md").read_text()
    assert markdown.startswith("# cand-env: INCOMPLETE (ENVIRONMENT)\n")
    assert "FAIL" not in markdown
    assert "**Not graded here: the grader's environment, not the submission, kept a stage from running.**" in markdown
    assert f"- serving: {ENVIRONMENT.replace('|', chr(92) + '|')}" in markdown
    assert f"- What to do: {REMEDY}." in markdown
    assert "| Serving quality | \u2013 / 20 | not graded (environment): base image python:3.12-slim" in markdown
    assert "## Serving quality: \u2013 / 20" in markdown and "0 / 20" not in markdown
    # The reason is said once for the section, not once per criterion.
    assert markdown.count("| not graded (see the section) |") == 13
    stages = markdown.split("## Stages")[1].splitlines()
    stage = next(line for line in stages if line.startswith("- serving: "))
    # The stage records the problem among its reasons too: the report says it once.
    assert stage == (
        f"- serving: failed, **not run here (environment)**: {ENVIRONMENT.replace('|', chr(92) + '|')} "
        "(base image python:3.12-slim is not available)"
    )


def test_html_shows_an_incomplete_badge_and_the_environment_card(tmp_path: Path) -> None:
    page = (write(blocked(), tmp_path) / "report.html").read_text()
    assert '<span class="badge incomplete">INCOMPLETE (ENVIRONMENT)</span>' in page
    assert 'class="badge fail"' not in page and "FAIL" not in page
    card = re.search(r'<div class="card environment" id="environment">(.*?)</div>', page).group(1)
    assert "serving: base image python:3.12-slim is not on this engine" in card
    assert "What to do: fix what it names on the grading machine (a base image: pre-pull" in card
    assert "<td class=pts>\u2013 / 20</td>" in page
    assert "<b>not run here (environment):</b> base image" in page


def test_the_leaderboard_shows_incomplete_for_the_environment_never_fail(tmp_path: Path) -> None:
    cards = [score(perfect("amy"), RUBRIC), score(blocked("bob"), RUBRIC)]
    write_leaderboard(cards, tmp_path)
    rows = {row["candidate"]: row for row in csv.DictReader((tmp_path / "leaderboard.csv").open())}
    assert list(rows["amy"])[-3:] == ["backend", "environment", "review"]  # added last: column positions hold
    assert rows["amy"]["environment"] == "" and rows["amy"]["verdict"] == "pass"
    assert rows["bob"]["verdict"] == "incomplete" and rows["bob"]["serving"] == ""
    assert rows["bob"]["environment"] == f"serving: {ENVIRONMENT}"
    page = (tmp_path / "leaderboard.html").read_text()
    bob = re.search(r'<tr><td data-sort="bob">.*?</tr>', page).group(0)
    assert '<span class="incomplete">incomplete (environment)</span>' in bob
    assert '<span class="incomplete">not graded here</span>' in bob and ">not yet<" in bob
    assert '"fail"' not in bob
    assert f"What to do: {REMEDY.replace(chr(39), '&#x27;')}." in page


def test_a_stage_that_stopped_early_is_one_line_not_one_per_path(tmp_path: Path) -> None:
    document = serving_stopped(perfect(), "no Dockerfile in the submission: discovery found none", kept=())
    folder = write(document, tmp_path)
    markdown = (folder / "report.md").read_text()
    notes = markdown.split("## Rubric notes")[1].split("\n\n")[1]
    assert notes == (
        "- serving: the serving stage did not run to the end (failed: no Dockerfile in the submission: "
        "discovery found none), so 13 of its criteria read evidence it never recorded"
    )
    # Only criteria that found some of their evidence still give their own reason.
    assert [row.split(" | ")[0] for row in markdown.splitlines() if "records no" in row] == [
        "| The image builds and the service becomes healthy",
        "| A typed, validated input schema (not a free-form dict)",
    ]
    assert markdown.count(f"| {NOT_RECORDED} |") == 11
    assert "**The serving stage did not run to the end (failed: no Dockerfile in the submission" in markdown
    page = (folder / "report.html").read_text()
    assert page.count(NOT_RECORDED) == 11 and page.count("records no") == 2
    # What the reader is spared stays in report.json, path by path.
    latency = next(
        c
        for c in json.loads((folder / "report.json").read_text())["sections"]["serving"]["criteria"]
        if c["id"] == "serving.latency"
    )
    assert latency["evidence"][0]["path"] == "serving.load.profile.steps" and not latency["evidence"][0]["found"]
    assert "serving evidence records no load " in latency["reason"]


def test_no_control_character_reaches_a_written_report(tmp_path: Path) -> None:
    document = with_control_characters(blocked())
    document["serving"]["outcome"]["environment"] = document["stages"]["serving"]["environment"] = (
        "base image \x1b[31mpython:3.12-slim\x00 is missing: pre-pull it"
    )
    folder = write(document, tmp_path)
    write_leaderboard([score(document, RUBRIC)], tmp_path)
    written = [
        folder / "report.md",
        folder / "report.html",
        folder / "report.json",
        tmp_path / "leaderboard.csv",
        tmp_path / "leaderboard.html",
    ]
    for path in written:
        text = path.read_bytes().decode("utf-8")
        assert not CONTROL.search(text), (path.name, CONTROL.search(text))
        # grep reads it as text, and finds what the candidate wrote with the NULs gone.
        found = subprocess.run(["grep", "-F", "cand-env", str(path)], capture_output=True, text=True, check=False)
        assert found.returncode == 0 and "binary file" not in (found.stdout + found.stderr).lower(), path.name
    markdown = (folder / "report.md").read_text()
    assert "we watch drift" in markdown and "[31mred[0m" in markdown
    assert "python:3.12-slim is missing" in markdown
    # report.json is the evidence, escaped as JSON: the characters are kept there, not lost.
    assert "\\u0000" in (folder / "report.json").read_text()


def test_printable_keeps_newlines_and_tabs_and_drops_the_rest() -> None:
    assert printable("a\tb\nc\r\nd\re\x00f\x1b[1mg\x7fh\x85i\u00e9") == "a\tb\nc\nd\nef[1mghi\u00e9"

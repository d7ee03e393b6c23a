"""A candidate the grader's environment kept from being graded, as CI, the cohort summary and a re-run see it;
and no control character of a candidate's in any file a run writes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from cohort_kit import make_submissions, stand_in_grade
from conftest import TEST_SECRET

from grader.cohort.ci import (
    CANDIDATE_BELOW_BAR,
    GRADER_FAILED,
    NOT_GRADED_HERE,
    CiEntry,
    compact_summary,
    exit_code,
    junit_xml,
)
from grader.cohort.command import _ci_entries, _finish_ci
from grader.cohort.entries import find_submissions
from grader.cohort.gradeone import RubricReports
from grader.cohort.layout import CohortLayout
from grader.cohort.results import CohortResult, SubmissionResult
from grader.cohort.run import CohortRun, CohortSettings
from grader.cohort.state import read_states
from grader.cohort.worker import summarize
from grader.rubric import Scorecard, load_rubric, score
from grader.rubric.environment import REMEDY

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rubric"))
from synthetic import ENVIRONMENT, perfect, serving_stopped, set_check

RUBRIC = load_rubric()
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def card(candidate: str, environment: bool = False, failing: bool = False) -> Scorecard:
    document = perfect(candidate)
    if failing:
        document = set_check(document, "modeling.baseline_run", False)
    if environment:
        document = serving_stopped(document, "base image python:3.12-slim is not available", ENVIRONMENT)
    return score(document, RUBRIC)


def entry(scorecard: Scorecard) -> CiEntry:
    return CiEntry(candidate=scorecard.candidate, card=scorecard, grader_failed=False)


@pytest.mark.parametrize(
    ("fail_under", "fail_on_fail", "expected"),
    [(None, False, 0), (None, True, NOT_GRADED_HERE), (90.0, False, NOT_GRADED_HERE), (10.0, False, NOT_GRADED_HERE)],
)
def test_an_environment_blocked_candidate_never_exits_as_a_failed_one(
    fail_under: float | None, fail_on_fail: bool, expected: int
) -> None:
    assert exit_code([entry(card("cand-env", environment=True))], fail_under, fail_on_fail) == expected


def test_exit_codes_keep_their_meanings_and_their_order() -> None:
    failing, passing, blocked = entry(card("f", failing=True)), entry(card("p")), entry(card("e", environment=True))
    crashed = CiEntry(candidate="c", card=None, grader_failed=True, reasons=["the grading process died"])
    assert exit_code([failing], None, True) == CANDIDATE_BELOW_BAR
    assert exit_code([passing], None, True) == 0 and exit_code([failing], None, False) == 0
    assert exit_code([failing, blocked], None, True) == NOT_GRADED_HERE
    assert exit_code([crashed, blocked], None, True) == GRADER_FAILED
    assert len({0, CANDIDATE_BELOW_BAR, 2, GRADER_FAILED, NOT_GRADED_HERE, 130}) == 6  # 2: user error, 130: Ctrl-C


def test_junit_skips_what_could_not_run_and_fails_nothing_for_it() -> None:
    document = ET.fromstring(junit_xml([entry(card("cand-env", environment=True))]))
    suite = document.find("testsuite")
    assert suite.get("failures") == "0" and suite.get("errors") == "0"
    pass_rule = suite.find("testcase[@name='pass_rule']")
    assert pass_rule.find("failure") is None
    message = pass_rule.find("skipped").get("message")
    assert message.startswith(f"not graded here (environment): serving: {ENVIRONMENT}") and "what to do" in message
    serving = [c for c in suite.findall("testcase") if c.get("classname") == "cand-env.serving"]
    criteria = next(section.criteria for section in RUBRIC.sections if section.id == "serving")
    assert len(serving) == len(criteria) and all(c.find("skipped") is not None for c in serving)
    properties = {p.get("name"): p.get("value") for p in suite.findall("properties/property")}
    assert properties["verdict"] == "incomplete" and properties["environment"] == f"serving: {ENVIRONMENT}"
    assert "environment" not in {p.get("name") for p in ET.fromstring(junit_xml([entry(card("p"))])).iter("property")}


def test_the_ci_summary_says_not_graded_here_and_what_to_do() -> None:
    lines = compact_summary([entry(card("cand-env", environment=True))])
    assert lines[0] == "cand-env: 80/100 +5 bonus, INCOMPLETE (ENVIRONMENT) (graded, docker)"
    assert "serving not graded here (environment)" in lines[1]
    assert lines[2:] == [f"  not graded here (environment): serving: {ENVIRONMENT}", f"  what to do: {REMEDY}"]


def test_summary_markdown_shows_the_environment_and_the_remedy() -> None:
    blocked = card("cand-env", environment=True)
    results = [
        SubmissionResult(
            candidate=c.candidate,
            folder="/x",
            action="graded",
            outcome="partial",
            reasons=["serving failed: base image python:3.12-slim is not available"],
            score=summarize(c),
        )
        for c in (blocked, card("cand-ok"))
    ]
    summary = CohortResult(submissions="/s", reports="/r", jobs=1, started_at=0.0, results=results)
    text = summary.markdown()
    row = next(line for line in text.splitlines() if line.startswith("| cand-env |"))
    assert "| incomplete (environment) |" in row and "| fail" not in row
    assert f"not graded here (environment): serving: {ENVIRONMENT.replace('|', chr(92) + '|')}" in row
    assert f"What to do: {REMEDY}." in text
    assert "1 incomplete because of the grader's environment" in summary.line()
    assert results[0].headline() == "partial, 80/100 +5 incomplete (environment)"
    assert results[0].explain().startswith(f"graded; not graded here (environment): serving: {ENVIRONMENT[:40]}")


def _run(submissions: Path, reports: Path):
    settings = CohortSettings(
        spec="churn-v1",
        rows=600,
        secret=TEST_SECRET,
        demo_secret=False,
        backend="local",
        jobs=2,
        timeout_s=60,
        kill_grace_s=2,
    )
    return CohortRun(find_submissions(submissions), reports, settings, grade=stand_in_grade, hook=RubricReports()).run()


def test_a_cohort_regrades_an_environment_blocked_submission_and_writes_no_control_character(tmp_path: Path) -> None:
    submissions = make_submissions(
        tmp_path / "subs", {"cand-env": "environment", "cand-odd": "control", "cand-ok": "ok"}
    )
    reports = tmp_path / "R"
    first = _run(submissions, reports)
    assert {r.candidate: r.score.verdict_shown() for r in first.results} == {
        "cand-env": "incomplete (environment)",
        "cand-odd": "fail",
        "cand-ok": "incomplete",
    }
    assert read_states(CohortLayout(reports))["cand-env"].score.environment == {"serving": ENVIRONMENT}
    _finish_ci(_ci_entries(first, CohortLayout(reports)), reports / "junit.xml", first.markdown(), reports / "ci.md")

    written = [
        reports / name
        for name in ("summary.md", "summary.json", "leaderboard.csv", "leaderboard.html", "junit.xml", "ci.md")
    ]
    written += [reports / "cand-odd" / name for name in ("report.md", "report.html", "report.json")]
    for path in written:
        assert not CONTROL.search(path.read_text(encoding="utf-8")), path.name
        grep = subprocess.run(["grep", "-F", "cand-odd", str(path)], capture_output=True, text=True, check=False)
        assert grep.returncode == 0 and "binary file" not in (grep.stdout + grep.stderr).lower(), path.name
    assert "we watch drift" in (reports / "cand-odd" / "report.md").read_text()
    assert "cell 3 printed [31mred[0m" in (reports / "summary.md").read_text()

    again = _run(submissions, reports)
    actions = {r.candidate: (r.action, r.why) for r in again.results}
    assert actions["cand-env"] == ("graded", "retried: the grader's environment kept a stage from running last time")
    assert actions["cand-ok"][0] == "skipped" and actions["cand-odd"][0] == "skipped"
    assert json.loads((reports / "summary.json").read_text())["results"][0]["score"]["environment"] == {
        "serving": ENVIRONMENT
    }

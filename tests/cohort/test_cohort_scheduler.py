"""The cohort scheduler with stand-in grade functions: isolation, time limits, resuming, re-scoring.

Real worker processes, real files and the real report hook; only the grade function is a
stand-in (the documented plug point), so a crash or a hang can be had on purpose in seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

from cohort_kit import make_submissions, stand_in_grade

from grader.cohort.entries import find_submissions
from grader.cohort.gradeone import RubricReports
from grader.cohort.layout import CohortLayout, read_log
from grader.cohort.run import CohortRun, CohortSettings
from grader.cohort.state import read_states
from grader.rubric.model import DEFAULT_RUBRIC
from conftest import TEST_SECRET

JUNIOR_RUBRIC = DEFAULT_RUBRIC.parent / "churn-take-home-junior.toml"


def _run(submissions: Path, reports: Path, jobs: int = 2, timeout_s: float = 60, rubric: Path = DEFAULT_RUBRIC,
         **kwargs):
    settings = CohortSettings(spec="churn-v1", rows=600, secret=TEST_SECRET, demo_secret=False, backend="local",
                              jobs=jobs, timeout_s=timeout_s, kill_grace_s=2, **kwargs)
    return CohortRun(find_submissions(submissions), reports, settings, grade=stand_in_grade,
                     hook=RubricReports(rubric)).run()


def _starts(reports: Path) -> list[str]:
    return [event["candidate"] for event in read_log(CohortLayout(reports)) if event["event"] == "start"]


def test_a_crash_and_a_hang_fail_alone_and_the_rest_is_graded(tmp_path: Path) -> None:
    submissions = make_submissions(tmp_path / "subs", {"cand-a": "ok", "cand-crash": "crash", "cand-hang": "hang",
                                                       "cand-raise": "raise", "cand-z": "partial"})
    result = _run(submissions, tmp_path / "R", jobs=2, timeout_s=8)
    by = {r.candidate: r for r in result.results}
    assert by["cand-a"].outcome == "graded" and by["cand-z"].outcome == "partial"
    assert "died" in by["cand-crash"].reasons[0] and "signal" not in by["cand-crash"].reasons[0]
    assert "wall-clock limit of 8 s" in by["cand-hang"].reasons[0]
    assert by["cand-raise"].reasons == ["grader error RuntimeError: a grader bug"]
    assert {c for c, r in by.items() if r.outcome == "failed"} == {"cand-crash", "cand-hang", "cand-raise"}
    reports = tmp_path / "R"
    assert (reports / "cand-a" / "report.json").is_file() and (reports / "leaderboard.csv").is_file()
    assert "cand-a" in (reports / "leaderboard.csv").read_text()
    summary = json.loads((reports / "summary.json").read_text())
    assert [r["candidate"] for r in summary["results"]] == sorted(by)
    assert "RuntimeError" in (reports / "_cohort" / "logs" / "cand-raise.log").read_text()


def test_a_rerun_skips_what_is_done_regrades_what_changed_and_retries_failures(tmp_path: Path) -> None:
    submissions = make_submissions(tmp_path / "subs", {"cand-a": "ok", "cand-b": "ok", "cand-c": "crash"})
    reports = tmp_path / "R"
    _run(submissions, reports)
    assert sorted(_starts(reports)) == ["cand-a", "cand-b", "cand-c"]
    (submissions / "cand-b" / "README.md").write_text("changed")
    (submissions / "cand-c" / "behaviour").write_text("ok")
    second = _run(submissions, reports)
    actions = {r.candidate: (r.action, r.why) for r in second.results}
    assert actions == {"cand-a": ("skipped", "graded before, unchanged"),
                       "cand-b": ("graded", "the submission changed"),
                       "cand-c": ("graded", "retried: the last grading failed")}
    assert sorted(_starts(reports)) == ["cand-a", "cand-b", "cand-b", "cand-c", "cand-c"]
    assert all(state.done for state in read_states(CohortLayout(reports)).values())


def _overlaps(reports: Path) -> bool:
    spans = sorted(tuple(map(float, line.split()[1:])) for line in (reports / "serving-times.txt").read_text().splitlines())
    return any(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:]))


def test_serving_stages_take_turns_unless_allowed_to_overlap(tmp_path: Path) -> None:
    submissions = make_submissions(tmp_path / "subs", {"cand-a": "serve", "cand-b": "serve", "cand-c": "serve"})
    _run(submissions, tmp_path / "one-at-a-time", jobs=3)
    assert not _overlaps(tmp_path / "one-at-a-time")
    _run(submissions, tmp_path / "overlapping", jobs=3, exclusive_serving=False)
    assert _overlaps(tmp_path / "overlapping")


def test_a_rubric_change_rescores_saved_evidence_without_grading(tmp_path: Path) -> None:
    submissions = make_submissions(tmp_path / "subs", {"cand-a": "ok"})
    reports = tmp_path / "R"
    _run(submissions, reports)
    rescored = _run(submissions, reports, rubric=JUNIOR_RUBRIC)
    assert [(r.action, r.outcome) for r in rescored.results] == [("rescored", "graded")]
    assert _starts(reports) == ["cand-a"]
    report = json.loads((reports / "cand-a" / "report.json").read_text())
    assert report["rubric"]["id"] == "churn-take-home-junior"
    again = _run(submissions, reports, rubric=JUNIOR_RUBRIC)
    assert [r.action for r in again.results] == ["skipped"]

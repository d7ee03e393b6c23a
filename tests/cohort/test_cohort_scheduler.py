"""The cohort scheduler with stand-in grade functions: isolation, time limits, resuming, re-scoring.

Real worker processes, real files and the real report hook; only the grade function is a
stand-in (the documented plug point), so a crash or a hang can be had on purpose in seconds.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from cohort_kit import make_submissions, stand_in_grade
from conftest import TEST_SECRET

from grader.cohort.entries import find_submissions
from grader.cohort.gradeone import RubricReports
from grader.cohort.layout import CohortLayout, read_log
from grader.cohort.run import CohortRun, CohortSettings
from grader.cohort.state import read_states
from grader.rubric.model import DEFAULT_RUBRIC

JUNIOR_RUBRIC = DEFAULT_RUBRIC.parent / "churn-take-home-junior.toml"


def _run(
    submissions: Path, reports: Path, jobs: int = 2, timeout_s: float = 60, rubric: Path = DEFAULT_RUBRIC, **kwargs
):
    settings = CohortSettings(
        spec="churn-v1",
        rows=600,
        secret=TEST_SECRET,
        demo_secret=False,
        backend="local",
        jobs=jobs,
        timeout_s=timeout_s,
        kill_grace_s=2,
        **kwargs,
    )
    return CohortRun(
        find_submissions(submissions), reports, settings, grade=stand_in_grade, hook=RubricReports(rubric)
    ).run()


def _starts(reports: Path) -> list[str]:
    return [event["candidate"] for event in read_log(CohortLayout(reports)) if event["event"] == "start"]


def test_a_crash_and_a_hang_fail_alone_and_the_rest_is_graded(tmp_path: Path) -> None:
    submissions = make_submissions(
        tmp_path / "subs",
        {"cand-a": "ok", "cand-crash": "crash", "cand-hang": "hang", "cand-raise": "raise", "cand-z": "partial"},
    )
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
    assert actions == {
        "cand-a": ("skipped", "graded before, unchanged"),
        "cand-b": ("graded", "the submission changed"),
        "cand-c": ("graded", "retried: the last grading failed"),
    }
    assert sorted(_starts(reports)) == ["cand-a", "cand-b", "cand-b", "cand-c", "cand-c"]
    assert all(state.done for state in read_states(CohortLayout(reports)).values())


def _overlaps(reports: Path) -> bool:
    spans = sorted(
        tuple(map(float, line.split()[1:])) for line in (reports / "serving-times.txt").read_text().splitlines()
    )
    return any(later[0] < earlier[1] for earlier, later in itertools.pairwise(spans))


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


def test_waiting_for_the_serving_slot_does_not_count_against_the_time_limit(tmp_path: Path) -> None:
    # Three serving stages of 5 s take turns: the last waits about 10 s, so its wall-clock time
    # is well past 12 s while its own grading time (worker start-up included, on a busy
    # machine several seconds) stays under it.
    submissions = make_submissions(tmp_path / "subs", {f"cand-{c}": "serve-long" for c in "abc"})
    result = _run(submissions, tmp_path / "R", jobs=3, timeout_s=12)
    assert {r.candidate: r.outcome for r in result.results} == {
        "cand-a": "graded",
        "cand-b": "graded",
        "cand-c": "graded",
    }
    spans = sorted(float(line.split()[2]) for line in (tmp_path / "R" / "serving-times.txt").read_text().splitlines())
    assert spans[-1] - spans[0] >= 10.0  # the stages really took turns


_ORPHAN_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from pathlib import Path
from cohort_kit import stand_in_grade
from grader.cohort.entries import find_submissions
from grader.cohort.run import CohortRun, CohortSettings
settings = CohortSettings(spec="churn-v1", rows=600, secret=b"s", demo_secret=False, backend="local", jobs=2,
                          timeout_s=600, kill_grace_s=2)
CohortRun(find_submissions(Path({subs!r})), Path({reports!r}), settings, grade=stand_in_grade).run()
"""


def test_workers_stop_when_the_cohort_process_is_killed(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    import psutil

    submissions = make_submissions(tmp_path / "subs", {"cand-a": "hang", "cand-b": "hang"})
    script = _ORPHAN_SCRIPT.format(tests=str(Path(__file__).parent), subs=str(submissions), reports=str(tmp_path / "R"))
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[psutil.Process] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(workers) < 2:
        time.sleep(0.3)
        workers = [p for p in psutil.Process(parent.pid).children() if "spawn_main" in " ".join(p.cmdline())]
    assert len(workers) == 2
    time.sleep(1.0)  # let them reach the stand-in grade
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    _gone, alive = psutil.wait_procs(workers, timeout=15)
    for process in alive:
        process.kill()
    assert not alive, f"{len(alive)} worker(s) outlived the cohort process"


def test_a_merge_keeps_the_hiring_decision_made_on_its_input(tmp_path: Path) -> None:
    from grader.cohort.merge import merge

    submissions = make_submissions(tmp_path / "subs", {"cand-a": "ok"})
    reports = tmp_path / "R"
    _run(submissions, reports, jobs=1)
    decision = '{"schema_version": "decision/2", "candidate": "cand-a"}\n'
    (reports / "cand-a" / "decision.json").write_text(decision)
    merge([reports], tmp_path / "M", RubricReports(DEFAULT_RUBRIC))
    assert (tmp_path / "M" / "cand-a" / "decision.json").read_text() == decision

"""A real cohort end to end: reference submissions graded in parallel, killed, resumed, merged.

`python -m grader grade` runs as its own process group with `--jobs 2` in the
Docker sandbox; once the first submission is finished the whole group gets SIGKILL, and
a second run must finish the rest without grading anything twice. Then a second cohort
folder, "graded on another machine" with a changed submission, is merged with the first.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from conftest import docker_client_or_skip

from grader.cohort.layout import CohortLayout, read_log
from grader.cohort.state import read_states
from grader.rubric import load_rubric

pytestmark = [pytest.mark.slow, pytest.mark.docker, pytest.mark.timeout(900)]
REFERENCE = Path(__file__).resolve().parents[2] / "reference"
ROWS = "12000"
SECRET = "cohort-e2e-secret"
# Short load steps and a kept layer cache: the same probes as real grading, just quicker.
QUICK_SERVING = (
    "load_rates = [50.0, 100.0]\nload_step_s = 2.0\nload_warmup_s = 0.5\nquality_budget_s = 30.0\n"
    "keep_layer_cache = true\n"
)
CANDIDATES = ["minimal", "strong", "tiny-broken"]


def _tiny_broken(folder: Path, message: str) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("import pandas as pd\ndf = pd.read_parquet('data/churn.parquet')"),
        nbformat.v4.new_code_cell(f"raise RuntimeError({message!r})"),
    ]
    folder.mkdir(parents=True)
    nbformat.write(notebook, folder / "analysis.ipynb")


def _grade(submissions: Path, reports: Path, settings: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "grader",
        "grade",
        str(submissions),
        "--out",
        str(reports),
        "--jobs",
        "2",
        "--rows",
        ROWS,
        "--backend",
        "docker",
        "--serving-settings",
        str(settings),
        "--ci",
        *extra,
    ]


def _env() -> dict[str, str]:
    return {**os.environ, "GRADER_SECRET": SECRET, "COLUMNS": "160"}


@dataclass
class KilledAndResumed:
    reports: Path
    submissions: Path
    settings: Path
    done_at_kill: set[str]
    events: list[dict]
    second: subprocess.CompletedProcess


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> KilledAndResumed:
    docker_client_or_skip().close()
    root = tmp_path_factory.mktemp("cohort")
    submissions = root / "submissions"
    submissions.mkdir()
    for variant in ("strong", "minimal"):
        shutil.copytree(REFERENCE / variant, submissions / variant)
    _tiny_broken(submissions / "tiny-broken", "unfinished")
    settings = root / "quick-serving.toml"
    settings.write_text(QUICK_SERVING)
    reports = root / "REPORTS"
    layout = CohortLayout(reports)
    with open(root / "first.log", "w") as log:
        first = subprocess.Popen(
            _grade(submissions, reports, settings),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_env(),
            start_new_session=True,
        )
        deadline = time.monotonic() + 480
        while time.monotonic() < deadline and first.poll() is None:
            if any(event["event"] == "end" for event in read_log(layout)):
                break
            time.sleep(0.5)
        assert first.poll() is None, (root / "first.log").read_text()[-3000:]
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    done_at_kill = {candidate for candidate, state in read_states(layout).items() if state.done}
    second = subprocess.run(
        _grade(submissions, reports, settings, "--clean-leftovers"),
        capture_output=True,
        text=True,
        env=_env(),
        timeout=600,
    )
    return KilledAndResumed(reports, submissions, settings, done_at_kill, read_log(layout), second)


def test_a_killed_run_resumes_and_grades_every_submission_once(cohort: KilledAndResumed) -> None:
    assert cohort.second.returncode == 0, cohort.second.stdout[-3000:] + cohort.second.stderr[-3000:]
    assert cohort.done_at_kill and cohort.done_at_kill != set(CANDIDATES)
    runs = [i for i, event in enumerate(cohort.events) if event["event"] == "run"]
    assert len(runs) == 2
    resumed = cohort.events[runs[1] :]
    started_again = [event["candidate"] for event in resumed if event["event"] == "start"]
    assert sorted(started_again) == sorted(set(CANDIDATES) - cohort.done_at_kill)
    assert sorted(e["candidate"] for e in resumed if e["event"] == "skip") == sorted(cohort.done_at_kill)
    states = read_states(CohortLayout(cohort.reports))
    assert {c: s.outcome for c, s in states.items()} == {
        "minimal": "graded",
        "strong": "graded",
        "tiny-broken": "partial",
    }
    assert any("unfinished" in reason for reason in states["tiny-broken"].reasons)
    assert "cleaned what an earlier, stopped run left" in cohort.second.stderr
    leftovers = [p for folder in (cohort.reports, cohort.reports / "_graded") for p in folder.glob(".*")]
    assert not leftovers
    assert not CohortLayout(cohort.reports).work.exists()


def test_reports_leaderboard_and_ci_output(cohort: KilledAndResumed) -> None:
    reports = cohort.reports
    for candidate in CANDIDATES:
        report = json.loads((reports / candidate / "report.json").read_text())
        assert report["candidate"] == candidate
    leaderboard = (reports / "leaderboard.csv").read_text()
    assert all(candidate in leaderboard for candidate in CANDIDATES)
    strong = json.loads((reports / "strong" / "report.json").read_text())
    assert strong["verdict"] == "pass"
    assert "strong:" in cohort.second.stdout and "PASS" in cohort.second.stdout
    assert "| minimal | graded |" in (reports / "summary.md").read_text()
    junit = ET.parse(reports / "junit.xml").getroot()
    criteria = sum(len(section.criteria) for section in load_rubric().sections)
    for suite in junit.findall("testsuite"):
        cases = suite.findall("testcase")
        by_class = [c for c in cases if c.get("classname").count(".") == 1 and ".red_flags" not in c.get("classname")]
        assert len(by_class) == criteria, suite.get("name")
        assert not suite.findall("testcase/error")
    verdict = {s.get("name"): s.find("testcase[@name='pass_rule']") for s in junit.findall("testsuite")}
    assert verdict["strong"].find("failure") is None and verdict["minimal"].find("failure") is not None


def test_fail_on_fail_turns_a_failing_candidate_into_exit_1(cohort: KilledAndResumed) -> None:
    rerun = subprocess.run(
        _grade(cohort.submissions, cohort.reports, cohort.settings, "--fail-on-fail"),
        capture_output=True,
        text=True,
        env=_env(),
        timeout=300,
    )
    assert rerun.returncode == 1, rerun.stderr[-2000:]
    assert "0 graded in this run" in rerun.stderr


def test_merging_results_from_two_machines_keeps_the_newest_and_reports_conflicts(
    cohort: KilledAndResumed, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "submissions"
    _tiny_broken(elsewhere / "tiny-broken", "changed after the first grading")
    other = tmp_path / "REPORTS-other"
    graded = subprocess.run(
        _grade(elsewhere, other, cohort.settings), capture_output=True, text=True, env=_env(), timeout=300
    )
    assert graded.returncode == 0, graded.stderr[-2000:]
    merged = tmp_path / "LEADERBOARD"
    run = subprocess.run(
        [sys.executable, "-m", "grader", "merge", str(cohort.reports), str(other), "--out", str(merged)],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    record = json.loads((merged / "merge.json").read_text())
    assert record["kept"] == {"minimal": str(cohort.reports), "strong": str(cohort.reports), "tiny-broken": str(other)}
    (conflict,) = record["conflicts"]
    assert conflict["candidate"] == "tiny-broken" and conflict["kind"] == "conflict"
    assert "tiny-broken: conflict" in run.stderr
    states = read_states(CohortLayout(merged))
    assert set(states) == set(CANDIDATES)
    assert all((merged / candidate / "report.html").is_file() for candidate in CANDIDATES)
    assert (
        "changed after the first grading"
        in (merged / "_graded" / "tiny-broken" / "notebooks" / "analysis.ipynb").read_text()
    )
    copy = tmp_path / "REPORTS-copy"
    shutil.copytree(cohort.reports, copy)
    twice = subprocess.run(
        [sys.executable, "-m", "grader", "merge", str(cohort.reports), str(copy), "--out", str(tmp_path / "TWICE")],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=300,
    )
    assert twice.returncode == 0, twice.stderr[-2000:]
    conflicts = json.loads((tmp_path / "TWICE" / "merge.json").read_text())["conflicts"]
    kinds = {c["candidate"]: c["kind"] for c in conflicts}
    assert kinds == {candidate: "duplicate" for candidate in CANDIDATES}

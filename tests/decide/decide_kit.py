"""Real files for decision tests: scorecards written as interviewers write them, and practical
reports rendered by grader.report from the synthetic evidence of tests/rubric (the default
import mode puts this folder on sys.path)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rubric"))
from synthetic import AUDIT_IDS, perfect, set_check, writeup

from grader.decide.bank import load_guide
from grader.report import render_reports
from grader.rubric import load_rubric, score

GUIDE = load_guide()
RUBRIC = load_rubric()

# The guide's mix for a mid-level role: 4 technical across difficulties, 2 behavioral, 1 role-fit.
TECHNICAL = ("lightgbm-vs-neural-net", "churn-week-one-audit", "calibration", "offline-online-gap")
BEHAVIORAL = ("model-killed-in-production", "paged-for-ml-incident")
ROLE_FIT = ("on-call",)
BALANCED = TECHNICAL + BEHAVIORAL + ROLE_FIT


def scores(value: int, ids: tuple[str, ...] = BALANCED) -> dict[str, int]:
    return dict.fromkeys(ids, value)


def toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_scorecard(
    folder: Path,
    interviewer: str,
    answers: dict[str, int],
    candidate: str = "cand-1",
    red_flags: tuple[str, ...] = (),
    role_level: str = "mid",
    extra: str = "",
) -> Path:
    """SCORECARDS/<candidate>/<interviewer>.toml: bank ids and scores, red flags by id, `extra` TOML appended."""
    lines = [
        "schema_version = 1",
        f"candidate = {toml_string(candidate)}",
        f"interviewer = {toml_string(interviewer)}",
        "date = 2026-05-04",
        f"role_level = {toml_string(role_level)}",
        'notes = "written by a test"',
        "",
    ]
    for question_id, value in answers.items():
        lines += ["[[question]]", f"id = {toml_string(question_id)}", f"score = {value}", ""]
    for flag in red_flags:
        lines += ["[[red_flag]]", f"id = {toml_string(flag)}", 'note = "seen in the interview"', ""]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{interviewer}.toml"
    path.write_text("\n".join(lines) + extra, encoding="utf-8")
    return path


def failing(candidate: str = "cand-1") -> dict:
    """Evidence that fails the practical on points alone (61/100) and raises no red flag."""
    document = perfect(candidate)
    document["writeup"] = writeup(strength=0.1)
    for check_id in AUDIT_IDS:
        if check_id != "leak_excluded":
            document = set_check(document, f"audit.{check_id}", False)
    return document


def write_report(reports: Path, candidate: str = "cand-1", document: dict | None = None, **checks: bool) -> Path:
    """REPORTS/<candidate>/report.json|md|html as `grader report` renders them from evidence (perfect unless
    given); `checks` flip evidence checks, e.g. write_report(reports, **{"modeling.baseline_run": False})."""
    document = document or perfect(candidate)
    for path, passed in checks.items():
        document = set_check(document, path, passed)
    return render_reports(document, score(document, RUBRIC), reports) / "report.json"

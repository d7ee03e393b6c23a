"""The decision in the candidate's report.html and report.md and in the cohort leaderboard."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from decide_kit import GUIDE, RUBRIC, failing, scores, write_report, write_scorecard
from synthetic import perfect

from grader.decide.decision import load_decision, write_decision
from grader.decide.rule import decide
from grader.decide.scorecard import load_scorecards
from grader.errors import BadInput
from grader.report import render_reports, rerender
from grader.report.html import render_html
from grader.report.markdown import render_markdown
from grader.report.plots import all_plots
from grader.report.render import load_report, show_decision
from grader.rubric import score

HOSTILE = '<script>alert("x")</script>'


def decided(tmp_path: Path, report: Path, **scorecard_options) -> Path:
    """Two interviewers 2 points apart on calibration, a ticked red flag, a short mix; decision.json written."""
    cards = tmp_path / "SCORECARDS"
    write_scorecard(cards, "a.lee", {**scores(4), "calibration": 4}, red_flags=("cannot_explain_lora",),
                    **scorecard_options)
    write_scorecard(cards, "m.jones", {"calibration": 2, "on-call": 3}, **scorecard_options)
    made = decide("cand-1", load_scorecards(cards, "cand-1", GUIDE), load_report(report), str(report), GUIDE)
    return write_decision(made, report.parent / "decision.json")


def test_report_html_shows_the_hiring_decision(tmp_path: Path) -> None:
    report = write_report(tmp_path / "REPORTS")
    decided(tmp_path, report)
    assert sorted(p.name for p in show_decision(report.parent)) == ["report.html", "report.md"]
    html = (report.parent / "report.html").read_text()
    section = html[html.index('id="hiring-decision"'):html.index("<!-- /hiring-decision -->")]
    assert 'class="badge fail">NO HIRE</span>' in section
    assert "red flags: 1 of the guide&#x27;s list raised: cannot_explain_lora (interview: a.lee)" in section
    assert "Claims experience with LLM fine-tuning but cannot explain LoRA." in section
    assert "<td>technical</td><td class=pts>4</td><td class=pts>3.75</td>" in section
    assert "Interview mix" not in section  # a.lee alone asked the guide's mix
    assert "Interviewers 2+ points apart" in section and "a.lee <b>4</b>, m.jones <b>2</b>" in section
    assert section.count('<span class="met">met</span>') == 4 and section.count("not met") == 1
    markdown = (report.parent / "report.md").read_text()
    assert "## Hiring decision: NO HIRE" in markdown and "| calibration" not in markdown
    assert "- **not met**: red flags: 1 of the guide's list raised" in markdown
    assert "| When would you pick LightGBM" not in markdown and "| What does calibration mean" in markdown


def test_splicing_the_decision_gives_the_page_a_full_render_gives(tmp_path: Path) -> None:
    report = write_report(tmp_path / "REPORTS")
    decided(tmp_path, report)
    show_decision(report.parent)
    card = load_report(report)
    decision = load_decision(report.parent)
    assert (report.parent / "report.html").read_text() == render_html(card, all_plots(perfect()), decision)
    assert (report.parent / "report.md").read_text() == render_markdown(card, decision)


def test_re_rendering_the_reports_keeps_the_decision(tmp_path: Path) -> None:
    graded = tmp_path / "graded" / "cand-1"
    graded.mkdir(parents=True)
    (graded / "evidence.json").write_text(json.dumps(perfect()))
    reports = tmp_path / "REPORTS"
    rerender([graded], reports, RUBRIC)
    decision = decided(tmp_path, reports / "cand-1" / "report.json")
    before = decision.read_bytes()
    rerender([graded], reports, RUBRIC)
    assert (reports / "cand-1" / "decision.json").read_bytes() == before
    assert "Hiring decision" in (reports / "cand-1" / "report.html").read_text()
    rows = list(csv.DictReader((reports / "leaderboard.csv").open()))
    assert rows[0]["decision"] == "no hire"
    assert 'class="fail">no hire</span>' in (reports / "leaderboard.html").read_text()


def test_a_decision_older_than_the_report_says_so(tmp_path: Path) -> None:
    report = write_report(tmp_path / "REPORTS")
    decided(tmp_path, report)
    document = failing()
    render_reports(document, score(document, RUBRIC), tmp_path / "REPORTS")
    html = (report.parent / "report.html").read_text()
    assert "the practical report changed since this decision (was pass 100, now fail 65.17)" in html
    assert "run <code>grader decide</code> again" in html
    assert "**the practical report changed since this decision" in (report.parent / "report.md").read_text()


def test_interviewer_text_is_escaped(tmp_path: Path) -> None:
    report = write_report(tmp_path / "REPORTS")
    cards = tmp_path / "SCORECARDS"
    hostile = f'\n[[question]]\ntext = "{HOSTILE.replace(chr(34), chr(39))}"\ncategory = "role-fit"\nscore = 4\n'
    write_scorecard(cards, "a.lee", scores(3), extra=hostile)
    write_scorecard(cards, "m.jones", {}, extra=hostile.replace("score = 4", "score = 1"))
    made = decide("cand-1", load_scorecards(cards, "cand-1", GUIDE), load_report(report), str(report), GUIDE)
    write_decision(made, report.parent / "decision.json")
    show_decision(report.parent)
    html = (report.parent / "report.html").read_text()
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "<script>" not in (report.parent / "report.md").read_text()


def test_a_broken_decision_file_is_a_clear_error(tmp_path: Path) -> None:
    report = write_report(tmp_path / "REPORTS")
    (report.parent / "decision.json").write_text('{"schema_version": "decision/1"}')
    with pytest.raises(BadInput, match=r"decision\.json is not a decision/1 file .*run `grader decide` again"):
        write_report(tmp_path / "REPORTS")

"""The decision in the candidate's report.html and report.md and in the cohort leaderboard."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
from decide_kit import GUIDE, RUBRIC, failing, scores, write_report, write_scorecard
from synthetic import perfect

from grader.decide.rule import decide
from grader.decide.scorecard import load_scorecards
from grader.decision import load_decision, write_decision
from grader.errors import BadInput
from grader.report import render_reports, rerender, write_leaderboard
from grader.report.html import render_html
from grader.report.markdown import render_markdown
from grader.report.plots import all_plots
from grader.report.readme import readme_notes
from grader.report.render import load_report, show_decision
from grader.rubric import score

HOSTILE = '<script>alert("x")</script>'


def decided(tmp_path: Path, report: Path, **scorecard_options) -> Path:
    """Two interviewers 2 points apart on calibration, a ticked red flag, a short mix; decision.json written."""
    cards = tmp_path / "SCORECARDS"
    write_scorecard(
        cards, "a.lee", {**scores(4), "calibration": 4}, red_flags=("cannot_explain_lora",), **scorecard_options
    )
    write_scorecard(cards, "m.jones", {"calibration": 2, "on-call": 3}, **scorecard_options)
    made = decide("cand-1", load_scorecards(cards, "cand-1", GUIDE), load_report(report), str(report), GUIDE)
    return write_decision(made, report.parent / "decision.json")


def test_report_html_shows_the_hiring_decision(tmp_path: Path) -> None:
    report = write_report(tmp_path / "REPORTS")
    decided(tmp_path, report)
    assert sorted(p.name for p in show_decision(report.parent)) == ["report.html", "report.md"]
    html = (report.parent / "report.html").read_text()
    section = html[html.index('id="hiring-decision"') : html.index("<!-- /hiring-decision -->")]
    assert 'class="badge fail">NO HIRE</span>' in section
    assert "red flags: 1 of the guide&#x27;s list raised: cannot_explain_lora (interview: a.lee)" in section
    assert "Claims experience with LLM fine-tuning but cannot explain LoRA." in section
    assert "<td>technical</td><td class=pts>4</td><td class=pts>3.75</td>" in section
    # a.lee asked the guide's mix; m.jones's two questions fall short, and the warnings name the scorecard.
    assert (
        "<li>m.jones (m.jones.toml): 1 technical question(s) asked; the guide asks for 4-6 for a mid role</li>"
        in section
        and "a.lee (a.lee.toml)" not in section
    )
    assert "Interviewers 2+ points apart" in section and "a.lee <b>4</b>, m.jones <b>2</b>" in section
    assert section.count('<span class="met">met</span>') == 2 and section.count("not met") == 1
    markdown = (report.parent / "report.md").read_text()
    assert "## Hiring decision: NO HIRE" in markdown
    assert "- **not met**: red flags: 1 of the guide's list raised" in markdown
    assert (
        "| What does calibration mean for a classification model, and how do you fix a miscalibrated model? "
        "(`calibration`) | technical, medium | a.lee 4, m.jones 2 | 3.00 |" in markdown
    )
    assert "| What does calibration mean" in markdown.split("interviewers 2+ points apart on")[1]


def test_splicing_the_decision_gives_the_page_a_full_render_gives(tmp_path: Path) -> None:
    report = write_report(tmp_path / "REPORTS")
    decided(tmp_path, report)
    show_decision(report.parent)
    card = load_report(report)
    decision = load_decision(report.parent)
    notes = readme_notes(perfect())
    assert (report.parent / "report.html").read_text() == render_html(card, all_plots(perfect()), decision, notes)
    assert (report.parent / "report.md").read_text() == render_markdown(card, decision, notes)


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


def hired(tmp_path: Path, report: Path) -> Path:
    """One interviewer, the guide's mix, all 3s: with a passing practical, a hire."""
    write_scorecard(tmp_path / "HIRED", "m.jones", scores(3))
    made = decide(
        "cand-1", load_scorecards(tmp_path / "HIRED", "cand-1", GUIDE), load_report(report), str(report), GUIDE
    )
    assert made.hire
    return write_decision(made, report.parent / "decision.json")


def test_a_decision_older_than_the_report_shows_as_stale(tmp_path: Path) -> None:
    report = write_report(tmp_path / "REPORTS")
    hired(tmp_path, report)
    document = failing()
    card = score(document, RUBRIC)
    render_reports(document, card, tmp_path / "REPORTS")
    write_leaderboard([card], tmp_path / "REPORTS")
    html = (report.parent / "report.html").read_text()
    section = html[html.index('id="hiring-decision"') : html.index("<!-- /hiring-decision -->")]
    assert '<span class="badge stale">STALE</span>' in section and "badge pass" not in section
    assert (
        "the practical report changed after this decision: run <code>grader decide</code> again" in section
        and "was pass 100, now fail 60.66" in section
    )
    assert "met practical test" not in section and "HIRE" not in section.replace("Hiring", "")
    markdown = (report.parent / "report.md").read_text()
    assert "## Hiring decision: STALE" in markdown and "## Hiring decision: HIRE" not in markdown
    assert "**the practical report changed after this decision: run `grader decide` again.**" in markdown
    rows = list(csv.DictReader((tmp_path / "REPORTS" / "leaderboard.csv").open()))
    assert rows[0]["decision"] == "hire (stale)"
    assert '<span class="stale">hire (stale)</span>' in (tmp_path / "REPORTS" / "leaderboard.html").read_text()
    # Decided again, it is current (and a no hire now).
    assert (
        decide(
            "cand-1", load_scorecards(tmp_path / "HIRED", "cand-1", GUIDE), load_report(report), str(report), GUIDE
        ).stale_against(card)
        is None
    )


def test_a_decision_made_before_any_report_is_stale_once_there_is_one(tmp_path: Path) -> None:
    write_scorecard(tmp_path / "cards", "m.jones", scores(3))
    made = decide("cand-1", load_scorecards(tmp_path / "cards", "cand-1", GUIDE), None, "", GUIDE)
    write_decision(made, tmp_path / "REPORTS" / "cand-1" / "decision.json")
    report = write_report(tmp_path / "REPORTS")
    write_leaderboard([load_report(report)], tmp_path / "REPORTS")
    rows = list(csv.DictReader((tmp_path / "REPORTS" / "leaderboard.csv").open()))
    assert rows[0]["decision"] == "no hire (stale)"
    assert (
        "decided before the practical report existed, which is now pass 100"
        in report.with_name("report.md").read_text()
    )


def test_notes_and_questions_outside_the_bank_show_in_the_reports(tmp_path: Path) -> None:
    report = write_report(tmp_path / "REPORTS")
    extra = (
        '\n[[question]]\ntext = "Which team would you join first?"\ncategory = "role-fit"\nscore = 3\n'
        f'notes = "{HOSTILE.replace(chr(34), chr(39))} picked pricing"\n'
    )
    path = write_scorecard(tmp_path / "cards", "m.jones", scores(3), extra=extra)
    path.write_text(path.read_text().replace('notes = "written by a test"', 'notes = "Calm <b>under</b> pressure."'))
    made = decide(
        "cand-1", load_scorecards(tmp_path / "cards", "cand-1", GUIDE), load_report(report), str(report), GUIDE
    )
    write_decision(made, report.parent / "decision.json")
    show_decision(report.parent)
    html = (report.parent / "report.html").read_text()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; picked pricing" in html and "<script>alert" not in html
    assert "Calm &lt;b&gt;under&lt;/b&gt; pressure." in html
    assert (
        "<td>Which team would you join first?<div class='muted small'><span class=\"tag\">outside the bank</span>"
        in html
    )
    markdown = (report.parent / "report.md").read_text()
    assert "| Which team would you join first? *(outside the bank)* | role-fit | m.jones 3 | 3.00 |" in markdown
    assert "- m.jones: Calm &lt;b>under&lt;/b> pressure." in markdown and "<script>" not in markdown


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


@pytest.mark.parametrize("content", ['{"schema_version": "decision/1"}', "{", '{"candidate": "other"'])
def test_a_broken_decision_file_is_warned_about_once_and_ignored(
    tmp_path: Path, content: str, capsys: pytest.CaptureFixture[str]
) -> None:
    report = write_report(tmp_path / "REPORTS")
    (report.parent / "decision.json").write_text(content)
    capsys.readouterr()
    graded = tmp_path / "graded" / "cand-1"
    graded.mkdir(parents=True)
    (graded / "evidence.json").write_text(json.dumps(perfect()))
    rerender([graded], tmp_path / "REPORTS", RUBRIC)  # the report, then the leaderboard: both read it
    warnings = capsys.readouterr().err
    assert warnings.count("warning:") == 1 and f"{report.parent / 'decision.json'} is not a decision/2 file" in warnings
    assert "Hiring decision" not in (report.parent / "report.html").read_text()
    assert next(iter(csv.DictReader((tmp_path / "REPORTS" / "leaderboard.csv").open())))["decision"] == ""
    assert (report.parent / "decision.json").read_text() == content  # kept for `grader decide` to redo
    with pytest.raises(BadInput, match=r"decision\.json is not a decision/2 file .*run `grader decide` again"):
        load_decision(report.parent)


def test_another_candidates_decision_is_ignored(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = write_report(tmp_path / "REPORTS")
    other = write_report(tmp_path / "OTHER", "cand-2")
    write_scorecard(tmp_path / "cards", "m.jones", scores(3), candidate="cand-2")
    made = decide("cand-2", load_scorecards(tmp_path / "cards", "cand-2", GUIDE), load_report(other), str(other), GUIDE)
    write_decision(made, report.parent / "decision.json")
    write_leaderboard([load_report(report)], tmp_path / "REPORTS")
    assert "is the decision for cand-2, not for cand-1" in capsys.readouterr().err
    assert next(iter(csv.DictReader((tmp_path / "REPORTS" / "leaderboard.csv").open())))["decision"] == ""


def fail_replace(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(source: str, target: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)


def test_a_decision_is_written_whole_or_not_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = write_report(tmp_path / "REPORTS")
    decision = hired(tmp_path, report)
    before = decision.read_bytes()
    made = load_decision(report.parent).model_copy(update={"recommendation": "no hire", "hire": False})
    fail_replace(monkeypatch)
    with pytest.raises(BadInput, match=r"cannot write .*decision\.json: No space left on device"):
        write_decision(made, decision)
    assert decision.read_bytes() == before
    assert sorted(p.name for p in report.parent.iterdir()) == [
        "decision.json",
        "report.html",
        "report.json",
        "report.md",
    ]


def test_showing_a_decision_rewrites_a_report_whole_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = write_report(tmp_path / "REPORTS")
    hired(tmp_path, report)
    before = {name: (report.parent / name).read_bytes() for name in ("report.html", "report.md")}
    fail_replace(monkeypatch)
    with pytest.raises(OSError):
        show_decision(report.parent)
    assert {name: (report.parent / name).read_bytes() for name in before} == before
    assert not [p for p in report.parent.iterdir() if p.name.startswith(".")]

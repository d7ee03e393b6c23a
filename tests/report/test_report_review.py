"""The review verdict and the debrief questions in report.json, report.md, report.html and the leaderboard."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rubric"))
from synthetic import PLATFORM_SENTENCE, perfect, set_check, with_review

from grader.report import render_reports, write_leaderboard
from grader.report.render import load_report
from grader.rubric import Scorecard, load_rubric, score

RUBRIC = load_rubric()
SCHEMA = Path(__file__).resolve().parents[2] / "grader" / "report" / "SCHEMA.md"
HOSTILE = '<script>alert("x")</script>'


def reviewed(candidate: str = "cand-1", sentence: str = PLATFORM_SENTENCE) -> dict:
    """Strong evidence that lost a few points, and one README sentence for a person."""
    document = set_check(perfect(candidate), "modeling.calibrated_model", False)
    document = set_check(document, "audit.label_window_checked", False)
    document = set_check(document, "serving.dockerfile.healthcheck", False)
    return with_review(document, sentence)


def render(document: dict, reports: Path) -> Path:
    return render_reports(document, score(document, RUBRIC), reports)


def test_report_json_carries_the_review_verdict_its_items_and_the_debrief(tmp_path: Path) -> None:
    folder = render(reviewed(), tmp_path)
    payload = json.loads((folder / "report.json").read_text())
    assert payload["verdict"] == "review" and payload["passed"] is False and payload["red_flags"] == []
    (item,) = payload["review"]
    assert item["flag"] == "deployment_not_my_problem" and item["status"] == "open"
    assert item["quotes"][0]["text"] == PLATFORM_SENTENCE
    topics = [q["topic"] for q in payload["debrief"]]
    assert topics == [
        "audit.label_window",
        "modeling.calibrated_model",
        "serving.container_practices",
        "red_flag.deployment_not_my_problem",
    ]
    assert all(q["evidence"] for q in payload["debrief"])
    assert Scorecard.model_validate(payload) == load_report(folder)


def test_report_md_shows_review_as_needing_a_person_and_lists_the_debrief(tmp_path: Path) -> None:
    folder = render(reviewed(), tmp_path)
    card = load_report(folder)
    markdown = (folder / "report.md").read_text()
    assert markdown.startswith("# cand-1: REVIEW (NEEDS A PERSON)\n")
    assert "FAIL" not in markdown and "PASS" not in markdown
    assert "## Needs a person: README review items" in markdown
    assert "- **open: a person decides**: resembles `deployment_not_my_problem`" in markdown
    assert f"`README.md, line 1`: \u201c{PLATFORM_SENTENCE}\u201d" in markdown
    assert "## Debrief questions for the interviewer" in markdown
    for number, question in enumerate(card.debrief, 1):
        assert f"{number}. **{question.question}**" in markdown
        assert f"Evidence: {question.evidence}" in markdown
    assert "Guide question `churn-week-one-audit`." in markdown


def test_report_html_shows_review_and_the_debrief_with_candidate_text_escaped(tmp_path: Path) -> None:
    document = reviewed()
    document["writeup"]["review"][0]["quotes"][0]["text"] += HOSTILE  # as if the README's own markup reached it
    folder = render(document, tmp_path)
    page = (folder / "report.html").read_text()
    assert '<span class="badge review">REVIEW (NEEDS A PERSON)</span>' in page
    assert '<div class="card" id="review"><h2>Needs a person: README review items</h2>' in page
    assert '<div class="card" id="debrief"><h2>Debrief questions for the interviewer</h2><ol>' in page
    assert page.count("<li><b>") >= 4 and "guide question <code>churn-week-one-audit</code>" in page
    assert HOSTILE not in page and "&lt;script&gt;" in page


def test_the_leaderboard_shows_review_as_needing_a_person_never_as_pass_or_fail(tmp_path: Path) -> None:
    reports = tmp_path / "REPORTS"
    cards = [score(reviewed("amy"), RUBRIC), score(perfect("bob"), RUBRIC)]
    write_leaderboard(cards, reports)
    rows = {row["candidate"]: row for row in csv.DictReader((reports / "leaderboard.csv").open())}
    assert list(rows["amy"])[-1] == "review"  # added last: column positions hold
    assert (rows["amy"]["verdict"], rows["amy"]["passed"], rows["amy"]["review"]) == (
        "review",
        "False",
        "deployment_not_my_problem",
    )
    assert (rows["bob"]["verdict"], rows["bob"]["review"]) == ("pass", "")
    page = (reports / "leaderboard.html").read_text()
    assert '<span class="review">review (needs a person)</span>' in page and "not yet" in page


def test_every_report_json_field_is_documented_in_the_schema() -> None:
    schema = SCHEMA.read_text()
    for field in Scorecard.model_fields:
        assert f"`{field}`" in schema, field
    assert '`"review"`' in schema and "debrief" in schema

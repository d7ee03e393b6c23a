"""A candidate whose verdict is review, as CI and the cohort summary see it: needing a person, never a failure."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from grader.cohort.ci import (
    CANDIDATE_BELOW_BAR,
    GRADER_FAILED,
    NEEDS_REVIEW,
    NOT_GRADED_HERE,
    CiEntry,
    compact_summary,
    exit_code,
    junit_xml,
)
from grader.cohort.results import CohortResult, SubmissionResult
from grader.cohort.worker import summarize
from grader.rubric import Scorecard, load_rubric, score

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rubric"))
from synthetic import ENVIRONMENT, PLATFORM_SENTENCE, perfect, serving_stopped, set_check, with_review

RUBRIC = load_rubric()


def entry(document: dict) -> CiEntry:
    card: Scorecard = score(document, RUBRIC)
    return CiEntry(candidate=card.candidate, card=card, grader_failed=False)


def test_review_exits_with_its_own_code_only_when_asked_and_after_the_graders_own_problems() -> None:
    review = entry(with_review(perfect("r")))
    failing = entry(set_check(perfect("f"), "modeling.baseline_run", False))
    blocked = entry(serving_stopped(perfect("e"), "base image python:3.12-slim is not available", ENVIRONMENT))
    crashed = CiEntry(candidate="c", card=None, grader_failed=True, reasons=["the grading process died"])
    assert review.card.verdict == "review"
    assert exit_code([review], None, False) == 0 and exit_code([review], 90.0, False) == 0
    assert exit_code([review], None, True) == NEEDS_REVIEW
    assert exit_code([review, failing], None, True) == NEEDS_REVIEW
    assert exit_code([review, blocked], None, True) == NOT_GRADED_HERE
    assert exit_code([review, crashed], None, True) == GRADER_FAILED
    assert len({0, CANDIDATE_BELOW_BAR, 2, GRADER_FAILED, NOT_GRADED_HERE, NEEDS_REVIEW, 130}) == 7


def test_ci_output_says_a_person_decides_and_junit_fails_nothing_for_it() -> None:
    review = entry(with_review(perfect("r")))
    lines = compact_summary([review])
    assert lines[0].startswith("r: 100/100 +5 bonus, REVIEW (NEEDS A PERSON)")
    assert f"  needs a person: README wording resembles deployment_not_my_problem: {PLATFORM_SENTENCE}" in lines
    suite = ET.fromstring(junit_xml([review])).find("testsuite")
    assert suite.get("failures") == "0"
    skipped = suite.find("testcase[@name='pass_rule']/skipped")
    assert skipped is not None and skipped.get("message").startswith("review (needs a person): ")


def test_the_cohort_summary_shows_review_as_needing_a_person() -> None:
    card = score(with_review(perfect("r")), RUBRIC)
    summary = summarize(card)
    assert summary.review == ["deployment_not_my_problem"] and summary.verdict_shown() == "review (needs a person)"
    result = CohortResult(
        submissions="S",
        reports="R",
        jobs=1,
        started_at=0.0,
        results=[SubmissionResult(candidate="r", folder="r", action="graded", outcome="graded", score=summary)],
    )
    row = next(line for line in result.markdown().splitlines() if line.startswith("| r |"))
    assert "| review (needs a person) |" in row
    assert "a person decides on README wording like deployment_not_my_problem" in row

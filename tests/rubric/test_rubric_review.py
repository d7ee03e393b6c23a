"""The `review` verdict: README wording that suggests a red flag goes to a person, never to a failure.

Nothing measured fails the candidate and the writeup recorded a review item: the verdict is
review, quoting it. A measured red flag or a total under the pass mark still fails; an
environment-blocked stage still makes it incomplete; a reviewer's red_flag override confirms
the item (it counts as the flag) or clears it (the verdict the rest gives).
"""

from __future__ import annotations

from pathlib import Path

from synthetic import (
    AUDIT_IDS,
    ENVIRONMENT,
    PLATFORM_SENTENCE,
    perfect,
    serving_stopped,
    set_check,
    with_review,
    writeup,
)

from grader.rubric import load_rubric, parse_overrides, score
from grader.rubric.model import DEFAULT_RUBRIC

RUBRIC = load_rubric()
FLAG = "deployment_not_my_problem"


def settle(raised: bool) -> str:
    return f"""
[[override]]
candidate = "cand-1"
red_flag = "{FLAG}"
raised = {"true" if raised else "false"}
reason = "asked in the debrief: they own the service"
reviewer = "m.jones"
"""


def test_strong_evidence_with_one_wording_item_is_review_not_pass_and_not_fail() -> None:
    card = score(with_review(perfect()), RUBRIC)
    assert card.verdict == "review" and card.passed is False
    assert card.red_flags == [] and card.total == 100
    (item,) = card.review
    assert (item.flag, item.check, item.status, item.override) == (FLAG, "deployment_disowned", "open", None)
    assert item.message == "Treats production deployment as someone else's problem."
    (line,) = [reason for reason in card.verdict_reasons if reason.startswith("review:")]
    # The quote, the flag it resembles (id and words), and why it is only for review.
    assert f"README.md line 1: \u201c{PLATFORM_SENTENCE}\u201d" in line and line.count(PLATFORM_SENTENCE) == 1
    assert f"red flag {FLAG} (\u201c{item.message}\u201d)" in line
    assert item.why in line and "Only README wording, not measured evidence" in line
    assert card.summary()["review"] == FLAG


def test_a_measured_red_flag_still_fails() -> None:
    document = with_review(set_check(perfect(), "modeling.baseline_run", False))
    card = score(document, RUBRIC)
    assert card.verdict == "fail" and [f.id for f in card.red_flags] == ["no_baseline"]
    assert card.review[0].status == "open"  # still shown for a person, but it decides nothing here
    # The same flag measured: no service in the submission.
    document = with_review(perfect())
    document["submission"] = dict(document["submission"], service=None)
    assert score(document, RUBRIC).verdict == "fail"


def test_a_total_under_the_pass_mark_still_fails() -> None:
    document = perfect()
    document["writeup"] = writeup(strength=0.1)
    for check_id in AUDIT_IDS:
        if check_id != "leak_excluded":
            document = set_check(document, f"audit.{check_id}", False)
    card = score(with_review(document), RUBRIC)
    assert card.total < 70 and card.verdict == "fail" and card.red_flags == []
    assert not any(reason.startswith("review:") for reason in card.verdict_reasons)


def test_an_environment_blocked_stage_stays_incomplete() -> None:
    document = serving_stopped(perfect(), "base image python:3.12-slim is not available", ENVIRONMENT)
    card = score(with_review(document), RUBRIC)
    assert card.verdict == "incomplete" and card.environment


def test_a_reviewer_confirms_the_item_and_it_counts_as_the_flag() -> None:
    card = score(with_review(perfect()), RUBRIC, parse_overrides(settle(True), RUBRIC))
    assert card.verdict == "fail" and [f.id for f in card.red_flags] == [FLAG]
    (item,) = card.review
    assert item.status == "confirmed" and item.override is not None
    assert (item.override.reviewer, item.override.reason) == ("m.jones", "asked in the debrief: they own the service")
    assert card.flag(FLAG).override == item.override and card.overrides_applied == 1
    assert f"README review item {FLAG} confirmed by m.jones: asked in the debrief: they own the service" in (
        card.verdict_reasons
    )
    assert card.summary()["review"] is None


def test_a_reviewer_clears_the_item_and_the_rest_decides() -> None:
    card = score(with_review(perfect()), RUBRIC, parse_overrides(settle(False), RUBRIC))
    assert card.verdict == "pass" and card.passed and card.red_flags == []
    (item,) = card.review
    assert item.status == "cleared" and item.override.value is False and card.overrides_applied == 1
    assert any(reason.startswith(f"README review item {FLAG} cleared by m.jones") for reason in card.verdict_reasons)
    # Cleared, a review item asks the interviewer nothing more.
    assert not any(q.topic == f"red_flag.{FLAG}" for q in card.debrief)


def test_wording_about_a_flag_the_rubric_does_not_have_is_not_for_review() -> None:
    junior = load_rubric(Path(DEFAULT_RUBRIC).with_name("churn-take-home-junior.toml"))
    assert FLAG not in {flag.id for flag in junior.red_flags}
    card = score(with_review(perfect()), junior)
    assert card.review == [] and card.verdict != "review"


def test_no_review_items_no_review() -> None:
    card = score(perfect(), RUBRIC)
    assert card.verdict == "pass" and card.review == [] and card.summary()["review"] is None

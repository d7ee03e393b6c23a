"""Debrief questions: three to five follow-ups where the evidence was weak, missing or contradictory.

Most points lost first, one per section before a second from any section, at most five; each
cites its evidence; none for a criterion at full points.
"""

from __future__ import annotations

import copy

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

from grader.rubric import load_rubric, score
from grader.rubric.debrief import MAX_QUESTIONS

RUBRIC = load_rubric()


def weaken(document: dict, concept: str, strength: float) -> dict:
    changed = copy.deepcopy(document)
    check = next(c for c in changed["writeup"]["checks"] if c["id"] == f"covers.{concept}")
    check["figures"]["strength"] = strength
    check["detail"] = f"{concept}: named, no threshold, window or named test"
    return changed


def flawed() -> dict:
    """Points lost in every section: audit 5, modeling 3.5 + 1 + 1, serving 3, judgment 1."""
    document = set_check(perfect(), "audit.leak_named", False)
    for path in ("modeling.time_split", "modeling.group_split", "modeling.hyperparameter_search"):
        document = set_check(document, path, False)
    document = set_check(document, "modeling.claim_matches_holdout", False)
    for path in ("serving.bad_input.handled", "serving.bad_input.no_5xx"):
        document = set_check(document, path, False)
    return weaken(document, "data_drift", 0.5)


def test_most_points_lost_first_one_per_section_before_a_second_and_at_most_five() -> None:
    card = score(flawed(), RUBRIC)
    assert [(q.topic, q.lost) for q in card.debrief] == [
        ("audit.leak_named", 5.0),
        ("modeling.validation_split", 3.5),
        ("serving.bad_input", 3.0),
        ("judgment.data_drift", 1.0),
        # The second from modeling: a tie in points lost goes to the rubric's order.
        ("modeling.hyperparameter_search", 1.0),
    ]
    assert len(card.debrief) == MAX_QUESTIONS == 5
    assert score(flawed(), RUBRIC).debrief == card.debrief  # deterministic


def test_each_question_cites_its_evidence_and_none_is_at_full_points() -> None:
    card = score(flawed(), RUBRIC)
    for question in card.debrief:
        criterion = card.criterion(question.topic)
        assert criterion.points < criterion.max and question.lost == round(criterion.max - criterion.points, 2)
        assert question.question.endswith("?") or question.question.endswith(".")
        cited = [o.detail for o in criterion.evidence] + [criterion.reason]
        assert question.evidence and any(question.evidence in text for text in cited), question
    by_topic = {q.topic: q for q in card.debrief}
    assert by_topic["audit.leak_named"].evidence == "leak_named set to False"
    assert (
        by_topic["audit.leak_named"].kind == "missing" and by_topic["audit.leak_named"].bank == "churn-week-one-audit"
    )
    assert by_topic["judgment.data_drift"].kind == "weak"
    assert by_topic["judgment.data_drift"].evidence == "data_drift: named, no threshold, window or named test"
    assert by_topic["judgment.data_drift"].quotes[0].text == "we watch data_drift weekly at 0.1"
    validation = by_topic["modeling.validation_split"]
    assert validation.bank == "time-series-cross-validation" and "out-of-time split" in validation.question


def test_three_when_three_criteria_lost_points_and_fewer_only_when_fewer_did() -> None:
    assert score(perfect(), RUBRIC).debrief == []
    one = score(set_check(perfect(), "modeling.calibrated_model", False), RUBRIC)
    assert [q.topic for q in one.debrief] == ["modeling.calibrated_model"]
    document = set_check(perfect(), "modeling.calibrated_model", False)
    document = set_check(document, "modeling.lift_table", False)
    artifacts = next(c for c in document["modeling"]["checks"] if c["id"] == "evaluation_artifacts_logged")
    artifacts["detail"] = "calibration.png, pr_curve.png"  # no lift table logged either
    document = weaken(document, "rollback", 0.25)
    three = score(document, RUBRIC)
    assert sorted(q.topic for q in three.debrief) == [
        "judgment.rollback",
        "modeling.calibrated_model",
        "modeling.lift_table",
    ]
    # Many losses: never more than five.
    failing = perfect()
    failing["writeup"] = writeup(strength=0.1)
    for check_id in AUDIT_IDS:
        failing = set_check(failing, f"audit.{check_id}", False)
    assert len(score(failing, RUBRIC).debrief) == MAX_QUESTIONS


def test_a_logged_figure_the_holdout_denies_is_contradictory() -> None:
    card = score(set_check(perfect(), "modeling.claim_matches_holdout", False), RUBRIC)
    (question,) = card.debrief
    assert (question.topic, question.kind, question.bank) == (
        "modeling.honest_claim",
        "contradictory",
        "offline-online-gap",
    )
    assert question.evidence == "claim_matches_holdout set to False"


def test_a_readme_number_against_their_own_evidence_is_contradictory_with_both_quotes() -> None:
    document = perfect()
    consistency = next(c for c in document["writeup"]["checks"] if c["id"] == "consistency")
    readme = {"source": "README.md", "cell": None, "line": 12, "text": "Alert when PSI on tenure_months exceeds 0.9."}
    measured = {"source": "notebooks/01_audit.ipynb", "cell": 7, "line": None, "text": "PSI tenure_months 0.04"}
    consistency.update(
        passed=False,
        detail="2 claim(s) about the work checked: 1 hold, 1 contradicted; PSI 0.9: far above anything measured",
        quotes=[readme, measured],
        figures={"claims": 2, "held": 1, "contradicted": 1, "score": 0.0},
    )
    (question,) = score(document, RUBRIC).debrief
    assert (question.topic, question.kind) == ("judgment.consistency", "contradictory")
    assert [q.text for q in question.quotes] == [readme["text"], measured["text"]]
    assert "PSI 0.9: far above anything measured" in question.evidence


def test_an_open_review_item_is_asked_about_with_its_quote() -> None:
    card = score(with_review(set_check(perfect(), "modeling.calibrated_model", False)), RUBRIC)
    assert [q.topic for q in card.debrief] == ["modeling.calibrated_model", "red_flag.deployment_not_my_problem"]
    question = card.debrief[1]
    assert question.kind == "contradictory" and question.section == "review" and question.bank == "on-call"
    assert question.question.startswith(f"You wrote \u201c{PLATFORM_SENTENCE}\u201d: ")
    assert question.evidence == card.review[0].why
    assert [q.text for q in question.quotes] == [PLATFORM_SENTENCE]


def test_a_section_the_environment_kept_from_grading_is_not_asked_about() -> None:
    document = serving_stopped(perfect(), "base image python:3.12-slim is not available", ENVIRONMENT)
    card = score(set_check(document, "modeling.calibrated_model", False), RUBRIC)
    assert [q.topic for q in card.debrief] == ["modeling.calibrated_model"]

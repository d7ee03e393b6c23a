"""Red-flag wording is read as the interview guide means it, and goes to a reviewer, never to a failure.

Measured before: 'Deployment goes through the platform team's Kubernetes cluster, and I own the
on-call rotation' raised deployment_not_my_problem, and 'Alert when weekly AUC drops by 0.05'
raised roc_auc_on_rare_class, though the guide's flag needs ROC-AUC 'called great'.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from candidate import strong_work

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rubric"))
from synthetic import set_check

from grader.rubric import load_rubric, score
from grader.writeup import judge_context, judge_document, parse
from grader.writeup.evidence import AS_WORDED, WEAKER

REFERENCE = Path(__file__).resolve().parents[2] / "reference"
RUBRIC = load_rubric()
PLATFORM = "Deployment goes through the platform team's Kubernetes cluster, and I own the on-call rotation."
WEEKLY_AUC = "Alert when weekly AUC drops by 0.05."


@pytest.fixture(scope="module")
def key(make_world):
    return make_world("writeup-review", 3000).key


@pytest.fixture(scope="module")
def work(key) -> dict:
    return strong_work(key)


def graded(text: str, key, document: dict):
    context = judge_context(key, document["audit"], document["modeling"], None, document.get("mlflow"))
    writeup = judge_document(parse(text), context)
    scored = dict(document, writeup=writeup.model_dump(mode="json"))
    return writeup, score(scored, RUBRIC)


@pytest.mark.parametrize(
    ("sentence", "flag", "check"),
    [
        (PLATFORM, "deployment_not_my_problem", "deployment_disowned"),
        (WEEKLY_AUC, "roc_auc_on_rare_class", "roc_auc_headline"),
    ],
)
def test_the_two_measured_sentences_are_review_items_not_red_flags(key, work, sentence, flag, check) -> None:
    writeup, card = graded(f"{sentence}\n", key, work)
    (item,) = writeup.review
    assert (item.flag, item.check, item.reading) == (flag, check, WEAKER)
    assert item.quotes[0].text == sentence and item.quotes[0].line == 1 and item.why
    assert writeup.check(check).passed is False  # not the guide's wording
    assert flag not in {f.id for f in card.red_flags}


def test_the_platform_team_sentence_says_why_it_is_probably_not_the_flag(key, work) -> None:
    writeup, _ = graded(f"{PLATFORM}\n", key, work)
    assert "also claims ownership" in writeup.review[0].why


@pytest.mark.parametrize("sentence", [PLATFORM, WEEKLY_AUC])
def test_strong_readme_with_either_sentence_appended_is_not_a_fail(key, work, sentence) -> None:
    text = (REFERENCE / "strong" / "README.md").read_text() + f"\n{sentence}\n"
    writeup, card = graded(text, key, work)
    # Either sentence is a review item (strong reports PR-AUC, yet the added alert watches ROC-AUC):
    # the verdict is `review`, a person decides; never `fail`.
    assert writeup.review and card.verdict == "review" and card.red_flags == []
    assert card.sections["judgment"].score >= 20


def test_the_guides_wording_is_a_review_item_as_worded_and_a_flag_only_when_measured(key, work) -> None:
    text = (
        "The model reaches a ROC-AUC of about 0.97 on the test set, which is a great result for churn.\n\n"
        "Deployment is out of scope for me: the platform team will handle it when they have time.\n"
    )
    writeup, card = graded(text, key, work)
    readings = {item.flag: item.reading for item in writeup.review}
    assert readings == {"roc_auc_on_rare_class": AS_WORDED, "deployment_not_my_problem": AS_WORDED}
    assert writeup.check("roc_auc_headline").passed and writeup.check("deployment_disowned").passed
    assert not {"roc_auc_on_rare_class", "deployment_not_my_problem"} & {f.id for f in card.red_flags}
    # Measured: ROC-AUC is the only ranking metric the notebook shows, or there is no service at all.
    measured = set_check(work, "modeling.roc_auc_only", True)
    measured["submission"] = dict(measured["submission"], service=None)
    _, card = graded(text, key, measured)
    assert {"roc_auc_on_rare_class", "deployment_not_my_problem"} <= {f.id for f in card.red_flags}


def test_an_offline_promotion_is_for_review_unless_the_holdout_shows_the_gap(key, work) -> None:
    text = "A scheduled job retrains monthly and promotes the new model if its AUC is better than the current one.\n"
    writeup, card = graded(text, key, work)
    (item,) = [i for i in writeup.review if i.flag == "offline_online_confusion"]
    assert item.reading == WEAKER and item.quotes[0].line == 1
    assert writeup.check("promotes_on_offline_metric").passed and not writeup.check("online_evaluation").passed
    assert "offline_online_confusion" not in {f.id for f in card.red_flags}
    _, card = graded(text, key, set_check(work, "modeling.claim_matches_holdout", False))
    assert "offline_online_confusion" in {f.id for f in card.red_flags}


def test_an_offline_gate_next_to_an_online_test_is_not_for_review(key, work) -> None:
    text = (
        "A refit model only replaces the live one when it beats it on the newest month's PR-AUC.\n\n"
        "A random 10 % of the top decile is never contacted: that control group is the online test.\n"
    )
    writeup, _ = graded(text, key, work)
    assert writeup.review == [] and not writeup.check("promotes_on_offline_metric").passed

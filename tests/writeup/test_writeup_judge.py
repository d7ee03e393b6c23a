"""README judgment on real text: a strong README, platitudes, keyword stuffing, 5,000 words, empty and binary.

Each README is judged against a real generated world's answer key and scored by the shipped
rubric's judgment section, so these tests pin what a hiring manager would see.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rubric"))
from synthetic import perfect, set_check

from grader.evidence import Check
from grader.rubric import load_rubric, score
from grader.writeup import (
    WRITEUP_CHECK_IDS,
    HeuristicJudge,
    JudgeContext,
    WriteupEvidence,
    collect_writeup,
    judge_context,
    judge_document,
    parse,
)

SAMPLES = Path(__file__).resolve().parent / "samples"
RUBRIC = load_rubric()


@pytest.fixture(scope="module")
def key(make_world):
    return make_world("writeup-candidate", 3000).key


def strong_text(key) -> str:
    return (
        (SAMPLES / "strong.md")
        .read_text()
        .format(
            leak=key.leak.column,
            drift=key.covariate_drift[0].column,
            drift_month=key.covariate_drift[0].from_month,
            mnar=key.missing_not_at_random.column,
            concept=key.concept_drift.column,
        )
    )


def work_evidence(**changes: bool) -> dict:
    """Audit and modeling evidence of a thorough notebook (synthetic), with `changes` flipped."""
    document = perfect()
    for path, passed in changes.items():
        document = set_check(document, path.replace("__", "."), passed)
    return document


def judged(text: str, key=None, document: dict | None = None, cohort: dict | None = None) -> WriteupEvidence:
    document = document or work_evidence()
    context = judge_context(key, document["audit"], document["modeling"], cohort)
    return judge_document(parse(text), context)


def judgment(writeup: WriteupEvidence, document: dict | None = None):
    document = dict(document or perfect())
    document["writeup"] = writeup.model_dump(mode="json")
    return score(document, RUBRIC)


def strengths(writeup: WriteupEvidence) -> dict[str, float]:
    return {c.id.removeprefix("covers."): c.figures["strength"] for c in writeup.checks if c.id.startswith("covers.")}


def test_strong_readme_scores_high_with_every_point_quoted(key) -> None:
    text = strong_text(key)
    writeup = judged(text, key)
    assert {c.id for c in writeup.checks} >= set(WRITEUP_CHECK_IDS)
    assert writeup.outcome.status == "ok" and 480 <= writeup.words <= 600
    covered = {concept for concept, value in strengths(writeup).items() if value >= 1.0}
    assert covered >= {
        "data_drift",
        "prediction_drift",
        "concept_drift",
        "delayed_labels",
        "business_metric",
        "calibration",
        "alert_thresholds",
        "retraining_schedule",
        "retraining_drift",
        "retraining_performance",
        "shadow_deployment",
        "ab_test",
        "rollback",
    }
    lines = text.splitlines()
    for check in writeup.checks:
        if check.id.startswith("covers.") and check.passed:
            assert check.quotes, check.id
            for quote in check.quotes:  # every quote is the candidate's text, at its line
                assert quote.source == "README.md" and quote.text[:40] in " ".join(lines[quote.line - 1 :]).replace(
                    "`", ""
                )
    own = writeup.check("own_data")
    assert own.figures["score"] == 1.0 and key.leak.column in own.detail
    assert writeup.check("monitoring_plan").passed and writeup.check("online_evaluation").passed
    card = judgment(writeup)
    assert card.sections["judgment"].score >= 21 and card.sections["judgment"].level == 4
    assert card.red_flags == []


def test_platitude_readme_scores_low_and_raises_no_monitoring_plan(key) -> None:
    writeup = judged((SAMPLES / "platitude.md").read_text(), key)
    assert max(strengths(writeup).values()) <= 0.25
    originality = writeup.check("originality")
    assert originality.figures["boilerplate_sentences"] >= 5 and "stock phrase" in originality.detail
    assert not writeup.check("monitoring_plan").passed
    card = judgment(writeup)
    assert card.sections["judgment"].score <= 3 and card.sections["judgment"].level == 1
    assert "no_monitoring_plan" in {f.id for f in card.red_flags}


def test_keyword_stuffed_readme_does_not_score_well(key) -> None:
    """Every concept named, tests and numbers included, but as lists: no sentences, no own columns."""
    stuffed = judged((SAMPLES / "stuffed.md").read_text(), key)
    assert all(value <= 0.25 for value in strengths(stuffed).values()), strengths(stuffed)
    assert all(c.passed is False for c in stuffed.checks if c.id.startswith("covers."))
    assert stuffed.check("prose").figures["share"] < 0.6
    assert stuffed.check("specificity").figures["share"] == 0
    assert stuffed.check("own_data").figures["score"] == 0
    crammed = stuffed.check("covers.shadow_deployment")
    assert "keyword fragment" in crammed.detail or "a list, not a plan" in crammed.detail
    stuffed_score = judgment(stuffed).sections["judgment"].score
    strong_score = judgment(judged(strong_text(key), key)).sections["judgment"].score
    assert stuffed_score <= 6 and stuffed_score < strong_score / 3
    assert "no_monitoring_plan" in {f.id for f in judgment(stuffed).red_flags}


def test_generic_template_sentences_score_below_a_readme_about_this_model(key) -> None:
    """Real sentences with numbers, but nothing about this data: coverage without own data or claims."""
    template = """# Monitoring plan

We compute the PSI of every input feature each day and alert when it exceeds 0.2.
We compare the weekly distribution of predicted probabilities with the training distribution using a KS test.
Ground-truth labels arrive after 30 days, so we compute PR-AUC on each matured month.
We alert when PR-AUC falls 15% below the offline estimate, and we retrain monthly on the latest data.
We check calibration monthly and alert when the expected calibration error exceeds 0.03.
A new model runs in shadow mode for two weeks before an A/B test at 10% of traffic with guardrails on error rate.
Rollback redeploys the previous model version within 5 minutes.
"""
    generic = judged(template, key)
    own = judgment(judged(strong_text(key), key)).sections["judgment"].score
    assert generic.check("own_data").figures["score"] == 0
    assert judgment(generic).sections["judgment"].score <= own - 5


def test_a_5000_word_readme_loses_the_length_points(key) -> None:
    runs = "\n".join(
        f"Run {i}: a LightGBM with {15 + i % 48} leaves and learning rate {0.01 * (1 + i % 9):.2f} reached a validation "
        f"PR-AUC of {0.15 + (i % 17) / 400:.3f}; the calibration error moved by {(i % 7) / 1000:.3f} and the top decile "
        f"lift changed by {(i % 5) / 10:.1f}, which did not change the choice of model for the service."
        for i in range(110)
    )
    text = strong_text(key) + "\n\n## Appendix: every experiment\n\n" + runs
    writeup = judged(text, key)
    assert writeup.words >= 5000
    length = writeup.check("length")
    assert not length.passed and "too long" in length.detail
    card = judgment(writeup)
    assert card.criterion("judgment.length").points == 0
    assert card.sections["judgment"].score < judgment(judged(strong_text(key), key)).sections["judgment"].score


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (bytes(range(128, 256)) * 50, "binary"),  # no text in any encoding: C1 control characters
    ],
)
def test_empty_or_binary_readme_is_recorded_and_scores_nothing(tmp_path: Path, content: bytes, problem: str) -> None:
    readme = tmp_path / "README.md"
    readme.write_bytes(content)
    writeup = collect_writeup(readme, audit=perfect()["audit"], modeling=perfect()["modeling"])
    assert writeup.outcome.status == "failed" and problem in writeup.outcome.reasons[0]
    assert {c.id for c in writeup.checks} == set(WRITEUP_CHECK_IDS)
    card = judgment(writeup)
    assert card.sections["judgment"].score == 0 and "no_monitoring_plan" in {f.id for f in card.red_flags}


def test_no_readme_at_all_or_one_that_is_not_a_file(tmp_path: Path) -> None:
    writeup = collect_writeup(None)
    assert writeup.outcome.status == "failed" and writeup.outcome.reasons == ["no README in the submission"]
    secret = tmp_path / "answer_key.json"
    secret.write_text("the leak is account_flags_30d")
    link = tmp_path / "README.md"
    link.symlink_to(secret)
    linked = collect_writeup(link)
    assert linked.outcome.status == "failed" and "not a regular file" in linked.outcome.reasons[0]
    assert "account_flags_30d" not in linked.model_dump_json()


def test_claims_that_contradict_the_notebook_are_flagged(key) -> None:
    text = """# Results

Validation is out of time: the last two months are held out, and the model is calibrated with isotonic regression.
The final model reaches a PR-AUC of 0.61 on the test months, against a logistic baseline we trained first.
"""
    document = work_evidence(modeling__calibrated_model=False, modeling__time_split=False, modeling__group_split=False)
    writeup = judged(text, key, document)
    assert writeup.check("consistency.calibration").passed is False
    assert "modeling.calibrated_model says no" in writeup.check("consistency.calibration").detail
    assert writeup.check("consistency.split").passed is False
    value = writeup.check("consistency.metric_value")
    assert value.passed is False and value.figures["stated"] == 0.61 and value.figures["measured"] == 0.22
    assert value.quotes[0].line == 4
    assert writeup.check("consistency.baseline").passed is True
    aggregate = writeup.check("consistency")
    assert aggregate.passed is False and aggregate.figures["contradicted"] == 3 and aggregate.figures["score"] == 0
    consistent = judged(text.replace("0.61", "0.23"), key, work_evidence())
    assert consistent.check("consistency").figures["score"] == 1.0


def test_running_out_of_time_is_not_a_split_claim_and_denials_are_not_findings(key) -> None:
    text = (
        "I ran out of time for a tuned model, so there is only the baseline model for now.\n\n"
        "The data looks clean: there is no leakage and no duplicates in the training data.\n"
    )
    writeup = judged(text, key)
    assert writeup.check("consistency.split").passed is None
    assert writeup.check("own_data").figures["items"] == 0


def test_roc_auc_headline_and_offline_promotion_are_observed(key) -> None:
    text = (
        "The model reaches a ROC-AUC of about 0.97 on the test set, which is a great result for churn.\n\n"
        "A scheduled job retrains monthly and promotes the new model if its AUC is better than the current one.\n"
    )
    writeup = judged(text, key)
    assert writeup.check("roc_auc_headline").passed and "calls it great" in writeup.check("roc_auc_headline").detail
    assert writeup.check("promotes_on_offline_metric").passed and not writeup.check("online_evaluation").passed
    flags = {f.id for f in judgment(writeup).red_flags}
    assert {"roc_auc_on_rare_class", "offline_online_confusion"} <= flags


def test_deployment_handed_off_is_observed(key) -> None:
    writeup = judged("Deployment is out of scope for me: the platform team will handle it when they have time.\n", key)
    assert writeup.check("deployment_disowned").passed
    assert "deployment_not_my_problem" in {f.id for f in judgment(writeup).red_flags}


def test_code_blocks_comments_and_headings_do_not_count(key) -> None:
    text = """# Data drift, PSI, shadow deployment, rollback, on-call

<!-- We compute PSI daily and alert at 0.25; shadow for four weeks; rollback to the previous tag. -->

```bash
# shadow deployment with rollback; PSI alert at 0.25; on-call pager
python monitor.py --psi-alert 0.25
```
"""
    writeup = judged(text, key)
    assert max(strengths(writeup).values()) == 0


def test_shared_paragraphs_across_the_cohort_score_like_boilerplate(key) -> None:
    shared = (
        "Every night we compute the population stability index of each input feature against the last "
        "training month and page the on-call engineer when any value exceeds 0.25 for two nights in a row."
    )
    mine = f"# Monitoring\n\n{shared}\n\nWe also plot the weekly churn rate of the customers we contacted.\n"
    other = f"# Plan\n\nSomething else first, about our own features and the tenure buckets we built.\n\n{shared}\n"
    alone = judged(mine, key)
    with_cohort = judged(mine, key, cohort={"cand-2": other, "cand-3": "# Unrelated\n\nA different README entirely."})
    assert alone.check("covers.data_drift").figures["strength"] == 1.0
    assert with_cohort.check("covers.data_drift").figures["strength"] == 0.25
    originality = with_cohort.check("originality")
    assert originality.figures["shared_with"] == "cand-2" and originality.figures["shared_paragraphs"] == 1


def test_hostile_text_stays_bounded(key) -> None:
    text = "<script>alert(1)</script> " + "data drift " * 50_000 + "\n\n" + "x" * 100_000
    writeup = judged(text, key)
    assert all(len(q.text) <= 300 for c in writeup.checks for q in c.quotes)
    assert writeup.outcome.status == "ok"


class StrictJudge:
    """A stand-in for a stronger judge: starts from the heuristic checks, overrides one."""

    name = "strict-reviewer/1"

    def judge(self, document, context: JudgeContext) -> list[Check]:
        checks = [c for c in HeuristicJudge().judge(document, context) if c.id != "covers.ownership"]
        return [
            *checks,
            Check(
                id="covers.ownership", passed=False, detail="a reviewer found no named owner", figures={"strength": 0.0}
            ),
        ]


class LazyJudge:
    name = "lazy/0"

    def judge(self, document, context: JudgeContext) -> list[Check]:
        return [Check(id="length", passed=True)]


def test_a_stronger_judge_plugs_in_without_changing_the_rubric(key, tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(strong_text(key))
    writeup = collect_writeup(
        readme, key=key, audit=perfect()["audit"], modeling=perfect()["modeling"], judge=StrictJudge()
    )
    assert writeup.judge == "strict-reviewer/1"
    card = judgment(writeup)
    assert card.criterion("judgment.ownership").points == 0
    with pytest.raises(ValueError, match=r"lazy/0 returned no check for covers\.data_drift"):
        collect_writeup(readme, judge=LazyJudge())

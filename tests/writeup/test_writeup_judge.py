"""README judgment on real text against a real generated world: what a hiring manager would sign.

Each README is judged against a real world's answer key and a thorough candidate's evidence
in the shape the stages record it (`candidate.strong_work`), and scored by the shipped
rubric's judgment section. The reference cases: the strong reference's README; a generic
530-word template naming every concept with numbers and nothing of the candidate's data; a
214-word README of thin sentences; a focused README that argues for a monthly batch ranking
for a retention campaign, with a reasoned case against a shadow endpoint and p99 alerting.
"""

from __future__ import annotations

import copy
import re
import sys
from pathlib import Path

import pytest
from candidate import sample, strong_work

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rubric"))
from synthetic import perfect

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
from grader.writeup.grounding import Truth

REFERENCE = Path(__file__).resolve().parents[2] / "reference"
RUBRIC = load_rubric()
JUNIOR = load_rubric(Path(__file__).resolve().parents[2] / "rubrics" / "churn-take-home-junior.toml")


@pytest.fixture(scope="module")
def key(make_world):
    return make_world("writeup-candidate", 3000).key


@pytest.fixture(scope="module")
def work(key) -> dict:
    return strong_work(key)


def judged(text: str, key=None, document: dict | None = None, cohort: dict | None = None) -> WriteupEvidence:
    document = document or perfect()
    context = judge_context(key, document["audit"], document["modeling"], cohort, document.get("mlflow"))
    return judge_document(parse(text), context)


def judgment(writeup: WriteupEvidence, document: dict | None = None, rubric=RUBRIC):
    document = dict(document or perfect())
    document["writeup"] = writeup.model_dump(mode="json")
    return score(document, rubric)


def points(text: str, key, document: dict) -> float:
    return judgment(judged(text, key, document), document).sections["judgment"].score


def strengths(writeup: WriteupEvidence, figure: str = "strength") -> dict[str, float]:
    return {c.id.removeprefix("covers."): c.figures[figure] for c in writeup.checks if c.id.startswith("covers.")}


def test_strong_reference_readme_scores_at_least_20_with_every_point_quoted(key, work) -> None:
    text = (REFERENCE / "strong" / "README.md").read_text()
    writeup = judged(text, key, work)
    assert {c.id for c in writeup.checks} >= set(WRITEUP_CHECK_IDS)
    card = judgment(writeup, work)
    assert card.sections["judgment"].score >= 20, {c.id: c.points for c in card.sections["judgment"].criteria}
    assert card.red_flags == [] and writeup.review == []
    lines = text.splitlines()
    for check in writeup.checks:
        if check.id.startswith("covers.") and check.passed:
            assert check.quotes, check.id
            for quote in check.quotes:  # every quote is the candidate's text, starting at its line
                at = " ".join(lines[quote.line - 1 :]).replace("*", "").replace("`", "")
                assert quote.text[:30] in " ".join(at.split()), (check.id, quote)
    own = writeup.check("own_data")
    assert own.figures["score"] == 1.0 and "confirmed by audit.drift_named" in own.detail
    drift = writeup.check("covers.data_drift")
    assert drift.figures["grounded"] == 1 and "sits between the 0.01 of the stable months" in drift.detail


def test_the_generic_template_names_every_concept_and_scores_at_most_10(key, work) -> None:
    """530 words, every concept in plausible sentences with numbers, nothing of the candidate's data."""
    text = sample("generic_template.md")
    assert 500 <= len(text.split()) <= 560
    writeup = judged(text, key, work)
    uncapped = strengths(writeup, "uncapped")
    assert sum(value >= 0.5 for value in uncapped.values()) >= 9  # breadth: most concepts named and specific
    assert writeup.check("own_data").figures["score"] == 0
    assert max(strengths(writeup).values()) <= 0.35
    assert "capped at 0.35" in writeup.check("covers.data_drift").detail
    assert writeup.check("specificity").figures["score"] <= 0.35
    assert writeup.check("monitoring_plan").passed  # a plan, though a generic one: no red flag for it
    card = judgment(writeup, work)
    assert card.sections["judgment"].score <= 10
    assert card.criterion("judgment.specificity").points <= 0.6
    assert card.red_flags == []


def test_the_thin_readme_scores_at_most_8_and_a_bare_digit_is_not_specific(key, work) -> None:
    text = sample("thin.md")
    assert 200 <= parse(text).words <= 220
    writeup = judged(text, key, work)
    assert "We think that data drift is 1 of the things to watch" in text
    assert writeup.check("specificity").figures["score"] == 0
    assert writeup.check("covers.data_drift").figures["specific"] == 0
    assert judgment(writeup, work).sections["judgment"].score <= 8


def test_a_focused_readme_that_argues_for_this_use_case_scores_highest(key, work) -> None:
    focused = sample("focused.md", key)
    writeup = judged(focused, key, work)
    card = judgment(writeup, work)
    assert card.sections["judgment"].score >= 22
    assert card.sections["judgment"].score > points(sample("generic_template.md"), key, work) + 10
    # The reasoned case against a shadow endpoint and p99 alerting earns the rollout and the fit.
    rollout, fit = writeup.check("covers.rollout"), writeup.check("covers.use_case_fit")
    assert rollout.figures["strength"] == 1.0 and fit.figures["strength"] == 1.0
    assert any("shadow endpoint and p99 latency alerting matter little" in q.text for q in fit.quotes)
    # "Refit early when:" and its bullets are one statement each: the lead-in is quoted with its bullet.
    triggers = writeup.check("covers.retraining_triggers")
    assert triggers.figures["kinds"] == 3 and triggers.passed
    # "delayed ground-truth labels." then "Month T's outcome is known only at T+1": one finding, grounded.
    labels = writeup.check("covers.delayed_labels")
    assert labels.figures["strength"] == 1.0 and "Month T's outcome is known only at T+1" in labels.quotes[0].text
    assert "keyword fragment" not in labels.detail


def test_a_lead_in_line_and_its_bullets_are_one_statement(key, work) -> None:
    """Measured: 'Refit early when:' then bullets scored 'retraining triggered by drift: not covered'."""
    text = sample("focused.md", key)
    own = f"My audit found that `{key.covariate_drift[0].column}` drifts from {key.covariate_drift[0].from_month}.\n\n"
    section = own + text[text.index("## Refit early when:") : text.index("Otherwise the model")]
    writeup = judged(section.replace("## Refit early when:", "We refit early when:"), key, work)
    triggers = writeup.check("covers.retraining_triggers")
    assert triggers.passed and triggers.figures["kinds"] == 2  # drift and performance: no schedule here
    assert triggers.quotes[0].text == "We refit early when:" and triggers.quotes[1].text.startswith("PSI above 0.25")
    bullets_alone = judged(section.replace("## Refit early when:", ""), key, work)
    assert not bullets_alone.check("covers.retraining_triggers").passed


def test_a_reasoned_case_against_a_practice_that_does_not_fit_earns_the_rollout(key, work) -> None:
    """Measured: a case that shadow and A/B matter less for a monthly batch scored 'generic'."""
    own = f"My audit found that `{key.covariate_drift[0].column}` drifts from {key.covariate_drift[0].from_month}.\n\n"
    against = (
        "A shadow endpoint and p99 latency alerting matter little here, because the model scores the base once a "
        "month in a batch: there is no live traffic to mirror. A random 10 % of the top decile is never contacted "
        "instead, and that control group is the online test.\n"
    )
    customary = "A new model runs in shadow mode for 14 days, then in an A/B test on 20 % of traffic.\n"
    argued, plain = judged(own + against, key, work), judged(own + customary, key, work)
    assert argued.check("covers.rollout").figures["strength"] == 1.0
    assert argued.check("covers.use_case_fit").figures["strength"] == 1.0
    assert "a reasoned case that a practice does not fit" in argued.check("covers.use_case_fit").detail
    assert plain.check("covers.rollout").figures["strength"] <= 0.5
    assert plain.check("covers.use_case_fit").figures["strength"] < 0.5


def test_numbers_that_contradict_the_candidates_own_figures_cost_with_both_quotes(key, work) -> None:
    text = (REFERENCE / "strong" / "README.md").read_text()
    drift_psi = key.covariate_drift[0].psi_first_vs_last
    wrong = text.replace("alert at 0.25;", f"alert at {drift_psi + 1:.1f};").replace("(30 days)", "(90 days)")
    honest, contradicted = judged(text, key, work), judged(wrong, key, work)
    numbers = contradicted.check("consistency.numbers")
    assert numbers.passed is False
    assert f"would not fire on the PSI of the drifting column ({drift_psi:.2f})" in numbers.detail
    assert "90 days is not this task's label window (30 days)" in numbers.detail
    sources = [q.source for q in numbers.quotes]
    assert sources[0] == "README.md" and sources[1] == "notebooks/01_audit.ipynb"
    assert "README.md" in sources[2:] and "answer key" in sources[2:]
    assert contradicted.check("consistency").figures["score"] < honest.check("consistency").figures["score"]
    assert points(wrong, key, work) < points(text, key, work) - 1


@pytest.mark.parametrize(
    ("sentence", "kind", "evidence"),
    [
        ("We retrain when the PR-AUC falls below 0.5 on a matured month.", "PR-AUC floor", "MLflow run tuned_lightgbm"),
        ("An alert fires when the top-decile lift drops below 6x.", "lift floor", "MLflow run tuned_lightgbm"),
        ("Calibration alerts when the ECE rises above 0.005 on a month.", "ECE limit", "MLflow run tuned_lightgbm"),
        ("The churn rate of this data is about 20 % per month.", "churn rate", "notebooks/01_audit.ipynb"),
    ],
)
def test_each_kind_of_threshold_is_held_to_what_was_measured(key, work, sentence, kind, evidence) -> None:
    numbers = judged(f"# Plan\n\n{sentence}\n", key, work).check("consistency.numbers")
    assert numbers.passed is False and numbers.quotes[1].source == evidence, (kind, numbers)


def test_a_column_counts_only_as_an_identifier() -> None:
    """Measured: the English word 'plan' counted as naming the `plan` column."""
    context = JudgeContext(truth=Truth(feature_columns=("plan", "tenure_months")))

    def others(text: str) -> float:
        return judge_document(parse(text), context).check("own_data").figures["other_columns"]

    assert others("We watch churn by plan and by region every month, against the training month.\n") == 0
    assert others("We watch churn by `plan` every month, against the training month.\n") == 1
    assert others("We watch tenure_months every month, against the training month.\n") == 1
    assert others("We watch tenure months every month, against the training month.\n") == 0


def test_a_column_called_the_leak_that_is_not_the_leak_is_contradicted(key, work) -> None:
    honest = next(c for c in key.feature_columns if "_" in c and c != key.leak.column)
    writeup = judged(f"The column {honest} is a target leak, so it was dropped from the model.\n", key, work)
    findings = writeup.check("consistency.findings")
    assert findings.passed is False and f"it is {key.leak.column}" in findings.detail
    assert findings.quotes[1].source == "answer key"
    right = judged(f"The column {key.leak.column} is a target leak, so it was dropped from the model.\n", key, work)
    assert right.check("consistency.findings").passed is True


def test_platitude_readme_scores_low_and_raises_no_monitoring_plan(key) -> None:
    writeup = judged(sample("platitude.md"), key)
    assert max(strengths(writeup).values()) <= 0.25
    originality = writeup.check("originality")
    assert originality.figures["boilerplate_sentences"] >= 5 and "stock phrase" in originality.detail
    assert not writeup.check("monitoring_plan").passed
    card = judgment(writeup)
    assert card.sections["judgment"].score <= 3 and card.sections["judgment"].level == 1
    assert "no_monitoring_plan" in {f.id for f in card.red_flags}


def test_keyword_stuffed_readme_does_not_score_well(key, work) -> None:
    """Every concept named, tests and numbers included, but as lists: no sentences, no own columns."""
    stuffed = judged(sample("stuffed.md"), key, work)
    assert all(value <= 0.25 for value in strengths(stuffed).values()), strengths(stuffed)
    assert all(c.passed is False for c in stuffed.checks if c.id.startswith("covers."))
    assert stuffed.check("prose").figures["share"] < 0.6
    assert stuffed.check("specificity").figures["score"] == 0
    assert stuffed.check("own_data").figures["score"] == 0
    crammed = stuffed.check("covers.rollout")
    assert "keyword fragment" in crammed.detail or "a list, not a plan" in crammed.detail
    assert judgment(stuffed, work).sections["judgment"].score <= 5
    assert "no_monitoring_plan" in {f.id for f in judgment(stuffed, work).red_flags}


def test_the_old_strong_sample_with_own_columns_scores_high(key, work) -> None:
    writeup = judged(sample("strong.md", key), key, work)
    card = judgment(writeup, work)
    assert card.sections["judgment"].score >= 20 and card.sections["judgment"].level >= 3
    assert key.leak.column in writeup.check("own_data").detail


def test_junior_rubric_reads_the_same_checks(key, work) -> None:
    strong = judgment(judged(sample("focused.md", key), key, work), work, JUNIOR).sections["judgment"]
    generic = judgment(judged(sample("generic_template.md"), key, work), work, JUNIOR).sections["judgment"]
    assert strong.score >= 16 and generic.score <= 4


def test_a_5000_word_readme_loses_the_length_points(key, work) -> None:
    runs = "\n".join(
        f"Run {i}: a LightGBM with {15 + i % 48} leaves and learning rate {0.01 * (1 + i % 9):.2f} reached a validation "
        f"PR-AUC of {0.15 + (i % 17) / 400:.3f}; the calibration error moved by {(i % 7) / 1000:.3f} and the top decile "
        f"lift changed by {(i % 5) / 10:.1f}, which did not change the choice of model for the service."
        for i in range(110)
    )
    text = sample("strong.md", key) + "\n\n## Appendix: every experiment\n\n" + runs
    writeup = judged(text, key, work)
    assert writeup.words >= 5000
    length = writeup.check("length")
    assert not length.passed and "too long" in length.detail
    card = judgment(writeup, work)
    assert card.criterion("judgment.length").points == 0


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
    assert {c.id for c in writeup.checks} == set(WRITEUP_CHECK_IDS) and writeup.review == []
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


def test_claims_that_contradict_the_notebook_are_flagged(key, work) -> None:
    text = """# Results

Validation is out of time: the last two months are held out, and the model is calibrated with isotonic regression.
The final model reaches a PR-AUC of 0.61 on the test months, against a logistic baseline we trained first.
"""
    document = copy.deepcopy(work)
    for check in document["modeling"]["checks"]:
        if check["id"] in ("calibrated_model", "time_split", "group_split"):
            check["passed"] = False
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
    # The PR-AUC they logged (0.243) is their own figure too, not only the holdout's.
    consistent = judged(text.replace("0.61", "0.243"), key, work)
    assert consistent.check("consistency.metric_value").passed is True


def test_running_out_of_time_is_not_a_split_claim_and_denials_are_not_findings(key) -> None:
    text = (
        "I ran out of time for a tuned model, so there is only the baseline model for now.\n\n"
        "The data looks clean: there is no leakage and no duplicates in the training data.\n"
    )
    writeup = judged(text, key)
    assert writeup.check("consistency.split").passed is None
    assert writeup.check("own_data").figures["items"] == 0


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


def test_shared_paragraphs_across_the_cohort_cost_originality_not_the_concepts_and_keep_both_texts(key) -> None:
    """Who of two candidates wrote a shared paragraph is unknown: it must not zero the concepts it covers
    (the demo cohort's strong and broken-serving share one README, and strong once failed on it with
    `no_monitoring_plan`). It costs originality, and both reports show the two texts side by side."""
    shared = (
        "Every night we compute the population stability index of each input feature against the last "
        "training month and page the on-call engineer when any value exceeds 0.25 for two nights in a row."
    )
    mine = f"# Monitoring\n\n{shared}\n\nWe also plot the weekly churn rate of the customers we contacted.\n"
    theirs = (
        f"# Plan\n\nSomething else first, about our own features and the tenure buckets we built.\n\n{shared} Really.\n"
    )
    alone = judged(mine, key)
    with_cohort = judged(mine, key, cohort={"cand-2": theirs, "cand-3": "# Unrelated\n\nA different README entirely."})
    assert alone.check("covers.data_drift").figures["uncapped"] >= 0.5
    assert (
        with_cohort.check("covers.data_drift").figures["strength"]
        == alone.check("covers.data_drift").figures["strength"]
    )
    originality = with_cohort.check("originality")
    assert originality.figures["share"] < alone.check("originality").figures["share"]
    assert "shared with another candidate" in originality.detail
    assert originality.figures["shared_with"] == "cand-2" and originality.figures["shared_paragraphs"] == 1
    (pair,) = with_cohort.shared
    assert (pair.candidate, pair.line, pair.their_line) == ("cand-2", 3, 5)
    assert pair.text == shared and pair.their_text == f"{shared} Really."


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


def test_a_stronger_judge_plugs_in_without_changing_the_rubric(key, work, tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(sample("focused.md", key))
    writeup = collect_writeup(
        readme, key=key, audit=work["audit"], modeling=work["modeling"], mlflow=work["mlflow"], judge=StrictJudge()
    )
    assert writeup.judge == "strict-reviewer/1"
    card = judgment(writeup, work)
    assert card.criterion("judgment.ownership").points == 0
    with pytest.raises(ValueError, match=re.escape("lazy/0 returned no check for covers.data_drift")):
        collect_writeup(readme, judge=LazyJudge())

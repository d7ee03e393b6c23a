"""The rubric engine on synthetic evidence: section math, partial credit, levels, bonus, flags, verdict."""

from __future__ import annotations

import copy

import pytest
from synthetic import perfect, quality, set_check, without

from grader.grade import Evidence
from grader.rubric import Rubric, load_rubric, parse_rubric, score
from grader.rubric.model import DEFAULT_RUBRIC


@pytest.fixture(scope="module")
def rubric() -> Rubric:
    return load_rubric()


def section_points(card, section: str) -> float:
    return card.sections[section].score


def test_perfect_evidence_earns_every_point(rubric: Rubric) -> None:
    card = score(perfect(), rubric)
    assert card.total == 100
    assert card.bonus == 5 and card.bonus_detail is not None and card.bonus_detail.awarded
    assert card.passed and card.verdict == "pass"
    assert {s: (v.score, v.max, v.level) for s, v in card.sections.items()} == {
        "audit": (25, 25, 4),
        "modeling": (30, 30, 4),
        "serving": (20, 20, 4),
        "judgment": (25, 25, 4),
    }
    assert card.red_flags == [] and all(f.judged for f in card.red_flags_checked)
    assert card.warnings == []


def test_section_weights_follow_the_take_home(rubric: Rubric) -> None:
    assert {s.id: s.weight for s in rubric.sections} == {"audit": 25, "modeling": 30, "serving": 20, "judgment": 25}
    assert rubric.pass_rule.mark == 70 and rubric.pass_rule.max_red_flags == 0
    assert {f.id for f in rubric.red_flags} == {
        "no_baseline",
        "roc_auc_on_rare_class",
        "no_monitoring_plan",
        "deployment_not_my_problem",
        "offline_online_confusion",
        "leak_in_final_model",
        "inflated_offline_claim",
        "constant_service",
        "blanket_findings",
    }


def test_a_failed_check_costs_its_points_and_the_reason_quotes_the_evidence(rubric: Rubric) -> None:
    card = score(set_check(perfect(), "audit.drift_named", False), rubric)
    criterion = card.criterion("audit.drift_named")
    assert (criterion.points, criterion.max) == (0, 3)
    assert "no: drift_named set to False [audit.drift_named]" in criterion.reason
    assert card.total == 97
    named = card.criterion("audit.leak_named")
    assert named.points == 5 and named.evidence[0].quotes[0].text == "finding: leak_named"


def test_share_gives_partial_credit(rubric: Rubric) -> None:
    document = set_check(set_check(perfect(), "audit.drift_statistic", False), "audit.rate_by_month", False)
    criterion = score(document, rubric).criterion("audit.analyses")
    assert criterion.points == pytest.approx(3.5 * 3 / 5, abs=0.01)
    assert criterion.reason.startswith("3 of 5 hold")


@pytest.mark.parametrize(
    ("candidate_pr_auc", "expected"), [(0.22, 5.0), (0.22 * 0.6, 2.5), (0.22 * 0.35, 0.0), (0.01, 0.0), (0.3, 5.0)]
)
def test_holdout_pr_auc_scales_between_bounds_relative_to_the_oracle(
    rubric: Rubric, candidate_pr_auc: float, expected: float
) -> None:
    document = perfect()
    document["modeling"]["holdout"][0]["pr_auc"] = candidate_pr_auc
    criterion = score(document, rubric).criterion("modeling.holdout_pr_auc")
    assert criterion.points == pytest.approx(expected, abs=0.01)
    assert "modeling.holdout.oracle.pr_auc" in criterion.reason


def test_lower_is_better_scales_by_difference(rubric: Rubric) -> None:
    document = perfect()
    document["modeling"]["holdout"][0]["expected_calibration_error"] = 0.004 + 0.0175  # halfway from 0.005 to 0.03
    assert score(document, rubric).criterion("modeling.holdout_calibration").points == pytest.approx(1.75, abs=0.01)


@pytest.mark.parametrize(
    ("words", "expected"),
    [(0, 0), (100, 0), (225, 0.5), (350, 1), (500, 1), (800, 1), (1900, 0.5), (3000, 0), (5000, 0)],
)
def test_length_band_costs_too_short_and_far_too_long(rubric: Rubric, words: int, expected: float) -> None:
    document = set_check(perfect(), "writeup.length", True, words=words)
    assert score(document, rubric).criterion("judgment.length").points == pytest.approx(expected, abs=0.01)


@pytest.mark.parametrize(
    ("share", "level"), [(0.0, 1), (0.39, 1), (0.40, 2), (0.64, 2), (0.65, 3), (0.84, 3), (0.85, 4), (1.0, 4)]
)
def test_levels_follow_the_guides_scale(rubric: Rubric, share: float, level: int) -> None:
    assert rubric.levels.level(share) == level


def test_section_level_comes_from_its_share(rubric: Rubric) -> None:
    document = perfect()
    for check_id in ("leak_named", "drift_named", "mnar_named"):  # 5 + 3 + 2.5 of 25 lost: 14.5 / 25 = 0.58
        document = set_check(document, f"audit.{check_id}", False)
    audit = score(document, rubric).sections["audit"]
    assert audit.score == 14.5 and audit.level == 2 and "some points" in audit.level_meaning


def test_bonus_needs_the_leak_named_and_kept_out(rubric: Rubric) -> None:
    card = score(set_check(perfect(), "audit.leak_excluded", False), rubric)
    assert card.bonus == 0 and not card.bonus_detail.awarded
    assert "leak_in_final_model" in {f.id for f in card.red_flags}
    assert card.total == 98  # the bonus is apart: the total loses only the criterion


@pytest.mark.parametrize(
    ("path", "passed", "flag"),
    [
        ("modeling.baseline_run", False, "no_baseline"),
        ("modeling.tuned_run", False, "no_baseline"),
        ("modeling.roc_auc_only", True, "roc_auc_on_rare_class"),
        ("writeup.monitoring_plan", False, "no_monitoring_plan"),
        ("audit.leak_excluded", False, "leak_in_final_model"),
    ],
)
def test_each_red_flag_is_raised_by_its_evidence_and_fails_the_take_home(
    rubric: Rubric, path: str, passed: bool, flag: str
) -> None:
    card = score(set_check(perfect(), path, passed), rubric)
    assert [f.id for f in card.red_flags] == [flag]
    raised = card.red_flags[0]
    assert raised.message and raised.judged and path in raised.detail
    assert card.total >= 70 - 5 and not card.passed and card.verdict == "fail"
    assert any(flag in reason for reason in card.verdict_reasons)


@pytest.mark.parametrize("path", ["writeup.roc_auc_headline", "writeup.deployment_disowned"])
def test_readme_wording_alone_raises_no_red_flag(rubric: Rubric, path: str) -> None:
    """Wording goes to a reviewer (writeup.review); only measured evidence raises the guide's flags."""
    assert score(set_check(perfect(), path, True), rubric).red_flags == []


def test_offline_online_confusion_needs_the_holdout_to_show_the_gap(rubric: Rubric) -> None:
    promotes = set_check(perfect(), "writeup.promotes_on_offline_metric", True)
    assert score(promotes, rubric).red_flags == []
    worded = set_check(promotes, "writeup.online_evaluation", False)
    assert score(worded, rubric).red_flags == []
    measured = set_check(worded, "modeling.claim_matches_holdout", False)
    assert [f.id for f in score(measured, rubric).red_flags] == ["offline_online_confusion"]


def test_no_dockerfile_is_deployment_not_my_problem(rubric: Rubric) -> None:
    document = perfect()
    document["submission"]["dockerfile"] = None
    assert "deployment_not_my_problem" in {f.id for f in score(document, rubric).red_flags}


def test_missing_serving_is_not_graded_with_a_reason_and_the_verdict_incomplete(rubric: Rubric) -> None:
    document = without(perfect(), "serving")
    document["stages"]["serving"] = {"status": "failed", "reasons": ["no Dockerfile"], "duration_s": 0, "backend": None}
    card = score(document, rubric)
    serving = card.sections["serving"]
    assert not serving.graded and serving.level is None and serving.score == 0
    assert "no serving evidence" in serving.reason and "no Dockerfile" in serving.reason
    assert all(c.reason.startswith("not graded") for c in serving.criteria)
    assert card.total == 80 and card.verdict == "incomplete" and not card.passed
    assert any("not graded: serving" in r for r in card.verdict_reasons)


def test_serving_absent_from_the_document_altogether(rubric: Rubric) -> None:
    document = perfect()
    del document["serving"]
    card = score(document, rubric)
    assert not card.sections["serving"].graded and "did not run" in card.sections["serving"].reason


def test_unverifiable_evidence_gives_the_criterions_unknown_share(rubric: Rubric) -> None:
    document = perfect()
    document["serving"]["load"]["profile"]["steps"][-1].update(valid=False, invalid_reason="the probe fell behind")
    card = score(document, rubric)
    latency = card.criterion("serving.latency")
    assert latency.points == 0 and latency.reason.startswith("not verifiable")


def test_a_red_flag_without_evidence_is_not_judged_and_not_raised(rubric: Rubric) -> None:
    card = score(without(perfect(), "writeup"), rubric)
    flag = card.flag("no_monitoring_plan")
    assert not flag.raised and not flag.judged and flag.detail.startswith("could not be judged")
    assert not card.sections["judgment"].graded


def test_a_check_the_evidence_does_not_record_is_a_warning(rubric: Rubric) -> None:
    document = perfect()
    document["modeling"]["checks"] = [c for c in document["modeling"]["checks"] if c["id"] != "claim_matches_holdout"]
    card = score(document, rubric)
    assert card.criterion("modeling.honest_claim").points == 0
    assert any("claim_matches_holdout" in w for w in card.warnings)


TINY = """
schema_version = 1
id = "tiny"
title = "One criterion"
version = "0"
[pass_rule]
mark = 70
require_all_sections = false
[[sections]]
id = "audit"
title = "Audit"
weight = 100
requires = "audit"
[[sections.criteria]]
id = "share"
title = "A share"
points = 100
scale = { evidence = "audit.leak_named.share", zero_at = 0, full_at = 1 }
[[red_flags]]
id = "leak_in_final_model"
message = "leak"
all = [{ evidence = "audit.leak_excluded", is = false }]
"""


@pytest.mark.parametrize(
    ("share", "leak_excluded", "verdict"), [(0.7, True, "pass"), (0.6999, True, "fail"), (1.0, False, "fail")]
)
def test_pass_mark_and_red_flags_decide_the_verdict(share: float, leak_excluded: bool, verdict: str) -> None:
    tiny = parse_rubric(TINY)
    document = set_check(
        set_check(perfect(), "audit.leak_named", True, share=share), "audit.leak_excluded", leak_excluded
    )
    card = score(without(document, "serving"), tiny)
    assert card.verdict == verdict and card.passed is (verdict == "pass")
    assert card.sections["audit"].score == pytest.approx(100 * share, abs=0.005)


def test_scores_are_deterministic_and_evidence_models_score_like_documents(rubric: Rubric) -> None:
    document = perfect()
    first, second = score(document, rubric), score(copy.deepcopy(document), rubric)
    assert first.model_dump_json() == second.model_dump_json()
    as_model = score(Evidence.model_validate(document), rubric)
    assert as_model.sections["audit"] == first.sections["audit"]
    assert as_model.sections["modeling"] == first.sections["modeling"]
    assert as_model.sections["serving"] == first.sections["serving"]
    assert as_model.sections["judgment"] == first.sections["judgment"]


def test_the_report_contract_fields(rubric: Rubric) -> None:
    payload = score(perfect(), rubric).model_dump(mode="json")
    for field in ("schema_version", "candidate", "total", "bonus", "passed", "backend", "sections", "red_flags"):
        assert field in payload
    assert payload["schema_version"] == "report/1"
    for section in ("audit", "modeling", "serving", "judgment"):
        assert {"score", "max", "level", "criteria"} <= set(payload["sections"][section])
        for criterion in payload["sections"][section]["criteria"]:
            assert {"id", "points", "max", "reason", "evidence"} <= set(criterion)


def test_every_shipped_rubric_loads_and_scores() -> None:
    shipped = sorted(DEFAULT_RUBRIC.parent.glob("*.toml"))
    assert len(shipped) >= 2
    for path in shipped:
        card = score(perfect(), load_rubric(path))
        assert card.total == 100 and card.passed, path


def test_the_junior_rubric_loads_without_code_changes_and_scores_differently() -> None:
    junior = load_rubric(DEFAULT_RUBRIC.parent / "churn-take-home-junior.toml")
    assert junior.id == "churn-take-home-junior" and junior.pass_rule.mark == 60
    document = set_check(perfect(), "audit.drift_named", False)
    card = score(document, junior)
    assert card.rubric.id == "churn-take-home-junior"
    assert card.sections["audit"].max == 30
    assert card.criterion("audit.seeded_problems").points == pytest.approx(18 * 3 / 4)
    assert {f.id for f in card.red_flags_checked} == {
        "no_baseline",
        "leak_in_final_model",
        "inflated_offline_claim",
        "constant_service",
        "blanket_findings",
    }


# ------------------------------------------------------------------------- measured red flags


@pytest.mark.parametrize(
    ("passed", "claimed", "measured", "raised"),
    [
        (False, 0.852, 0.089, True),  # the text-stuffer's made-up tuned run against its leaky model
        (False, 0.60, 0.30, True),  # exactly twice
        (False, 0.55, 0.30, False),  # inflated (1.83x), but not twice
        (True, 0.16, 0.07, False),  # 2.29x, but 0.09 apart: small figures are noisy
        (True, 0.23, 0.22, False),
    ],
)
def test_an_offline_claim_twice_the_holdout_is_a_red_flag(
    rubric: Rubric, passed: bool, claimed: float, measured: float, raised: bool
) -> None:
    figures = {"claimed": claimed, "measured": measured, "ratio": round(claimed / measured, 2)}
    card = score(set_check(perfect(), "modeling.claim_matches_holdout", passed, **figures), rubric)
    assert ("inflated_offline_claim" in {f.id for f in card.red_flags}) is raised
    flag = card.flag("inflated_offline_claim")
    assert flag.judged and "modeling.claim_matches_holdout.ratio" in flag.detail
    assert {f.id for f in card.red_flags} <= {"inflated_offline_claim"}  # the README promotes nothing: no other flag


def test_no_claim_to_compare_leaves_the_inflated_claim_unjudged(rubric: Rubric) -> None:
    document = perfect()
    claim = next(c for c in document["modeling"]["checks"] if c["id"] == "claim_matches_holdout")
    claim.update(passed=None, detail="no logged PR-AUC to compare", figures={})
    flag = score(document, rubric).flag("inflated_offline_claim")
    assert not flag.raised and not flag.judged


@pytest.mark.parametrize(
    ("top_answer_share", "answers_std", "raised"),
    [
        (1.0, 0.0, True),  # 0.5 for everyone
        (0.995, 0.004, True),  # one value for nearly every row
        (0.0003, 1e-9, True),  # a constant dressed up with noise
        (0.1, 0.03, False),  # a coarse model: ten values, but they rank
        (0.002, 0.05, False),
    ],
)
def test_a_service_whose_answers_do_not_vary_is_a_red_flag(
    rubric: Rubric, top_answer_share: float, answers_std: float, raised: bool
) -> None:
    document = perfect()
    document["serving"]["quality"] = quality(top_answer_share=top_answer_share, answers_std=answers_std)
    card = score(document, rubric)
    assert ({f.id for f in card.red_flags} == {"constant_service"}) is raised
    assert card.flag("constant_service").judged


def test_label_answers_leave_the_constant_service_unjudged(rubric: Rubric) -> None:
    document = perfect()
    document["serving"]["quality"] = {**quality(), "top_answer_share": None, "answers_std": None}
    flag = score(document, rubric).flag("constant_service")
    assert not flag.raised and not flag.judged


@pytest.mark.parametrize(("share", "raised"), [(1.0, True), (0.513, True), (0.5, False), (0.077, False), (0.0, False)])
def test_blanket_findings_over_half_the_honest_columns_is_a_red_flag(
    rubric: Rubric, share: float, raised: bool
) -> None:
    count = round(share * 39)
    document = set_check(perfect(), "audit.blanket_flagging", count >= 3, drift=count, share=share)
    card = score(document, rubric)
    assert ({f.id for f in card.red_flags} == {"blanket_findings"}) is raised
    assert card.flag("blanket_findings").judged


# ------------------------------------------------------------------------- batch throughput


def test_latency_and_batch_throughput_share_four_points(rubric: Rubric) -> None:
    serving = {c.id: c.points for c in rubric.section("serving").criteria}
    assert serving["latency"] + serving["batch_throughput"] == 4 and sum(serving.values()) == 20


@pytest.mark.parametrize(
    ("rows_per_s", "points"),
    [(33_168 / 7.5, 1.5), (2000, 1.5), (1100, 0.75), (200, 0.0), (40, 0.0)],
)
def test_batch_throughput_scales_with_rows_per_second(rubric: Rubric, rows_per_s: float, points: float) -> None:
    document = perfect()
    document["serving"]["quality"] = quality(rows_per_s=rows_per_s)
    criterion = score(document, rubric).criterion("serving.batch_throughput")
    assert criterion.points == pytest.approx(points, abs=0.01)
    assert "serving.quality.rows_per_s" in criterion.reason


def test_a_batch_first_service_earns_throughput_without_the_real_time_bar(rubric: Rubric) -> None:
    """The issue's unconventional service: about 40 requests/s under the bar, 33,168 rows in 7.5 s through its batch route."""
    document = perfect()
    for step in document["serving"]["load"]["profile"]["steps"]:
        step["p99_ms"] = 6.0 if step["rate"] <= 40 else 900.0
    document["serving"]["quality"] = quality(rows_per_s=33_168 / 7.5)
    card = score(document, rubric)
    assert card.criterion("serving.latency").points == 0
    assert card.criterion("serving.batch_throughput").points == 1.5


def test_no_holdout_pass_leaves_throughput_unverifiable(rubric: Rubric) -> None:
    document = perfect()
    document["serving"]["quality"] = None
    criterion = score(document, rubric).criterion("serving.batch_throughput")
    assert criterion.points == 0 and criterion.reason.startswith("not verifiable")

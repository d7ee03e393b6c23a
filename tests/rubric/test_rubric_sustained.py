"""The `sustained` rule: the guide's latency bar, judged by the rubric on the load probe's steps.

The bar used to be judged by the serving stage (a `load.p99_under_bar` check against the
policy's target rate and p99) and read by the rubric as `all = [...]`. Evidence saved then
holds both that check and the steps: scored with the old rule and with the new one, it
must give the latency criterion the same points.
"""

from __future__ import annotations

import pytest
from synthetic import load_profile, perfect

from grader.rubric import Rubric, RubricError, parse_rubric, score
from grader.rubric.model import DEFAULT_RUBRIC
from grader.tomlfile import parse_toml, validate

SHIPPED = DEFAULT_RUBRIC.read_text()
# The latency criterion's points in the shipped rubric; the scenarios below give shares of them.
POINTS = validate(Rubric, parse_toml(SHIPPED, "shipped.toml")).criterion("serving.latency").points
# The shipped rule credits the highest rate held below the bar; NEW_RULE is the all-or-nothing form
# that replaced the stage's old check, compared with it below.
SHIPPED_RULE = (
    'sustained = { evidence = "serving.load.profile.steps", p99_below_ms = 100, full_at_rate = 500, zero_at_rate = 0 }'
)
NEW_RULE = 'sustained = { evidence = "serving.load.profile.steps", p99_below_ms = 100, full_at_rate = 500 }'
OLD_RULE = 'all = ["serving.load.p99_under_bar"]'
INVALID = "dispatch lag p99 9.0 ms exceeds the 5.0 ms allowed"


def old_check(steps: list[dict], target_rate: float = 500, target_p99_ms: float = 100) -> dict:
    """The serving stage's `load.p99_under_bar` check as it was computed before the bar moved to the rubric."""
    figures = {"target_rate": target_rate, "target_p99_ms": target_p99_ms}
    at_target = [s for s in steps if s["rate"] >= target_rate]
    step = min(at_target, key=lambda s: s["rate"]) if at_target else None
    if step is None:
        return {"id": "load.p99_under_bar", "passed": None, "detail": f"no step at {target_rate:g} requests/s"}
    if not step["valid"]:
        detail = f"the {step['rate']:g}/s step is invalid: {step['invalid_reason']}"
        return {"id": "load.p99_under_bar", "passed": None, "detail": detail, "figures": figures}
    detail = (
        f"p99 {step['p99_ms']:.1f} ms at {step['rate']:g} requests/s ({step['errors']} errors of {step['measured']})"
    )
    return {"id": "load.p99_under_bar", "passed": step["p99_ms"] < target_p99_ms, "detail": detail, "figures": figures}


def saved_evidence(steps: list[tuple[float, float, bool]]) -> dict:
    """An evidence.json as the grader saved it before: the steps, the old bar fields and the old check."""
    document = perfect()
    template = load_profile()["steps"][0]
    recorded = [
        {**template, "rate": rate, "p99_ms": p99, "valid": valid, "invalid_reason": None if valid else INVALID}
        for rate, p99, valid in steps
    ]
    load = document["serving"]["load"]
    load["rates"] = [rate for rate, _, _ in steps]
    load["profile"] = {"steps": recorded, "bar_rate": 500.0, "bar_p99_ms": 100.0, "bar_met": None, "bar_reason": ""}
    document["serving"]["checks"].append(old_check(recorded))
    return document


def old_rubric(text: str = SHIPPED) -> Rubric:
    """The rubric with the old latency rule; loaded past the registry, since no stage records that check now."""
    assert SHIPPED_RULE in text
    return validate(Rubric, parse_toml(text.replace(SHIPPED_RULE, OLD_RULE), "old.toml"))


def rubric_with(rule: str, unknown: float = 0.0) -> Rubric:
    return parse_rubric(SHIPPED.replace(SHIPPED_RULE, rule + (f"\nunknown = {unknown}" if unknown else "")), "new.toml")


SCENARIOS = {
    "under the bar": ([(50, 6.0, True), (100, 7.0, True), (250, 9.0, True), (500, 12.0, True)], 1.0),
    "exactly at the bar": ([(250, 9.0, True), (500, 100.0, True)], 0.0),
    "over the bar": ([(50, 6.0, True), (500, 180.0, True)], 0.0),
    "invalid step at the bar rate": ([(50, 6.0, True), (500, 40.0, False)], None),
    "no step at the bar rate": ([(50, 6.0, True), (100, 7.0, True), (250, 9.0, True)], None),
    "only a step above the bar rate": ([(750, 50.0, True)], 1.0),
    "an invalid lower step does not matter": ([(50, 6.0, False), (500, 20.0, True)], 1.0),
    "judged at the lowest step at the bar rate": ([(500, 150.0, True), (1000, 50.0, True)], 0.0),
}


@pytest.mark.parametrize("unknown", [0.0, 0.5])
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_saved_evidence_scores_the_same_under_the_old_rule_and_the_new(scenario: str, unknown: float) -> None:
    steps, share = SCENARIOS[scenario]
    document = saved_evidence(steps)
    old_text = SHIPPED.replace(SHIPPED_RULE, SHIPPED_RULE + (f"\nunknown = {unknown}" if unknown else ""))
    before = score(document, old_rubric(old_text))
    after = score(document, rubric_with(NEW_RULE, unknown))
    old, new = before.criterion("serving.latency"), after.criterion("serving.latency")
    expected = round(POINTS * (unknown if share is None else share), 2)
    assert old.points == new.points == expected, (old.reason, new.reason)
    assert (before.total, before.verdict) == (after.total, after.verdict)
    assert new.reason.startswith("not verifiable") == (share is None), new.reason
    assert new.evidence[0].path == "serving.load.profile.steps"


def test_the_reason_names_the_step_and_the_bar() -> None:
    card = score(saved_evidence(SCENARIOS["over the bar"][0]), rubric_with(NEW_RULE))
    latency = card.criterion("serving.latency")
    assert latency.reason == "no: p99 180.0 ms at 500 requests/s (0 errors of 90) [p99 < 100 ms at 500 requests/s]"
    card = score(saved_evidence(SCENARIOS["invalid step at the bar rate"][0]), rubric_with(NEW_RULE))
    assert card.criterion("serving.latency").reason == (
        f"not verifiable: unknown: the 500/s step is invalid: {INVALID} [p99 < 100 ms at 500 requests/s]"
    )


LINEAR = NEW_RULE.replace("full_at_rate = 500", "full_at_rate = 500, zero_at_rate = 100")


@pytest.mark.parametrize(
    ("steps", "share", "said"),
    [
        ([(50, 6.0, True), (100, 7.0, True), (250, 9.0, True), (500, 12.0, True)], 1.0, "yes: p99 12.0 ms"),
        ([(50, 6.0, True), (100, 7.0, True), (250, 9.0, True), (500, 150.0, True)], 0.375, "held at 250 requests/s"),
        ([(50, 6.0, True), (250, 300.0, True), (400, 9.0, True), (500, 150.0, True)], 0.75, "held at 400 requests/s"),
        ([(50, 6.0, True), (100, 7.0, True), (500, 150.0, True)], 0.0, "held at 100 requests/s"),
        ([(50, 160.0, True), (500, 150.0, True)], 0.0, "no lower step held it"),
        ([(50, 6.0, True), (250, 9.0, False), (500, 150.0, True)], 0.0, "held at 50 requests/s"),
        ([(50, 6.0, True), (250, 9.0, True), (500, 40.0, False)], None, "step is invalid"),
    ],
)
def test_zero_at_rate_gives_credit_for_the_highest_rate_held(
    steps: list[tuple[float, float, bool]], share: float | None, said: str
) -> None:
    latency = score(saved_evidence(steps), rubric_with(LINEAR)).criterion("serving.latency")
    assert latency.points == round(POINTS * (share or 0.0), 2), latency.reason
    assert said in latency.reason and latency.reason.startswith("not verifiable") == (share is None)


def test_a_sustained_rule_is_checked_when_the_rubric_loads() -> None:
    with pytest.raises(RubricError, match=r"criteria\[latency\]\.sustained: .*needs zero_at_rate < full_at_rate"):
        rubric_with(NEW_RULE.replace("full_at_rate = 500", "full_at_rate = 500, zero_at_rate = 500"))
    with pytest.raises(RubricError, match=r"p99_below_ms: Input should be greater than 0"):
        rubric_with(NEW_RULE.replace("p99_below_ms = 100", "p99_below_ms = 0"))
    with pytest.raises(RubricError, match=r"no stage records the evidence path 'serving.load.profile.stepz'"):
        rubric_with(NEW_RULE.replace("profile.steps", "profile.stepz"))
    with pytest.raises(RubricError, match="give exactly one rule of all, any, share, scale, band, sustained"):
        rubric_with(NEW_RULE + '\nall = ["serving.load.no_errors"]')
    shipped = parse_rubric(SHIPPED, "shipped.toml")
    bar = shipped.latency_bar()
    assert bar is not None and (bar.p99_below_ms, bar.full_at_rate, bar.zero_at_rate) == (100, 500, 0)


@pytest.mark.parametrize(
    ("steps", "share"),
    [
        ([(50, 6.0, True), (100, 7.0, True), (250, 9.0, True), (500, 12.0, True)], 1.0),
        ([(50, 6.0, True), (100, 7.0, True), (250, 9.0, True), (500, 150.0, True)], 0.5),
        ([(50, 6.0, True), (100, 7.0, True), (250, 180.0, True), (500, 400.0, True)], 0.2),
        ([(50, 160.0, True), (500, 150.0, True)], 0.0),
    ],
)
def test_the_shipped_rule_credits_the_highest_rate_held(steps: list[tuple[float, float, bool]], share: float) -> None:
    """Issue #15: real-time readiness by the highest rate held under p99 100 ms, full at 500 requests/s."""
    latency = score(saved_evidence(steps), parse_rubric(SHIPPED, "shipped.toml")).criterion("serving.latency")
    assert latency.points == round(POINTS * share, 2), latency.reason


def test_a_constant_service_earns_no_serving_points_that_stand_for_a_model() -> None:
    """`requires`: answering 0.5 fast is not serving a model; latency, throughput and holdout scoring need
    answers that vary. An unknown gate (no answers to judge) does not block."""
    rubric = parse_rubric(SHIPPED, "shipped.toml")
    gated = ("serving.latency", "serving.batch_throughput", "serving.holdout_through_api")
    document = saved_evidence(SCENARIOS["under the bar"][0])
    before = score(document, rubric)
    assert all(before.criterion(c).points == before.criterion(c).max for c in gated)
    document["serving"]["quality"].update(top_answer_share=1.0, answers_std=0.0)
    after = score(document, rubric)
    for criterion in gated:
        assert after.criterion(criterion).points == 0, criterion
        assert after.criterion(criterion).reason.startswith("requires: no:"), after.criterion(criterion).reason
    assert after.criterion("serving.load_errors").points == before.criterion("serving.load_errors").points
    del document["serving"]["quality"]["top_answer_share"], document["serving"]["quality"]["answers_std"]
    unknown = score(document, rubric)
    assert unknown.criterion("serving.latency").points == before.criterion("serving.latency").points

"""`audit.leak_excluded` by behaviour (grader/notebook/reliance.py), on the sandbox's sensitivity
report as score_model.py writes it. The real pass runs in tests/notebook/test_score.py."""

from __future__ import annotations

from grader.notebook.reliance import LEAK_RELATIVE_EFFECT, leak_excluded_check, model_inputs

LEAK = "cancel_requests_30d"


def report(leak_change: float | None, *, mean: float = 0.05, inputs: list[str] | None = None, **extra) -> dict:
    effects = {
        "tenure_months": {"mean_abs_change": 0.01, "share_changed": 0.3},
        "monthly_fee": {"mean_abs_change": 0.004, "share_changed": 0.1},
    }
    if leak_change is not None:
        effects[LEAK] = {"mean_abs_change": leak_change, "share_changed": 0.05}
    sensitivity = {"rows": 2000, "mean_prediction": mean, "effects": effects, "failed": {}, "unmeasured": []}
    sensitivity |= extra
    found = {"sensitivity": sensitivity}
    if inputs is not None:
        found["signature_inputs"] = inputs
    return found


def test_a_model_whose_answers_move_with_the_leak_depends_on_it_without_any_signature() -> None:
    check = leak_excluded_check(LEAK, None, report(0.03))
    assert check.passed is False
    assert check.figures["measured_by"] == "behaviour" and check.figures["leak_rank"] == 1
    assert "depends on the leak" in check.detail and "tenure_months" in check.detail


def test_behaviour_outweighs_a_signature_that_leaves_the_leak_out() -> None:
    # A pyfunc wrapper whose signature omits the leak but whose code reads it from a side channel.
    check = leak_excluded_check(LEAK, ["tenure_months", "monthly_fee"], report(0.03, inputs=["tenure_months"]))
    assert check.passed is False and check.figures["measured_by"] == "behaviour"


def test_a_model_that_ignores_the_leak_is_cleared_even_when_it_takes_the_column() -> None:
    noise = LEAK_RELATIVE_EFFECT * 0.05 / 4
    check = leak_excluded_check(LEAK, [LEAK, "tenure_months"], report(noise))
    assert check.passed is True and "does not depend" in check.detail
    assert check.figures["leak_rank"] == 3


def test_the_threshold_is_relative_to_the_mean_answer() -> None:
    at = LEAK_RELATIVE_EFFECT * 0.05
    assert leak_excluded_check(LEAK, None, report(at * 1.01)).passed is False
    assert leak_excluded_check(LEAK, None, report(at * 0.99)).passed is True


def test_without_a_measure_the_models_own_inputs_decide_and_say_why() -> None:
    unmeasured = report(None, unmeasured=[LEAK])
    check = leak_excluded_check(LEAK, [LEAK, "tenure_months"], unmeasured)
    assert check.passed is False and check.figures["measured_by"] == "inputs"
    assert "ran out of time" in check.detail
    failed = report(None, failed={LEAK: "ValueError: bad"})
    assert "failed on the replaced column" in leak_excluded_check(LEAK, ["tenure_months"], failed).detail
    assert leak_excluded_check(LEAK, ["tenure_months"], failed).passed is True


def test_nothing_known_is_not_judged() -> None:
    check = leak_excluded_check(LEAK, None, {"error": "no model"})
    assert check.passed is None and "could not be scored" in check.detail
    assert leak_excluded_check(LEAK, None, {}).passed is None


def test_model_inputs_prefer_the_signature_then_the_fitted_names() -> None:
    assert model_inputs({"signature_inputs": ["a"], "fitted_inputs": ["a", "b"]}) == ["a"]
    assert model_inputs({"fitted_inputs": ["a", "b"]}) == ["a", "b"]
    assert model_inputs({"signature_inputs": []}) is None and model_inputs(None) is None

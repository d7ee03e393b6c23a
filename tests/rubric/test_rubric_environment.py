"""Stages the grader's environment kept from running are not graded; stages that stopped early warn once."""

from __future__ import annotations

import copy

import pytest
from synthetic import ENVIRONMENT, perfect, serving_stopped, set_check

from grader.rubric import Rubric, load_rubric, parse_overrides, parse_rubric, score
from grader.rubric.environment import REMEDY
from grader.rubric.model import DEFAULT_RUBRIC

MISSING_IMAGE = "base image python:3.12-slim is not available"


@pytest.fixture(scope="module")
def rubric() -> Rubric:
    return load_rubric()


def blocked(candidate: str = "cand-1") -> dict:
    return serving_stopped(perfect(candidate), MISSING_IMAGE, environment=ENVIRONMENT)


def test_a_stage_the_environment_stopped_is_not_graded_and_costs_no_points(rubric: Rubric) -> None:
    card = score(blocked(), rubric)
    serving = card.sections["serving"]
    assert not serving.graded and serving.level is None and serving.score == 0
    assert serving.environment == ENVIRONMENT
    assert serving.reason == f"not graded (environment): {ENVIRONMENT}"
    assert all(c.reason == serving.reason and c.points == 0 and c.evidence == [] for c in serving.criteria)
    assert card.total == 80 and card.sections["audit"].score == 25


def test_the_verdict_is_incomplete_with_the_reason_and_what_to_do(rubric: Rubric) -> None:
    card = score(blocked(), rubric)
    assert card.verdict == "incomplete" and not card.passed
    assert card.environment == {"serving": ENVIRONMENT}
    assert card.verdict_reasons[0] == f"not graded (environment): serving: {ENVIRONMENT}"
    assert card.verdict_reasons[-1] == f"what to do: {REMEDY}"
    assert not any("pass mark" in reason for reason in card.verdict_reasons)


def test_incomplete_even_when_the_rubric_does_not_require_every_section() -> None:
    lenient = parse_rubric(
        DEFAULT_RUBRIC.read_text().replace("require_all_sections = true", "require_all_sections = false")
    )
    assert not lenient.pass_rule.require_all_sections
    assert score(perfect(), lenient).verdict == "pass"
    card = score(blocked(), lenient)
    assert card.verdict == "incomplete" and not card.passed and card.environment


def test_a_candidate_who_broke_their_own_build_is_graded_as_today(rubric: Rubric) -> None:
    card = score(
        serving_stopped(perfect(), "the image failed to build at step 3: pip could not resolve numpy==9"), rubric
    )
    serving = card.sections["serving"]
    assert serving.graded and serving.environment is None and card.environment == {}
    assert card.criterion("serving.builds_and_runs").points == 0
    assert card.criterion("serving.container_practices").points == 3  # the Dockerfile was still read
    assert serving.score == 3 and card.total == 83
    assert card.verdict == "pass" and card.verdict_reasons == ["total 83 reaches the pass mark 70"]


@pytest.mark.parametrize("where", ["stages", "serving.outcome"])
def test_either_record_of_the_outcome_is_enough(rubric: Rubric, where: str) -> None:
    document = blocked()
    if where == "stages":
        document["serving"]["outcome"]["environment"] = None
    else:
        document["stages"]["serving"]["environment"] = None
    card = score(document, rubric)
    assert not card.sections["serving"].graded and card.environment == {"serving": ENVIRONMENT}


def test_a_stage_no_section_reads_still_makes_the_verdict_incomplete(rubric: Rubric) -> None:
    document = perfect()
    document["stages"]["notebooks"]["environment"] = "the runner image is missing: run make test or build it"
    card = score(document, rubric)
    assert all(s.graded for s in card.sections.values()) and card.total == 100
    assert card.verdict == "incomplete" and card.environment == {
        "notebooks": document["stages"]["notebooks"]["environment"]
    }


FLAGS = """
[[red_flags]]
id = "serving_crashes"
message = "The service answers bad input with a 5xx."
all = [{ evidence = "serving.bad_input.no_5xx", is = false }]

[[red_flags]]
id = "careless_deployment"
message = "Deployment is someone else's problem."
any = [{ evidence = "serving.bad_input.no_5xx", is = false }, "writeup.deployment_disowned"]
"""


def with_flags() -> Rubric:
    return parse_rubric(DEFAULT_RUBRIC.read_text() + FLAGS)


def test_red_flags_from_a_blocked_stage_are_not_judged_and_never_raised(rubric: Rubric) -> None:
    flagged = with_flags()
    crashing = serving_stopped(
        set_check(perfect(), "serving.bad_input.no_5xx", False),
        MISSING_IMAGE,
        environment=ENVIRONMENT,
        kept=("dockerfile.", "bad_input."),
    )
    control = copy.deepcopy(crashing)
    control["serving"]["outcome"]["environment"] = control["stages"]["serving"]["environment"] = None
    assert {f.id for f in score(control, flagged).red_flags} == {"serving_crashes", "careless_deployment"}
    card = score(crashing, flagged)
    assert card.red_flags == []
    crashes = card.flag("serving_crashes")
    assert not crashes.judged and crashes.detail.startswith("could not be judged")
    assert crashes.environment == f"serving: {ENVIRONMENT}"
    assert crashes.evidence[0].holds is None and "could not run here" in crashes.evidence[0].detail


def test_a_flag_with_evidence_from_another_stage_is_still_judged_on_it(rubric: Rubric) -> None:
    flagged = with_flags()
    disowned = serving_stopped(
        set_check(perfect(), "writeup.deployment_disowned", True), MISSING_IMAGE, environment=ENVIRONMENT
    )
    card = score(disowned, flagged)
    assert "careless_deployment" in {f.id for f in card.red_flags}
    assert card.flag("careless_deployment").judged and card.flag("careless_deployment").environment is None
    assert card.verdict == "incomplete"  # a flag is shown, but the verdict still waits for the serving stage
    # The shipped deployment_not_my_problem is raised only by measured evidence (no Dockerfile or service).
    assert "red flag(s) raised: careless_deployment" in card.verdict_reasons


def test_a_reviewer_who_grades_the_whole_section_lifts_the_incomplete(rubric: Rubric) -> None:
    entries = "".join(
        f'[[override]]\ncandidate = "cand-1"\ncriterion = "serving.{c.id}"\npoints = {c.points}\n'
        'reason = "graded by hand on a machine with the image"\nreviewer = "m.jones"\n\n'
        for c in rubric.section("serving").criteria
    )
    card = score(blocked(), rubric, parse_overrides(entries, rubric))
    assert card.sections["serving"].graded and card.sections["serving"].environment is None
    assert card.environment == {} and card.verdict == "pass" and card.total == 100


def test_a_stage_that_stopped_early_is_one_warning_and_each_path_stays_in_the_scorecard(rubric: Rubric) -> None:
    card = score(serving_stopped(perfect(), "no Dockerfile in the submission", kept=()), rubric)
    serving = card.sections["serving"]
    assert serving.stage_stopped == "the serving stage did not run to the end (failed: no Dockerfile in the submission)"
    assert card.warnings == [f"serving: {serving.stage_stopped}, so 13 of its criteria read evidence it never recorded"]
    latency = card.criterion("serving.latency")
    assert [(o.path, o.found) for o in latency.evidence] == [("serving.load.profile.steps", False)]
    assert "serving evidence records no load " in latency.reason


def test_a_missing_path_of_a_stage_that_ran_is_still_its_own_warning(rubric: Rubric) -> None:
    document = perfect()
    document["serving"]["checks"] = [c for c in document["serving"]["checks"] if c["id"] != "load.no_errors"]
    card = score(document, rubric)
    assert card.sections["serving"].stage_stopped is None
    assert card.warnings == [
        "serving.load_errors reads serving.load.no_errors: serving evidence records no load.no_errors"
    ]


def test_evidence_without_an_environment_problem_scores_as_before(rubric: Rubric) -> None:
    document = perfect()
    document["stages"]["serving"] = {
        "status": "ok",
        "reasons": [],
        "duration_s": 1.0,
        "backend": "docker",
        "environment": None,
    }
    card = score(document, rubric)
    assert card.environment == {} and card.verdict == "pass" and card.total == 100
    assert all(s.environment is None and s.stage_stopped is None for s in card.sections.values())
    assert all(f.environment is None for f in card.red_flags_checked)


def test_a_problem_recorded_in_stages_and_in_the_stages_own_evidence_counts_once(rubric: Rubric) -> None:
    document = perfect()
    problem = "the runner image is missing: build it with make test"
    document["stages"]["notebooks"]["environment"] = problem
    document["notebook_run"] = {"outcome": {"status": "failed", "reasons": [problem], "environment": problem}}
    card = score(document, rubric)
    assert card.environment == {"notebooks": problem}
    assert [r for r in card.verdict_reasons if r.startswith("not graded (environment)")] == [
        f"not graded (environment): notebooks: {problem}"
    ]

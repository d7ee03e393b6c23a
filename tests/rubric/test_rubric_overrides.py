"""Reviewer overrides: any criterion or red flag, with a reason; the report keeps the original."""

from __future__ import annotations

from pathlib import Path

import pytest
from synthetic import perfect, set_check

from grader.errors import GraderError
from grader.rubric import OverridesError, Rubric, load_overrides, load_rubric, parse_overrides, score

OVERRIDES = """
[[override]]
candidate = "cand-1"
criterion = "judgment.ownership"
points = 0.25
reason = "the on-call section is copied from a template"
reviewer = "m.jones"

[[override]]
candidate = "cand-1"
red_flag = "offline_online_confusion"
raised = true
reason = "says in the interview that offline AUC is enough"
reviewer = "m.jones"

[[override]]
candidate = "cand-1"
criterion = "bonus"
points = 2
reason = "named the leak only after a hint"
reviewer = "a.kim"

[[override]]
candidate = "someone-else"
criterion = "audit.leak_named"
points = 0
reason = "not this candidate"
reviewer = "a.kim"
"""


@pytest.fixture(scope="module")
def rubric() -> Rubric:
    return load_rubric()


def test_overrides_replace_points_and_keep_the_original(rubric: Rubric) -> None:
    card = score(perfect(), rubric, parse_overrides(OVERRIDES, rubric))
    ownership = card.criterion("judgment.ownership")
    assert ownership.points == 0.25 and ownership.max == 0.75
    assert ownership.override is not None
    assert (ownership.override.original, ownership.override.value, ownership.override.reviewer) == (
        0.75,
        0.25,
        "m.jones",
    )
    assert card.sections["judgment"].score == 24.5 and card.total == 99.5
    flag = card.flag("offline_online_confusion")
    assert flag.raised and flag.override.original is False and flag.override.value is True
    assert not card.passed and card.verdict == "fail"
    assert card.bonus == 2 and card.bonus_detail.override.original == 5
    assert card.criterion("audit.leak_named").points == 5  # another candidate's override does not apply
    assert card.overrides_applied == 3


def test_an_override_can_clear_a_raised_flag(rubric: Rubric) -> None:
    document = set_check(perfect(), "writeup.monitoring_plan", False)
    assert not score(document, rubric).passed
    cleared = parse_overrides(
        """
[[override]]
candidate = "cand-1"
red_flag = "no_monitoring_plan"
raised = false
reason = "the monitoring plan is in docs/monitoring.md, which the grader does not read"
reviewer = "m.jones"
""",
        rubric,
    )
    card = score(document, rubric, cleared)
    assert card.passed and card.red_flags == [] and card.flag("no_monitoring_plan").override.original is True


def test_a_reviewer_can_grade_a_section_the_grader_could_not(rubric: Rubric) -> None:
    document = perfect()
    document["serving"] = None
    entries = "".join(
        f"""
[[override]]
candidate = "cand-1"
criterion = "serving.{c.id}"
points = {c.points}
reason = "ran the service by hand"
reviewer = "m.jones"
"""
        for c in rubric.section("serving").criteria
    )
    card = score(document, rubric, parse_overrides(entries, rubric))
    assert card.sections["serving"].graded and card.sections["serving"].score == 20 and card.passed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('criterion = "judgment.owner"\npoints = 1', "no criterion 'judgment.owner'"),
        ('criterion = "judgment.ownership"\npoints = 3', "points 3 outside 0-0.75"),
        ('criterion = "judgment.ownership"\npoints = -1', "outside 0-0.75"),
        ('red_flag = "eats_paste"\nraised = true', "no red flag 'eats_paste'"),
        (
            'criterion = "judgment.ownership"\nred_flag = "no_baseline"\npoints = 1',
            "exactly one of criterion or red_flag",
        ),
        ('criterion = "judgment.ownership"', "gives points"),
        ('red_flag = "no_baseline"\npoints = 1', "raised = true/false"),
        ('criterion = "judgment.ownership"\npoints = 1\ncolour = "red"', "colour"),
    ],
)
def test_invalid_overrides_name_the_entry(rubric: Rubric, text: str, message: str) -> None:
    entry = f'[[override]]\ncandidate = "cand-1"\n{text}\nreason = "because"\nreviewer = "me"\n'
    with pytest.raises(OverridesError) as raised:
        parse_overrides(entry, rubric, "o.toml")
    assert message in str(raised.value) and "override[0] (cand-1" in str(raised.value)
    assert isinstance(raised.value, GraderError)


def test_a_bad_override_is_named_with_its_line(rubric: Rubric) -> None:
    good = '[[override]]\ncandidate = "c"\ncriterion = "bonus"\npoints = 1\nreason = "why"\nreviewer = "me"\n\n'
    unknown = good.replace('"bonus"', '"judgment.owner"')
    with pytest.raises(
        OverridesError, match=r"^overrides o\.toml:8: override\[1\] \(c, judgment\.owner\): the rubric has no"
    ):
        parse_overrides(good + unknown, rubric, "o.toml")
    typo = good.replace("points = 1", "points = 1\ncolour = 2")
    with pytest.raises(OverridesError, match=r"^overrides o\.toml:12: unknown field `colour` in override\[1\]"):
        parse_overrides(good + typo, rubric, "o.toml")


def test_overrides_need_a_reason_a_reviewer_and_no_duplicates(rubric: Rubric, tmp_path: Path) -> None:
    with pytest.raises(OverridesError, match="reason"):
        parse_overrides('[[override]]\ncandidate = "c"\ncriterion = "bonus"\npoints = 1\nreviewer = "me"\n', rubric)
    twice = '[[override]]\ncandidate = "c"\ncriterion = "bonus"\npoints = 1\nreason = "why"\nreviewer = "me"\n' * 2
    with pytest.raises(OverridesError, match="second override"):
        parse_overrides(twice, rubric)
    with pytest.raises(OverridesError, match=r"unknown field `override_list` .*did you mean `override`"):
        parse_overrides("[override_list]\nx = 1\n", rubric)
    with pytest.raises(OverridesError, match="cannot read it"):
        load_overrides(tmp_path / "none.toml", rubric)
    saved = tmp_path / "overrides.toml"
    saved.write_text(OVERRIDES)
    assert len(load_overrides(saved, rubric).override) == 4

"""Rubric files: an invalid one is a one-line GraderError that names the bad entry."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from grader.errors import GraderError
from grader.rubric import RubricError, load_rubric, parse_rubric
from grader.rubric.model import DEFAULT_RUBRIC

SHIPPED = DEFAULT_RUBRIC.read_text()


def mutated(old: str, new: str, count: int = 1) -> str:
    assert old in SHIPPED, old
    return SHIPPED.replace(old, new, count)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        (
            mutated(
                'id = "leak_named"\ntitle = "Names the seeded leakage column as leakage (and not every column)"\npoints = 5',
                'id = "leak_named"\ntitle = "Names the seeded leakage column as leakage (and not every column)"\npoints = 6',
            ),
            ["sections[audit]", "add up to 26", "weight 25"],
        ),
        (
            mutated('all = ["audit.drift_named"]', 'all = ["audit.drift_named"]\nany = ["audit.drift_month"]'),
            ["sections[audit].criteria[drift_named]", "exactly one rule"],
        ),
        (
            mutated('all = ["audit.drift_named"]', 'all = ["notes.drift_named"]'),
            ["sections[audit].criteria[drift_named]", "notes.drift_named", "starts with 'notes'"],
        ),
        (
            mutated('"writeup.covers.rollback.strength"', '"writeup.covers.rolback.strength"'),
            [
                "sections[judgment].criteria[rollback]",
                "no stage records",
                "writeup.covers.rolback.strength",
                "closest: writeup.covers.rollback",
            ],
        ),
        (
            mutated('all = ["audit.drift_named"]', 'all = ["audit.drift_nmed"]'),
            ["sections[audit].criteria[drift_named]", "'audit.drift_nmed'", "closest: audit.drift_named"],
        ),
        (
            mutated('"serving.load.no_errors"', '"serving.load.no_eror"'),
            ["sections[serving]", "'serving.load.no_eror'", "closest: serving.load.no_errors"],
        ),
        (
            mutated('"modeling.holdout.oracle.pr_auc"', '"modeling.holdout.orcle.pr_auc"'),
            ["'modeling.holdout.orcle.pr_auc'", "closest: modeling.holdout.oracle.pr_auc"],
        ),
        (mutated("weight = 20", "weight = 21"), ["sections[serving]", "not the section weight 21"]),
        (
            mutated("weight = 20", "weight = 21").replace(
                'id = "latency"\ntitle = "Real-time readiness: p99 under 100 ms, full at 500 requests/s, credited by the highest rate held"\npoints = 2.5',
                'id = "latency"\ntitle = "Real-time readiness: p99 under 100 ms, full at 500 requests/s, credited by the highest rate held"\npoints = 3.5',
            ),
            ["section weights add up to 101, not 100"],
        ),
        (
            mutated('id = "drift_dated"', 'id = "drift_named"'),
            ["sections[audit]", "criterion ids repeated: drift_named"],
        ),
        (
            mutated("zero_below = 100, full_from = 350", "zero_below = 400, full_from = 350"),
            ["sections[judgment].criteria[length].band", "zero_below < full_from"],
        ),
        (mutated('matches = "(?i)calib"', 'matches = "(?i)calib("'), ["criteria[calibration_plot]", "bad regex"]),
        (
            mutated('points = 1.5\nall = ["audit.drift_month"]', 'pionts = 1.5\nall = ["audit.drift_month"]'),
            ["sections[audit].criteria[drift_dated]", "points"],
        ),
        (mutated("schema_version = 1", "schema_version = 7"), ["schema_version", "7 is not supported"]),
        (mutated('id = "no_baseline"', 'id = "leak_in_final_model"'), ["red flag ids repeated: leak_in_final_model"]),
        (mutated("mark = 70", "mark = 170"), ["pass_rule.mark"]),
        (
            mutated('message = "Has never monitored a model after it launched."\n', ""),
            ["missing `message` in red_flags[no_monitoring_plan]"],
        ),
        (
            mutated('all = [{ evidence = "writeup.monitoring_plan", is = false }]', "all = []"),
            ["red_flags[no_monitoring_plan]", "exactly one non-empty rule"],
        ),
        ("schema_version = 1\nid = [", ["not valid TOML"]),
    ],
)
def test_invalid_rubric_names_the_bad_entry(text: str, names: list[str]) -> None:
    with pytest.raises(RubricError) as raised:
        parse_rubric(text, "bad.toml")
    message = str(raised.value)
    assert re.match(r"rubric bad\.toml:\d+: ", message), message
    for name in names:
        assert name in message, message
    assert "\n" not in message
    assert isinstance(raised.value, GraderError)


@pytest.mark.parametrize(
    ("old", "new", "line_text"),
    [
        ('points = 1.5\nall = ["audit.drift_month"]', 'points = -1.5\nall = ["audit.drift_month"]', "points = -1.5"),
        ("mark = 70", "mark = 170", "mark = 170"),
        ('"writeup.covers.rollback.strength"', '"writeup.covers.rolback.strength"', 'id = "rollback"'),
        ('id = "no_baseline"', 'id = "no_baseline"\ncolour = "red"', 'colour = "red"'),
    ],
)
def test_a_bad_entry_is_named_with_its_line(old: str, new: str, line_text: str) -> None:
    text = mutated(old, new)
    with pytest.raises(RubricError) as raised:
        parse_rubric(text, "bad.toml")
    found = re.match(r"rubric bad\.toml:(\d+): ", str(raised.value))
    assert found, raised.value
    shown = text.splitlines()[int(found.group(1)) - 1]
    # A bad value points at its own line; a path no stage records, at its criterion's table.
    assert shown == line_text or (
        shown == "[[sections.criteria]]" and line_text in text.splitlines()[int(found.group(1))]
    )


def test_missing_or_unreadable_rubric_files(tmp_path: Path) -> None:
    with pytest.raises(RubricError, match="cannot read it"):
        load_rubric(tmp_path / "absent.toml")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00rubric")
    with pytest.raises(RubricError, match="not UTF-8"):
        load_rubric(binary)


def test_a_rubric_records_its_hash_and_finds_criteria() -> None:
    rubric = load_rubric()
    assert len(rubric.sha256) == 64
    assert rubric.criterion("judgment.ownership").points == 0.75
    assert rubric.criterion("judgment.nothing") is None and rubric.criterion("nowhere.x") is None


def test_a_copy_in_another_folder_loads_the_same(tmp_path: Path) -> None:
    copy = tmp_path / "mine.toml"
    copy.write_text(SHIPPED.replace('id = "churn-take-home"', 'id = "my-cohort"'))
    rubric = load_rubric(copy)
    assert rubric.id == "my-cohort" and len(rubric.sections) == 4

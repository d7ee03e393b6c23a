"""Scorecards as interviewers write them: valid ones load, invalid ones name the file and the line."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from decide_kit import BALANCED, GUIDE, scores, write_scorecard

from grader.decide.bank import INTERVIEW_DIR, MAX_TOML_BYTES
from grader.decide.scorecard import load_scorecard, load_scorecards
from grader.errors import BadInput, BadScorecard


def line_of(path: Path, pattern: str, occurrence: int = 0) -> int:
    """The 1-based line of the n-th line of `path` matching `pattern`."""
    return [n for n, line in enumerate(path.read_text().splitlines(), 1) if re.search(pattern, line)][occurrence]


def refused(path: Path, candidate: str = "cand-1") -> str:
    with pytest.raises(BadScorecard) as caught:
        load_scorecard(path, candidate, GUIDE)
    return str(caught.value)


def test_the_shipped_example_is_a_valid_scorecard() -> None:
    loaded = load_scorecard(INTERVIEW_DIR / "scorecard-example.toml", "ada-123", GUIDE)
    assert loaded.card.interviewer == "m.jones" and loaded.card.role_level == "senior"
    outside = [q for q in loaded.card.questions if q.id is None]
    assert [(q.category, q.difficulty) for q in outside] == [("technical", "hard"), ("role-fit", None)]


@pytest.mark.parametrize("bad_score", [5, 0])
def test_a_score_outside_1_to_4_names_file_and_line(tmp_path: Path, bad_score: int) -> None:
    answers = scores(3)
    answers["calibration"] = bad_score
    path = write_scorecard(tmp_path, "m.jones", answers)
    line = line_of(path, r"^score = ", occurrence=BALANCED.index("calibration"))
    message = refused(path)
    assert f"m.jones.toml:{line}: question 3 score: score {bad_score} is outside 1-4" in message


@pytest.mark.parametrize(("value", "shown"), [("2.5", "2.5"), ('"3"', "'3'"), ("true", "True")])
def test_a_score_must_be_a_whole_number(tmp_path: Path, value: str, shown: str) -> None:
    path = write_scorecard(tmp_path, "m.jones", scores(3))
    path.write_text(path.read_text().replace("score = 3", f"score = {value}", 1))
    line = line_of(path, "^score = ")
    assert f"m.jones.toml:{line}: question 1 score: score {shown} is not a whole number 1-4" in refused(path)


def test_a_scorecard_for_another_candidate_is_refused(tmp_path: Path) -> None:
    path = write_scorecard(tmp_path, "m.jones", scores(3), candidate="cand-2")
    message = refused(path, candidate="cand-1")
    assert f"m.jones.toml:{line_of(path, '^candidate = ')}: candidate `cand-2` is not `cand-1`" in message


def test_an_unknown_red_flag_names_its_line_and_the_guides_ids(tmp_path: Path) -> None:
    path = write_scorecard(tmp_path, "m.jones", scores(3), red_flags=("no_baseline", "defensive_about_failure"))
    message = refused(path)
    line = line_of(path, r'^id = "defensive_about_failure"')
    assert f"m.jones.toml:{line}: unknown red flag `defensive_about_failure`" in message
    assert "did you mean `defensive_about_failures`?" in message


def test_an_unknown_bank_id_suggests_the_closest(tmp_path: Path) -> None:
    path = write_scorecard(tmp_path, "m.jones", {**scores(3), "calibraton": 3})
    line = line_of(path, r'^id = "calibraton"')
    assert (
        f"m.jones.toml:{line}: unknown question id `calibraton`: not in the question bank "
        "(did you mean `calibration`?)" in refused(path)
    )


def test_malformed_toml_names_the_line_tomllib_found(tmp_path: Path) -> None:
    path = write_scorecard(tmp_path, "m.jones", scores(3))
    path.write_text(path.read_text().replace('role_level = "mid"', "role_level = mid"))
    message = refused(path)
    assert message.startswith(f"{path}:{line_of(path, '^role_level = ')}: not valid TOML: ")


@pytest.mark.parametrize("field", ["interviewer", "date", "role_level"])
def test_a_missing_field_is_named(tmp_path: Path, field: str) -> None:
    path = write_scorecard(tmp_path, "m.jones", scores(3))
    path.write_text("\n".join(line for line in path.read_text().splitlines() if not line.startswith(f"{field} =")))
    assert f"m.jones.toml:1: missing `{field}`" in refused(path)


def test_a_question_needs_a_bank_id_or_its_words_and_category(tmp_path: Path) -> None:
    extra = '\n[[question]]\ntext = "How would you size our feature store?"\nscore = 3\n'
    path = write_scorecard(tmp_path, "m.jones", scores(3), extra=extra)
    line = line_of(path, r"^\[\[question\]\]", occurrence=len(BALANCED))
    assert f"m.jones.toml:{line}: question 8: give a bank `id`, or the `text` and `category`" in refused(path)


def test_a_typo_in_a_field_name_is_an_unknown_field(tmp_path: Path) -> None:
    path = write_scorecard(tmp_path, "m.jones", scores(3))
    path.write_text(path.read_text().replace("score = 3", "socre = 3", 1))
    message = refused(path)
    assert f"m.jones.toml:{line_of(path, '^socre = ')}: unknown field `socre` in question 1" in message


def test_a_question_scored_twice_in_one_file_is_refused(tmp_path: Path) -> None:
    extra = '\n[[question]]\nid = "calibration"\nscore = 4\n'
    path = write_scorecard(tmp_path, "m.jones", scores(3), extra=extra)
    line = line_of(path, r"^\[\[question\]\]", occurrence=len(BALANCED))
    assert f"m.jones.toml:{line}: question 8 repeats question 3" in refused(path)


def test_a_set_needs_one_file_per_interviewer_and_one_role_level(tmp_path: Path) -> None:
    write_scorecard(tmp_path, "a.lee", scores(3), role_level="senior")
    second = write_scorecard(tmp_path, "m.jones", scores(3), role_level="mid")
    with pytest.raises(
        BadScorecard,
        match=rf"m\.jones\.toml:{line_of(second, '^role_level')}: role_level mid, but "
        r"the scorecards for cand-1 disagree \(mid, senior\)",
    ):
        load_scorecards(tmp_path, "cand-1", GUIDE)
    copy = tmp_path / "m.jones-again.toml"
    copy.write_text(second.read_text().replace('"mid"', '"senior"'))
    second.write_text(copy.read_text())
    with pytest.raises(BadScorecard, match=r"a second scorecard by m\.jones"):
        load_scorecards(tmp_path, "cand-1", GUIDE)


def test_an_empty_folder_has_no_scorecards(tmp_path: Path) -> None:
    (tmp_path / ".#m.jones.toml").write_text("editor lock file")
    with pytest.raises(BadInput, match="no scorecards"):
        load_scorecards(tmp_path, "cand-1", GUIDE)


def test_every_entry_of_a_candidate_folder_is_read_or_refused(tmp_path: Path) -> None:
    write_scorecard(tmp_path, "alice", scores(3))
    write_scorecard(tmp_path, "carol", scores(1)).rename(tmp_path / "carol.TOML")
    (tmp_path / ".gitkeep").write_text("")
    (tmp_path / "README.md").write_text("Scorecards for cand-1.")
    loaded = load_scorecards(tmp_path, "cand-1", GUIDE)
    assert sorted(item.card.interviewer for item in loaded) == ["alice", "carol"]
    write_scorecard(tmp_path, "dan", scores(1)).rename(tmp_path / "dan.toml.txt")
    write_scorecard(tmp_path / "sub", "x", scores(1))
    with pytest.raises(BadScorecard) as caught:
        load_scorecards(tmp_path, "cand-1", GUIDE)
    message = str(caught.value)
    assert f"{tmp_path / 'dan.toml.txt'}: not a scorecard (*.toml)" in message
    assert f"{tmp_path / 'sub'}: a folder inside the scorecard folder" in message


def test_one_scorecard_file_is_a_set_of_one(tmp_path: Path) -> None:
    path = write_scorecard(tmp_path, "m.jones", scores(3))
    write_scorecard(tmp_path, "a.lee", scores(3), role_level="senior")
    assert [item.source.path for item in load_scorecards(path, "cand-1", GUIDE)] == [path]


def test_interviewer_names_are_trimmed_and_compared_ignoring_case(tmp_path: Path) -> None:
    first = write_scorecard(tmp_path, "alice", scores(3))
    second = write_scorecard(tmp_path, "zed", scores(3))
    second.write_text(second.read_text().replace('interviewer = "zed"', 'interviewer = "  Alice "'))
    with pytest.raises(
        BadScorecard,
        match=rf"zed\.toml:3: a second scorecard by Alice \(the first is "
        rf"{re.escape(str(first))}, by alice",
    ):
        load_scorecards(tmp_path, "cand-1", GUIDE)
    second.write_text(second.read_text().replace('"  Alice "', '"Bob  Smith "'))
    assert [item.card.interviewer for item in load_scorecards(tmp_path, "cand-1", GUIDE)] == ["alice", "Bob Smith"]
    second.write_text(second.read_text().replace('"Bob  Smith "', '" \\t "'))
    assert "zed.toml:3: interviewer: interviewer is blank" in refused(second)


def test_a_long_list_of_bad_scores_is_reported_at_once(tmp_path: Path) -> None:
    entry = '[[question]]\nid = "calibration"\nscore = 9\n\n'
    path = write_scorecard(tmp_path, "m.jones", {})
    path.write_text(path.read_text() + entry * ((MAX_TOML_BYTES - 1000) // len(entry)))
    started = time.monotonic()
    message = refused(path)
    assert time.monotonic() - started < 5
    assert message.count("score 9 is outside 1-4") == 5 and re.search(r"; and \d{4} more$", message)
    assert f"m.jones.toml:{line_of(path, '^score = 9', occurrence=4)}: question 5 score" in message


def test_an_oversized_scorecard_is_refused_unread(tmp_path: Path) -> None:
    path = write_scorecard(tmp_path, "m.jones", scores(3), extra="#" * MAX_TOML_BYTES)
    assert refused(path).startswith(f"{path}: 256 KB, over the 256 KB a scorecard may be")

"""The question bank and red flags shipped in interview/ against the guide's own text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from decide_kit import GUIDE

from grader.decide.bank import INTERVIEW_DIR, load_guide
from grader.errors import BadScorecard
from grader.rubric import load_rubric

GUIDE_FILE = INTERVIEW_DIR / "interview-guide.txt"
GUIDE_TEXT = GUIDE_FILE.read_text(encoding="utf-8")
GUIDE_LINES = GUIDE_TEXT.splitlines()
SEED_GUIDE = Path(__file__).resolve().parents[3] / "shared" / "seed" / "interview-guide.txt"
RUBRICS = Path(__file__).resolve().parents[2] / "rubrics"
HEADINGS = {
    "Technical questions — Easy": ("technical", "easy"),
    "Technical questions — Medium": ("technical", "medium"),
    "Technical questions — Hard": ("technical", "hard"),
    "Behavioral questions": ("behavioral", None),
    "Role-fit questions": ("role-fit", None),
}


def guide_questions() -> list[tuple[str, str | None, int, str, str]]:
    """(category, difficulty, number, text, notes line) for every numbered question under a question heading."""
    found, heading = [], None
    for index, line in enumerate(GUIDE_LINES):
        if line in HEADINGS or line in ("Red flags", "Practical test"):
            heading = HEADINGS.get(line)
        elif heading and (numbered := re.match(r"^(\d+)\. (.+)$", line)):
            found.append((*heading, int(numbered.group(1)), numbered.group(2), GUIDE_LINES[index + 1]))
    return found


def key_fact(name: str) -> int:
    return int(GUIDE_LINES[GUIDE_LINES.index(f"- {name}") + 1].removeprefix("- "))


def same_words(a: str, b: str) -> bool:
    return a.replace("\u2019", "'") == b.replace("\u2019", "'")


def test_counts_match_the_guides_key_facts() -> None:
    questions = GUIDE.bank.questions
    assert sum(q.category == "technical" for q in questions) == key_fact("Technical questions") == 15
    assert sum(q.category == "behavioral" for q in questions) == key_fact("Behavioral") == 7
    assert sum(q.category == "role-fit" for q in questions) == key_fact("Role-fit") == 5
    assert len(GUIDE.red_flags) == key_fact("Red flags") == 8


def test_every_bank_question_is_the_guides_verbatim_and_none_is_left_out() -> None:
    in_guide = guide_questions()
    assert len(in_guide) == len(GUIDE.bank.questions) == 27
    for question, (category, difficulty, number, text, notes) in zip(GUIDE.bank.questions, in_guide, strict=True):
        assert (question.category, question.difficulty, question.number, question.text) == (
            category,
            difficulty,
            number,
            text,
        )
        assert question.text in GUIDE_TEXT and question.look_for in GUIDE_TEXT
        assert notes == f"{(difficulty or '').capitalize()}What to look for: {question.look_for}"


def test_the_eight_red_flags_are_the_guides_words() -> None:
    start = GUIDE_LINES.index("Red flags")
    listed = [
        line.removeprefix("- \u2022 ")
        for line in GUIDE_LINES[start : GUIDE_LINES.index("Practical test")]
        if line.startswith("- \u2022 ")
    ]
    assert [flag.text for flag in GUIDE.red_flags] == listed
    assert len({flag.id for flag in GUIDE.red_flags}) == 8


@pytest.mark.parametrize("rubric_file", ["churn-take-home.toml", "churn-take-home-junior.toml"])
def test_the_practical_mapping_matches_the_rubrics_wording(rubric_file: str) -> None:
    rubric = load_rubric(RUBRICS / rubric_file)
    for report_flag in rubric.red_flags:
        mapped = GUIDE.flag_for_practical(report_flag.id)
        on_the_list = [flag for flag in GUIDE.red_flags if same_words(flag.text, report_flag.message)]
        # Mapped exactly when the rubric flag carries one of the guide's eight sentences.
        assert (mapped is not None) == bool(on_the_list), report_flag.id
        if mapped:
            assert mapped == on_the_list[0]
    shipped = {f.id for f in load_rubric(RUBRICS / "churn-take-home.toml").red_flags}
    assert {p for flag in GUIDE.red_flags for p in flag.practical} <= shipped


def test_the_mix_is_the_guides_sentence() -> None:
    sentence = re.search(
        r"Pick (\d)-(\d) technical questions across difficulties, (\d)-(\d) behavioral, and "
        r"(\d)-(\d) role-fit",
        GUIDE_TEXT,
    )
    assert sentence is not None
    low_high = [int(n) for n in sentence.groups()]
    mix = GUIDE.bank.mix
    assert [*mix.technical, *mix.behavioral, *mix.role_fit] == low_high
    assert GUIDE.bank.scale in GUIDE_TEXT


def test_senior_roles_weight_hard_technical_and_role_fit_higher_with_floors_not_ceilings() -> None:
    # "For senior roles, weight harder technical and role-fit higher": more is never too much.
    assert "For senior roles, weight harder technical and role-fit higher." in GUIDE_TEXT
    mix = GUIDE.bank.mix
    assert mix.counts("senior") == {"technical": (4, 6), "behavioral": (2, 3), "role-fit": (2, None)}
    assert mix.senior.min_hard == 2
    for level in ("junior", "mid"):
        assert mix.counts(level)["role-fit"] == (1, 2) and mix.level(level).min_hard == 0


def test_every_file_the_interview_folder_cites_exists() -> None:
    repository = INTERVIEW_DIR.parent
    for source in sorted(INTERVIEW_DIR.iterdir()):
        if source.suffix in (".toml", ".md"):
            for cited in re.findall(r"\b((?:tests|grader|interview)/[\w/.-]+\.(?:py|toml|md|txt))", source.read_text()):
                assert (repository / cited).is_file(), f"{source.name} cites {cited}, which does not exist"


@pytest.mark.skipif(not SEED_GUIDE.is_file(), reason="the shared seed guide is not next to this checkout")
def test_the_shipped_guide_is_the_seed_guide() -> None:
    assert GUIDE_FILE.read_bytes() == SEED_GUIDE.read_bytes()


def test_a_broken_bank_names_file_and_line(tmp_path: Path) -> None:
    bank = tmp_path / "bank.toml"
    text = (INTERVIEW_DIR / "question-bank.toml").read_text(encoding="utf-8")
    bank.write_text(text.replace('id = "calibration"', 'id = "shadow-deployment"'), encoding="utf-8")
    line = text.splitlines().index('id = "calibration"') + 1
    with pytest.raises(BadScorecard, match=rf"bank\.toml:{line}: question id `shadow-deployment` is used twice"):
        load_guide(bank_path=bank)

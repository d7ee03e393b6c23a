"""The interview guide as data: its question bank, its interview mix and its eight red flags.

`interview/question-bank.toml` and `interview/red-flags.toml` hold the guide's own words;
`load_guide()` reads and validates both, so a scorecard can be checked against them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from grader.errors import BadScorecard
from grader.tomlfile import Location, Problem, TomlFile, TomlModel, problems_error, read_toml, validate

INTERVIEW_DIR = Path(__file__).resolve().parents[2] / "interview"
DEFAULT_BANK = INTERVIEW_DIR / "question-bank.toml"
DEFAULT_RED_FLAGS = INTERVIEW_DIR / "red-flags.toml"

Category = Literal["technical", "behavioral", "role-fit"]
CATEGORIES: tuple[Category, ...] = ("technical", "behavioral", "role-fit")
Difficulty = Literal["easy", "medium", "hard"]
RoleLevel = Literal["junior", "mid", "senior"]
# A scorecard is a page, not a data dump: a larger file is refused unread.
MAX_TOML_BYTES = 256 * 1024


class Question(TomlModel):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    category: Category
    difficulty: Difficulty | None = None
    number: int = Field(ge=1, description="its place in the guide's list")
    text: str
    look_for: str

    @model_validator(mode="after")
    def _difficulty_for_technical_only(self) -> Question:
        if (self.difficulty is None) == (self.category == "technical"):
            raise ValueError("technical questions have a difficulty, and only they do")
        return self


Range = tuple[int, int]


class LevelMix(TomlModel):
    """What a role level adds to the mix: floors, never ceilings ("weight ... higher" asks for more, not less)."""

    min_hard: int = Field(default=0, ge=0, description="hard technical questions, at least")
    min_role_fit: int = Field(default=0, ge=0, description="role-fit questions, at least; the base ceiling is lifted")


class Mix(TomlModel):
    """How many questions of each category the guide asks for, as [least, most], and what a role level adds."""

    technical: Range
    behavioral: Range
    role_fit: Range = Field(alias="role-fit")
    technical_difficulties: int = Field(ge=1, le=3)
    junior: LevelMix = LevelMix()
    mid: LevelMix = LevelMix()
    senior: LevelMix = LevelMix()

    @model_validator(mode="after")
    def _ranges_ordered(self) -> Mix:
        for counts in (self.technical, self.behavioral, self.role_fit):
            if not 0 <= counts[0] <= counts[1]:
                raise ValueError(f"count range {list(counts)} is not [least, most]")
        if max(level.min_hard for level in (self.junior, self.mid, self.senior)) > self.technical[1]:
            raise ValueError(f"min_hard is more than the {self.technical[1]} technical questions asked at most")
        return self

    def level(self, role_level: RoleLevel) -> LevelMix:
        return {"junior": self.junior, "mid": self.mid, "senior": self.senior}[role_level]

    def counts(self, role_level: RoleLevel) -> dict[Category, tuple[int, int | None]]:
        """The [least, most] question counts per category for a role level; most is None for no ceiling."""
        floor = self.level(role_level).min_role_fit
        role_fit = (max(self.role_fit[0], floor), None) if floor else self.role_fit
        return {"technical": self.technical, "behavioral": self.behavioral, "role-fit": role_fit}


class QuestionBank(TomlModel):
    schema_version: Literal[1]
    guide: str
    scale: str
    mix: Mix
    questions: list[Question] = Field(alias="question", min_length=1)


class GuideRedFlag(TomlModel):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    text: str = Field(description="the guide's words")
    practical: list[str] = Field(default_factory=list, description="report.json red flag ids that are this flag")


class RedFlagList(TomlModel):
    schema_version: Literal[1]
    preamble: str
    red_flags: list[GuideRedFlag] = Field(alias="red_flag", min_length=1)


@dataclass(frozen=True)
class Guide:
    """The question bank and the red flags, with lookups by id."""

    bank: QuestionBank
    red_flags: list[GuideRedFlag]
    sha256: str

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.bank.questions if q.id == question_id), None)

    def flag(self, flag_id: str) -> GuideRedFlag | None:
        return next((f for f in self.red_flags if f.id == flag_id), None)

    def flag_for_practical(self, report_flag_id: str) -> GuideRedFlag | None:
        """The guide's red flag a practical-report flag stands for, if it is on the guide's list."""
        return next((f for f in self.red_flags if report_flag_id in f.practical), None)


def _repeats(source: TomlFile, table: str, key: str, ids: list[list[str]]) -> list[Problem]:
    """Where an id of table entry n was already used by an earlier entry."""
    seen: set[str] = set()
    problems: list[Problem] = []
    for index, entry_ids in enumerate(ids):
        problems += [
            source.problem((table, index, key), f"{table} {key} `{i}` is used twice") for i in entry_ids if i in seen
        ]
        seen.update(entry_ids)
    return problems


def describe(data: object, loc: Location) -> str:
    """("question", 2, "score") -> "question 3 score" (entries counted from 1, as a reader counts)."""
    return " ".join(str(part + 1) if isinstance(part, int) else part for part in loc)


def read_guide_toml(path: Path) -> TomlFile:
    """A file of the guide or a scorecard; BadScorecard names the file and the line."""
    return read_toml(path, error=BadScorecard, max_bytes=MAX_TOML_BYTES, kind="a scorecard")


def load_guide(bank_path: Path = DEFAULT_BANK, red_flags_path: Path = DEFAULT_RED_FLAGS) -> Guide:
    """Read and validate the question bank and the red flags (BadScorecard names file and line)."""
    bank_file, flags_file = read_guide_toml(bank_path), read_guide_toml(red_flags_path)
    bank = validate(QuestionBank, bank_file, describe=describe)
    flags = validate(RedFlagList, flags_file, describe=describe)
    problems = (
        _repeats(bank_file, "question", "id", [[q.id] for q in bank.questions])
        + _repeats(flags_file, "red_flag", "id", [[f.id] for f in flags.red_flags])
        # A report flag standing for two guide flags would count twice.
        + _repeats(flags_file, "red_flag", "practical", [f.practical for f in flags.red_flags])
    )
    if problems:
        raise problems_error(problems)
    digest = hashlib.sha256(bank_file.text.encode() + b"\0" + flags_file.text.encode()).hexdigest()
    return Guide(bank=bank, red_flags=flags.red_flags, sha256=digest)

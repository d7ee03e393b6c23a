"""Interview scorecards: one TOML file per interviewer per candidate (format: interview/SCORECARDS.md).

Loading checks each file against the guide (bank ids, red flag ids, scores 1-4) and the
candidate being decided, and a candidate's set of files against each other (one file per
interviewer, one role level). Every problem names the file and the line.
"""

from __future__ import annotations

import datetime
import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from grader.decide.bank import Category, Difficulty, Guide, RoleLevel
from grader.decide.tomlfile import TomlFile, TomlModel, problems_error, read_toml, validate
from grader.errors import BadInput, GraderError
from grader.world.seed import check_candidate_id

SCORECARD_SUFFIX = ".toml"


class AskedQuestion(TomlModel):
    """A question asked: a bank `id`, or the `text` of one outside the bank with its `category`."""

    id: str | None = None
    text: str | None = None
    category: Category | None = None
    difficulty: Difficulty | None = None
    score: int
    notes: str = ""

    @field_validator("score", mode="before")
    @classmethod
    def _on_the_scale(cls, score: object) -> int:
        if not isinstance(score, int) or isinstance(score, bool):
            raise ValueError(f"score {score!r} is not a whole number 1-4 (the guide's scale)")
        if not 1 <= score <= 4:
            raise ValueError(f"score {score} is outside 1-4 (the guide's scale)")
        return score

    @model_validator(mode="after")
    def _bank_or_outside(self) -> AskedQuestion:
        if self.id is not None:
            if self.text is not None or self.category is not None or self.difficulty is not None:
                raise ValueError("a bank question takes its text, category and difficulty from the bank: give `id` alone")
        elif not (self.text and self.text.strip()) or self.category is None:
            raise ValueError("give a bank `id`, or the `text` and `category` of a question outside the bank")
        elif self.difficulty is not None and self.category != "technical":
            raise ValueError("only technical questions have a difficulty")
        return self

    @property
    def key(self) -> str:
        """What makes two interviewers' questions the same question: the bank id, or the words."""
        return self.id if self.id is not None else "outside: " + " ".join((self.text or "").lower().split())


class TickedFlag(TomlModel):
    id: str
    note: str = ""


class InterviewScorecard(TomlModel):
    """One interviewer's scorecard for one candidate."""

    schema_version: Literal[1] = 1
    candidate: str
    interviewer: str = Field(min_length=1)
    date: datetime.date
    role_level: RoleLevel
    questions: list[AskedQuestion] = Field(alias="question", min_length=1)
    red_flags: list[TickedFlag] = Field(default_factory=list, alias="red_flag")
    notes: str = ""


@dataclass(frozen=True)
class LoadedScorecard:
    """A valid scorecard and the file it came from."""

    source: TomlFile
    card: InterviewScorecard


def _suggest(word: str, known: list[str]) -> str:
    close = difflib.get_close_matches(word, known, n=1)
    return f" (did you mean `{close[0]}`?)" if close else ""


def _problems(source: TomlFile, card: InterviewScorecard, candidate: str, guide: Guide) -> list[str]:
    problems = []
    try:
        check_candidate_id(card.candidate)
    except GraderError as exc:
        problems.append(source.problem(("candidate",), str(exc)))
    if card.candidate != candidate:
        problems.append(source.problem(("candidate",), f"candidate `{card.candidate}` is not `{candidate}`, "
                                                       "the candidate these scorecards are read for"))
    question_ids = [q.id for q in guide.bank.questions]
    seen: dict[str, int] = {}
    for index, asked in enumerate(card.questions):
        if asked.id is not None and guide.question(asked.id) is None:
            problems.append(source.problem(("question", index, "id"), f"unknown question id `{asked.id}`: not in "
                                           f"the question bank{_suggest(asked.id, question_ids)}"))
        if asked.key in seen:
            problems.append(source.problem(("question", index), f"question {index + 1} repeats question "
                                           f"{seen[asked.key] + 1}: score each question once per scorecard"))
        seen.setdefault(asked.key, index)
    flag_ids = [f.id for f in guide.red_flags]
    for index, ticked in enumerate(card.red_flags):
        if guide.flag(ticked.id) is None:
            problems.append(source.problem(("red_flag", index, "id"), f"unknown red flag `{ticked.id}`: the "
                                           f"guide's are {', '.join(flag_ids)}{_suggest(ticked.id, flag_ids)}"))
    return problems


def load_scorecard(path: Path, candidate: str, guide: Guide) -> LoadedScorecard:
    """One scorecard, checked against the guide and the candidate (BadScorecard: `path:line: ...`)."""
    source = read_toml(path)
    card = validate(InterviewScorecard, source)
    problems = _problems(source, card, candidate, guide)
    if problems:
        raise problems_error(problems)
    return LoadedScorecard(source, card)


def scorecard_files(folder: Path) -> list[Path]:
    """The scorecards in a folder: its *.toml files (hidden files, e.g. editor backups, skipped)."""
    return sorted(p for p in folder.glob(f"*{SCORECARD_SUFFIX}") if p.is_file() and not p.name.startswith("."))


def load_scorecards(folder: Path, candidate: str, guide: Guide) -> list[LoadedScorecard]:
    """Every scorecard in `folder`, for `candidate`: one file per interviewer, all for one role level."""
    files = scorecard_files(folder)
    if not files:
        raise BadInput(f"no scorecards (*{SCORECARD_SUFFIX}) in {folder}")
    loaded = [load_scorecard(path, candidate, guide) for path in files]
    problems = []
    first_by_interviewer: dict[str, LoadedScorecard] = {}
    for item in loaded:
        earlier = first_by_interviewer.setdefault(item.card.interviewer, item)
        if earlier is not item:
            problems.append(item.source.problem(("interviewer",), f"a second scorecard by {item.card.interviewer} "
                                                f"(the first is {earlier.source.path}): one file per interviewer"))
    levels = sorted({item.card.role_level for item in loaded})
    if len(levels) > 1:
        problems += [item.source.problem(("role_level",), f"role_level {item.card.role_level}, but the scorecards "
                                         f"for {candidate} disagree ({', '.join(levels)}): the role is one")
                     for item in loaded]
    if problems:
        raise problems_error(problems)
    return loaded

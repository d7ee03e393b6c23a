"""Interview scorecards: one TOML file per interviewer per candidate (format: interview/SCORECARDS.md).

Loading checks each file against the guide (bank ids, red flag ids, scores 1-4) and the
candidate being decided, and a candidate's set of files against each other (one file per
interviewer, one role level). Every problem names the file and the line. A candidate's
folder holds scorecards only: a file that is not `*.toml` (any case) or a sub-folder is an
error, never skipped unseen; hidden files and READMEs are notes to people and are skipped.
"""

from __future__ import annotations

import datetime
import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from grader.decide.bank import Category, Difficulty, Guide, RoleLevel, describe, read_guide_toml
from grader.errors import BadInput, BadScorecard, GraderError
from grader.tomlfile import MAX_PROBLEMS, Problem, TomlFile, TomlModel, problems_error, validate
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
                raise ValueError(
                    "a bank question takes its text, category and difficulty from the bank: give `id` alone"
                )
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
    interviewer: str
    date: datetime.date
    role_level: RoleLevel
    questions: list[AskedQuestion] = Field(alias="question", min_length=1)
    red_flags: list[TickedFlag] = Field(default_factory=list, alias="red_flag")
    notes: str = ""

    @field_validator("interviewer")
    @classmethod
    def _a_name(cls, name: str) -> str:
        # "Alice " and "alice" are one person: spaces are trimmed here, case is ignored when comparing.
        name = " ".join(name.split())
        if not name:
            raise ValueError("interviewer is blank: give the interviewer's name")
        return name


@dataclass(frozen=True)
class LoadedScorecard:
    """A valid scorecard and the file it came from."""

    source: TomlFile
    card: InterviewScorecard


def _suggest(word: str, known: list[str]) -> str:
    close = difflib.get_close_matches(word, known, n=1)
    return f" (did you mean `{close[0]}`?)" if close else ""


def _problems(source: TomlFile, card: InterviewScorecard, candidate: str, guide: Guide) -> list[Problem]:
    problems: list[Problem] = []
    try:
        check_candidate_id(card.candidate)
    except GraderError as exc:
        problems.append(source.problem(("candidate",), str(exc)))
    if card.candidate != candidate:
        problems.append(
            source.problem(
                ("candidate",),
                f"candidate `{card.candidate}` is not `{candidate}`, the candidate these scorecards are read for",
            )
        )
    question_ids = [q.id for q in guide.bank.questions]
    seen: dict[str, int] = {}
    for index, asked in enumerate(card.questions):
        if asked.id is not None and guide.question(asked.id) is None:
            # Suggestions cost a fuzzy match each: only for the problems that will be shown.
            hint = _suggest(asked.id, question_ids) if len(problems) < MAX_PROBLEMS else ""
            problems.append(
                source.problem(
                    ("question", index, "id"), f"unknown question id `{asked.id}`: not in the question bank{hint}"
                )
            )
        if asked.key in seen:
            problems.append(
                source.problem(
                    ("question", index),
                    f"question {index + 1} repeats question "
                    f"{seen[asked.key] + 1}: score each question once per scorecard",
                )
            )
        seen.setdefault(asked.key, index)
    flag_ids = [f.id for f in guide.red_flags]
    for index, ticked in enumerate(card.red_flags):
        if guide.flag(ticked.id) is None:
            hint = _suggest(ticked.id, flag_ids) if len(problems) < MAX_PROBLEMS else ""
            problems.append(
                source.problem(
                    ("red_flag", index, "id"),
                    f"unknown red flag `{ticked.id}`: the guide's are {', '.join(flag_ids)}{hint}",
                )
            )
    return problems


def load_scorecard(path: Path, candidate: str, guide: Guide) -> LoadedScorecard:
    """One scorecard, checked against the guide and the candidate (BadScorecard: `path:line: ...`)."""
    source = read_guide_toml(path)
    card = validate(InterviewScorecard, source, describe=describe)
    problems = _problems(source, card, candidate, guide)
    if problems:
        raise problems_error(problems)
    return LoadedScorecard(source, card)


def is_note(entry: Path) -> bool:
    """Hidden entries (.gitkeep, editor locks and backups) and READMEs: notes to people, never scorecards."""
    return entry.name.startswith(".") or entry.name.split(".")[0].lower() == "readme"


def is_scorecard(entry: Path) -> bool:
    return entry.is_file() and entry.name.lower().endswith(SCORECARD_SUFFIX)


def _stray(entry: Path, folder: Path) -> str:
    if entry.is_dir():
        return (
            f"{entry}: a folder inside the scorecard folder {folder}, whose files would not be read: "
            f"put each scorecard directly in {folder}"
        )
    return f"{entry}: not a scorecard (*{SCORECARD_SUFFIX}): rename it, or move it out of {folder}"


def scorecard_files(folder: Path) -> list[Path]:
    """The scorecards in a candidate's folder: its *.toml files, in any case (BadScorecard names anything else)."""
    try:
        entries = sorted(entry for entry in folder.iterdir() if not is_note(entry))
    except OSError as exc:
        raise BadInput(f"cannot read the scorecard folder {folder}: {exc.strerror or exc}") from None
    strays = [_stray(entry, folder) for entry in entries if not is_scorecard(entry)]
    if strays:
        more = f"; and {len(strays) - MAX_PROBLEMS} more" if len(strays) > MAX_PROBLEMS else ""
        raise BadScorecard("; ".join(strays[:MAX_PROBLEMS]) + more)
    return entries


def load_scorecards(path: Path, candidate: str, guide: Guide) -> list[LoadedScorecard]:
    """The scorecards for `candidate`: `path` is one scorecard file, or a folder of them (one per interviewer)."""
    files = [path] if path.is_file() else scorecard_files(path)
    if not files:
        raise BadInput(f"no scorecards (*{SCORECARD_SUFFIX}) in {path}")
    loaded = [load_scorecard(file, candidate, guide) for file in files]
    problems = []
    first_by_interviewer: dict[str, LoadedScorecard] = {}
    for item in loaded:
        earlier = first_by_interviewer.setdefault(item.card.interviewer.casefold(), item)
        if earlier is not item:
            problems.append(
                item.source.problem(
                    ("interviewer",),
                    f"a second scorecard by {item.card.interviewer} "
                    f"(the first is {earlier.source.path}, by {earlier.card.interviewer}; "
                    "names are compared ignoring case and spaces): one file per "
                    "interviewer",
                )
            )
    levels = sorted({item.card.role_level for item in loaded})
    if len(levels) > 1:
        problems += [
            item.source.problem(
                ("role_level",),
                f"role_level {item.card.role_level}, but the scorecards "
                f"for {candidate} disagree ({', '.join(levels)}): the role is one",
            )
            for item in loaded
        ]
    if problems:
        raise problems_error(problems)
    return loaded

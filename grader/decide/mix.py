"""The interview mix the guide asks for, checked on each scorecard on its own.

"Pick 4-6 technical questions across difficulties, 2-3 behavioral, and 1-2 role-fit for a
45-minute interview. For senior roles, weight harder technical and role-fit higher." That
is one interviewer's interview, so each scorecard is held to it and named in its
warnings; a scorecard that falls short is flagged on the decision, never rejected.
"""

from __future__ import annotations

from pathlib import Path

from grader.decide.bank import Category, Difficulty, Guide, RoleLevel
from grader.decide.scorecard import LoadedScorecard


def _span(least: int, most: int | None) -> str:
    if most is None:
        return f"at least {least}"
    return f"{least}" if least == most else f"{least}-{most}"


def _asked(loaded: LoadedScorecard, guide: Guide) -> list[tuple[Category, Difficulty | None]]:
    """Each question's category and difficulty: the bank's for a bank id, else the scorecard's own."""
    asked = []
    for question in loaded.card.questions:
        bank_question = guide.question(question.id) if question.id is not None else None
        if bank_question is not None:
            asked.append((bank_question.category, bank_question.difficulty))
        elif question.category is not None:
            asked.append((question.category, question.difficulty))
    return asked


def _shortfalls(asked: list[tuple[Category, Difficulty | None]], role_level: RoleLevel, guide: Guide) -> list[str]:
    mix = guide.bank.mix
    found = []
    for category, (least, most) in mix.counts(role_level).items():
        count = sum(c == category for c, _ in asked)
        if count < least or (most is not None and count > most):
            found.append(
                f"{count} {category} question(s) asked; the guide asks for {_span(least, most)} for a {role_level} role"
            )
    technical = [difficulty for category, difficulty in asked if category == "technical"]
    difficulties = sorted({d for d in technical if d})
    if technical and len(difficulties) < mix.technical_difficulties:
        found.append(
            f"technical questions span {len(difficulties)} difficulty level(s)"
            f"{' (' + ', '.join(difficulties) + ')' if difficulties else ''}; the guide asks for "
            f"questions across difficulties (at least {mix.technical_difficulties})"
        )
    min_hard = mix.level(role_level).min_hard
    hard = technical.count("hard")
    if hard < min_hard:
        found.append(
            f"{hard} hard technical question(s) for a {role_level} role; the guide weights harder "
            f"technical questions higher for it (at least {min_hard})"
        )
    return found


def mix_warnings(scorecards: list[LoadedScorecard], role_level: RoleLevel, guide: Guide) -> list[str]:
    """Where each scorecard falls short of (or overdoes) the guide's mix, naming it; empty when all fit."""
    warnings = []
    for loaded in sorted(scorecards, key=lambda item: item.card.interviewer):
        name = f"{loaded.card.interviewer} ({Path(loaded.source.path).name})"
        warnings += [f"{name}: {shortfall}" for shortfall in _shortfalls(_asked(loaded, guide), role_level, guide)]
    return warnings

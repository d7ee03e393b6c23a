"""The interview mix the guide asks for, checked over a candidate's distinct questions.

"Pick 4-6 technical questions across difficulties, 2-3 behavioral, and 1-2 role-fit ...
For senior roles, weight harder technical and role-fit higher." A set of scorecards that
falls short is flagged with a warning on the decision; it is never rejected.
"""

from __future__ import annotations

from grader.decide.bank import Mix, RoleLevel
from grader.decide.decision import QuestionScores


def _span(least: int, most: int) -> str:
    return f"{least}" if least == most else f"{least}-{most}"


def mix_warnings(questions: list[QuestionScores], role_level: RoleLevel, mix: Mix) -> list[str]:
    """What the interview lacks (or overdoes) against the guide's mix, in words; empty when it fits."""
    warnings = []
    for category, (least, most) in mix.counts(role_level).items():
        asked = sum(q.category == category for q in questions)
        if not least <= asked <= most:
            warnings.append(f"{asked} {category} question(s) asked; the guide asks for {_span(least, most)}"
                            f" for a {role_level} role")
    technical = [q for q in questions if q.category == "technical"]
    difficulties = sorted({q.difficulty for q in technical if q.difficulty})
    if technical and len(difficulties) < mix.technical_difficulties:
        warnings.append(f"technical questions span {len(difficulties)} difficulty level(s)"
                        f"{' (' + ', '.join(difficulties) + ')' if difficulties else ''}; the guide asks for "
                        f"questions across difficulties (at least {mix.technical_difficulties})")
    min_hard = mix.level(role_level).min_hard
    hard = sum(q.difficulty == "hard" for q in technical)
    if hard < min_hard:
        warnings.append(f"{hard} hard technical question(s) for a {role_level} role; the guide weights harder "
                        f"technical questions higher for it (at least {min_hard})")
    return warnings

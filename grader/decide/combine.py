"""Several interviewers' scores combined: per question, then per category, then overall.

A question asked by several interviewers is one question: its score is the mean of theirs,
so a question two people heard does not weigh twice in its category. A category's average
is the mean of its questions' scores; the overall is the mean of the three category
averages. All of it in exact fractions, so an average of exactly 3.0 is exactly 3.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from grader.decide.bank import CATEGORIES, Category, Guide
from grader.decide.scorecard import AskedQuestion, LoadedScorecard
from grader.decision import Average, CategoryResult, Disagreement, QuestionScores

DISAGREEMENT_POINTS = 2


def mean(values: list[Fraction]) -> Fraction:
    return sum(values, Fraction(0)) / len(values)


def shown(value: Fraction) -> Average:
    """Two decimals cut toward zero, never rounded up: 2.999 shows as 2.99, not as a passing 3.00."""
    cut = Fraction(math.floor(value * 100), 100)
    return Average(value=float(cut), exact=str(value))


def figure(value: Fraction) -> str:
    """The average as the reports print it."""
    return shown(value).text()


@dataclass(frozen=True)
class Combined:
    questions: list[QuestionScores]
    # Exact means for the rule; None for a category no one asked about.
    category_means: dict[Category, Fraction | None]
    overall: Fraction | None
    disagreements: list[Disagreement]

    def categories(self) -> dict[str, CategoryResult]:
        return {
            category: CategoryResult(
                questions=sum(q.category == category for q in self.questions),
                average=None if value is None else shown(value),
            )
            for category, value in self.category_means.items()
        }


def _questions(scorecards: list[LoadedScorecard], guide: Guide) -> tuple[list[QuestionScores], dict[str, Fraction]]:
    scores: dict[str, dict[str, int]] = {}
    notes: dict[str, dict[str, str]] = {}
    asked_first: dict[str, AskedQuestion] = {}
    for loaded in sorted(scorecards, key=lambda item: item.card.interviewer):
        for asked in loaded.card.questions:
            scores.setdefault(asked.key, {})[loaded.card.interviewer] = asked.score
            if asked.notes.strip():
                notes.setdefault(asked.key, {})[loaded.card.interviewer] = asked.notes.strip()
            asked_first.setdefault(asked.key, asked)
    # Bank questions in the guide's order, then the others as first met.
    bank_order = {q.id: n for n, q in enumerate(guide.bank.questions)}
    met_order = {key: n for n, key in enumerate(asked_first)}
    questions, means = [], {}
    for key in sorted(asked_first, key=lambda key: (bank_order.get(key, len(bank_order)), met_order[key])):
        asked = asked_first[key]
        bank_question = guide.question(asked.id) if asked.id is not None else None
        means[key] = mean([Fraction(s) for s in scores[key].values()])
        category = bank_question.category if bank_question else asked.category
        if category is None:  # a valid scorecard gives every question outside the bank its category
            raise ValueError(f"question {key!r} has no category")
        questions.append(
            QuestionScores(
                key=key,
                id=asked.id,
                text=bank_question.text if bank_question else (asked.text or "").strip(),
                category=category,
                difficulty=bank_question.difficulty if bank_question else asked.difficulty,
                scores=scores[key],
                average=shown(means[key]),
                notes=notes.get(key, {}),
            )
        )
    return questions, means


def combine(scorecards: list[LoadedScorecard], guide: Guide) -> Combined:
    """Per-question means across interviewers, category means of those, the overall, and disagreements."""
    questions, means = _questions(scorecards, guide)
    category_means: dict[Category, Fraction | None] = {}
    for category in CATEGORIES:
        values = [means[q.key] for q in questions if q.category == category]
        category_means[category] = mean(values) if values else None
    known = [value for value in category_means.values() if value is not None]
    overall = mean(known) if len(known) == len(CATEGORIES) else None
    spreads = {q.key: max(q.scores.values()) - min(q.scores.values()) for q in questions}
    disagreements = [
        Disagreement(key=q.key, text=q.text, scores=q.scores, spread=spreads[q.key])
        for q in questions
        if spreads[q.key] >= DISAGREEMENT_POINTS
    ]
    return Combined(questions=questions, category_means=category_means, overall=overall, disagreements=disagreements)

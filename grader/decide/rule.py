"""The guide's hire rule, applied: every condition listed, met or not, with its figure.

"Hire at an average of 3.0+ across technical, behavioral, and role-fit, with zero red flags,
and a pass on the practical test." Read literally (the lead's product decision):

- the overall average, the mean of the three category averages (each category weighs the
  same, however many questions it had), is at least 3.0, compared in exact fractions. It
  needs all three: a category with no question asked means the rule cannot be applied,
  so no hire. A category under 3.0 while the overall passes is not a failing condition:
  it is listed as a warning for the people deciding to weigh;
- no red flag of the guide's list, from an interviewer or from the practical report;
- the practical report passed.

A practical the grader's environment kept from being graded (a base image it could not
get, say) is neither a pass nor a fail: its condition is pending, and when everything else
says hire the recommendation is `pending` until it is graded again. A practical whose verdict
is `review` (nothing measured fails it; README wording suggests a red flag) is pending the
same way until a reviewer confirms or clears the wording. When the interviews or a red flag
already rule a hire out, the answer is no hire, for those reasons alone.

The practical report's debrief questions come along as `follow_ups`, with the guide's
question and "what to look for" where one of the bank fits.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from grader.decide.bank import CATEGORIES, Guide
from grader.decide.combine import Combined, combine, figure, shown
from grader.decide.flags import interview_flags, practical_flags
from grader.decide.mix import mix_warnings
from grader.decide.scorecard import LoadedScorecard
from grader.decision import Condition, Decision, FollowUp, Interviewer, Practical, RaisedFlag
from grader.rubric.scorecard import Scorecard

THRESHOLD = Fraction(3)
RULE = (
    "hire when the overall average (the mean of the technical, behavioral and role-fit averages, each category "
    "weighing the same) is 3.0 or more, every category having been asked about; no red flag of the guide's "
    "list is raised (by an interviewer or by the practical report); and the practical test passed"
)


def _overall(combined: Combined) -> Condition:
    missing = [category for category in CATEGORIES if combined.category_means[category] is None]
    if combined.overall is None or missing:
        which = f"categor{'y' if len(missing) == 1 else 'ies'} {', '.join(missing)}"
        return Condition(
            id="overall",
            met=False,
            detail=f"overall: missing {which}: no {' or '.join(missing)} question asked, so the rule cannot be applied",
        )
    met = combined.overall >= THRESHOLD
    parts = ", ".join(
        f"{category} {figure(value)}" for category, value in combined.category_means.items() if value is not None
    )
    return Condition(
        id="overall",
        met=met,
        detail=f"overall: average {figure(combined.overall)} "
        f"{'≥' if met else '<'} {float(THRESHOLD):.1f} (mean of {parts})",
    )


def _category_warnings(combined: Combined, overall: Condition) -> list[str]:
    """Categories under 3.0 that the overall carried: not a failing condition, but for the deciders to weigh."""
    if not overall.met:
        return []
    return [
        f"{category} averages {figure(value)}, below {float(THRESHOLD):.1f}: the overall passes the guide's "
        "rule; weigh it"
        for category, value in combined.category_means.items()
        if value is not None and value < THRESHOLD
    ]


def _red_flags(raised: list[RaisedFlag]) -> Condition:
    if not raised:
        return Condition(id="red_flags", met=True, detail="red flags: none of the guide's list raised")
    origins: dict[str, list[str]] = {}
    for flag in raised:
        origins.setdefault(flag.id, []).append(flag.origin())
    listed = ", ".join(f"{flag_id} ({'; '.join(where)})" for flag_id, where in origins.items())
    return Condition(
        id="red_flags", met=False, detail=f"red flags: {len(origins)} of the guide's list raised: {listed}"
    )


def _practical(practical: Practical | None) -> Condition:
    if practical is None:
        return Condition(id="practical", met=False, detail="practical test: no report yet, so no pass")
    if practical.environment:
        stages = "; ".join(f"{stage}: {text}" for stage, text in practical.environment.items())
        return Condition(
            id="practical",
            met=False,
            pending=True,
            detail=f"practical not graded: {stages} (the grader's environment, not the candidate's "
            "work): grade it again where it can run, then run grader decide again",
        )
    result = f"practical test: {practical.verdict} {practical.total:g}/{practical.max:g}"
    if practical.verdict == "review":
        return Condition(
            id="practical",
            met=False,
            pending=True,
            detail=f"{result}: needs a person: README wording suggests {', '.join(practical.review)}, which nothing "
            "measured shows; a reviewer confirms or clears it (a red_flag override, grader report --overrides), "
            "then run grader decide again",
        )
    if practical.passed:
        return Condition(id="practical", met=True, detail=result)
    return Condition(id="practical", met=False, detail=f"{result} ({'; '.join(practical.verdict_reasons)})")


def follow_ups(report: Scorecard, guide: Guide) -> list[FollowUp]:
    """The report's debrief questions, each with the bank question it draws on (when the guide has it)."""
    found = []
    for question in report.debrief:
        bank = guide.question(question.bank) if question.bank else None
        found.append(
            FollowUp(
                **question.model_dump(),
                bank_question=bank.text if bank else None,
                look_for=bank.look_for if bank else None,
            )
        )
    return found


def decide(
    candidate: str, scorecards: list[LoadedScorecard], report: Scorecard | None, report_path: str, guide: Guide
) -> Decision:
    """The hiring decision for one candidate from their scorecards (at least one) and practical report."""
    assert scorecards, "a candidate with no scorecard has no interview to decide on"
    combined = combine(scorecards, guide)
    practical = Practical.of(report, report_path) if report is not None else None
    counted, uncounted = practical_flags(report, guide) if report is not None else ([], [])
    raised = interview_flags(scorecards, guide) + counted
    overall = _overall(combined)
    reasons = [overall, _red_flags(raised), _practical(practical)]
    hire = all(reason.met for reason in reasons)
    pending = not hire and all(reason.met or reason.pending for reason in reasons)
    role_level = scorecards[0].card.role_level
    return Decision(
        candidate=candidate,
        recommendation="hire" if hire else "pending" if pending else "no hire",
        hire=hire,
        rule=RULE,
        reasons=reasons,
        overall=None if combined.overall is None else shown(combined.overall),
        categories=combined.categories(),
        role_level=role_level,
        interviewers=[
            Interviewer(
                interviewer=s.card.interviewer,
                date=s.card.date,
                file=Path(s.source.path).name,
                notes=s.card.notes.strip(),
            )
            for s in sorted(scorecards, key=lambda item: item.card.interviewer)
        ],
        questions=combined.questions,
        disagreements=combined.disagreements,
        red_flags=raised,
        practical=practical,
        practical_flags_not_counted=uncounted,
        category_warnings=_category_warnings(combined, overall),
        mix_warnings=mix_warnings(scorecards, role_level, guide),
        guide_sha256=guide.sha256,
        follow_ups=follow_ups(report, guide) if report is not None else [],
    )

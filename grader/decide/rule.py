"""The guide's hire rule, applied: every condition listed, met or not, with its figure.

"Hire at an average of 3.0+ across technical, behavioral, and role-fit, with zero red flags,
and a pass on the practical test." Read as: each of the three category averages is at
least 3.0 (an average over the three could hide a weak category), a category with no
question asked cannot pass (the rule cannot be applied without it), no red flag of the
guide's list from an interviewer or the practical report, and the practical report passed.
"""

from __future__ import annotations

from fractions import Fraction

from grader.decide.bank import CATEGORIES, Category, Guide
from grader.decide.combine import Combined, combine, figure, shown
from grader.decide.decision import Condition, Decision, Interviewer, Practical, RaisedFlag
from grader.decide.flags import interview_flags, practical_flags
from grader.decide.mix import mix_warnings
from grader.decide.scorecard import LoadedScorecard
from grader.rubric.scorecard import Scorecard

THRESHOLD = Fraction(3)
RULE = ("hire when each of the technical, behavioral and role-fit averages is 3.0 or more (a category with no "
        "question asked cannot pass), no red flag of the guide's list is raised (by an interviewer or by the "
        "practical report), and the practical test passed")


def _category(category: Category, combined: Combined) -> Condition:
    value = combined.category_means[category]
    if value is None:
        return Condition(id=category, met=False, detail=f"{category}: missing category, no {category} question "
                                                          "asked, so the rule cannot be applied")
    asked = sum(q.category == category for q in combined.questions)
    met = value >= THRESHOLD
    return Condition(id=category, met=met, detail=f"{category}: average {figure(value)} {'≥' if met else '<'} "
                                                  f"{float(THRESHOLD):.1f} over {asked} question(s)")


def _red_flags(raised: list[RaisedFlag]) -> Condition:
    if not raised:
        return Condition(id="red_flags", met=True, detail="red flags: none of the guide's list raised")
    origins: dict[str, list[str]] = {}
    for flag in raised:
        origins.setdefault(flag.id, []).append(flag.origin())
    listed = ", ".join(f"{flag_id} ({'; '.join(where)})" for flag_id, where in origins.items())
    return Condition(id="red_flags", met=False, detail=f"red flags: {len(origins)} of the guide's list raised: {listed}")


def _practical(practical: Practical | None) -> Condition:
    if practical is None:
        return Condition(id="practical", met=False, detail="practical test: no report yet, so no pass")
    result = f"practical test: {practical.verdict} {practical.total:g}/{practical.max:g}"
    if practical.passed:
        return Condition(id="practical", met=True, detail=result)
    return Condition(id="practical", met=False, detail=f"{result} ({'; '.join(practical.verdict_reasons)})")


def decide(candidate: str, scorecards: list[LoadedScorecard], report: Scorecard | None, report_path: str,
           guide: Guide) -> Decision:
    """The hiring decision for one candidate from their scorecards (at least one) and practical report."""
    assert scorecards, "a candidate with no scorecard has no interview to decide on"
    combined = combine(scorecards, guide)
    practical = Practical.of(report, report_path) if report is not None else None
    counted, uncounted = practical_flags(report, guide) if report is not None else ([], [])
    raised = interview_flags(scorecards, guide) + counted
    reasons = [*(_category(c, combined) for c in CATEGORIES), _red_flags(raised), _practical(practical)]
    hire = all(reason.met for reason in reasons)
    role_level = scorecards[0].card.role_level
    return Decision(
        candidate=candidate, recommendation="hire" if hire else "no hire", hire=hire, rule=RULE, reasons=reasons,
        overall=None if combined.overall is None else shown(combined.overall), categories=combined.categories(),
        role_level=role_level,
        interviewers=[Interviewer(interviewer=s.card.interviewer, date=s.card.date, file=s.source.path.name)
                      for s in sorted(scorecards, key=lambda item: item.card.interviewer)],
        questions=combined.questions, disagreements=combined.disagreements, red_flags=raised, practical=practical,
        practical_flags_not_counted=uncounted, mix_warnings=mix_warnings(combined.questions, role_level, guide.bank.mix),
        guide_sha256=guide.sha256)

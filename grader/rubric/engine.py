"""Evidence + rubric (+ reviewer overrides) -> scorecard. The only place points are made
(the rules on figures, `scale`, `band` and `sustained`, give their shares in `grader.rubric.figures`).

Pure and deterministic: the same evidence document, rubric and overrides always give
the same scorecard, so `grader report` can re-render from evidence.json at any time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from grader.evidence import StageOutcome
from grader.rubric.debrief import debrief
from grader.rubric.environment import NOT_GRADED, REMEDY, blocked_stages, evidence_stage, set_aside, stopped_early
from grader.rubric.figures import band_fraction, number, plain, scale_fraction, sustained_fraction
from grader.rubric.model import Condition, Criterion, Rubric, Section
from grader.rubric.overrides import BONUS_TARGET, OverrideEntry, Overrides
from grader.rubric.paths import resolve
from grader.rubric.review import review_items, review_lines
from grader.rubric.scorecard import (
    BonusResult,
    CriterionScore,
    Observation,
    Override,
    RedFlagResult,
    ReviewResult,
    RubricRef,
    Scorecard,
    SectionScore,
    Verdict,
)

DIGITS = 2


def _round(value: float) -> float:
    return round(value + 0.0, DIGITS) + 0.0  # + 0.0 turns -0.0 into 0.0


def observe(document: dict, condition: Condition) -> Observation:
    """Evaluate one condition: holds True, False, or None when the evidence cannot say."""
    found = resolve(document, condition.evidence)
    value = found.value if found.found else None
    holds: bool | None
    if condition.present is not None:
        holds = (value is not None) == condition.present
    elif value is None:
        holds = None
    elif condition.matches is not None:
        holds = re.search(condition.matches, str(value)) is not None
    elif condition.above is not None or condition.below is not None:
        figure = number(value)
        holds = (
            None
            if figure is None
            else (
                (condition.above is None or figure > condition.above)
                and (condition.below is None or figure < condition.below)
            )
        )
    else:
        expected = True if condition.is_ is None else condition.is_
        holds = bool(value) == expected
    return Observation(
        path=condition.evidence,
        found=found.found,
        value=plain(value),
        holds=holds,
        test=condition.describe(),
        detail=found.detail,
        quotes=found.quotes,
    )


def _combine(observations: list[Observation], every: bool) -> bool | None:
    states = [o.holds for o in observations]
    if every:
        return False if False in states else (None if None in states else True)
    return True if True in states else (None if None in states else False)


def _mark(observation: Observation) -> str:
    """'yes: names X as leakage [audit.leak_named]': the verdict, the evidence's words, the test."""
    sign = {True: "yes", False: "no", None: "unknown"}[observation.holds]
    text = observation.detail or (f"{observation.path} = {observation.value}" if observation.found else "")
    return f"{sign}: {text} [{observation.test}]" if text else f"{sign} [{observation.test}]"


def _observe(document: dict, condition: Condition, blocked: dict[str, str]) -> Observation:
    return set_aside(observe(document, condition), blocked)


def _criterion_fraction(
    document: dict, criterion: Criterion, blocked: dict[str, str]
) -> tuple[float, str, list[Observation]]:
    gates = [_observe(document, c, blocked) for c in criterion.requires or []]
    failed = [o for o in gates if o.holds is False]
    if failed:
        return 0.0, "requires: " + "; ".join(_mark(o) for o in failed), failed
    return _rule_fraction(document, criterion, blocked)


def _rule_fraction(
    document: dict, criterion: Criterion, blocked: dict[str, str]
) -> tuple[float, str, list[Observation]]:
    if criterion.sustained is not None:
        fraction, text, observations = sustained_fraction(document, criterion.sustained, blocked)
        if fraction is None:
            return criterion.unknown, f"not verifiable: {text}", observations
        return fraction, text, observations
    measured = (
        scale_fraction(document, criterion.scale, blocked)
        if criterion.scale is not None
        else band_fraction(document, criterion.band, blocked)
        if criterion.band is not None
        else None
    )
    if measured is not None:
        fraction, text, observations = measured
        if fraction is None:
            return criterion.unknown, f"not verifiable: {text}", observations
        details = "; ".join(o.detail for o in observations if o.detail)
        return fraction, text + (f" - {details}" if details else ""), observations
    conditions = criterion.all or criterion.any or criterion.share or []
    observations = [_observe(document, c, blocked) for c in conditions]
    marks = "; ".join(_mark(o) for o in observations)
    if criterion.share is not None:
        held = sum(o.holds is True for o in observations)
        unknown = sum(o.holds is None for o in observations)
        fraction = (held + criterion.unknown * unknown) / len(observations)
        return (
            fraction,
            f"{held} of {len(observations)} hold" + (f", {unknown} unknown" if unknown else "") + f": {marks}",
            observations,
        )
    state = _combine(observations, every=criterion.all is not None)
    if state is None:
        return criterion.unknown, f"not verifiable: {marks}", observations
    return (1.0 if state else 0.0), marks, observations


def _override(entry: OverrideEntry | None, original: float | bool) -> Override | None:
    if entry is None:
        return None
    value = entry.points if entry.points is not None else entry.raised
    assert value is not None
    return Override(reviewer=entry.reviewer, reason=entry.reason, original=original, value=value)


def _score_section(
    document: dict, section: Section, rubric: Rubric, overrides: dict[str, OverrideEntry], blocked: dict[str, str]
) -> tuple[SectionScore, list[str]]:
    environment = blocked.get(section.requires)
    requirement = resolve(document, section.requires)
    graded = environment is None and requirement.found and requirement.value is not None
    if graded:
        reason = ""
    else:
        reason = f"{NOT_GRADED}: {environment}" if environment else _not_graded_reason(document, section)
    criteria, warnings, unread = [], [], []
    for criterion in section.criteria:
        qualified = f"{section.id}.{criterion.id}"
        if graded:
            fraction, text, observations = _criterion_fraction(document, criterion, blocked)
            missing = [
                f"{qualified} reads {o.path}: {o.detail}"
                for o in observations
                if not o.found and "records no" in o.detail
            ]
            warnings += missing
            unread += [qualified] if missing else []
        else:
            # The environment's reason already starts with "not graded".
            fraction, text, observations = 0.0, reason if environment else f"not graded: {reason}", []
        points = _round(criterion.points * fraction)
        entry = overrides.get(qualified)
        scored = CriterionScore(
            id=qualified,
            title=criterion.title,
            points=points,
            max=criterion.points,
            reason=text,
            evidence=observations,
            override=_override(entry, points),
        )
        if entry is not None and entry.points is not None:
            scored.points = _round(entry.points)
        criteria.append(scored)
    if not graded and criteria and all(c.override is not None for c in criteria):
        graded, reason, environment = True, "graded by a reviewer: every criterion was overridden", None
    stopped = stopped_early(document, section.requires) if unread else None
    if stopped:
        # One line for the reader instead of one per path the stage never got to write (report.json keeps each).
        warnings = [f"{section.id}: {stopped}, so {len(unread)} of its criteria read evidence it never recorded"]
    total = _round(sum(c.points for c in criteria))
    level = rubric.levels.level(total / section.weight) if graded else None
    return SectionScore(
        id=section.id,
        title=section.title,
        score=total,
        max=section.weight,
        level=level,
        level_meaning=rubric.levels.meaning[level - 1] if level else "not graded",
        graded=graded,
        reason=reason,
        criteria=criteria,
        environment=environment,
        stage_stopped=stopped,
    ), warnings


def _not_graded_reason(document: dict, section: Section) -> str:
    stage = (document.get("stages") or {}).get(section.requires)
    why = f"no {section.requires} evidence in evidence.json"
    if isinstance(stage, dict):
        why += f" (stage {stage.get('status')}: {'; '.join(stage.get('reasons') or [])})".replace(": )", ")")
    else:
        why += " (that stage did not run)"
    return why


def _red_flags(
    document: dict, rubric: Rubric, overrides: dict[str, OverrideEntry], blocked: dict[str, str]
) -> list[RedFlagResult]:
    results = []
    for flag in rubric.red_flags:
        observations = [_observe(document, c, blocked) for c in flag.all or flag.any or []]
        state = _combine(observations, every=flag.all is not None)
        marks = "; ".join(_mark(o) for o in observations)
        detail = marks if state is not None else f"could not be judged: {marks}"
        aside = sorted({evidence_stage(o.path) for o in observations} & set(blocked)) if state is None else []
        result = RedFlagResult(
            id=flag.id,
            message=flag.message,
            raised=bool(state),
            judged=state is not None,
            detail=detail,
            evidence=observations,
            environment="; ".join(f"{stage}: {blocked[stage]}" for stage in aside) or None,
        )
        entry = overrides.get(f"red_flag.{flag.id}")
        if entry is not None and entry.raised is not None:
            result.override = _override(entry, result.raised)
            result.raised, result.judged = entry.raised, True
        results.append(result)
    return results


def _bonus(
    document: dict, rubric: Rubric, overrides: dict[str, OverrideEntry], blocked: dict[str, str]
) -> BonusResult | None:
    if rubric.bonus is None:
        return None
    observations = [_observe(document, c, blocked) for c in rubric.bonus.all]
    awarded = _combine(observations, every=True) is True
    points = rubric.bonus.points if awarded else 0.0
    result = BonusResult(
        id=rubric.bonus.id,
        title=rubric.bonus.title,
        points=points,
        max=rubric.bonus.points,
        awarded=awarded,
        reason="; ".join(_mark(o) for o in observations),
        evidence=observations,
    )
    entry = overrides.get(BONUS_TARGET)
    if entry is not None and entry.points is not None:
        result.override = _override(entry, points)
        result.points, result.awarded = _round(entry.points), entry.points > 0
    return result


def _verdict(
    rubric: Rubric,
    sections: dict[str, SectionScore],
    total: float,
    bonus: float,
    raised: list[RedFlagResult],
    pending: dict[str, str],
    review: list[ReviewResult],
) -> tuple[bool, Verdict, list[str], str]:
    rule = rubric.pass_rule
    counted = total + (bonus if rule.bonus_counts else 0.0)
    flags = "no red flag" if rule.max_red_flags == 0 else f"at most {rule.max_red_flags} red flag(s)"
    described = (
        f"total {'with' if rule.bonus_counts else 'without'} the bonus at least {rule.mark:g} of 100, "
        f"{flags}" + (", every section graded" if rule.require_all_sections else "")
    )
    reasons = []
    ungraded = [s.id for s in sections.values() if not s.graded]
    if pending:
        # Whatever the pass rule says: a pass or a fail here would be the grader's environment's, not the candidate's.
        stages = ", ".join(pending)
        reasons += [f"{NOT_GRADED}: {stage}: {text}" for stage, text in pending.items()]
        reasons.append(
            f"total {counted:g} counts only the sections graded here: pass or fail waits for a grading "
            f"where {stages} can run"
        )
    elif counted < rule.mark:
        reasons.append(f"total {counted:g} is under the pass mark {rule.mark:g}")
    else:
        reasons.append(f"total {counted:g} reaches the pass mark {rule.mark:g}")
    if len(raised) > rule.max_red_flags:
        reasons.append(f"red flag(s) raised: {', '.join(f.id for f in raised)}")
    open_lines, settled = review_lines(review)
    reasons += settled
    if pending:
        others = [s.id for s in sections.values() if not s.graded and s.environment is None]
        reasons += [f"not graded: {', '.join(others)}"] if others else []
        reasons.append(f"what to do: {REMEDY}")
        return False, "incomplete", reasons, described
    if rule.require_all_sections and ungraded:
        reasons.append(f"not graded: {', '.join(ungraded)}")
        return False, "incomplete", reasons, described
    passed = counted >= rule.mark and len(raised) <= rule.max_red_flags
    if passed and open_lines:
        # Nothing measured fails the candidate; wording alone never does: a person decides before it is a pass.
        return False, "review", reasons + open_lines, described
    return passed, "pass" if passed else "fail", reasons, described


def _document(evidence: Mapping[str, Any] | BaseModel) -> dict:
    if isinstance(evidence, BaseModel):
        return evidence.model_dump(mode="json")
    return dict(evidence)


def score(evidence: Mapping[str, Any] | BaseModel, rubric: Rubric, overrides: Overrides | None = None) -> Scorecard:
    """Score one candidate's evidence (an `Evidence` or the evidence.json document)."""
    document = _document(evidence)
    candidate = str(document.get("candidate", "unknown"))
    entries = {entry.target: entry for entry in (overrides.for_candidate(candidate) if overrides else [])}
    blocked = blocked_stages(document)
    sections: dict[str, SectionScore] = {}
    warnings: list[str] = []
    for section in rubric.sections:
        sections[section.id], found = _score_section(document, section, rubric, entries, blocked)
        warnings += found
    flags = _red_flags(document, rubric, entries, blocked)
    raised = [flag for flag in flags if flag.raised]
    bonus = _bonus(document, rubric, entries, blocked)
    total = _round(sum(s.score for s in sections.values()))
    bonus_points = bonus.points if bonus else 0.0
    # A stage whose every section a reviewer graded by hand no longer holds the verdict back.
    reviewed = {section.requires for section in rubric.sections if sections[section.id].graded}
    pending = {stage: text for stage, text in blocked.items() if stage not in reviewed}
    review = review_items(document, flags, blocked)
    passed, verdict, reasons, rule = _verdict(rubric, sections, total, bonus_points, raised, pending, review)
    stages = {
        name: StageOutcome.model_validate(outcome)
        for name, outcome in (document.get("stages") or {}).items()
        if isinstance(outcome, dict)
    }
    applied = sum(1 for s in sections.values() for c in s.criteria if c.override) + sum(1 for f in flags if f.override)
    applied += 1 if bonus and bonus.override else 0
    card = Scorecard(
        candidate=candidate,
        rubric=RubricRef(id=rubric.id, version=rubric.version, title=rubric.title, sha256=rubric.sha256),
        backend=document.get("backend"),
        evidence_schema=document.get("schema_version"),
        spec_version=document.get("spec_version"),
        seed_fingerprint=document.get("seed_fingerprint"),
        graded_at_unix=document.get("graded_at_unix"),
        total=total,
        bonus=_round(bonus_points),
        bonus_detail=bonus,
        passed=passed,
        verdict=verdict,
        verdict_reasons=reasons,
        pass_rule=rule,
        sections=sections,
        red_flags=raised,
        red_flags_checked=flags,
        overrides_applied=applied,
        stages=stages,
        warnings=sorted(set(warnings)),
        environment=pending,
        review=review,
    )
    card.debrief = debrief(card, document)
    return card

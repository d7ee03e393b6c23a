"""The per-candidate Markdown report: the same content as the HTML page, without the plots."""

from __future__ import annotations

from grader.decision import STALE, Decision
from grader.evidence import Quote
from grader.report.html import DECISION_END, DECISION_START
from grader.report.readme import ReadmeNotes
from grader.report.text import (
    NOT_GRADED_HERE,
    REVIEW_HOW,
    criterion_points,
    criterion_reason,
    debrief_about,
    environment_lines,
    graded_at,
    headline_reasons,
    quote_origin,
    review_status,
    section_points,
    section_status,
    stage_reasons,
    stage_stopped_line,
    verdict_word,
)
from grader.rubric.scorecard import CriterionScore, Observation, Override, RedFlagResult, Scorecard, SectionScore

MAX_QUOTE_CHARS = 300


def _cell(text: object) -> str:
    """Text safe inside a Markdown table cell (and with no HTML a viewer would render)."""
    text = str(text).replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")
    return text.replace("\n", " ").replace("\r", " ")


def _quote(quote: Quote) -> str:
    # Quotes are the candidate's text: no HTML or code spans of theirs reach a Markdown viewer.
    text = " ".join(quote.text.split())[:MAX_QUOTE_CHARS].replace("`", "'").replace("<", "&lt;")
    return f"`{quote_origin(quote)}`: \u201c{text}\u201d"


def _evidence(observations: list[Observation]) -> str:
    quotes = [_quote(q) for item in observations for q in item.quotes]
    return "<br>".join(_cell(q) for q in quotes[:3])


def _override(override: Override | None) -> str:
    if override is None:
        return ""
    return f" **Overridden by {override.reviewer}: {override.original} \u2192 {override.value}.** {override.reason}"


def _criterion_row(criterion: CriterionScore, section: SectionScore) -> str:
    reason = _cell(criterion_reason(criterion, section) + _override(criterion.override))
    points = criterion_points(criterion, section)
    return f"| {_cell(criterion.title)} | {points} | {reason} | {_evidence(criterion.evidence)} |"


def _flag(flag: RedFlagResult) -> str:
    quotes = "".join(f"\n  - {_quote(q)}" for item in flag.evidence for q in item.quotes[:2])
    return f"- **{flag.message}** (`{flag.id}`): {flag.detail}{_override(flag.override)}{quotes}"


def _review(scorecard: Scorecard) -> list[str]:
    """README wording that suggests a red flag, each item with its quotes and where it stands."""
    if not scorecard.review:
        return []
    lines = ["", "## Needs a person: README review items", ""]
    for item in scorecard.review:
        quotes = "".join(f"\n  - {_quote(q)}" for q in item.quotes)
        lines.append(
            f"- **{_cell(review_status(item))}**: resembles `{item.flag}` ({_cell(item.message)}): "
            f"{_cell(item.why)}{quotes}"
        )
    return [*lines, "", f"{REVIEW_HOW}."]


def _debrief(scorecard: Scorecard) -> list[str]:
    """The interviewer's follow-up questions, each with the evidence it cites."""
    if not scorecard.debrief:
        return []
    lines = ["", "## Debrief questions for the interviewer", ""]
    for number, question in enumerate(scorecard.debrief, 1):
        bank = f" Guide question `{question.bank}`." if question.bank else ""
        quotes = "".join(f"\n   - {_quote(q)}" for q in question.quotes)
        lines.append(
            f"{number}. **{_cell(question.question)}** About: {_cell(debrief_about(question))}.{bank}\n"
            f"   Evidence: {_cell(question.evidence)}{quotes}"
        )
    return lines


def _questions(decision: Decision) -> list[str]:
    lines = ["", "| question | category | scores | average | notes |", "|---|---|---|---|---|"]
    for q in decision.questions:
        where = " *(outside the bank)*" if q.outside_bank else f" (`{q.id}`)"
        kind = q.category + (f", {q.difficulty}" if q.difficulty else "")
        scores = ", ".join(f"{who} {n}" for who, n in q.scores.items())
        notes = "; ".join(f"{who}: {note}" for who, note in q.notes.items())
        lines.append(f"| {_cell(q.text)}{where} | {kind} | {_cell(scores)} | {q.average.text()} | {_cell(notes)} |")
    return lines


def _decision(decision: Decision, scorecard: Scorecard) -> list[str]:
    stale = decision.stale_against(scorecard)
    if stale:
        # Out of date: no recommendation to act on, only what to do.
        return [
            "",
            "## Hiring decision: STALE",
            "",
            f"**{STALE.replace('grader decide', '`grader decide`')}.** "
            f"{_cell(stale)}; the out-of-date decision said {decision.recommendation} and is not shown.",
        ]
    lines = ["", f"## Hiring decision: {decision.recommendation.upper()}", ""]
    lines += [
        f"- {'met' if r.met else '**pending**' if r.pending else '**not met**'}: {_cell(r.detail)}"
        for r in decision.reasons
    ]
    lines += [f"- warning: {_cell(w)}" for w in decision.category_warnings]
    overall = "missing a category" if decision.overall is None else decision.overall.text()
    lines += [
        "",
        f"Rule: {decision.rule}. Overall (mean of the three): **{overall}**; {decision.role_level} role; "
        f"interviewers: {_cell(', '.join(f'{i.interviewer} ({i.date})' for i in decision.interviewers))}.",
        "",
        "| category | questions | average (1-4) |",
        "|---|---|---|",
    ]
    lines += [
        f"| {name} | {c.questions} | {'missing' if c.average is None else c.average.text()} |"
        for name, c in decision.categories.items()
    ]
    lines += _questions(decision)
    notes = [f"- {_cell(i.interviewer)}: {_cell(i.notes)}" for i in decision.interviewers if i.notes]
    if notes:
        lines += ["", "Interviewers' notes:", "", *notes]
    lines += ["", "Red flags (interview and practical):", ""]
    lines += [
        f"- **{_cell(f.text)}** (`{f.id}`, {_cell(f.origin())}){': ' + _cell(f.note) if f.note else ''}"
        for f in decision.red_flags
    ] or ["- none of the guide's list raised"]
    if decision.practical_flags_not_counted:
        lines += [
            "",
            "Raised by the practical report, not on the guide's list (not counted): "
            + ", ".join(f"`{f.id}`" for f in decision.practical_flags_not_counted)
            + ".",
        ]
    if decision.mix_warnings:
        lines += ["", "Interview mix:", ""] + [f"- {_cell(w)}" for w in decision.mix_warnings]
    if decision.disagreements:
        lines += ["", "| interviewers 2+ points apart on | spread | scores |", "|---|---|---|"]
        lines += [
            f"| {_cell(d.text)} | {d.spread} | {_cell(', '.join(f'{who} {n}' for who, n in d.scores.items()))} |"
            for d in decision.disagreements
        ]
    return lines


def decision_slot(decision: Decision | None, scorecard: Scorecard) -> str:
    """The report's hiring-decision slot: the section when there is a decision, else empty."""
    # Blank lines around the section, so no Markdown table runs into the closing marker.
    body = "\n".join(_decision(decision, scorecard)) + "\n\n" if decision else ""
    return f"{DECISION_START}{body}{DECISION_END}"


def _readme(notes: ReadmeNotes | None) -> list[str]:
    """Who judged the README, and each paragraph shared with another candidate, next to theirs."""
    if notes is None:
        return []
    lines = ["", _cell(notes.judge_line()) + "."]
    if notes.shared:
        lines += ["", "| this README | shared with | their README |", "|---|---|---|"]
        lines += [
            f"| line {p.line}: {_cell(p.text)} | {_cell(p.candidate)} ({p.overlap:.0%} of its wording) | "
            f"line {p.their_line}: {_cell(p.their_text)} |"
            for p in notes.shared
        ]
    return lines


def render_markdown(scorecard: Scorecard, decision: Decision | None = None, readme: ReadmeNotes | None = None) -> str:
    """The report as Markdown (with the hiring decision, when there is one, and the README's judge)."""
    lines = [
        f"# {scorecard.candidate}: {verdict_word(scorecard).upper()}",
        "",
        (
            f"**{scorecard.total:g} / {scorecard.max:g}** (+ bonus {scorecard.bonus:g}, shown apart). "
            f"{_cell(headline_reasons(scorecard))}."
        ),
        "",
    ]
    environment = environment_lines(scorecard)
    if environment:
        lines += [f"**{NOT_GRADED_HERE}.**", "", *(f"- {_cell(line)}" for line in environment), ""]
    lines += [
        (
            f"Pass rule: {scorecard.pass_rule}. Rubric `{scorecard.rubric.id}` {scorecard.rubric.version}; "
            f"backend **{scorecard.backend}**; graded {graded_at(scorecard)}."
        ),
        decision_slot(decision, scorecard),
        "",
        "| section | score | level (1-4) |",
        "|---|---|---|",
    ]
    for section in scorecard.sections.values():
        lines.append(f"| {_cell(section.title)} | {section_points(section)} | {_cell(section_status(section))} |")
    lines += ["", "## Red flags", ""]
    lines += [_flag(flag) for flag in scorecard.red_flags] or ["No red flag raised."]
    unjudged = [flag.id for flag in scorecard.red_flags_checked if not flag.judged and not flag.environment]
    if unjudged:
        lines += ["", f"Not judged (evidence missing): {', '.join(unjudged)}."]
    set_aside = [flag.id for flag in scorecard.red_flags_checked if not flag.judged and flag.environment]
    if set_aside:
        lines += ["", f"Not judged (their stage could not run here): {', '.join(set_aside)}."]
    lines += _review(scorecard) + _debrief(scorecard)
    if scorecard.bonus_detail is not None:
        bonus = scorecard.bonus_detail
        lines += [
            "",
            f"## Bonus: {bonus.title}",
            "",
            f"{bonus.points:g} of {bonus.max:g}: {bonus.reason}{_override(bonus.override)}",
        ]
    for section in scorecard.sections.values():
        lines += ["", f"## {section.title}: {section_points(section)}", ""]
        if section.reason:
            lines += [_cell(section.reason), ""]
        if section.stage_stopped:
            lines += [
                (
                    f"**{_cell(stage_stopped_line(section))}.** Criteria it recorded nothing for say only that; "
                    "report.json keeps every path they read."
                ),
                "",
            ]
        lines += ["| criterion | points | why | evidence |", "|---|---|---|---|"]
        lines += [_criterion_row(criterion, section) for criterion in section.criteria]
        if section.id == "judgment":
            lines += _readme(readme)
    lines += ["", "## Stages", ""]
    lines += [
        f"- {name}: {outcome.status}"
        + (f", **not run here (environment)**: {_cell(outcome.environment)}" if outcome.environment else "")
        + (f" ({_cell('; '.join(reasons))})" if (reasons := stage_reasons(outcome)) else "")
        for name, outcome in scorecard.stages.items()
    ]
    if scorecard.warnings:
        lines += ["", "## Rubric notes", ""] + [f"- {w}" for w in scorecard.warnings]
    lines += [
        "",
        (
            f"Plots: see report.html. Report schema {scorecard.schema_version}; "
            f"{scorecard.overrides_applied} reviewer override(s)."
        ),
        "",
    ]
    return "\n".join(lines)

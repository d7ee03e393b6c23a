"""The decision on the console: one candidate in full, or a cohort as a table."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from grader.decide.bank import CATEGORIES
from grader.decision import Decision

NO_INTERVIEW = "no interview yet"


def _average(decision: Decision, category: str) -> str:
    average = decision.categories[category].average
    return "missing" if average is None else average.text()


def _colour(decision: Decision) -> str:
    return "green" if decision.hire else "yellow" if decision.pending else "red"


def print_decision(decision: Decision, console: Console) -> None:
    """Recommendation, every condition, then what to look at: weak categories, flags, mix, disagreements."""
    colour = _colour(decision)
    overall = "missing a category" if decision.overall is None else decision.overall.text()
    console.print(
        f"[bold]{escape(decision.candidate)}[/bold]: [bold {colour}]{decision.recommendation.upper()}"
        f"[/bold {colour}] ({decision.role_level} role, {len(decision.interviewers)} interviewer(s), "
        f"overall {overall})"
    )
    for reason in decision.reasons:
        mark = (
            "[green]met[/green]    "
            if reason.met
            else "[yellow]pending[/yellow]"
            if reason.pending
            else "[red]not met[/red]"
        )
        console.print(f"  {mark} {escape(reason.detail)}")
    for warning in decision.category_warnings:
        console.print(f"  [yellow]warning:[/yellow] {escape(warning)}")
    for flag in decision.practical_flags_not_counted:
        console.print(f"  [dim]not counted: practical red flag {flag.id} is not on the guide's list[/dim]")
    for warning in decision.mix_warnings:
        console.print(f"  [yellow]interview mix:[/yellow] {escape(warning)}")
    for disagreement in decision.disagreements:
        scores = ", ".join(f"{who} {score}" for who, score in disagreement.scores.items())
        console.print(
            f"  [yellow]{disagreement.spread} points apart[/yellow] on {escape(disagreement.key)}: {escape(scores)}"
        )
    if decision.follow_ups:
        console.print("  [bold]Debrief questions[/bold] (from the practical report):")
    for number, question in enumerate(decision.follow_ups, 1):
        console.print(f"  {number}. {escape(question.question)} [dim]({escape(question.topic)}, {question.kind})[/dim]")
        console.print(f"     [dim]evidence:[/dim] {escape(question.evidence)}")
        for quote in question.quotes:
            console.print(f"     [dim]quote:[/dim] \u201c{escape(' '.join(quote.text.split()))}\u201d")
        if question.bank_question:
            console.print(f"     [dim]guide ({escape(question.bank or '')}):[/dim] {escape(question.bank_question)}")
        if question.look_for:
            console.print(f"     [dim]look for:[/dim] {escape(question.look_for)}")


def print_cohort(decisions: dict[str, Decision | None], console: Console) -> None:
    """One row per candidate; a candidate with a report and no scorecard shows as not interviewed yet."""
    table = Table(
        "candidate",
        "decision",
        *CATEGORIES,
        "overall",
        "red flags",
        "practical",
        "mix warnings",
        "disagreements",
        title="Hiring decisions",
    )
    for candidate, decision in decisions.items():
        if decision is None:
            table.add_row(escape(candidate), NO_INTERVIEW, *[""] * (len(CATEGORIES) + 5))
            continue
        colour = _colour(decision)
        practical = decision.practical
        table.add_row(
            escape(candidate),
            f"[{colour}]{decision.recommendation}[/{colour}]",
            *(_average(decision, c) for c in CATEGORIES),
            "missing" if decision.overall is None else decision.overall.text(),
            " ".join(sorted({f.id for f in decision.red_flags})) or "-",
            "no report"
            if practical is None
            else "not graded here (environment)"
            if practical.environment
            else f"review {practical.total:g} (needs a person)"
            if practical.verdict == "review"
            else f"{practical.verdict} {practical.total:g}",
            str(len(decision.mix_warnings) or "-"),
            str(len(decision.disagreements) or "-"),
        )
    console.print(table)

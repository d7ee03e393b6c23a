"""`grader report`: re-render scores and reports from saved evidence, without re-running anything."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from grader.report.render import rerender
from grader.report.text import REVIEW_HOW, printable, verdict_word
from grader.rubric import DEFAULT_RUBRIC, load_overrides, load_rubric
from grader.rubric.environment import REMEDY

REPORTS = "reports"


def report_command(
    report_dirs: Annotated[
        list[Path],
        typer.Argument(
            metavar="REPORT_DIR",
            help="Folders `grader grade --out` wrote (holding evidence.json), or a cohort folder of them.",
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="REPORTS folder: <candidate>/report.json|md|html and the leaderboard (default: REPORT_DIR/reports).",
        ),
    ] = None,
    overrides: Annotated[
        Path | None,
        typer.Option("--overrides", help="Reviewer overrides (TOML): criterion or red flag, points, reason, reviewer."),
    ] = None,
    rubric: Annotated[Path, typer.Option("--rubric", help="Rubric file.")] = DEFAULT_RUBRIC,
) -> None:
    """Score saved evidence with the rubric (and reviewer overrides) and write the reports."""
    loaded = load_rubric(rubric)
    reviewer = load_overrides(overrides, loaded) if overrides else None
    reports_dir = out or report_dirs[0] / REPORTS
    cards = rerender(report_dirs, reports_dir, loaded, reviewer)
    table = Table(
        "candidate",
        "total",
        "bonus",
        "verdict",
        *next(iter([list(c.sections) for c in cards]), []),
        "red flags",
        title=f"{loaded.title} ({loaded.id} {loaded.version})",
    )
    for card in sorted(cards, key=lambda c: (-c.total, c.candidate)):
        sections = [
            f"{s.score:g}/{s.max:g}" if s.graded else "not graded here" if s.environment else "not graded"
            for s in card.sections.values()
        ]
        table.add_row(
            card.candidate,
            f"{card.total:g}",
            f"{card.bonus:g}",
            verdict_word(card),
            *sections,
            ", ".join(f.id for f in card.red_flags) or "-",
        )
    console = Console(width=None if sys.stdout.isatty() else 160)
    console.print(table)
    for card in cards:
        for stage, text in card.environment.items():
            console.print(
                printable(f"{card.candidate}: {stage} not graded here (environment): {text}"),
                style="yellow",
                markup=False,
                highlight=False,
            )
    if any(card.environment for card in cards):
        console.print(f"what to do: {REMEDY}", style="yellow", markup=False, highlight=False)
    for card in cards:
        flags = ", ".join(dict.fromkeys(item.flag for item in card.open_review()))
        if flags:
            console.print(
                printable(f"{card.candidate}: needs a person: README wording resembles {flags}; {REVIEW_HOW}"),
                style="magenta",
                markup=False,
                highlight=False,
            )
    applied = sum(c.overrides_applied for c in cards)
    if applied:
        console.print(f"{applied} reviewer override(s) applied from {overrides}")
    console.print(f"reports: {reports_dir}")

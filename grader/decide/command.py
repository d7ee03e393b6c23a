"""`grader decide`: the hiring decision from interview scorecards and the practical test's report.

One candidate:  grader decide CANDIDATE --scorecards DIR --report REPORTS/<candidate>/report.json [--out FILE]
A cohort:       grader decide --cohort --scorecards DIR --reports REPORTS

decision.json goes next to the report (unless --out), and the candidate's report.md,
report.html and an existing leaderboard are brought up to date with it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from grader.decide.bank import Guide, load_guide
from grader.decide.decision import DECISION_FILE, Decision, write_decision
from grader.decide.rule import decide
from grader.decide.scorecard import load_scorecards, scorecard_files
from grader.decide.summary import print_cohort, print_decision
from grader.errors import BadInput
from grader.report.render import REPORT_FILE, load_report, refresh_leaderboard, show_decision
from grader.world.seed import check_candidate_id


def _folder(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise BadInput(f"{what} folder {path} does not exist")
    return path


def _decide_one(candidate: str, scorecards: Path, report: Path, guide: Guide) -> Decision:
    check_candidate_id(candidate)
    card = load_report(report)
    if card.candidate != candidate:
        raise BadInput(f"{report} is the report of {card.candidate}, not of {candidate}")
    # SCORECARDS/<candidate>/ when given the cohort's folder, else the candidate's own folder.
    folder = scorecards / candidate if (scorecards / candidate).is_dir() else _folder(scorecards, "scorecards")
    return decide(candidate, load_scorecards(folder, candidate, guide), card, str(report), guide)


def _show(report_folder: Path, console: Console) -> list[Path]:
    """Bring the candidate's report.md and report.html up to date with the decision.json beside them."""
    if not (report_folder / REPORT_FILE).is_file():
        return []
    updated = show_decision(report_folder)
    if len(updated) < 2:
        console.print(f"[yellow]{report_folder}: a report rendered before decisions has no place for one; "
                      "`grader report` re-renders it with the decision[/yellow]")
    return updated


def _candidate_folders(root: Path, holds: Callable[[Path], bool]) -> set[str]:
    # `_graded`, `_cohort` and hidden folders are never a candidate's.
    return {p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")) and holds(p)}


def _decide_cohort(scorecards: Path, reports: Path, guide: Guide) -> dict[str, Decision | None]:
    """Every candidate with scorecards or a report (None: a report and no scorecard yet); nothing written."""
    stray = scorecard_files(_folder(scorecards, "scorecards"))
    if stray:
        raise BadInput(f"{stray[0]}: for a cohort, scorecards go in one folder per candidate "
                       f"({scorecards}/<candidate>/<interviewer>.toml)")
    interviewed = _candidate_folders(scorecards, lambda p: bool(scorecard_files(p)))
    reported = _candidate_folders(_folder(reports, "reports"), lambda p: (p / REPORT_FILE).is_file())
    if not interviewed | reported:
        raise BadInput(f"no candidate: no scorecard folders in {scorecards} and no reports in {reports}")
    decisions: dict[str, Decision | None] = {}
    for candidate in sorted(interviewed | reported):
        check_candidate_id(candidate)
        if candidate not in interviewed:
            decisions[candidate] = None
        elif candidate in reported:
            decisions[candidate] = _decide_one(candidate, scorecards, reports / candidate / REPORT_FILE, guide)
        else:
            decisions[candidate] = decide(candidate, load_scorecards(scorecards / candidate, candidate, guide),
                                          None, "", guide)
    return decisions


def decide_command(
    scorecards: Annotated[Path, typer.Option(
        "--scorecards", help="Interview scorecards: the candidate's *.toml files, or one subfolder per candidate.")],
    candidate: Annotated[Optional[str], typer.Argument(
        help="The candidate to decide (omit with --cohort).")] = None,
    report: Annotated[Optional[Path], typer.Option(
        "--report", help="The candidate's practical report: REPORTS/<candidate>/report.json.")] = None,
    out: Annotated[Optional[Path], typer.Option(
        "--out", help="Write decision.json here instead, and leave the reports untouched.")] = None,
    cohort: Annotated[bool, typer.Option(
        "--cohort", help="Decide every candidate with scorecards (SCORECARDS/<candidate>/) or a report.")] = False,
    reports: Annotated[Optional[Path], typer.Option(
        "--reports", help="With --cohort: the REPORTS folder `grader report` or `grader grade` wrote.")] = None,
) -> None:
    """Apply the interview guide's hire rule to interview scorecards and the practical report."""
    console = Console(width=None if sys.stdout.isatty() else 160)
    if cohort:
        if candidate is not None or report is not None or out is not None:
            raise BadInput("--cohort decides every candidate into REPORTS: give no CANDIDATE, --report or --out")
        if reports is None:
            raise BadInput("--cohort needs --reports REPORTS (the folder holding <candidate>/report.json)")
        decisions = _decide_cohort(scorecards, reports, load_guide())
        updated = []
        for name, decision in decisions.items():
            if decision is not None:
                write_decision(decision, reports / name / DECISION_FILE)
                updated += _show(reports / name, console)
        updated += refresh_leaderboard(reports)
        print_cohort(decisions, console)
        console.print(f"decisions: {reports}/<candidate>/{DECISION_FILE}; {len(updated)} report file(s) updated",
                      soft_wrap=True)
        return
    if candidate is None or report is None or reports is not None:
        raise BadInput("give CANDIDATE --scorecards DIR --report REPORTS/<candidate>/report.json, "
                       "or --cohort --scorecards DIR --reports REPORTS")
    report_file = report / REPORT_FILE if report.is_dir() else report
    report_folder = report_file.resolve().parent
    decision = _decide_one(candidate, scorecards, report_file, load_guide())
    target = write_decision(decision, out or report_folder / DECISION_FILE)
    updated = [] if out else _show(report_folder, console) + refresh_leaderboard(report_folder.parent)
    print_decision(decision, console)
    console.print(f"decision: {target}" + (f"; updated {', '.join(p.name for p in updated)}" if updated else ""),
                  soft_wrap=True)

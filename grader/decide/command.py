"""`grader decide`: the hiring decision from interview scorecards and the practical test's report.

One candidate:  grader decide CANDIDATE --scorecards DIR|FILE --report REPORTS/<candidate>/report.json [--out FILE]
A cohort:       grader decide --cohort --scorecards DIR --reports REPORTS [--allow-missing-report]

decision.json goes next to the report (unless --out), and the candidate's report.md,
report.html and an existing leaderboard are brought up to date with it. Every scorecard is
checked before anything is written; once decision.json is written, a report or leaderboard
that cannot be brought up to date is a warning, not a failure.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from grader.decide.bank import Guide, load_guide
from grader.decide.rule import decide
from grader.decide.scorecard import is_note, is_scorecard, load_scorecards, scorecard_files
from grader.decide.summary import print_cohort, print_decision
from grader.decision import DECISION_FILE, Decision, write_decision
from grader.errors import BadInput, GraderError
from grader.report.render import REPORT_FILE, load_report, refresh_leaderboard, show_decision
from grader.world.seed import check_candidate_id


def _folder(path: Path, what: str) -> Path:
    if path.is_file():
        raise BadInput(f"{what} {path} is a file: give the folder holding one subfolder per candidate")
    if not path.is_dir():
        raise BadInput(f"{what} folder {path} does not exist")
    return path


def _candidate_scorecards(scorecards: Path, candidate: str) -> Path:
    """One scorecard file, SCORECARDS/<candidate>/ when given the cohort's folder, or the candidate's own folder."""
    if scorecards.is_file() or (scorecards / candidate).is_dir():
        return scorecards if scorecards.is_file() else scorecards / candidate
    if not scorecards.is_dir():
        raise BadInput(f"scorecards {scorecards} do not exist: give a scorecard file or a folder of them")
    holds_folders = any(entry.is_dir() and not is_note(entry) for entry in scorecards.iterdir())
    if holds_folders and not any(is_scorecard(entry) for entry in scorecards.iterdir()):
        raise BadInput(f"no {scorecards / candidate} folder: {scorecards} holds other candidates' folders")
    return scorecards


def _decide_one(candidate: str, scorecards: Path, report: Path, guide: Guide) -> Decision:
    check_candidate_id(candidate)
    card = load_report(report)
    if card.candidate != candidate:
        raise BadInput(f"{report} is the report of {card.candidate}, not of {candidate}")
    loaded = load_scorecards(_candidate_scorecards(scorecards, candidate), candidate, guide)
    return decide(candidate, loaded, card, str(report), guide)


def _warn(console: Console, message: str) -> None:
    console.print(f"[yellow]warning: {escape(message)}[/yellow]", soft_wrap=True)


def _show(report_folder: Path, console: Console) -> list[Path]:
    """Bring the candidate's report.md and report.html up to date with the decision.json beside them."""
    if not (report_folder / REPORT_FILE).is_file():
        return []
    try:
        updated = show_decision(report_folder)
    except (GraderError, OSError) as exc:
        _warn(
            console,
            f"{report_folder}: the reports do not show the new decision ({exc}); `grader report` re-renders them",
        )
        return []
    if len(updated) < 2:
        _warn(
            console,
            f"{report_folder}: a report rendered before decisions has no place for one; "
            "`grader report` re-renders it with the decision",
        )
    return updated


def _refresh(reports: Path, console: Console) -> list[Path]:
    """The leaderboard, if there is one, with the new decisions; a failure is a warning (decision.json is written)."""
    try:
        return refresh_leaderboard(reports)
    except (GraderError, OSError) as exc:
        _warn(console, f"the leaderboard in {reports} was not refreshed ({exc}); `grader report` re-renders it")
        return []


def _candidate_folders(root: Path, holds: Callable[[Path], bool]) -> set[str]:
    # `_graded`, `_cohort` and hidden folders are never a candidate's.
    return {p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")) and holds(p)}


def _check_cohort_root(scorecards: Path) -> None:
    strays = [entry for entry in scorecards.iterdir() if not entry.is_dir() and not is_note(entry)]
    if strays:
        raise BadInput(
            f"{sorted(strays)[0]}: for a cohort, scorecards go in one folder per candidate "
            f"({scorecards}/<candidate>/<interviewer>.toml)"
        )


def _without_report(scorecards: Path, reports: Path, candidates: set[str], known: set[str]) -> BadInput:
    """A scorecard folder naming no report: most often a typo in the folder's name."""
    named = []
    for candidate in sorted(candidates):
        close = difflib.get_close_matches(candidate, sorted(known), n=1)
        named.append(f"{scorecards / candidate}" + (f" (did you mean {close[0]}?)" if close else ""))
    return BadInput(
        f"no report in {reports} for the scorecard folder(s) {', '.join(named)}: rename the folder to "
        "the candidate's id, or pass --allow-missing-report to decide without the practical (no hire)"
    )


def _decide_cohort(
    scorecards: Path, reports: Path, guide: Guide, allow_missing_report: bool
) -> dict[str, Decision | None]:
    """Every candidate with scorecards or a report (None: a report and no scorecard yet); nothing written."""
    _check_cohort_root(_folder(scorecards, "scorecards"))
    interviewed = _candidate_folders(scorecards, lambda p: bool(scorecard_files(p)))
    reported = _candidate_folders(_folder(reports, "reports"), lambda p: (p / REPORT_FILE).is_file())
    if not interviewed | reported:
        raise BadInput(f"no candidate: no scorecard folders in {scorecards} and no reports in {reports}")
    if interviewed - reported and not allow_missing_report:
        raise _without_report(scorecards, reports, interviewed - reported, reported)
    decisions: dict[str, Decision | None] = {}
    for candidate in sorted(interviewed | reported):
        check_candidate_id(candidate)
        if candidate not in interviewed:
            decisions[candidate] = None
        elif candidate in reported:
            decisions[candidate] = _decide_one(candidate, scorecards, reports / candidate / REPORT_FILE, guide)
        else:
            decisions[candidate] = decide(
                candidate, load_scorecards(scorecards / candidate, candidate, guide), None, "", guide
            )
    return decisions


def decide_command(
    scorecards: Annotated[
        Path,
        typer.Option(
            "--scorecards",
            help="Interview scorecards: one scorecard file, the candidate's folder of *.toml files, "
            "or one subfolder per candidate (a folder with --cohort).",
        ),
    ],
    candidate: Annotated[str | None, typer.Argument(help="The candidate to decide (omit with --cohort).")] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="The candidate's practical report: REPORTS/<candidate>/report.json.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write decision.json here instead, and leave the reports untouched.")
    ] = None,
    cohort: Annotated[
        bool,
        typer.Option("--cohort", help="Decide every candidate with scorecards (SCORECARDS/<candidate>/) or a report."),
    ] = False,
    reports: Annotated[
        Path | None,
        typer.Option("--reports", help="With --cohort: the REPORTS folder `grader report` or `grader grade` wrote."),
    ] = None,
    allow_missing_report: Annotated[
        bool,
        typer.Option(
            "--allow-missing-report",
            help="With --cohort: decide a scorecard folder with no report in REPORTS "
            "(no practical, so no hire) instead of refusing it as a likely typo.",
        ),
    ] = False,
) -> None:
    """Apply the interview guide's hire rule to interview scorecards and the practical report."""
    console = Console(width=None if sys.stdout.isatty() else 160)
    if cohort:
        if candidate is not None or report is not None or out is not None:
            raise BadInput("--cohort decides every candidate into REPORTS: give no CANDIDATE, --report or --out")
        if reports is None:
            raise BadInput("--cohort needs --reports REPORTS (the folder holding <candidate>/report.json)")
        decisions = _decide_cohort(scorecards, reports, load_guide(), allow_missing_report)
        updated = []
        for name, decision in decisions.items():
            if decision is not None:
                write_decision(decision, reports / name / DECISION_FILE)
        for name, decision in decisions.items():
            if decision is not None:
                updated += _show(reports / name, console)
        updated += _refresh(reports, console)
        print_cohort(decisions, console)
        console.print(
            f"decisions: {reports}/<candidate>/{DECISION_FILE}; {len(updated)} report file(s) updated", soft_wrap=True
        )
        return
    if candidate is None or report is None or reports is not None or allow_missing_report:
        raise BadInput(
            "give CANDIDATE --scorecards DIR --report REPORTS/<candidate>/report.json, "
            "or --cohort --scorecards DIR --reports REPORTS [--allow-missing-report]"
        )
    report_file = report / REPORT_FILE if report.is_dir() else report
    report_folder = report_file.resolve().parent
    decision = _decide_one(candidate, scorecards, report_file, load_guide())
    target = write_decision(decision, out or report_folder / DECISION_FILE)
    updated = [] if out else _show(report_folder, console) + _refresh(report_folder.parent, console)
    print_decision(decision, console)
    console.print(
        f"decision: {target}" + (f"; updated {', '.join(p.name for p in updated)}" if updated else ""), soft_wrap=True
    )

"""`grader check SUBMISSION [--data DIR]`: the candidate's preflight, printed in plain words."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from grader.fsutil import write_atomic
from grader.preflight.check import run_preflight
from grader.preflight.findings import PreflightReport

_MARK = {
    "ok": "[green]✓[/green]",
    "problem": "[red]✗[/red]",
    "warning": "[yellow]![/yellow]",
    "skipped": "[dim]-[/dim]",
}


def print_report(report: PreflightReport, console: Console) -> None:
    console.print(
        f"Preflight of {escape(report.submission)} ({report.backend} backend). It checks that your "
        "submission runs; it does not grade it.",
        highlight=False,
    )
    for finding in report.findings:
        console.print(f"{_MARK[finding.status]} {finding.step:16s} {escape(finding.message)}", highlight=False)
        for detail in finding.details:
            console.print("    " + escape(detail).replace("\n", "\n    "), highlight=False, style="dim")
    problems = report.problems
    if problems:
        console.print(f"[red]{len(problems)} problem(s) to fix before you submit.[/red]")
    else:
        console.print("[green]No problems found: your submission runs end to end.[/green]")


def check_command(
    submission: Annotated[Path, typer.Argument(help="Your submission folder.")],
    data: Annotated[
        Path | None, typer.Option("--data", help="The data/ folder of your packet (default: SUBMISSION/data).")
    ] = None,
    backend: Annotated[
        str, typer.Option("--backend", help="docker, local, or auto (docker when an engine answers).")
    ] = "auto",
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the findings as JSON here.")] = None,
) -> None:
    """Check a submission before you submit it: layout, notebooks, MLflow, image, service. No score, no hidden data."""
    console = Console()
    with console.status("checking") as status:
        report = run_preflight(submission, data, backend, progress=lambda step: status.update(f"checking: {step}"))
    print_report(report, console)
    if json_out:
        write_atomic(json_out, report.model_dump_json(indent=1) + "\n")
    raise typer.Exit(1 if report.problems else 0)

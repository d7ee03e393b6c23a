"""The `grader` command line: one verb per thing a user does."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from grader.cohort import grade_command, merge_command
from grader.cohort.command import DemoSecret, Rows, SecretFile, Spec, cohort_secret
from grader.decide.command import decide_command
from grader.errors import GraderError
from grader.preflight import check_command
from grader.report import report_command
from grader.serving.probe_cli import probe_command
from grader.world.packet import generate, write_key, write_packet
from grader.world.seed import check_candidate_id
from grader.world.spec import DEFAULT_SPEC, load_spec
from grader.world.summary import print_key_summary

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="churn-grader: generate candidate packets and grade take-home submissions.",
)
console = Console(stderr=True)

Force = Annotated[bool, typer.Option("--force", help="Replace a non-empty output folder.")]
Out = Annotated[Path, typer.Option("--out", help="Output folder (created; must be empty unless --force).")]


def _seeded(candidate_id: str, spec: str, rows: int | None, secret_file: Path | None, demo_secret: bool):
    check_candidate_id(candidate_id)
    world_spec = load_spec(spec)
    secret = cohort_secret(secret_file, demo_secret)
    with console.status(f"generating the {world_spec.version} world for {candidate_id}"):
        return generate(world_spec, secret, candidate_id, rows, demo_secret)


@app.command()
def packet(
    candidate_id: str,
    out: Out,
    spec: Spec = DEFAULT_SPEC,
    rows: Rows = None,
    secret_file: SecretFile = None,
    demo_secret: DemoSecret = False,
    force: Force = False,
) -> None:
    """Write what the candidate receives: data, data dictionary and TASK.md."""
    seeded = _seeded(candidate_id, spec, rows, secret_file, demo_secret)
    write_packet(seeded, out, force)
    console.print(f"packet for {candidate_id}: {out} ({seeded.key.rows:,} rows)")


@app.command()
def key(
    candidate_id: str,
    out: Out,
    spec: Spec = DEFAULT_SPEC,
    rows: Rows = None,
    secret_file: SecretFile = None,
    demo_secret: DemoSecret = False,
    force: Force = False,
) -> None:
    """Write what only the grader sees: answer_key.json and the hidden holdout."""
    seeded = _seeded(candidate_id, spec, rows, secret_file, demo_secret)
    write_key(seeded, out, force)
    print_key_summary(seeded.key, Console())
    console.print(f"answer key for {candidate_id}: {out}")


sandbox_app = typer.Typer(help="The Docker engine and the offline stand-in base images.", no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")


@sandbox_app.command("bootstrap")
def sandbox_bootstrap(
    python: Annotated[
        str | None,
        typer.Option(
            "--python",
            help="Build the stand-in holding this python (3.9, 3.11 or 3.13); else the default "
            "3.11 one under the usual python:* names. Others are built on first use anyway.",
        ),
    ] = None,
) -> None:
    """Build the stand-in base images (python:3.11-slim ...) offline; a no-op when present."""
    from grader.engine.baseimages import ensure_base_images, ensure_standin, standin_image
    from grader.engine.client import connect

    if python is not None:
        info = ensure_standin(connect(), python)
        console.print(f"{standin_image(python)}: stand-in, python {info.python_version}")
        return
    for info in ensure_base_images():
        kind = f"stand-in, python {info.python_version}" if info.is_standin else "real image"
        console.print(f"{info.name}: {kind}")


app.command("grade")(grade_command)
app.command("merge")(merge_command)
app.command("check")(check_command)
app.command("decide")(decide_command)
app.command("probe")(probe_command)
app.command("report")(report_command)


def main() -> None:
    """Console-script entry: user errors become one line and exit code 2."""
    try:
        app()
    except GraderError as exc:
        console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)

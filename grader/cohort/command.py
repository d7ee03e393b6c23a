"""`grader grade` (one submission, or a cohort folder of them) and `grader merge`, as typer commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from grader.cohort.capacity import default_timeout_s, machine_capacity
from grader.cohort.ci import CiEntry, compact_summary, exit_code, junit_xml, read_scorecard
from grader.cohort.entries import Cohort, find_submissions
from grader.cohort.gradeone import RubricReports
from grader.cohort.layout import CohortLayout
from grader.cohort.results import CohortResult
from grader.cohort.run import CohortRun, CohortSettings
from grader.cohort.single import grade_single, single_markdown
from grader.cohort.state import read_states
from grader.errors import BadInput
from grader.fsutil import write_atomic
from grader.report.text import printable
from grader.rubric import DEFAULT_RUBRIC, load_rubric
from grader.sandbox.api import choose_sandbox
from grader.sandbox.policy import POLICY_FILE, Policy, load_policy
from grader.serving.settings import ServingSettings
from grader.tomlfile import load_toml
from grader.world.seed import DEMO_SECRET, read_secret
from grader.world.spec import DEFAULT_SPEC, load_spec
from grader.writeup.settings import JudgeSettings

console = Console(stderr=True)
INTERRUPTED = 130

Target = Annotated[
    Path,
    typer.Argument(
        metavar="SUBMISSION_OR_COHORT",
        help="One submission folder (with --candidate), or a folder of submission folders (a cohort).",
    ),
]
Out = Annotated[Path, typer.Option("--out", help="Output folder: OUT for one submission, REPORTS for a cohort.")]
Candidate = Annotated[
    str | None,
    typer.Option(
        "--candidate", help="Grade the folder as this one candidate's submission; without it, it is a cohort."
    ),
]
Jobs = Annotated[int, typer.Option("--jobs", "-j", min=0, help="Submissions graded at once (0: as many as fit).")]
Timeout = Annotated[
    float | None,
    typer.Option(
        "--timeout", min=60, help="Wall-clock limit per submission, seconds (default: from the --policy file's limits)."
    ),
]
Only = Annotated[list[str] | None, typer.Option("--only", help="Grade only this candidate (repeatable).")]
ListCandidates = Annotated[
    bool, typer.Option("--list", help="Print the cohort's candidate ids as a JSON array (a CI matrix) and stop.")
]
Ci = Annotated[bool, typer.Option("--ci", help="Compact summary, JUnit XML and summary.md for a CI job.")]
Junit = Annotated[Path | None, typer.Option("--junit", help="JUnit XML path (default: OUT/junit.xml).")]
FailUnder = Annotated[
    float | None,
    typer.Option(
        "--fail-under",
        help=(
            "Exit 1 when a candidate's total is below this (4 when the grader's environment kept one from being graded)."
        ),
    ),
]
FailOnFail = Annotated[
    bool,
    typer.Option(
        "--fail-on-fail",
        help=(
            "Exit 1 when a candidate does not pass (4 when the grader's environment kept one from being graded, "
            "5 when a person must review one's README wording)."
        ),
    ),
]
ServingFile = Annotated[
    Path | None,
    typer.Option(
        "--serving-settings", help="TOML of serving probe sizes (tests and dry runs; real grading uses the defaults)."
    ),
]
RubricFile = Annotated[Path, typer.Option("--rubric", help="Rubric file.")]
BackendChoice = Annotated[
    str, typer.Option("--backend", help="docker, local, or auto (docker when an engine answers).")
]
Spec = Annotated[str, typer.Option("--spec", help="World spec version from datasets/.")]
Rows = Annotated[int | None, typer.Option("--rows", min=600, help="Rows of training data (default: the spec's).")]
SecretFile = Annotated[
    Path | None, typer.Option("--secret-file", help="File holding the cohort secret (else GRADER_SECRET).")
]
DemoSecret = Annotated[
    bool, typer.Option("--demo-secret", help="Use the built-in demo secret. Never for real candidates.")
]
Force = Annotated[
    bool, typer.Option("--force", help="One submission: replace a non-empty OUT. Cohort: grade everything again.")
]
OverlapServing = Annotated[
    bool,
    typer.Option(
        "--overlap-serving",
        help="Let serving stages of different submissions overlap: faster, but their load probes "
        "then share the CPUs (latency figures get worse).",
    ),
]
JudgeChoice = Annotated[
    str,
    typer.Option(
        "--judge",
        help="Who reads the README: heuristic (offline, the default) or openai (any OpenAI-compatible endpoint: "
        "GRADER_JUDGE_URL, GRADER_JUDGE_MODEL and GRADER_JUDGE_API_KEY from the environment; answers are cached "
        "and a failing endpoint falls back to the heuristic, with the reason in the report).",
    ),
]
PolicyFile = Annotated[
    Path,
    typer.Option(
        "--policy",
        help="Resource-limit policy for candidate code (memory, CPUs, processes, time, disk, output); "
        "default: sandbox/policy.toml.",
    ),
]
CleanLeftovers = Annotated[
    bool,
    typer.Option(
        "--clean-leftovers",
        help="First remove every serving run's leftover containers, networks and images on this "
        "engine (after a killed run; not while another grader uses the engine).",
    ),
]


def cohort_secret(secret_file: Path | None, demo_secret: bool) -> bytes:
    """The cohort secret from the options every seeded verb shares (the demo one says so)."""
    if demo_secret:
        console.print("[yellow]using the built-in DEMO secret: not for real candidates[/yellow]")
        return DEMO_SECRET
    return read_secret(secret_file)


def _serving_settings(path: Path | None) -> ServingSettings | None:
    if path is None:
        return None
    return load_toml(ServingSettings, path, what="serving settings")


def _jobs(requested: int, policy: Policy, submissions: int) -> int:
    """--jobs, clamped to what fits the machine (0: all that fit) and to the number of submissions."""
    capacity = machine_capacity(policy)
    if requested == 0:
        console.print(f"--jobs {capacity.max_jobs}: {capacity.explain()}", highlight=False)
        requested = capacity.max_jobs
    elif requested > capacity.max_jobs:
        console.print(
            f"[yellow]--jobs {requested} clamped to {capacity.max_jobs}: {capacity.explain()}[/yellow]", highlight=False
        )
        requested = capacity.max_jobs
    return max(1, min(requested, submissions))


def _finish_ci(entries: list[CiEntry], junit: Path, summary_md: str, summary_path: Path) -> None:
    write_atomic(junit, junit_xml(entries))
    write_atomic(summary_path, printable(summary_md))
    for line in compact_summary(entries):
        print(line)
    print(f"junit: {junit}; summary: {summary_path}")


def _ci_entries(result: CohortResult, layout: CohortLayout) -> list[CiEntry]:
    entries = []
    for r in result.results:
        failed = r.outcome == "failed" or r.action == "interrupted"
        card = None if failed else read_scorecard(layout.report_dir(r.candidate) / "report.json")
        entries.append(
            CiEntry(
                candidate=r.candidate,
                card=card,
                grader_failed=failed,
                reasons=r.reasons,
                duration_s=r.duration_s,
                outcome=r.outcome,
            )
        )
    return entries


def _remove_serving_leftovers(client) -> None:
    from grader.sandbox.api import cleanup_leftovers

    console.print(f"removed serving leftovers: {cleanup_leftovers(client)}", highlight=False)


def _grade_cohort(
    cohort: Cohort,
    out: Path,
    settings: CohortSettings,
    rubric: Path,
    ci: bool,
    junit: Path | None,
    fail_under: float | None,
    fail_on_fail: bool,
) -> int:
    from grader.cohort.display import summary_table

    console.print(
        f"grading {len(cohort.entries)} submission(s) from {cohort.root} into {out} with {settings.jobs} "
        f"job(s), {settings.backend} backend, at most {settings.timeout_s:.0f} s each"
        + (", one serving stage at a time" if settings.jobs > 1 and settings.exclusive_serving else ""),
        highlight=False,
    )
    result = CohortRun(cohort, out, settings, hook=RubricReports(rubric), console=console).run()
    layout = CohortLayout(out.resolve())
    entries = _ci_entries(result, layout)
    if ci:
        console.print(result.line(), highlight=False)
        _finish_ci(entries, junit or out / "junit.xml", result.markdown(), out / "summary.md")
    else:
        Console(width=None if sys.stdout.isatty() else 160).print(summary_table(result.results, result.line()))
    return INTERRUPTED if result.interrupted else exit_code(entries, fail_under, fail_on_fail)


def grade_command(
    path: Target,
    out: Out,
    candidate: Candidate = None,
    jobs: Jobs = 1,
    timeout: Timeout = None,
    only: Only = None,
    list_candidates: ListCandidates = False,
    ci: Ci = False,
    junit: Junit = None,
    fail_under: FailUnder = None,
    fail_on_fail: FailOnFail = False,
    serving_settings: ServingFile = None,
    rubric: RubricFile = DEFAULT_RUBRIC,
    backend: BackendChoice = "auto",
    spec: Spec = DEFAULT_SPEC,
    rows: Rows = None,
    secret_file: SecretFile = None,
    demo_secret: DemoSecret = False,
    force: Force = False,
    overlap_serving: OverlapServing = False,
    clean_leftovers: CleanLeftovers = False,
    policy_file: PolicyFile = POLICY_FILE,
    judge: JudgeChoice = "heuristic",
) -> None:
    """Grade one submission, or every submission of a cohort folder (parallel, resumable)."""
    if candidate is None and list_candidates:
        print(json.dumps([entry.candidate for entry in find_submissions(path, only).valid()]))
        return
    serving = _serving_settings(serving_settings)
    load_rubric(rubric)  # a bad rubric is a one-line error before any grading
    judge_settings = JudgeSettings.from_environment(judge, rubric)
    load_spec(spec)
    policy_file = policy_file.resolve()
    policy = load_policy(policy_file)
    secret = cohort_secret(secret_file, demo_secret)
    if candidate is not None:
        if only or list_candidates:
            raise BadInput("--only and --list are for a cohort folder; drop --candidate")
        entry = grade_single(
            path,
            candidate,
            out,
            backend,
            spec,
            rows,
            secret,
            demo_secret,
            force,
            serving,
            rubric,
            ci,
            console,
            policy,
            judge=judge_settings,
        )
        if ci:
            _finish_ci([entry], junit or out / "junit.xml", single_markdown(entry, path), out / "summary.md")
        raise typer.Exit(exit_code([entry], fail_under, fail_on_fail))
    cohort = find_submissions(path, only)
    if out.resolve().is_relative_to(path.resolve()):
        raise BadInput(f"--out {out} is inside the submissions folder {path}: it would be graded as a submission")
    sandbox = choose_sandbox(backend)
    chosen = sandbox.backend
    if sandbox.client is not None and clean_leftovers:
        _remove_serving_leftovers(sandbox.client)
    sandbox.close()
    settings = CohortSettings(
        spec=spec,
        rows=rows,
        secret=secret,
        demo_secret=demo_secret,
        backend=chosen,
        jobs=_jobs(jobs, policy, len(cohort.valid())),
        timeout_s=timeout or default_timeout_s(policy, serving),
        serving_settings=serving,
        force=force,
        exclusive_serving=not overlap_serving,
        policy_file=policy_file,
        judge=judge_settings,
    )
    raise typer.Exit(_grade_cohort(cohort, out, settings, rubric, ci, junit, fail_under, fail_on_fail))


def merge_command(
    report_dirs: Annotated[
        list[Path],
        typer.Argument(
            metavar="REPORT_DIR", help="REPORTS folders of cohort runs, graded folders, or folders of them."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="The merged cohort folder: reports, leaderboard, merge.json.")],
    rubric: RubricFile = DEFAULT_RUBRIC,
    force: Annotated[bool, typer.Option("--force", help="Replace a non-empty --out.")] = False,
) -> None:
    """Merge per-submission results graded on different machines into one cohort leaderboard."""
    from rich.table import Table

    from grader.cohort.merge import merge

    report = merge(report_dirs, out, RubricReports(rubric), force)
    states = read_states(CohortLayout(out.resolve()))
    table = Table(
        "candidate",
        "total",
        "verdict",
        "from",
        title=f"merged {len(report.kept)} candidate(s) into {out}",
        title_justify="left",
    )
    for candidate, source in report.kept.items():
        score = states[candidate].score if candidate in states else None
        table.add_row(candidate, f"{score.total:g}" if score else "-", score.verdict if score else "-", source)
    Console(width=None if sys.stdout.isatty() else 160).print(table)
    for candidate, reason in report.failed.items():
        console.print(f"[red]{candidate}: no finished grading in any input ({reason})[/red]", highlight=False)
    for conflict in report.conflicts:
        style = "yellow" if conflict.kind != "duplicate" else "dim"
        console.print(
            f"[{style}]{conflict.candidate}: {conflict.kind}: {conflict.detail}; dropped "
            f"{', '.join(conflict.dropped)}[/{style}]",
            highlight=False,
        )
    for warning in report.warnings:
        console.print(f"[yellow]{warning}[/yellow]", highlight=False)
    console.print(f"leaderboard: {out / 'leaderboard.html'}; merge record: {out / 'merge.json'}")

"""One submission graded in this process, as `grader grade SUBMISSION --candidate ID --out OUT` always did.

Evidence and notebooks go to OUT, reports to OUT/reports; with `--ci`, a grader bug becomes
a reported grader failure rather than a traceback the CI log has to be searched for.
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.status import Status

from grader.cohort.ci import CiEntry
from grader.cohort.results import CohortResult, SubmissionResult, now
from grader.cohort.worker import summarize
from grader.errors import BadInput, GraderError
from grader.report.text import printable, verdict_word
from grader.rubric import load_rubric
from grader.rubric.environment import REMEDY
from grader.sandbox.api import choose_sandbox
from grader.sandbox.policy import Policy
from grader.serving.settings import ServingSettings
from grader.stages.base import NoHooks, StageName
from grader.world.seed import check_candidate_id
from grader.world.spec import load_spec
from grader.writeup.settings import JudgeSettings

REPORTS = "reports"


class StatusHooks(NoHooks):
    """Progress on the console's status line; a lone grading never waits for a slot."""

    def __init__(self, status: Status, candidate: str) -> None:
        self.status, self.candidate = status, candidate

    def progress(self, stage: StageName, detail: str | None = None) -> None:
        self.status.update(f"grading {self.candidate}: {stage.value}" + (f": {detail}" if detail else ""))


def grade_single(
    submission: Path,
    candidate: str,
    out: Path,
    backend: str,
    spec: str,
    rows: int | None,
    secret: bytes,
    demo_secret: bool,
    force: bool,
    serving: ServingSettings | None,
    rubric: Path,
    ci: bool,
    console: Console,
    policy: Policy | None = None,
    judge: JudgeSettings | None = None,
) -> CiEntry:
    """Grade one submission into OUT and render its reports; in CI, a grader bug is returned, not raised."""
    from grader.grade import grade_submission
    from grader.report import report_evidence
    from grader.world.packet import generate

    if not submission.is_dir():
        raise BadInput(f"submission folder {submission} does not exist")
    check_candidate_id(candidate)
    world_spec = load_spec(spec)
    started = time.monotonic()
    with console.status(f"generating the {world_spec.version} world for {candidate}"):
        seeded = generate(world_spec, secret, candidate, rows, demo_secret)
    sandbox = choose_sandbox(backend)
    if sandbox.backend == "local" and backend == "auto":
        console.print("[yellow]no Docker engine answers: grading with the local backend[/yellow]")
    try:
        with console.status("grading") as status:
            evidence = grade_submission(
                submission,
                seeded,
                out,
                sandbox,
                force,
                hooks=StatusHooks(status, candidate),
                policy=policy,
                serving_settings=serving,
                judge=judge,
            )
    except GraderError:
        raise
    except Exception as exc:  # a grader bug; in CI it is reported as the grader's failure, not the candidate's
        if not ci:
            raise
        console.print_exception()
        return CiEntry(candidate=candidate, card=None, grader_failed=True, reasons=[f"{type(exc).__name__}: {exc}"])
    finally:
        sandbox.close()
    for name, outcome in evidence.stages.items():
        console.print(
            printable(f"{name:10s} {outcome.status:8s} {'; '.join(outcome.reasons)[:300]}"),
            highlight=False,
            markup=False,
        )
    card = report_evidence(evidence, out / REPORTS, load_rubric(rubric))
    console.print(
        f"{candidate}: {card.total:g}/100 (+{card.bonus:g} bonus), {verdict_word(card)}; red flags: "
        f"{', '.join(flag.id for flag in card.red_flags) or 'none'}",
        highlight=False,
    )
    for stage, text in card.environment.items():
        console.print(
            printable(f"  not graded here (environment): {stage}: {text}"),
            style="yellow",
            highlight=False,
            markup=False,
        )
    if card.environment:
        console.print(f"  what to do: {REMEDY}", style="yellow", highlight=False, markup=False)
    console.print(f"evidence: {out / 'evidence.json'}; report: {out / REPORTS / candidate / 'report.html'}")
    partial = [f"{name} {o.status}" for name, o in evidence.stages.items() if o.status != "ok"]
    return CiEntry(
        candidate=candidate,
        card=card,
        grader_failed=False,
        reasons=partial,
        duration_s=time.monotonic() - started,
        outcome="partial" if partial else "graded",
    )


def single_markdown(entry: CiEntry, submission: Path) -> str:
    """summary.md for one submission, in the same shape as a cohort's."""
    result = SubmissionResult(
        candidate=entry.candidate,
        folder=str(submission),
        action="graded",
        outcome="failed" if entry.grader_failed else entry.outcome,
        reasons=entry.reasons,
        duration_s=entry.duration_s,
        score=summarize(entry.card) if entry.card else None,
    )
    return CohortResult(
        submissions=str(submission), reports="", jobs=1, started_at=now(), elapsed_s=entry.duration_s, results=[result]
    ).markdown()

"""One submission in a process of its own: grade it, render its reports, tell the parent how it went.

A crash, a hang or a memory blow-up here ends this process only. SIGTERM (the parent's
time limit, or its own shutdown) becomes KeyboardInterrupt, so the stages' context
managers remove the containers, networks and images they made before the process ends.
"""

from __future__ import annotations

import ctypes
import fcntl
import multiprocessing
import os
import signal
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from grader.cohort.gradeone import GradeJob, GradeOne, ReportHook
from grader.cohort.state import Outcome, ScoreSummary
from grader.errors import GraderError
from grader.rubric import Scorecard
from grader.stages.base import StageName

WAITING = "waiting for the exclusive slot"


def raise_interrupt(_signum, _frame) -> None:
    """A SIGTERM handler: stop like Ctrl-C, so context managers clean up."""
    raise KeyboardInterrupt


def _interrupt_once(_signum, _frame) -> None:
    """The worker stops at the first SIGINT or SIGTERM; later ones must not cut its clean-up short."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


class StageGate:
    """The `Hooks` a worker lends the grade function: stages and details to the parent, and the slot.

    The slot is an flock on a file shared by the cohort's workers: the kernel releases it
    when a worker dies, however it dies. Which stages take it is their own declaration
    (`Stage.exclusive`), never a name; `shared=False` (`--overlap-serving`) makes it free.
    """

    def __init__(self, conn, lock_path: Path, shared: bool = True) -> None:
        self.conn, self.lock_path, self.shared = conn, lock_path, shared
        self.stage: str = ""

    def progress(self, stage: StageName, detail: str | None = None) -> None:
        self.stage = stage.value
        self.conn.send({"type": "stage", "stage": stage.value + (f": {detail}" if detail else "")})

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        if not self.shared:
            yield
            return
        self.conn.send({"type": "waiting", "stage": WAITING})
        with open(self.lock_path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            self.conn.send({"type": "stage", "stage": self.stage})
            yield


def _document(evidence: Any) -> dict:
    return evidence.model_dump(mode="json") if isinstance(evidence, BaseModel) else dict(evidence)


def classify(evidence: Any) -> tuple[Outcome, list[str], dict[str, str]]:
    """graded when every stage ended ok, else partial, with each other stage's reasons."""
    stages = {name: str(outcome.get("status")) for name, outcome in (_document(evidence).get("stages") or {}).items()}
    reasons = []
    for name, outcome in (_document(evidence).get("stages") or {}).items():
        if outcome.get("status") != "ok":
            why = "; ".join(str(r) for r in outcome.get("reasons") or [])[:300]
            reasons.append(f"{name} {outcome.get('status')}" + (f": {why}" if why else ""))
    return ("graded" if stages and not reasons else "partial"), reasons, stages


def summarize(card: Scorecard) -> ScoreSummary:
    return ScoreSummary(
        total=card.total,
        bonus=card.bonus,
        verdict=card.verdict,
        passed=card.passed,
        sections={k: (s.score if s.graded else None) for k, s in card.sections.items()},
        red_flags=[flag.id for flag in card.red_flags],
        environment=card.environment,
        review=sorted({item.flag for item in card.open_review()}),
    )


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """SIGTERM (a clean stop) when the cohort process dies, even by SIGKILL: an orphaned worker
    would go on grading next to the re-run that grades the same submission again."""
    parent = multiprocessing.parent_process()
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if parent is not None and os.getppid() != parent.pid:  # it died before the prctl took effect
        raise SystemExit(1)


def work(
    job: GradeJob,
    grade: GradeOne,
    hook: ReportHook,
    conn,
    serving_lock: Path,
    work_dir: Path,
    log_file: Path,
    shared_slot: bool = True,
) -> None:
    """The worker process's main: never raises, always ends with one message to the parent."""
    signal.signal(signal.SIGTERM, _interrupt_once)
    signal.signal(signal.SIGINT, _interrupt_once)
    _die_with_parent()
    log = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    work_dir.mkdir(parents=True, exist_ok=True)
    os.environ["GRADER_WORK_DIR"] = str(work_dir)
    # The job carries the secret; nothing this process starts needs it in its environment.
    os.environ.pop("GRADER_SECRET", None)
    gate = StageGate(conn, serving_lock, shared_slot)
    try:
        evidence = grade(job, gate)
        outcome, reasons, stages = classify(evidence)
        gate.progress(StageName.REPORT)
        card = hook.submission(evidence, job.reports_dir)
        conn.send(
            {
                "type": "done",
                "outcome": outcome,
                "reasons": reasons,
                "stages": stages,
                "backend": _document(evidence).get("backend"),
                "score": summarize(card).model_dump() if card is not None else None,
            }
        )
    except KeyboardInterrupt:
        conn.send({"type": "failed", "reasons": ["stopped before it finished (time limit or shutdown)"]})
    except GraderError as exc:
        conn.send({"type": "failed", "reasons": [str(exc)]})
    except Exception as exc:  # a grader bug: one line for the summary, the traceback in the log
        traceback.print_exc()
        conn.send({"type": "failed", "reasons": [f"grader error {type(exc).__name__}: {exc}"[:500]]})
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        conn.close()

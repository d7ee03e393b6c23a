"""Grade a cohort: plan what needs grading, run submissions in parallel processes, summarise.

Resumable: a submission whose state file matches its content hash and the grader's
fingerprint is skipped; one whose evidence still matches but whose rubric or report code
changed is only re-scored. Every write is atomic and the state file comes last, so a run
killed at any point (even `kill -9`) loses nothing already finished, and the next run
removes what it left half-written before it starts.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from rich.console import Console

from grader.cohort.display import CohortDisplay
from grader.cohort.entries import Cohort, CohortEntry
from grader.cohort.fingerprint import (
    grader_fingerprint,
    grading_fingerprint,
    scoring_fingerprint,
    submission_sha256,
)
from grader.cohort.gradeone import GradeJob, GradeOne, ReportHook, RubricReports, grade_one
from grader.cohort.layout import CohortLayout, append_log, cohort_lock
from grader.cohort.results import CohortResult, SubmissionResult, now
from grader.cohort.state import ScoreSummary, SubmissionState, read_state, read_states, write_state
from grader.cohort.worker import raise_interrupt, summarize, work
from grader.errors import GraderError
from grader.rubric import Scorecard
from grader.sandbox.owner import mark_owned
from grader.sandbox.policy import policy_sha256
from grader.serving.settings import ServingSettings
from grader.world.seed import candidate_seed, seed_fingerprint
from grader.writeup.cohort import cohort_readmes
from grader.writeup.settings import JudgeSettings

KILL_GRACE_S = 30.0
_POLL_S = 0.5


@dataclass
class CohortSettings:
    """How to grade every submission of a run (the secret stays in memory, never on disk)."""

    spec: str
    rows: int | None
    secret: bytes = field(repr=False)
    demo_secret: bool
    backend: str  # resolved: docker or local
    jobs: int
    timeout_s: float
    serving_settings: ServingSettings | None = None
    # The sandbox policy file (--policy); None: sandbox/policy.toml.
    policy_file: Path | None = None
    # Who reads the README (--judge): part of the grading fingerprint, without any key.
    judge: JudgeSettings = field(default_factory=JudgeSettings)
    force: bool = False
    kill_grace_s: float = KILL_GRACE_S
    # One serving stage at a time across workers, so no load probe measures another's load.
    exclusive_serving: bool = True

    def fingerprinted(self) -> dict:
        """The settings that shape evidence (the secret enters through each candidate's seed)."""
        settings = {
            "spec": self.spec,
            "rows": self.rows,
            "backend": self.backend,
            "serving": self.serving_settings.model_dump(mode="json") if self.serving_settings else None,
        }
        if self.policy_file is not None:
            settings["policy"] = policy_sha256(self.policy_file)
        if self.judge.kind != "heuristic":
            settings["judge"] = self.judge.fingerprinted()
        return settings


@dataclass
class _Planned:
    entry: CohortEntry
    submission_sha256: str
    grading: str
    action: str  # grade, rescore or skip
    why: str
    state: SubmissionState | None


@dataclass
class _Running:
    planned: _Planned
    process: multiprocessing.process.BaseProcess
    conn: multiprocessing.connection.Connection
    started_at: float
    started: float = field(default_factory=time.monotonic)
    message: dict | None = None
    # Time spent waiting for another worker's serving stage: not this submission's to pay for.
    waited_s: float = 0.0
    waiting_since: float | None = None

    def graded_for_s(self) -> float:
        """Seconds this submission has been graded, waits for the serving slot left out."""
        now = time.monotonic()
        waiting = now - self.waiting_since if self.waiting_since is not None else 0.0
        return now - self.started - self.waited_s - waiting


def _plan(entry: CohortEntry, layout: CohortLayout, settings: CohortSettings, scoring: str) -> _Planned:
    """What to do with one valid entry: grade it (and why), re-score its saved evidence, or skip it."""
    content = submission_sha256(entry.folder)
    grading = grading_fingerprint(
        grader_fingerprint(settings.fingerprinted()), seed_fingerprint(candidate_seed(settings.secret, entry.candidate))
    )
    state = read_state(layout.state_file(entry.candidate))
    evidence_there = (layout.evidence_dir(entry.candidate) / "evidence.json").is_file()
    planned = _Planned(entry, content, grading, "grade", "", state)
    if settings.force:
        planned.why = "regraded: --force"
    elif state is None:
        planned.why = "new"
    elif not state.done:
        planned.why = "retried: the last grading failed"
    elif state.score is not None and state.score.environment:
        planned.why = "retried: the grader's environment kept a stage from running last time"
    elif not evidence_there:
        planned.why = "its saved evidence is missing"
    elif state.submission_sha256 != content:
        planned.why = "the submission changed"
    elif state.grading_fingerprint != grading:
        planned.why = "the grader or its settings changed"
    elif state.scoring_fingerprint != scoring or not (layout.report_dir(entry.candidate) / "report.json").is_file():
        planned.action, planned.why = "rescore", "the rubric or report code changed"
    else:
        planned.action, planned.why = "skip", "graded before, unchanged"
    return planned


def _remove_orphans(backend: str) -> dict[str, int]:
    """What graders killed before they cleaned up left: work folders; containers, networks, images.

    Only what a process that is provably gone owned (`grader.sandbox.owner`): never
    anything of a grader still running, this cohort's or another's.
    """
    from grader.engine.client import connect
    from grader.errors import EngineUnavailable
    from grader.sandbox.owner import remove_orphan_folders, remove_orphans
    from grader.workdir import work_base

    removed = {"work folders": remove_orphan_folders(work_base())}
    if backend != "docker":
        return removed
    try:
        client = connect(timeout_s=60)
    except EngineUnavailable:
        return removed
    try:
        return {**removed, **remove_orphans(client)}
    finally:
        client.close()


def _descendants(pid: int | None) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True) if pid else []
    except psutil.Error:
        return []


def _stop(workers: list[_Running], grace_s: float) -> None:
    """SIGTERM (the worker cleans up its containers), then SIGKILL for it and all it started."""
    trees = {id(w): _descendants(w.process.pid) for w in workers}
    for worker in workers:
        if worker.process.pid is not None:
            with suppress(ProcessLookupError):
                os.kill(worker.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for worker in workers:
        worker.process.join(max(0.0, deadline - time.monotonic()))
        for process in trees[id(worker)] + _descendants(worker.process.pid):
            with suppress(psutil.Error):
                process.kill()
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join()


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    previous = signal.signal(signal.SIGTERM, raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class CohortRun:
    """One run over a cohort folder; `run()` returns its summary."""

    def __init__(
        self,
        cohort: Cohort,
        reports: Path,
        settings: CohortSettings,
        grade: GradeOne = grade_one,
        hook: ReportHook | None = None,
        console: Console | None = None,
    ) -> None:
        self.cohort, self.settings, self.grade = cohort, settings, grade
        self.layout = CohortLayout(reports.resolve())
        self.hook: ReportHook = hook or RubricReports()
        self.console = console or Console(stderr=True)
        self.scoring = scoring_fingerprint(self.hook.rubric)
        self.result = CohortResult(
            submissions=str(cohort.root), reports=str(self.layout.reports), jobs=settings.jobs, started_at=now()
        )
        self.context = multiprocessing.get_context("spawn")
        # Every README of the cohort, read once: each worker compares its own with the others'.
        self.readmes = cohort_readmes({e.candidate: e.folder for e in cohort.entries if not e.error})

    def run(self) -> CohortResult:
        self.layout.prepare(self.settings.force)
        began = time.monotonic()
        with cohort_lock(self.layout), _sigterm_as_interrupt():
            # First what killed graders left (this cohort's work folder too, if its run was killed).
            orphans = {kind: count for kind, count in _remove_orphans(self.settings.backend).items() if count}
            stale = self.layout.clean_stale()
            self.layout.work.mkdir(mode=0o711, parents=True, exist_ok=True)
            mark_owned(self.layout.work)
            if stale or orphans:
                found = ", ".join(f"{count} {kind}" for kind, count in orphans.items())
                self.console.print(
                    f"cleaned what an earlier, stopped run left: {len(stale)} half-written folder(s) "
                    f"or file(s)" + (f"; of stopped graders: {found}" if found else ""),
                    highlight=False,
                )
            append_log(self.layout, "run", pid=os.getpid(), jobs=self.settings.jobs, host=os.uname().nodename)
            for warning in self.cohort.warnings:
                self.console.print(f"[yellow]{warning}[/yellow]", highlight=False)
            with CohortDisplay(self.console, [e.candidate for e in self.cohort.entries]) as display:
                try:
                    self._grade_all(self._triage(display), display)
                except KeyboardInterrupt:
                    self.result.interrupted = True
            self._finish(began)
        return self.result

    def _triage(self, display: CohortDisplay) -> list[_Planned]:
        queue = []
        for entry in self.cohort.entries:
            if entry.error:
                self._record(
                    SubmissionResult(
                        candidate=entry.candidate,
                        folder=str(entry.folder),
                        action="refused",
                        outcome="failed",
                        reasons=[entry.error],
                    ),
                    display,
                )
                continue
            display.note(entry.candidate, "checking", "hashing the submission")
            planned = _plan(entry, self.layout, self.settings, self.scoring)
            if planned.action == "rescore" and not self._rescore(planned, display):
                planned.action, planned.why = "grade", "its saved evidence could not be re-scored"
            if planned.action == "grade":
                queue.append(planned)
                display.note(entry.candidate, "queued", planned.why)
            elif planned.action == "skip" and planned.state is not None:
                append_log(self.layout, "skip", candidate=entry.candidate)
                self._record(SubmissionResult.from_state(planned.state, "skipped", planned.why), display)
        return queue

    def _record(self, result: SubmissionResult, display: CohortDisplay) -> None:
        self.result.results.append(result)
        display.finished(result)

    def _rescore(self, planned: _Planned, display: CohortDisplay) -> bool:
        """Re-score saved evidence with the current rubric; False when that evidence is unusable."""
        from grader.report import load_evidence

        candidate, state = planned.entry.candidate, planned.state
        if state is None:
            return False
        display.note(candidate, "re-scoring", planned.why)
        try:
            card = self.hook.submission(load_evidence(self.layout.evidence_dir(candidate)), self.layout.reports)
        except (GraderError, ValueError) as exc:
            self.console.print(
                f"[yellow]{candidate}: saved evidence not re-scored ({exc}); grading again[/yellow]", highlight=False
            )
            return False
        state = state.model_copy(
            update={"scoring_fingerprint": self.scoring, "score": summarize(card) if card else None}
        )
        write_state(self.layout, state)
        append_log(self.layout, "rescore", candidate=candidate)
        self._record(SubmissionResult.from_state(state, "rescored", "saved evidence re-scored"), display)
        return True

    def _start(self, planned: _Planned) -> _Running:
        candidate = planned.entry.candidate
        job = GradeJob(
            candidate=candidate,
            submission=planned.entry.folder,
            evidence_dir=self.layout.evidence_dir(candidate),
            reports_dir=self.layout.reports,
            spec=self.settings.spec,
            rows=self.settings.rows,
            secret=self.settings.secret,
            demo_secret=self.settings.demo_secret,
            backend=self.settings.backend,
            serving_settings=self.settings.serving_settings,
            policy_file=self.settings.policy_file,
            judge=self.settings.judge,
            cohort_readmes=self.readmes,
        )
        logs = self.layout.cohort / "logs"
        logs.mkdir(exist_ok=True)
        receive, send = self.context.Pipe(duplex=False)
        process = self.context.Process(
            target=work,
            name=f"grade-{candidate}",
            args=(
                job,
                self.grade,
                self.hook,
                send,
                self.layout.serving_lock,
                self.layout.worker_dir(candidate),
                logs / f"{candidate}.log",
                self.settings.exclusive_serving,
            ),
        )
        process.start()
        send.close()
        append_log(
            self.layout,
            "start",
            candidate=candidate,
            submission_sha256=planned.submission_sha256,
            pid=process.pid,
            why=planned.why,
        )
        return _Running(planned, process, receive, now())

    def _grade_all(self, queue: list[_Planned], display: CohortDisplay) -> None:
        running: list[_Running] = []
        try:
            while queue or running:
                while queue and len(running) < self.settings.jobs:
                    worker = self._start(queue.pop(0))
                    running.append(worker)
                    display.started(worker.planned.entry.candidate)
                waited_on = [w.conn for w in running] + [w.process.sentinel for w in running]
                ready = multiprocessing.connection.wait(waited_on, timeout=_POLL_S)
                for worker in list(running):
                    self._drain(worker, display)
                    over_time = worker.graded_for_s() > self.settings.timeout_s
                    if not (worker.process.sentinel in ready or worker.message or over_time):
                        continue
                    if over_time and worker.message is None:
                        display.stage(worker.planned.entry.candidate, "over the time limit: stopping")
                        _stop([worker], self.settings.kill_grace_s)
                        # A worker that had to be killed could not remove its containers itself.
                        _remove_orphans(self.settings.backend)
                        self._drain(worker, display)
                        worker.message = {
                            "type": "failed",
                            "reasons": [
                                f"stopped at the wall-clock limit of {self.settings.timeout_s:.0f} s per submission"
                            ],
                        }
                    else:
                        worker.process.join(self.settings.kill_grace_s)
                        if worker.process.is_alive():
                            _stop([worker], 0)
                        self._drain(worker, display)
                    self._finished(worker, display)
                    running.remove(worker)
                display.tick()
        except KeyboardInterrupt:
            for worker in running:
                display.note(worker.planned.entry.candidate, "stopping")
            _stop(running, self.settings.kill_grace_s)
            _remove_orphans(self.settings.backend)
            for worker in running:
                append_log(self.layout, "interrupted", candidate=worker.planned.entry.candidate)
                self._record(
                    SubmissionResult(
                        candidate=worker.planned.entry.candidate,
                        folder=str(worker.planned.entry.folder),
                        action="interrupted",
                        why=worker.planned.why,
                        outcome="failed",
                        reasons=["the run was stopped before this submission finished"],
                    ),
                    display,
                )
            for planned in queue:
                self._record(
                    SubmissionResult(
                        candidate=planned.entry.candidate,
                        folder=str(planned.entry.folder),
                        action="interrupted",
                        why=planned.why,
                        outcome="failed",
                        reasons=["the run was stopped before this submission started"],
                    ),
                    display,
                )
            raise

    def _drain(self, worker: _Running, display: CohortDisplay) -> None:
        with suppress(EOFError, OSError):
            while worker.conn.poll():
                message = worker.conn.recv()
                if message.get("type") in ("stage", "waiting"):
                    if worker.waiting_since is not None:
                        worker.waited_s += time.monotonic() - worker.waiting_since
                        worker.waiting_since = None
                    if message["type"] == "waiting":
                        worker.waiting_since = time.monotonic()
                    display.stage(worker.planned.entry.candidate, str(message.get("stage")))
                else:
                    worker.message = message

    def _finished(self, worker: _Running, display: CohortDisplay) -> None:
        planned, message = worker.planned, worker.message
        if message is None:
            _remove_orphans(self.settings.backend)  # it died before it could remove its containers
            code = worker.process.exitcode
            died = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
            log = self.layout.cohort / "logs" / f"{planned.entry.candidate}.log"
            message = {"type": "failed", "reasons": [f"the grading process died ({died}); see {log}"]}
        failed = message["type"] != "done"
        score = message.get("score")
        state = SubmissionState(
            candidate=planned.entry.candidate,
            folder=str(planned.entry.folder),
            submission_sha256=planned.submission_sha256,
            grading_fingerprint=planned.grading,
            grader_fingerprint=grader_fingerprint(self.settings.fingerprinted()),
            scoring_fingerprint=self.scoring,
            outcome="failed" if failed else message["outcome"],
            reasons=list(message.get("reasons") or []),
            stages=dict(message.get("stages") or {}),
            backend=message.get("backend"),
            started_at=worker.started_at,
            finished_at=now(),
            score=ScoreSummary.model_validate(score) if score else None,
        )
        write_state(self.layout, state)
        append_log(self.layout, "end", candidate=state.candidate, outcome=state.outcome, duration_s=state.duration_s)
        self._record(SubmissionResult.from_state(state, "graded", planned.why), display)

    def _finish(self, began: float) -> None:
        """The cohort hook (leaderboard) over every graded submission, and summary.json / summary.md."""
        cards = []
        for candidate, state in sorted(read_states(self.layout).items()):
            report = self.layout.report_dir(candidate) / "report.json"
            if state.done and report.is_file():
                with suppress(OSError, ValueError):
                    cards.append(Scorecard.model_validate_json(report.read_text(encoding="utf-8")))
        self.hook.cohort(cards, self.layout.reports)
        order = {entry.candidate: index for index, entry in enumerate(self.cohort.entries)}
        self.result.results.sort(key=lambda r: order.get(r.candidate, len(order)))
        self.result.elapsed_s = time.monotonic() - began
        self.result.write(self.layout)
        shutil.rmtree(self.layout.work, ignore_errors=True)

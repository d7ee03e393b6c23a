"""What a cohort run shows while it works (a live table, or one line per event) and when it ends."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from rich.console import Console
from rich.live import Live
from rich.table import Table

from grader.cohort.results import SubmissionResult

_STYLE = {"graded": "green", "partial": "yellow", "failed": "red"}


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes}:{seconds:02d}"


@dataclass
class _Row:
    state: str = "queued"
    stage: str = ""
    started: float | None = None
    ended: float | None = None


class CohortDisplay:
    """Per submission: its state, stage and elapsed time. Live on a terminal, plain lines elsewhere."""

    def __init__(self, console: Console, candidates: Iterable[str]) -> None:
        self.console = console
        self.rows = {candidate: _Row() for candidate in candidates}
        self.began = time.monotonic()
        self.live = (
            Live(self._table(), console=console, refresh_per_second=2, transient=True) if console.is_terminal else None
        )

    def __enter__(self) -> CohortDisplay:
        if self.live:
            self.live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self.live:
            self.live.__exit__(*exc)

    def _say(self, text: str) -> None:
        if self.live is None:
            self.console.print(f"[{_clock(time.monotonic() - self.began)}] {text}", highlight=False)

    def _refresh(self) -> None:
        if self.live:
            self.live.update(self._table())

    def _table(self) -> Table:
        table = Table("candidate", "state", "stage", "elapsed", title="grading", title_justify="left")
        now = time.monotonic()
        for candidate, row in self.rows.items():
            elapsed = _clock((row.ended or now) - row.started) if row.started else ""
            table.add_row(candidate, row.state, row.stage, elapsed)
        return table

    def note(self, candidate: str, state: str, detail: str = "") -> None:
        row = self.rows[candidate]
        row.state, row.stage = state, detail
        self._say(f"{candidate}: {state}" + (f" ({detail})" if detail else ""))
        self._refresh()

    def started(self, candidate: str) -> None:
        row = self.rows[candidate]
        row.state, row.started = "grading", time.monotonic()
        self._say(f"{candidate}: grading")
        self._refresh()

    def stage(self, candidate: str, stage: str) -> None:
        self.rows[candidate].stage = stage
        self._say(f"{candidate}: {stage}")
        self._refresh()

    def finished(self, result: SubmissionResult) -> None:
        row = self.rows[result.candidate]
        state = result.outcome if result.action == "graded" else f"{result.action} ({result.outcome})"
        row.state, row.stage, row.ended = state, "", time.monotonic()
        self._say(f"{result.candidate}: {result.headline()}")
        self._refresh()

    def tick(self) -> None:
        self._refresh()


def summary_table(results: list[SubmissionResult], title: str) -> Table:
    """The final table: every submission's outcome, score headline, time and reasons."""
    table = Table(
        "candidate", "outcome", "total", "verdict", "time", "what happened", title=title, title_justify="left"
    )
    for result in results:
        score = result.score
        table.add_row(
            result.candidate,
            f"[{_STYLE.get(result.outcome, '')}]{result.outcome}[/]",
            f"{score.total:g}" + (f" +{score.bonus:g}" if score.bonus else "") if score else "-",
            score.verdict_shown() if score else "-",
            _clock(result.duration_s) if result.duration_s else "-",
            result.explain(),
        )
    return table

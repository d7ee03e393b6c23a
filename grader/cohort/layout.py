"""Where a cohort run keeps things inside REPORTS, and the lock that makes it one run at a time.

```
REPORTS/
  <candidate>/report.json|md|html   the candidate's reports (grader.report)
  leaderboard.csv|html              the cohort leaderboard
  summary.json, summary.md          this run's outcomes
  _graded/<candidate>/              evidence.json and the executed notebooks
  _cohort/state/<candidate>.json    one state file per submission, written last
  _cohort/log.jsonl                 every grading started, ended or skipped, appended
  _cohort/lock                      held (flock) while a run works on REPORTS
```

Candidate ids start with a letter or digit, so `_graded` and `_cohort` never clash
with a candidate's report folder.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from grader.errors import BadInput
from grader.workdir import work_base

GRADED = "_graded"
COHORT = "_cohort"
# What atomic_output_dir leaves next to an output folder when a run is killed.
STAGING_PATTERNS = (".*.tmp-*", ".*.old-*")


class CohortBusy(BadInput):
    """Another grader run holds this REPORTS folder."""


@dataclass(frozen=True)
class CohortLayout:
    """The paths of one REPORTS folder."""

    reports: Path

    @property
    def graded(self) -> Path:
        return self.reports / GRADED

    @property
    def cohort(self) -> Path:
        return self.reports / COHORT

    @property
    def states(self) -> Path:
        return self.cohort / "state"

    @property
    def log(self) -> Path:
        return self.cohort / "log.jsonl"

    @property
    def lock_file(self) -> Path:
        return self.cohort / "lock"

    @property
    def serving_lock(self) -> Path:
        return self.cohort / "serving.lock"

    @property
    def work(self) -> Path:
        """Grading folders of this cohort's workers (their GRADER_WORK_DIR), outside REPORTS.

        Under the grader's work folder, because the sandbox user must traverse every parent
        of a grading folder, and a REPORTS folder may sit under a private one.
        """
        tag = hashlib.sha256(str(self.reports.resolve()).encode()).hexdigest()[:12]
        return work_base() / f"cohort-{tag}"

    def evidence_dir(self, candidate: str) -> Path:
        return self.graded / candidate

    def report_dir(self, candidate: str) -> Path:
        return self.reports / candidate

    def state_file(self, candidate: str) -> Path:
        return self.states / f"{candidate}.json"

    def worker_dir(self, candidate: str) -> Path:
        return self.work / candidate

    def is_cohort(self) -> bool:
        return self.cohort.is_dir()

    def prepare(self, force: bool) -> None:
        """Create the folders; refuse a non-empty folder that is not a cohort's, unless forced."""
        if self.reports.exists() and not self.reports.is_dir():
            raise BadInput(f"{self.reports} exists and is not a folder")
        if self.reports.is_dir() and not self.is_cohort() and any(self.reports.iterdir()) and not force:
            raise BadInput(f"{self.reports} is not empty and holds no cohort run; pass --force to grade into it")
        for folder in (self.graded, self.states):
            folder.mkdir(parents=True, exist_ok=True)

    def clean_stale(self) -> list[Path]:
        """Remove what a killed run left half-written; call only while holding the lock."""
        removed: list[Path] = []
        for folder in (self.reports, self.graded):
            for pattern in STAGING_PATTERNS:
                for stale in folder.glob(pattern):
                    if stale.is_dir():
                        shutil.rmtree(stale, ignore_errors=True)
                    else:
                        stale.unlink(missing_ok=True)
                    removed.append(stale)
        for stale in self.states.glob(".*.tmp"):
            stale.unlink(missing_ok=True)
            removed.append(stale)
        if self.work.is_dir():
            for stale in self.work.iterdir():
                shutil.rmtree(stale, ignore_errors=True)
                removed.append(stale)
        return removed


@contextmanager
def cohort_lock(layout: CohortLayout) -> Iterator[None]:
    """Hold REPORTS for this run; the kernel drops the lock when the process dies, even by kill -9."""
    layout.cohort.mkdir(parents=True, exist_ok=True)
    with open(layout.lock_file, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise CohortBusy(
                f"another grader run is working on {layout.reports} ({holder}); wait for it or stop it"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        handle.flush()
        yield


def append_log(layout: CohortLayout, event: str, **fields: object) -> None:
    """One JSON line in log.jsonl; a line cut short by a kill is skipped by `read_log`."""
    line = json.dumps({"event": event, "time": round(time.time(), 3), **fields}, sort_keys=True) + "\n"
    fd = os.open(layout.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def read_log(layout: CohortLayout) -> list[dict]:
    """Every complete line of log.jsonl, oldest first."""
    if not layout.log.is_file():
        return []
    events = []
    for line in layout.log.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events

"""Execute a submission's notebooks in the sandbox, on the candidate's own data.

The submission is copied (no symlinks, no virtualenvs or caches) into a grading folder,
the packet data is placed read-only where TASK.md told the candidate to read it, MLflow
is pointed at a fresh store, and the runner executes every notebook with the policy's
limits. The executed notebooks, the status file and the MLflow store it leaves are
untrusted input for the evidence that follows.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, Field, PrivateAttr

from grader.evidence import StageOutcome, Status
from grader.sandbox.api import Mount, Runner, RunSpec, Sandbox, SandboxResult, Say, quiet
from grader.sandbox.owner import mark_owned
from grader.sandbox.policy import NotebookLimits, Policy
from grader.workdir import SKIP_DIRS, work_base

MAX_STATUS_BYTES = 5 * 1024**2
StopKind = Literal["cell_timeout", "kernel_died", "runner_error"]
Held = TypeVar("Held")
NOTHING_RECORDED = (
    "the runner recorded nothing for this notebook (it did not start, or the run was stopped before it ended)"
)


class CellStatus(BaseModel):
    index: int
    executed: bool
    error: str | None = None


class ExecutedNotebook(BaseModel):
    path: str
    executed_path: str | None = None
    seconds: float = 0.0
    error: str | None = None
    cells: list[CellStatus] = Field(default_factory=list)
    # Why the runner stopped this notebook early, and at which cell.
    stop: StopKind | None = None
    stopped_at_cell: int | None = None
    # The OOM killer ended a process while this notebook ran (None: the sandbox cannot tell).
    oom_killed: bool | None = None
    # Processes the candidate's code left running when the notebook ended, killed by the runner.
    processes_ended: int = 0

    @property
    def failed_cells(self) -> list[CellStatus]:
        return [c for c in self.cells if c.error]


class GradingFolder(BaseModel):
    """Where one grading run keeps its copy of the submission and what the sandbox wrote."""

    root: Path
    # What the notebooks ran on, held for the grading: scoring their model runs on the same.
    runner: Runner | None = None
    # Shared cache entries this grading uses (runner image, runner virtualenv): kept until
    # the grading folder goes, so no eviction removes them while the grading needs them.
    _leases: ExitStack = PrivateAttr(default_factory=ExitStack)

    def hold(self, use: AbstractContextManager[Held]) -> Held:
        """Enter `use` for as long as this grading folder lives."""
        return self._leases.enter_context(use)

    @property
    def submission(self) -> Path:
        return self.root / "submission"

    @property
    def data(self) -> Path:
        return self.submission / "data"

    @property
    def executed(self) -> Path:
        return self.root / "executed"

    @property
    def mlflow(self) -> Path:
        return self.root / "mlflow"

    @property
    def scratch(self) -> Path:
        return self.root / "scratch"

    @property
    def tracking_db(self) -> Path:
        return self.mlflow / "mlflow.db"

    @property
    def tracking_uri(self) -> str:
        return f"sqlite:///{self.tracking_db}"


@contextmanager
def grading_folder() -> Iterator[GradingFolder]:
    """A fresh grading folder, removed afterwards with everything the sandbox left in it."""
    root = Path(tempfile.mkdtemp(prefix="run-", dir=work_base()))
    root.chmod(0o711)
    mark_owned(root)
    folder = GradingFolder(root=root)
    try:
        yield folder
    finally:
        folder._leases.close()
        shutil.rmtree(root, ignore_errors=True)


class NotebookRun(BaseModel):
    outcome: StageOutcome
    notebooks: list[ExecutedNotebook] = Field(default_factory=list)
    sandbox: SandboxResult | None = None
    tracking_uri: str
    runner_image: str | None = None
    notes: list[str] = Field(default_factory=list)


def copy_submission(source: Path, folder: GradingFolder, packet_data: Path, max_copy_mb: int) -> list[str]:
    """Copy the submission and the candidate's data; returns what was left out and why.

    Everything stays the grader's: each sandbox run hands its writable folders to the user it
    runs candidate code as, and the data, read-only, stays root's.
    """
    notes: list[str] = []
    copied = 0
    max_bytes = max_copy_mb * 1024**2

    def ignore(directory: str, names: list[str]) -> set[str]:
        nonlocal copied
        skipped = set()
        for name in names:
            path = os.path.join(directory, name)
            if os.path.islink(path):
                skipped.add(name)
                notes.append(f"symlink not copied: {os.path.relpath(path, source)}")
            elif name in SKIP_DIRS and os.path.isdir(path):
                skipped.add(name)
            elif os.path.isfile(path):
                size = os.path.getsize(path)
                if copied + size > max_bytes:
                    skipped.add(name)
                    notes.append(
                        f"not copied, the submission would pass the {max_copy_mb} MB copy limit: "
                        f"{os.path.relpath(path, source)} ({size / 1024**2:.0f} MB)"
                    )
                else:
                    copied += size
            elif not os.path.isdir(path):
                skipped.add(name)
                notes.append(f"not copied, not a regular file: {os.path.relpath(path, source)}")
        return skipped

    shutil.copytree(source, folder.submission, ignore=ignore, symlinks=True)
    folder.data.mkdir()
    for item in packet_data.iterdir():
        if item.is_file():
            shutil.copy2(item, folder.data / item.name)
    for path in (folder.executed, folder.mlflow, folder.scratch):
        path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        for path in [folder.data, *folder.data.iterdir()]:
            os.chown(path, 0, 0)
    return notes


NOTEBOOK_RUNNER = "run_notebooks.py"


def runner_spec(
    runner: Runner,
    script: str,
    args: list[str],
    mounts: list[Mount],
    folder: GradingFolder,
    limits: NotebookLimits,
    timeout_s: float,
) -> RunSpec:
    """One of the runner scripts, in the submission copy, pointed at the grading's fresh MLflow store."""
    env = {
        "MLFLOW_TRACKING_URI": folder.tracking_uri,
        "PYTHONUNBUFFERED": "1",
        "GIT_PYTHON_REFRESH": "quiet",
        "USER": "candidate",
        "LOGNAME": "candidate",
        # Candidates who log to an ./mlruns file store (MLflow 2 habits) still work.
        "MLFLOW_ALLOW_FILE_STORE": "true",
    }
    return RunSpec(
        runner=runner,
        script=script,
        args=args,
        mounts=mounts,
        env=env,
        workdir=folder.submission,
        home=folder.scratch,
        limits=limits,
        timeout_s=timeout_s,
    )


def _read_status(folder: GradingFolder, notebooks: list[str]) -> list[ExecutedNotebook]:
    status_file = folder.executed / "status.json"
    status: dict = {}
    if status_file.is_file() and status_file.stat().st_size <= MAX_STATUS_BYTES:
        try:
            loaded = json.loads(status_file.read_text())
            status = loaded if isinstance(loaded, dict) else {}
        except (ValueError, UnicodeDecodeError):
            status = {}
    results = []
    for relative in notebooks:
        executed = folder.executed / relative.replace("/", "__")
        entry = status.get(relative) if isinstance(status.get(relative), dict) else None
        try:
            parsed = ExecutedNotebook.model_validate({"path": relative, **(entry or {})}) if entry else None
        except ValueError:
            parsed = None
        if parsed is None:
            parsed = ExecutedNotebook(path=relative, error=NOTHING_RECORDED)
        parsed.path = relative
        parsed.executed_path = str(executed) if executed.is_file() else None
        results.append(parsed)
    return results


# Errors the sandbox's limits cause, and the limit behind each, in a hiring manager's words.
_LIMIT_ERRORS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("MemoryError",), "out of memory: the sandbox's limit is {memory_mb} MB"),
    (("File too large", "[Errno 27]"), "no file may grow past the disk limit of {disk_mb} MB"),
    (("No space left on device", "[Errno 28]"), "the sandbox's /tmp holds {tmpfs_mb} MB at most"),
    (("Resource temporarily unavailable", "[Errno 11]"), "the process limit of {pids} was reached"),
    (
        ("Network is unreachable", "[Errno 101]", "name resolution", "Name or service not known"),
        "the sandbox has no network",
    ),
)


def explain_error(error: str, limits: NotebookLimits, processes: int | None = None) -> str:
    """A cell's error, with the sandbox limit that caused it named where one did.

    `processes`: the process limit that held, where it is not the policy's pids."""
    figures = {**limits.model_dump(), "pids": processes or limits.pids}
    for needles, why in _LIMIT_ERRORS:
        if any(needle in error for needle in needles):
            return f"{error} ({why.format(**figures)})"
    return error


def run_reasons(result: SandboxResult, executed: list[ExecutedNotebook], limits: NotebookLimits) -> list[str]:
    """Why a notebook run did not end cleanly, notebook by notebook and cell by cell."""
    reasons: list[str] = []
    died = any(n.stop == "kernel_died" for n in executed)
    processes = result.pids_limit or limits.pids
    unrecorded = [n.path for n in executed if n.error == NOTHING_RECORDED]
    during = f" (while {unrecorded[0]} ran)" if unrecorded else ""
    if result.stopped:
        reasons.append(result.stopped + during)
    elif result.timed_out:
        reasons.append(f"stopped at the total time limit of {limits.total_timeout_s} s for all notebooks{during}")
    elif result.oom_killed and not died:
        reasons.append(f"the sandbox ran out of memory: memory limit of {limits.memory_mb} MB reached (OOM-killed)")
    elif result.exit_code not in (0, None):
        reasons.append(f"the runner exited with code {result.exit_code}: {result.log_tail[-500:]}")
    for notebook in executed:
        at = notebook.stopped_at_cell
        if notebook.stop == "cell_timeout":
            reasons.append(
                f"{notebook.path}: cell {at} ran past the {limits.cell_timeout_s} s cell limit; "
                "the cells after it did not run"
            )
        elif notebook.stop == "kernel_died":
            oom = notebook.oom_killed if notebook.oom_killed is not None else result.oom_killed
            why = (
                f"memory limit of {limits.memory_mb} MB reached (OOM-killed)"
                if oom
                else "the kernel process ended or was killed"
            )
            reasons.append(
                f"{notebook.path}: the notebook kernel died at cell {at}: {why}; the cells after it did not run"
            )
        elif notebook.error:
            reasons.append(f"{notebook.path}: {notebook.error}")
        if notebook.processes_ended:
            reasons.append(f"{notebook.path}: left processes running after it ended; the runner killed them")
        for cell in notebook.failed_cells:
            if notebook.stop == "cell_timeout" and cell.index == at:
                continue  # the KeyboardInterrupt the runner sent at the cell limit, said above
            reasons.append(f"{notebook.path} cell {cell.index}: {explain_error(cell.error or '', limits, processes)}")
    return reasons


def execute_notebooks(
    source: Path,
    notebooks: list[str],
    packet_data: Path,
    folder: GradingFolder,
    policy: Policy,
    sandbox: Sandbox,
    say: Say = quiet,
) -> NotebookRun:
    """Copy, place the data, execute every notebook in order in `sandbox`; never raises for candidate faults.
    `say` hears the slow first-use builds (the runner image, a requirements layer)."""
    started = time.monotonic()
    backend = sandbox.backend
    notes = copy_submission(source, folder, packet_data, policy.notebook.max_copy_mb)
    if not notebooks:
        return NotebookRun(
            outcome=StageOutcome(status="skipped", reasons=["no notebook to execute"], backend=backend),
            tracking_uri=folder.tracking_uri,
            notes=notes,
        )
    runner = folder.runner = folder.hold(sandbox.runner(folder.submission, policy, say))
    notes.extend(runner.notes)
    mounts = [
        Mount(path=folder.submission, read_only=False),
        Mount(path=folder.data, read_only=True),
        # The runner's record of each notebook: the candidate's kernel must not rewrite it.
        Mount(path=folder.executed, read_only=False, runner_only=True),
        Mount(path=folder.mlflow, read_only=False),
    ]
    limits = policy.notebook
    args = [
        "--root",
        str(folder.submission),
        "--out",
        str(folder.executed),
        "--cell-timeout",
        str(limits.cell_timeout_s),
        "--max-output-chars",
        str(limits.max_output_chars_per_cell),
        "--max-images",
        str(limits.max_images_per_cell),
        *notebooks,
    ]
    result = sandbox.run(runner_spec(runner, NOTEBOOK_RUNNER, args, mounts, folder, limits, limits.total_timeout_s))
    executed = _read_status(folder, notebooks)
    reasons = run_reasons(result, executed, limits)
    if result.removed:
        notes.append(
            f"removed {len(result.removed)} link(s) or special file(s) the notebooks left before reading "
            f"their output: {'; '.join(result.removed[:5])}"
        )
    ran = [n for n in executed if n.executed_path]
    status: Status = "ok" if ran and len(ran) == len(executed) and not reasons else ("partial" if ran else "failed")
    return NotebookRun(
        outcome=StageOutcome(
            status=status, reasons=reasons + notes, duration_s=round(time.monotonic() - started, 3), backend=backend
        ),
        notebooks=executed,
        sandbox=result,
        tracking_uri=folder.tracking_uri,
        runner_image=runner.image,
        notes=notes,
    )

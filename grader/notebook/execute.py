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
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel, Field

from grader.evidence import StageOutcome
from grader.sandbox.backends import Backend, Mount, SandboxResult, give_to_sandbox, run_in_docker, run_locally
from grader.sandbox.policy import Policy
from grader.sandbox.local_runner import local_runner_python
from grader.sandbox.runner_image import RUNNER_DIR, candidate_runner_image

SKIP_DIRS = {".git", ".venv", "venv", "env", "__pycache__", ".ipynb_checkpoints", "node_modules",
             ".mypy_cache", ".pytest_cache", "wandb", "lightning_logs", "data"}
MAX_COPY_BYTES = 1024**3
MAX_STATUS_BYTES = 5 * 1024**2


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

    @property
    def failed_cells(self) -> list[CellStatus]:
        return [c for c in self.cells if c.error]


class GradingFolder(BaseModel):
    """Where one grading run keeps its copy of the submission and what the sandbox wrote."""

    root: Path

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
    def tracking_uri(self) -> str:
        return f"sqlite:///{self.mlflow / 'mlflow.db'}"


def work_base() -> Path:
    """Where grading folders live: traversable by the unprivileged sandbox user."""
    base = Path(os.environ.get("GRADER_WORK_DIR") or Path(tempfile.gettempdir()) / f"churn-grader-{os.geteuid()}")
    base.mkdir(parents=True, exist_ok=True)
    base.chmod(0o711)
    return base


@contextmanager
def grading_folder() -> Iterator[GradingFolder]:
    """A fresh grading folder, removed afterwards with everything the sandbox left in it."""
    root = Path(tempfile.mkdtemp(prefix="run-", dir=work_base()))
    root.chmod(0o711)
    try:
        yield GradingFolder(root=root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


class NotebookRun(BaseModel):
    outcome: StageOutcome
    notebooks: list[ExecutedNotebook] = Field(default_factory=list)
    sandbox: SandboxResult | None = None
    tracking_uri: str
    runner_image: str | None = None
    notes: list[str] = Field(default_factory=list)


def copy_submission(source: Path, folder: GradingFolder, packet_data: Path) -> list[str]:
    """Copy the submission and the candidate's data; returns what was left out and why."""
    notes: list[str] = []
    copied = 0

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
                copied += os.path.getsize(path)
                if copied > MAX_COPY_BYTES:
                    skipped.add(name)
                    notes.append(f"not copied, submission over {MAX_COPY_BYTES // 1024**2} MB: {os.path.relpath(path, source)}")
        return skipped

    shutil.copytree(source, folder.submission, ignore=ignore, symlinks=True)
    folder.data.mkdir()
    for item in packet_data.iterdir():
        if item.is_file():
            shutil.copy2(item, folder.data / item.name)
    for path in (folder.executed, folder.mlflow, folder.scratch):
        path.mkdir(parents=True, exist_ok=True)
    give_to_sandbox(folder.submission, folder.executed, folder.mlflow, folder.scratch)
    if os.geteuid() == 0:
        for path in [folder.data, *folder.data.iterdir()]:
            os.chown(path, 0, 0)
    return notes


def run_in_sandbox(
    backend: Backend,
    script: str,
    args: list[str],
    mounts: list[Mount],
    folder: GradingFolder,
    policy: Policy,
    timeout_s: float,
    image: str | None,
    client=None,
) -> SandboxResult:
    """Run one of the runner scripts with the notebook limits, on either backend."""
    env = {"MLFLOW_TRACKING_URI": folder.tracking_uri, "PYTHONUNBUFFERED": "1", "GIT_PYTHON_REFRESH": "quiet",
           "USER": "candidate", "LOGNAME": "candidate",
           # Candidates who log to an ./mlruns file store (MLflow 2 habits) still work.
           "MLFLOW_ALLOW_FILE_STORE": "true"}
    if backend == "docker":
        return run_in_docker(client, image, ["python", f"/opt/runner/{script}", *args], mounts,
                             {**env, "HOME": "/tmp"}, policy.notebook, timeout_s, folder.submission)
    return run_locally([local_runner_python(), str(RUNNER_DIR / script), *args], mounts,
                       {**env, "HOME": str(folder.scratch)}, policy.notebook, timeout_s, folder.submission)


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
            parsed = ExecutedNotebook(path=relative, error="the runner recorded nothing for this notebook "
                                      "(it did not start, or the run was stopped before it ended)")
        parsed.path = relative
        parsed.executed_path = str(executed) if executed.is_file() else None
        results.append(parsed)
    return results


def execute_notebooks(
    source: Path,
    notebooks: list[str],
    packet_data: Path,
    folder: GradingFolder,
    policy: Policy,
    backend: Backend,
    client=None,
) -> NotebookRun:
    """Copy, place the data, execute every notebook in order; never raises for candidate faults."""
    started = time.monotonic()
    notes = copy_submission(source, folder, packet_data)
    if not notebooks:
        return NotebookRun(outcome=StageOutcome(status="skipped", reasons=["no notebook to execute"], backend=backend),
                           tracking_uri=folder.tracking_uri, notes=notes)
    image = None
    if backend == "docker":
        image, image_notes = candidate_runner_image(client, folder.submission, policy)
        notes.extend(image_notes)
    mounts = [Mount(path=folder.submission, read_only=False), Mount(path=folder.data, read_only=True),
              Mount(path=folder.executed, read_only=False), Mount(path=folder.mlflow, read_only=False)]
    limits = policy.notebook
    args = ["--root", str(folder.submission), "--out", str(folder.executed),
            "--cell-timeout", str(limits.cell_timeout_s), "--max-output-chars", str(limits.max_output_chars_per_cell),
            "--max-images", str(limits.max_images_per_cell), *notebooks]
    result = run_in_sandbox(backend, "run_notebooks.py", args, mounts, folder, policy, limits.total_timeout_s, image, client)
    executed = _read_status(folder, notebooks)
    reasons: list[str] = []
    if result.timed_out:
        reasons.append(f"stopped at the total time limit of {limits.total_timeout_s} s")
    elif result.exit_code not in (0, None):
        reasons.append(f"the runner exited with code {result.exit_code}: {result.log_tail[-500:]}")
    for notebook in executed:
        if notebook.error:
            reasons.append(f"{notebook.path}: {notebook.error}")
        for cell in notebook.failed_cells:
            reasons.append(f"{notebook.path} cell {cell.index}: {cell.error}")
    ran = [n for n in executed if n.executed_path]
    status = "ok" if ran and len(ran) == len(executed) and not reasons else ("partial" if ran else "failed")
    return NotebookRun(
        outcome=StageOutcome(status=status, reasons=reasons + notes, duration_s=round(time.monotonic() - started, 3), backend=backend),
        notebooks=executed,
        sandbox=result,
        tracking_uri=folder.tracking_uri,
        runner_image=image,
        notes=notes,
    )

"""Execute a candidate's notebooks inside the sandbox (runner container or limited process).

Standalone on purpose: it runs inside the runner image with no grader code. It executes
each notebook top to bottom with nbclient (errors do not stop later cells), caps what
each cell may output, and saves the executed notebook after every cell so that a kill at
the total time limit loses nothing already run. Everything it writes is read back by the
grader as untrusted input.

Started as root in the Docker sandbox (with no capabilities but those to change user and
to signal), it runs the candidate's kernel as the unprivileged sandbox user through
candidate_kernel.py, so the candidate's code can neither rewrite the executed notebooks
and status file this runner writes nor signal the runner. Started as anyone else (the
local backend), the kernel runs as that same user.

What ran: each kernel appends, after every cell, the calls it recorded (kernel_site/
kernel_trace.py) to a file of this runner's in a private folder, through a descriptor handed
over before privileges drop. After each notebook the runner reads it (capped), maps each
execution count to its cell and writes `trace.json` next to the executed notebooks.

    python run_notebooks.py --root SUBMISSION --out OUT --cell-timeout S \
        --max-output-chars N --max-images N NOTEBOOK [NOTEBOOK ...]
"""

from __future__ import annotations

import argparse
import codecs
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

TRUNCATED = "\n[churn-grader: output truncated at {limit} characters]\n"
TRACE_SCHEMA = "kernel-trace/1"
MAX_TRACE_BYTES = 16 * 1024**2  # per notebook, as the kernel wrote it
CANDIDATE_KERNEL = Path(__file__).resolve().parent / "candidate_kernel.py"
# Where the kernel's OOM killer counts its kills for this sandbox (cgroup v1, then v2).
OOM_COUNTERS = (("/sys/fs/cgroup/memory/memory.oom_control", "oom_kill"), ("/sys/fs/cgroup/memory.events", "oom_kill"))


def oom_kills() -> int | None:
    """How many processes the OOM killer ended in this sandbox so far; None where it cannot be read."""
    for path, key in OOM_COUNTERS:
        try:
            for line in Path(path).read_text().splitlines():
                name, _, value = line.partition(" ")
                if name == key:
                    return int(value)
        except (OSError, ValueError):
            continue
    return None


def _candidate_processes() -> set[int]:
    """Live processes of the candidate's: its user's as root, else all but this one (pid namespace)."""
    uid = os.environ.get("CANDIDATE_UID", "10001") if os.getuid() == 0 else None
    found = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        pid = int(status.parent.name)
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue
        if pid == os.getpid() or fields.get("State", "").split()[:1] in (["Z"], ["X"]):
            continue  # a zombie is already dead
        if uid is None or fields.get("Uid", "").split()[:1] == [uid]:
            found.add(pid)
    return found


def end_candidate_processes() -> int:
    """Kill whatever the candidate's code left running (background jobs, a fork bomb) before the next notebook.

    As root (the Docker sandbox): every process of the candidate's user. As the first
    process of a pid namespace of its own (the local backend): every other one in it.
    Frozen first, so a fork bomb cannot outrun it. Elsewhere nothing can be told apart.
    Returns how many were killed.
    """
    if os.getuid() != 0 and os.getpid() != 1:
        return 0
    killed: set[int] = set()
    for _ in range(50):
        _reap_orphans()
        found = _candidate_processes()
        if not found:
            break
        for signum in (signal.SIGSTOP, signal.SIGKILL):
            for pid in found:
                try:
                    os.kill(pid, signum)
                except OSError:
                    pass
        killed |= found
        time.sleep(0.05)
    _reap_orphans()
    return len(killed)


def _reap_orphans() -> None:
    """As init of a pid namespace, the orphans are this process's to reap: zombies still hold pids."""
    if os.getpid() != 1:
        return
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG) == (0, 0):
                return
        except ChildProcessError:
            return


class CandidateKernelManager(AsyncKernelManager):
    """Starts the kernel through candidate_kernel.py, which drops to the sandbox user."""

    trace_path: str | None = None

    def format_kernel_cmd(self, extra_arguments=None):
        trace = ["--trace", self.trace_path] if self.trace_path else []
        return [sys.executable, str(CANDIDATE_KERNEL), *trace, *super().format_kernel_cmd(extra_arguments)]


def new_trace_file(folder: Path, number: int) -> Path:
    """An empty file of the runner's for one kernel's record, in the runner's private folder."""
    path = folder / f"trace-{number}.jsonl"
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    return path


def read_trace(path: Path, nb) -> dict:
    """What the kernel recorded, by cell index: {"traced", "cells": {index: {call: {count, described}}}}.

    Lines are the kernel's, so the candidate's: read capped, malformed lines skipped, and only
    execution counts that belong to an executed cell of this notebook kept."""
    cell_of = {
        cell.get("execution_count"): index
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and isinstance(cell.get("execution_count"), int)
    }
    traced, cells, unmapped = False, {}, 0
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as handle:
            raw = handle.read(MAX_TRACE_BYTES)
    except OSError:
        raw = b""
    for line in raw.decode("utf-8", "replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        if record.get("trace") == TRACE_SCHEMA:
            traced = True
            continue
        index = cell_of.get(record.get("cell"))
        calls = record.get("calls")
        if index is None or not isinstance(calls, dict):
            unmapped += 1
            continue
        merged = cells.setdefault(str(index), {})
        for name, entry in calls.items():
            if isinstance(entry, dict) and str(name) not in merged:
                merged[str(name)] = entry
    return {"traced": traced, "cells": cells, "unmapped_records": unmapped, "truncated": len(raw) >= MAX_TRACE_BYTES}


class CappedClient(NotebookClient):
    """A NotebookClient that keeps at most a fixed amount of output per cell."""

    def __init__(self, *args, max_output_chars: int, max_images: int, saver, trace_path: Path | None, **kwargs):
        super().__init__(*args, **kwargs)
        self._trace_path = trace_path
        self._max_chars = max_output_chars
        self._max_images = max_images
        self._chars: dict[int, int] = {}
        self._images: dict[int, int] = {}
        self._saver = saver
        self.current_cell: int | None = None
        self.on_cell_start = self._before_cell
        self.on_cell_executed = self._after_cell

    def create_kernel_manager(self):
        manager = super().create_kernel_manager()
        manager.trace_path = str(self._trace_path) if self._trace_path else None
        return manager

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        kind = msg.get("msg_type")
        used = self._chars.get(cell_index, 0)
        if kind == "stream":
            text = content.get("text", "")
            room = self._max_chars - used
            if room <= 0:
                return None
            if len(text) > room:
                content["text"] = text[:room] + TRUNCATED.format(limit=self._max_chars)
                text = content["text"]
            self._chars[cell_index] = used + len(text)
        elif kind in ("display_data", "execute_result"):
            data = content.get("data", {})
            if any(key.startswith("image/") for key in data):
                images = self._images.get(cell_index, 0)
                if images >= self._max_images:
                    return None
                self._images[cell_index] = images + 1
            text = data.get("text/plain", "")
            if isinstance(text, str) and len(text) > self._max_chars:
                data["text/plain"] = text[: self._max_chars] + TRUNCATED.format(limit=self._max_chars)
            for key in [k for k in data if k in ("text/html", "application/json", "application/javascript")]:
                if len(json.dumps(data[key])) > self._max_chars:
                    del data[key]
        elif kind == "error":
            content["traceback"] = [line[:2000] for line in content.get("traceback", [])[:60]]
        return super().output(outs, msg, display_id, cell_index)

    def _before_cell(self, cell, cell_index):
        self.current_cell = cell_index

    def _after_cell(self, cell, cell_index, execute_reply):
        self._saver(self.nb)


def _status(
    nb,
    started: float,
    error: str | None,
    stop: str | None = None,
    stopped_at: int | None = None,
    oom_killed: bool | None = None,
) -> dict:
    cells = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        cells.append(
            {
                "index": index,
                "executed": cell.get("execution_count") is not None,
                "error": (f"{errors[0].get('ename', '')}: {errors[0].get('evalue', '')}"[:500] if errors else None),
            }
        )
    return {
        "seconds": round(time.monotonic() - started, 3),
        "error": error,
        "cells": cells,
        "stop": stop,
        "stopped_at_cell": stopped_at,
        "oom_killed": oom_killed,
    }


def _notebook_text(raw: bytes) -> str:
    """A notebook's JSON text; a byte-order mark (a Windows editor's) is read past, as the grader's discovery does."""
    for marks, encoding in (
        ((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE), "utf-32"),
        ((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE), "utf-16"),
    ):
        if raw.startswith(marks):
            return raw.decode(encoding)
    return raw.decode("utf-8-sig")


def run_one(path: Path, root: Path, out: Path, args, trace_path: Path | None = None) -> tuple[dict, dict | None]:
    """Execute one notebook: its status entry, and its trace (None where it never started)."""
    started = time.monotonic()
    target = out / (path.relative_to(root).as_posix().replace("/", "__"))
    try:
        nb = nbformat.reads(_notebook_text(path.read_bytes()), as_version=4)
    except Exception as exc:  # a notebook that is not valid JSON is the candidate's fault
        return {
            "seconds": 0.0,
            "error": f"not a valid notebook: {type(exc).__name__}: {str(exc)[:300]}",
            "cells": [],
        }, None

    def save(notebook) -> None:
        tmp = target.with_suffix(".partial")
        nbformat.write(notebook, tmp)
        os.replace(tmp, target)

    client = CappedClient(
        nb,
        timeout=args.cell_timeout,
        kernel_name="python3",
        kernel_manager_class=CandidateKernelManager,
        allow_errors=True,
        record_timing=True,
        resources={"metadata": {"path": str(path.parent)}},
        max_output_chars=args.max_output_chars,
        max_images=args.max_images,
        saver=save,
        trace_path=trace_path,
    )
    error, stop = None, None
    ooms_before = oom_kills()
    try:
        client.execute()
    except Exception as exc:  # kernel died, cell timed out: keep what ran
        error = f"{type(exc).__name__}: {str(exc)[:500]}"
        stop = (
            "cell_timeout"
            if isinstance(exc, CellTimeoutError)
            else "kernel_died"
            if isinstance(exc, DeadKernelError)
            else "runner_error"
        )
    save(nb)
    ooms_after = oom_kills()
    oom = None if ooms_before is None or ooms_after is None else ooms_after > ooms_before
    trace = read_trace(trace_path, nb) if trace_path else None
    return _status(nb, started, error, stop, client.current_cell if stop else None, oom), trace


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--cell-timeout", type=int, default=900)
    parser.add_argument("--max-output-chars", type=int, default=20000)
    parser.add_argument("--max-images", type=int, default=8)
    parser.add_argument("notebooks", nargs="*")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    results, traces = {}, {}
    trace_folder = Path(tempfile.mkdtemp(prefix="runner-trace-"))
    for number, relative in enumerate(args.notebooks):
        path = (args.root / relative).resolve()
        results[relative], trace = run_one(
            path, args.root.resolve(), args.out, args, new_trace_file(trace_folder, number)
        )
        results[relative]["processes_ended"] = end_candidate_processes()
        if trace is not None:
            traces[relative] = trace
        (args.out / "status.json").write_text(json.dumps(results, indent=1))
        (args.out / "trace.json").write_text(json.dumps({"schema": TRACE_SCHEMA, "notebooks": traces}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What ran in the candidate's kernel: the runner's `trace.json`, read as hostile input, and queried.

The kernel recorded which analysis, splitting, search, calibration, metric and tracking calls
ran in which cell (sandbox/runner/kernel_site/kernel_trace.py); the runner mapped execution
counts to cells and wrote `trace.json` next to the executed notebooks. The candidate's code ran
in the process that recorded it, so every part is capped and validated here, and nothing in it
is more than "this call ran, on something of this shape".
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field

from grader.evidence import Quote

TRACE_SCHEMA = "kernel-trace/1"
TRACE_FILE = "trace.json"
MAX_TRACE_BYTES = 64 * 1024**2
MAX_NOTEBOOKS = 200
MAX_CELLS = 5000
MAX_CALLS = 300
MAX_DESCRIBED = 32
MAX_FACTS = 40
MAX_TEXT = 200
MAX_LIST = 200

Fact = str | int | float | bool | list[str | int | float] | None


class TracedCall(BaseModel):
    """One traced function in one cell: how often it ran, and what its first calls were given."""

    call: str
    count: int
    described: list[dict[str, Fact]] = Field(default_factory=list)


class CellTrace(BaseModel):
    index: int
    calls: list[TracedCall] = Field(default_factory=list)


class NotebookTrace(BaseModel):
    path: str
    # The kernel started recording (an old runner image, or a kernel that never started, did not).
    traced: bool = False
    cells: list[CellTrace] = Field(default_factory=list)
    unmapped_records: int = 0
    truncated: bool = False


class ExecutionTrace(BaseModel):
    schema_version: str = TRACE_SCHEMA
    notebooks: list[NotebookTrace] = Field(default_factory=list)

    @property
    def traced(self) -> bool:
        return any(n.traced for n in self.notebooks)


def _fact(value: object) -> Fact | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**53 else None
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, str):
        return value[:MAX_TEXT]
    if isinstance(value, list):
        items = [_fact(item) for item in value[:MAX_LIST] if isinstance(item, (str, int, float))]
        return [item for item in items if isinstance(item, (str, int, float)) and not isinstance(item, bool)]
    return None


def _described(raw: object) -> list[dict[str, Fact]]:
    if not isinstance(raw, list):
        return []
    described = []
    for entry in raw[:MAX_DESCRIBED]:
        if isinstance(entry, dict):
            described.append({str(k)[:60]: _fact(v) for k, v in list(entry.items())[:MAX_FACTS]})
    return described


def _calls(raw: object) -> list[TracedCall]:
    if not isinstance(raw, dict):
        return []
    calls = []
    for name, entry in list(raw.items())[:MAX_CALLS]:
        count = entry.get("count") if isinstance(entry, dict) else None
        if isinstance(count, int) and not isinstance(count, bool) and count > 0:
            calls.append(
                TracedCall(call=str(name)[:MAX_TEXT], count=count, described=_described(entry.get("described")))
            )
    return calls


def parse_trace(document: object) -> ExecutionTrace | None:
    """The trace in `document` (the runner's JSON), keeping only well-formed, capped parts."""
    if not isinstance(document, dict) or document.get("schema") != TRACE_SCHEMA:
        return None
    notebooks = document.get("notebooks")
    if not isinstance(notebooks, dict):
        return None
    trace = ExecutionTrace()
    for path, entry in list(notebooks.items())[:MAX_NOTEBOOKS]:
        if not isinstance(entry, dict):
            continue
        raw_cells, unmapped = entry.get("cells"), entry.get("unmapped_records")
        cells = raw_cells if isinstance(raw_cells, dict) else {}
        notebook = NotebookTrace(
            path=str(path)[:MAX_TEXT],
            traced=entry.get("traced") is True,
            unmapped_records=unmapped if isinstance(unmapped, int) else 0,
            truncated=entry.get("truncated") is True,
        )
        for index, calls in list(cells.items())[:MAX_CELLS]:
            if str(index).isdigit():
                notebook.cells.append(CellTrace(index=int(index), calls=_calls(calls)))
        notebook.cells.sort(key=lambda c: c.index)
        trace.notebooks.append(notebook)
    return trace


def read_trace(executed_dir: Path) -> tuple[ExecutionTrace | None, str | None]:
    """The trace the runner wrote in `executed_dir`, or None and why (never raises for what the sandbox left)."""
    path = executed_dir / TRACE_FILE
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None, "no record of what ran (the runner wrote no trace.json): nothing is credited as executed"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None, "trace.json is not a regular file: not read"
        if info.st_size > MAX_TRACE_BYTES:
            return None, f"trace.json is over {MAX_TRACE_BYTES // 1024**2} MB: not read"
        with os.fdopen(fd, "rb") as handle:
            fd = -1
            document = json.loads(handle.read(MAX_TRACE_BYTES + 1).decode("utf-8", "replace"))
    except (OSError, ValueError, RecursionError) as exc:
        return None, f"trace.json could not be read ({type(exc).__name__})"
    finally:
        if fd >= 0:
            os.close(fd)
    trace = parse_trace(document)
    return (trace, None) if trace is not None else (None, "trace.json is not a kernel trace: not read")


@dataclass(frozen=True)
class Ran:
    """A traced call in one cell."""

    notebook: str
    cell: int
    call: str
    count: int
    described: tuple[dict[str, Fact], ...]

    def quote(self, detail: str = "") -> Quote:
        text = f"ran {self.call} x{self.count}" + (f": {detail}" if detail else "")
        return Quote(source=self.notebook, cell=self.cell, text=text[:300])


class Executed:
    """What ran, to query: `Executed(None)` is a notebook graded without a trace (nothing ran, as far as we know)."""

    def __init__(self, trace: ExecutionTrace | None) -> None:
        self.trace = trace
        self._ran = [
            Ran(notebook.path, cell.index, call.call, call.count, tuple(call.described))
            for notebook in (trace.notebooks if trace else [])
            for cell in notebook.cells
            for call in cell.calls
        ]

    @property
    def available(self) -> bool:
        """Whether a kernel recorded anything at all: else executed checks are unknown, not failed."""
        return self.trace is not None and self.trace.traced

    def calls(self, *names: str) -> list[Ran]:
        """Traced calls by name; a name ending with '.' matches every call under it."""
        return [r for r in self._ran if any(r.call == n or (n.endswith(".") and r.call.startswith(n)) for n in names)]

    def facts(self, *names: str) -> Iterator[tuple[Ran, dict[str, Fact]]]:
        for ran in self.calls(*names):
            for facts in ran.described:
                yield ran, facts

    def cells(self) -> list[tuple[str, int]]:
        return sorted({(r.notebook, r.cell) for r in self._ran})

    def in_cell(self, notebook: str, cell: int, *names: str) -> list[Ran]:
        return [r for r in self.calls(*names) if r.notebook == notebook and r.cell == cell]


def load_executed(executed_dir: Path) -> tuple[Executed, str | None]:
    """What ran, as recorded next to the executed notebooks (empty, with the reason, when it was not)."""
    trace, problem = read_trace(executed_dir)
    return Executed(trace), problem

"""Execute a candidate's notebooks inside the sandbox (runner container or limited process).

Standalone on purpose: it runs inside the runner image with no grader code. It executes
each notebook top to bottom with nbclient (errors do not stop later cells), caps what
each cell may output, and saves the executed notebook after every cell so that a kill at
the total time limit loses nothing already run. Everything it writes is read back by the
grader as untrusted input.

    python run_notebooks.py --root SUBMISSION --out OUT --cell-timeout S \
        --max-output-chars N --max-images N NOTEBOOK [NOTEBOOK ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

TRUNCATED = "\n[churn-grader: output truncated at {limit} characters]\n"


class CappedClient(NotebookClient):
    """A NotebookClient that keeps at most a fixed amount of output per cell."""

    def __init__(self, *args, max_output_chars: int, max_images: int, saver, **kwargs):
        super().__init__(*args, **kwargs)
        self._max_chars = max_output_chars
        self._max_images = max_images
        self._chars: dict[int, int] = {}
        self._images: dict[int, int] = {}
        self._saver = saver
        self.on_cell_executed = self._after_cell

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

    def _after_cell(self, cell, cell_index, execute_reply):
        self._saver(self.nb)


def _status(nb, started: float, error: str | None) -> dict:
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
    return {"seconds": round(time.monotonic() - started, 3), "error": error, "cells": cells}


def run_one(path: Path, root: Path, out: Path, args) -> dict:
    started = time.monotonic()
    target = out / (path.relative_to(root).as_posix().replace("/", "__"))
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # a notebook that is not valid JSON is the candidate's fault
        return {"seconds": 0.0, "error": f"not a valid notebook: {type(exc).__name__}: {str(exc)[:300]}", "cells": []}

    def save(notebook) -> None:
        tmp = target.with_suffix(".partial")
        nbformat.write(notebook, tmp)
        os.replace(tmp, target)

    client = CappedClient(
        nb,
        timeout=args.cell_timeout,
        kernel_name="python3",
        allow_errors=True,
        record_timing=True,
        resources={"metadata": {"path": str(path.parent)}},
        max_output_chars=args.max_output_chars,
        max_images=args.max_images,
        saver=save,
    )
    error = None
    try:
        client.execute()
    except Exception as exc:  # kernel died, cell timed out: keep what ran
        error = f"{type(exc).__name__}: {str(exc)[:500]}"
    save(nb)
    return _status(nb, started, error)


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
    results = {}
    for relative in args.notebooks:
        path = (args.root / relative).resolve()
        results[relative] = run_one(path, args.root.resolve(), args.out, args)
        (args.out / "status.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Executed notebooks as plain cells: source, text output, images; read defensively.

The notebooks were written by candidate code, so sizes are capped and anything that does
not parse is reported rather than trusted.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import BaseModel

from grader.evidence import Quote

MAX_NOTEBOOK_BYTES = 50 * 1024**2
MAX_CELL_CHARS = 50_000
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class Cell(BaseModel):
    notebook: str
    index: int
    kind: str  # "code" or "markdown"
    source: str
    output: str = ""
    images: int = 0
    error: str | None = None

    def quote(self, text: str, limit: int = 300) -> Quote:
        return Quote(source=self.notebook, cell=self.index, text=text.strip()[:limit])


def _text(value) -> str:
    if isinstance(value, list):
        value = "".join(str(v) for v in value)
    return _ANSI.sub("", str(value))[:MAX_CELL_CHARS]


def read_cells(path: Path, name: str) -> tuple[list[Cell], str | None]:
    """The cells of one executed notebook, or why it could not be read."""
    try:
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            return [], f"{name}: executed notebook over {MAX_NOTEBOOK_BYTES // 1024**2} MB, not read"
        document = json.loads(path.read_text(errors="replace"))
        raw_cells = document["cells"] if isinstance(document, dict) else None
        if not isinstance(raw_cells, list):
            return [], f"{name}: not a notebook (no cell list)"
    except (OSError, ValueError, KeyError) as exc:
        return [], f"{name}: could not be read ({type(exc).__name__})"
    cells = []
    for index, raw in enumerate(raw_cells):
        if not isinstance(raw, dict):
            continue
        kind = raw.get("cell_type")
        if kind not in ("code", "markdown"):
            continue
        output_parts, images, error = [], 0, None
        for output in raw.get("outputs", []) if kind == "code" else []:
            if not isinstance(output, dict):
                continue
            kind_of_output = output.get("output_type")
            if kind_of_output == "stream":
                output_parts.append(_text(output.get("text", "")))
            elif kind_of_output in ("execute_result", "display_data"):
                data = output.get("data", {}) if isinstance(output.get("data"), dict) else {}
                images += sum(1 for key in data if str(key).startswith("image/"))
                if "text/plain" in data:
                    output_parts.append(_text(data["text/plain"]))
                elif "text/html" in data:
                    output_parts.append(re.sub(r"<[^>]+>", " ", _text(data["text/html"])))
            elif kind_of_output == "error":
                error = f"{_text(output.get('ename', ''))}: {_text(output.get('evalue', ''))}"[:500]
        cells.append(
            Cell(
                notebook=name,
                index=index,
                kind=kind,
                source=_text(raw.get("source", "")),
                output="\n".join(output_parts)[:MAX_CELL_CHARS],
                images=images,
                error=error,
            )
        )
    return cells, None

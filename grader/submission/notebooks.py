"""Notebooks: find them, check that they parse, flag stubs and guess what each is for."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterable
from typing import Literal

import nbformat
from nbformat import ValidationError as NotebookSchemaError
from pydantic import BaseModel

from grader.submission.text import decode_text
from grader.submission.tree import FileEntry, Unreadable, read_capped

NOTEBOOK_CAP = 50 * 1024 * 1024
# Enough source to guess a kind; a notebook's text beyond this adds nothing.
KIND_TEXT_CAP = 2 * 1024 * 1024
MIN_CODE_CELLS = 2

NotebookKind = Literal["audit", "modeling", "evaluation", "other"]
# When a name or the content fits several kinds, the first listed wins.
KIND_PRECEDENCE: tuple[NotebookKind, ...] = ("evaluation", "audit", "modeling")

_NAME_HINTS: dict[NotebookKind, tuple[str, ...]] = {
    "audit": ("audit", "eda", "explor", "quality", "profil", "leak", "drift", "inspect", "understand", "sanity"),
    "evaluation": ("eval", "calibrat", "metric", "lift", "threshold", "holdout", "backtest", "assess", "report"),
    "modeling": (
        "model",
        "train",
        "tun",
        "baseline",
        "experiment",
        "mlflow",
        "lgbm",
        "lightgbm",
        "xgb",
        "catboost",
        "forest",
        "logreg",
        "logistic",
        "gbm",
        "hyperopt",
        "optuna",
        "fit",
        "pipeline",
    ),
}
_CONTENT_HINTS: dict[NotebookKind, tuple[str, ...]] = {
    "audit": (
        ".isna(",
        ".isnull(",
        ".describe(",
        "value_counts(",
        ".duplicated(",
        "drift",
        "leak",
        ".corr(",
        "nunique(",
        "missing",
    ),
    "modeling": (
        ".fit(",
        "mlflow.start_run",
        "log_model",
        "GridSearchCV",
        "RandomizedSearchCV",
        "optuna",
        "LGBMClassifier",
        "XGBClassifier",
        "LogisticRegression",
        "train_test_split",
        "GroupKFold",
    ),
    "evaluation": (
        "calibration_curve",
        "CalibrationDisplay",
        "precision_recall_curve",
        "PrecisionRecallDisplay",
        "average_precision_score",
        "brier_score_loss",
        "lift",
        "decile",
        "roc_auc_score",
    ),
}
MIN_CONTENT_HINTS = 2


class Notebook(BaseModel):
    """One notebook as handed in: whether it can run, how much is in it, what it is for."""

    path: str
    size_bytes: int
    kind: NotebookKind = "other"
    kind_reason: str = ""
    valid: bool = False
    stub: bool = False
    cells: int = 0
    code_cells: int = 0
    executed: bool = False
    problem: str | None = None


def is_notebook(entry: FileEntry) -> bool:
    return entry.name.lower().endswith(".ipynb")


def find_notebooks(files: Iterable[FileEntry]) -> list[Notebook]:
    """Every notebook among `files`, in the order the grader runs them (their paths)."""
    return [inspect_notebook(entry) for entry in sorted(files, key=lambda e: e.rel) if is_notebook(entry)]


def inspect_notebook(entry: FileEntry) -> Notebook:
    """Read one notebook without running it; a bad one is described, never raised."""
    found = Notebook(path=entry.rel, size_bytes=entry.size)
    try:
        raw = read_capped(entry, NOTEBOOK_CAP)
    except Unreadable as exc:
        found.kind, found.kind_reason = _kind_from_name(entry.name, {})
        found.problem = str(exc)
        return found
    try:
        node = _parse(raw)
    except ValueError as exc:
        found.kind, found.kind_reason = _kind_from_name(entry.name, {})
        found.problem = f"not a valid notebook: {exc}"
        return found
    cells = [cell for cell in node.cells if isinstance(cell, dict)]
    sources = [_source(cell) for cell in cells]
    code = [cell for cell in cells if cell.get("cell_type") == "code"]
    found.valid = True
    found.cells = len(cells)
    found.code_cells = len(code)
    found.executed = any(cell.get("outputs") or cell.get("execution_count") for cell in code)
    text = "\n".join(sources)[:KIND_TEXT_CAP]
    found.kind, found.kind_reason = guess_kind(entry.name, text)
    if not any(source.strip() for source in sources):
        found.stub, found.problem = True, "stub: every cell is empty" if cells else "stub: no cells"
    elif found.code_cells < MIN_CODE_CELLS:
        found.stub, found.problem = True, f"stub: {found.code_cells} code cell(s)"
    else:
        found.problem = _schema_problem(node)
    return found


def _parse(raw: bytes) -> nbformat.NotebookNode:
    """JSON text to a version-4 notebook node; ValueError says why it is not one."""
    decoded = decode_text(raw)
    # JSON is UTF-8; a byte-order mark (a Windows editor's) is read past, as the runner does.
    if decoded.encoding != "utf-8" and not decoded.bom:
        raise ValueError(f"not UTF-8 (it reads as {decoded.described})")
    if decoded.binary:
        raise ValueError("binary, not text")
    try:
        data = json.loads(decoded.text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise ValueError("invalid JSON: nested too deeply") from None
    if not isinstance(data, dict) or not isinstance(data.get("nbformat"), int):
        raise ValueError("JSON without an 'nbformat' version")
    if data["nbformat"] < 4 and not isinstance(data.get("worksheets"), list):
        raise ValueError(f"nbformat {data['nbformat']} notebook without worksheets")
    if data["nbformat"] >= 4 and not isinstance(data.get("cells"), list):
        raise ValueError("no 'cells' list")
    node = nbformat.from_dict(data)
    if data["nbformat"] < 4:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                node = nbformat.convert(node, 4)
        # nbformat's upgrade code assumes well-formed input; any failure means it is not.
        except Exception as exc:
            raise ValueError(f"cannot upgrade nbformat {data['nbformat']}: {exc}") from None
    return node


def _schema_problem(node: nbformat.NotebookNode) -> str | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nbformat.validate(node)
    except NotebookSchemaError as exc:
        return f"does not match the notebook schema (it may still run): {exc.message}"
    return None


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    if isinstance(source, list):
        return "".join(part for part in source if isinstance(part, str))
    return source if isinstance(source, str) else ""


def _tokens(name: str) -> list[str]:
    stem = name.rsplit(".", 1)[0]
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", stem)
    return [token for token in re.split(r"[^a-z]+", spaced.lower()) if token]


def _kind_from_name(name: str, content_hits: dict[NotebookKind, list[str]]) -> tuple[NotebookKind, str]:
    tokens = _tokens(name)
    by_name = [
        kind
        for kind in KIND_PRECEDENCE
        if any(token.startswith(hint) for token in tokens for hint in _NAME_HINTS[kind])
    ]
    if not by_name:
        return "other", f"name '{name}' names no kind"
    if len(by_name) > 1 and content_hits:
        best = max(by_name, key=lambda kind: len(content_hits.get(kind, [])))
        if content_hits.get(best):
            return best, f"name '{name}' fits {', '.join(by_name)}; content favours {best}"
    return by_name[0], f"name '{name}' suggests {by_name[0]}"


def guess_kind(name: str, text: str) -> tuple[NotebookKind, str]:
    """A kind from the file name first, else from markers in the cells, with the reason."""
    hits = {kind: [hint for hint in hints if hint in text] for kind, hints in _CONTENT_HINTS.items()}
    kind, reason = _kind_from_name(name, hits)
    if kind != "other":
        return kind, reason
    best = max(KIND_PRECEDENCE, key=lambda k: len(hits[k]))
    if len(hits[best]) >= MIN_CONTENT_HINTS:
        return best, f"content: {', '.join(hits[best][:5])}"
    return "other", f"{reason}; content too thin to tell"

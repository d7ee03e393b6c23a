"""Read a candidate's MLflow runs and logged models: the fresh store or a committed one.

Committed stores are read on a copy, with absolute artifact paths from the candidate's
machine remapped into the copy (file stores: meta.yaml; SQLite stores: the location
columns). MLflow 2 and 3 layouts are both read: MLflow 3 logs models as LoggedModel
entities, MLflow 2 as MLmodel folders among a run's artifacts.

An artifact is a plot only when its bytes are one (`figure_kind`: PNG, JPEG, GIF, WebP, PDF, an SVG
that draws, HTML carrying a figure), never because its name says so: a `.txt` called
`calibration_plot.png` is text. Only the first bytes are read, without following links, within a
budget per store.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sqlite3
import stat
import warnings
from pathlib import Path
from urllib.parse import unquote, urlparse

from pydantic import BaseModel, Field

MAX_RUNS = 500
MAX_ARTIFACTS_PER_RUN = 200
# A committed store is copied before it is read; past this, the rest is left out.
MAX_COMMITTED_STORE_BYTES = 512 * 1024**2
# How much of each artifact is read to tell what it is, and how much of a store's artifacts in all.
SNIFF_BYTES = 16 * 1024
MAX_SNIFFED_PER_STORE = 64 * 1024**2
_RASTER_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"%PDF-", "pdf"),
)
_PREAMBLE = r"\A\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*"
_SVG = re.compile(_PREAMBLE + r"(?:<!doctype svg[^>]*>\s*)?<svg[\s>]", re.I | re.S)
_SVG_DRAWS = re.compile(r"<(?:path|line|polyline|polygon|rect|circle|ellipse)[\s>/]", re.I)
_HTML = re.compile(_PREAMBLE + r"<(?:!doctype html|html|head|body|div|script|meta)[\s>]", re.I | re.S)
# A figure inside an HTML page: an inline SVG or image, a canvas, or a plotting library's script.
_HTML_FIGURE = re.compile(
    r"<svg[\s>]|<img\s[^>]*src=|<canvas[\s>]|plotly|vega|bokeh|echarts|chart\.js|data:image/", re.I
)


class LoggedModel(BaseModel):
    uri: str
    name: str
    run_id: str | None = None
    flavors: list[str] = Field(default_factory=list)
    input_columns: list[str] | None = None
    created_ms: int = 0


class RunRecord(BaseModel):
    run_id: str
    name: str = ""
    experiment: str = ""
    status: str = ""
    parent_run_id: str | None = None
    params: dict[str, str] = Field(default_factory=dict)
    metrics: dict[str, float] = Field(default_factory=dict)
    artifacts: list[str] = Field(default_factory=list)
    # The artifacts whose bytes are an image or a figure (`figure_kind`), whatever their names say.
    images: list[str] = Field(default_factory=list)
    start_ms: int = 0


class TrackingStore(BaseModel):
    """What one tracking store holds, or why it could not be read."""

    kind: str  # "fresh" (this grading run) or "committed" (in the submission)
    location: str
    runs: list[RunRecord] = Field(default_factory=list)
    models: list[LoggedModel] = Field(default_factory=list)
    error: str | None = None
    # Artifact locations the store names outside itself: never read (they could name any host path or URL).
    outside: list[str] = Field(default_factory=list)

    def metric_names(self) -> set[str]:
        return {name for run in self.runs for name in run.metrics}


def _artifacts(client, run_id: str) -> list[str]:
    found: list[str] = []
    pending = [None]
    while pending and len(found) < MAX_ARTIFACTS_PER_RUN:
        path = pending.pop()
        try:
            entries = client.list_artifacts(run_id, path)
        except Exception:
            break
        for entry in entries:
            found.append(entry.path)
            if entry.is_dir and entry.path.count("/") < 2:
                pending.append(entry.path)
    return sorted(found[:MAX_ARTIFACTS_PER_RUN])


def _model_info(mlflow, uri: str) -> tuple[list[str], list[str] | None]:
    try:
        info = mlflow.models.get_model_info(uri)
    except Exception:
        return [], None
    inputs = None
    if info.signature is not None and info.signature.inputs is not None:
        try:
            inputs = info.signature.inputs.input_names()
        except Exception:
            inputs = None
    return sorted(info.flavors), inputs


def _local_path(uri: str) -> Path | None:
    """A `file:` URI or a plain path as a path; None for any other scheme."""
    parsed = urlparse(uri)
    if parsed.scheme not in ("", "file"):
        return None
    return Path(unquote(parsed.path) if parsed.scheme else uri)


def _within(uri: str | None, roots: list[Path] | None) -> bool:
    """Whether an artifact location is a local path under one of `roots` (None: no check)."""
    if roots is None or not uri:
        return True
    path = _local_path(uri)
    return path is not None and any(path.resolve().is_relative_to(root.resolve()) for root in roots)


def figure_kind(head: bytes) -> str | None:
    """What an artifact's first bytes show: 'png', 'jpeg', 'gif', 'webp', 'pdf', 'svg' or 'html' (a page
    carrying a figure); None for anything else (text, a table, a pickle)."""
    for magic, kind in _RASTER_MAGIC:
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    text = head.decode("utf-8", "replace").lstrip("\ufeff")
    if _SVG.match(text):
        return "svg" if _SVG_DRAWS.search(text) else None
    if _HTML.match(text) and _HTML_FIGURE.search(text):
        return "html"
    return None


def _head(path: Path, roots: list[Path] | None) -> bytes | None:
    """The first bytes of a regular file under `roots`; None for links out of them, folders, devices, FIFOs."""
    try:
        if roots is not None and not any(path.resolve().is_relative_to(root.resolve()) for root in roots):
            return None
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except (OSError, RuntimeError):
        return None
    try:
        return os.read(fd, SNIFF_BYTES) if stat.S_ISREG(os.fstat(fd).st_mode) else None
    except OSError:
        return None
    finally:
        os.close(fd)


def _images(artifact_uri: str | None, artifacts: list[str], roots: list[Path] | None, budget: list[int]) -> list[str]:
    """The artifacts of a run whose bytes are an image or a figure; `budget` (bytes left to read) is shared by a store."""
    root = _local_path(artifact_uri) if artifact_uri else None
    found: list[str] = []
    if root is None:
        return found
    for artifact in artifacts:
        if budget[0] <= 0:
            break
        head = _head(root / artifact, roots)
        if head is None:
            continue
        budget[0] -= len(head)
        if figure_kind(head):
            found.append(artifact)
    return found


def read_store(tracking_uri: str, kind: str, artifact_roots: list[Path] | None = None) -> TrackingStore:
    """Every run (params, metrics, artifacts) and every logged model of a store.

    With `artifact_roots`, artifacts and models are read only where they lie under one of
    them: a hostile store may name any host path or URL as an artifact location.
    """
    import mlflow
    from mlflow import MlflowClient

    # After the import: MLflow configures its own loggers when it loads.
    logging.getLogger("mlflow").setLevel(logging.ERROR)

    store = TrackingStore(kind=kind, location=tracking_uri)
    budget = [MAX_SNIFFED_PER_STORE]
    if tracking_uri.startswith("file:"):
        # MLflow 3 refuses file stores unless asked; candidates' committed mlruns/ are one.
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            client = MlflowClient(tracking_uri=tracking_uri)
            mlflow.set_tracking_uri(tracking_uri)
            experiments = {e.experiment_id: e.name for e in client.search_experiments()}
            runs = client.search_runs(list(experiments), max_results=MAX_RUNS) if experiments else []
            for run in runs:
                readable = _within(run.info.artifact_uri, artifact_roots)
                if not readable:
                    store.outside.append(f"run {run.info.run_id}: {str(run.info.artifact_uri)[:200]}")
                artifacts = _artifacts(client, run.info.run_id) if readable else []
                store.runs.append(
                    RunRecord(
                        run_id=run.info.run_id,
                        name=run.info.run_name or "",
                        experiment=experiments.get(run.info.experiment_id, ""),
                        status=run.info.status,
                        parent_run_id=run.data.tags.get("mlflow.parentRunId"),
                        params={k: str(v)[:200] for k, v in list(run.data.params.items())[:200]},
                        metrics={k: float(v) for k, v in list(run.data.metrics.items())[:200]},
                        artifacts=artifacts,
                        images=_images(run.info.artifact_uri, artifacts, artifact_roots, budget) if readable else [],
                        start_ms=int(run.info.start_time or 0),
                    )
                )
                for artifact in artifacts:
                    if artifact.endswith("/MLmodel") and artifact.count("/") == 1:
                        uri = f"runs:/{run.info.run_id}/{artifact.rsplit('/', 1)[0]}"
                        flavors, inputs = _model_info(mlflow, uri)
                        store.models.append(
                            LoggedModel(
                                uri=uri,
                                name=artifact.split("/")[0],
                                run_id=run.info.run_id,
                                flavors=flavors,
                                input_columns=inputs,
                                created_ms=int(run.info.start_time or 0),
                            )
                        )
            if experiments:
                for model in mlflow.search_logged_models(experiment_ids=list(experiments), output_format="list"):
                    if not _within(model.artifact_location, artifact_roots):
                        store.outside.append(f"model {model.model_id}: {str(model.artifact_location)[:200]}")
                        continue
                    uri = f"models:/{model.model_id}"
                    flavors, inputs = _model_info(mlflow, uri)
                    store.models.append(
                        LoggedModel(
                            uri=uri,
                            name=model.name or "",
                            run_id=model.source_run_id,
                            flavors=flavors,
                            input_columns=inputs,
                            created_ms=int(model.creation_timestamp or 0),
                        )
                    )
    except Exception as exc:  # a broken or hostile store is evidence, not a crash
        store.error = f"{type(exc).__name__}: {str(exc)[:300]}"
    return store


_FILE_URI = re.compile(r"(file://)?(/[^\s'\"]*?/mlruns)(?=/)")


def _copy_plain(source: Path, target: Path) -> None:
    """Copy a candidate's folder: regular files and folders only, links and devices left out, size capped."""
    copied = 0

    def ignore(directory: str, names: list[str]) -> set[str]:
        nonlocal copied
        left_out = set()
        for name in names:
            mode = os.lstat(os.path.join(directory, name)).st_mode
            if stat.S_ISDIR(mode):
                continue
            if not stat.S_ISREG(mode):
                left_out.add(name)
                continue
            copied += os.lstat(os.path.join(directory, name)).st_size
            if copied > MAX_COMMITTED_STORE_BYTES:
                left_out.add(name)
        return left_out

    shutil.copytree(source, target, symlinks=True, ignore=ignore)


def prepare_committed_store(store_path: Path, destination: Path) -> str:
    """Copy a committed store and remap absolute artifact paths into the copy; its URI."""
    if store_path.is_dir():
        copy = destination / "mlruns"
        _copy_plain(store_path, copy)
        for meta in copy.rglob("meta.yaml"):
            text = meta.read_text(errors="replace")
            meta.write_text(_FILE_URI.sub(lambda m: f"{m.group(1) or ''}{copy}", text))
        return copy.as_uri()
    copy = destination / store_path.name
    shutil.copy2(store_path, copy)
    base = str(destination)
    with sqlite3.connect(copy) as db:
        for table, column in (
            ("runs", "artifact_uri"),
            ("experiments", "artifact_location"),
            ("logged_models", "artifact_location"),
        ):
            try:
                rows = db.execute(f"SELECT rowid, {column} FROM {table}").fetchall()
            except sqlite3.Error:
                continue
            for rowid, value in rows:
                if isinstance(value, str) and "/mlruns/" in value:
                    local = base + "/mlruns/" + value.split("/mlruns/", 1)[1]
                    db.execute(f"UPDATE {table} SET {column} = ? WHERE rowid = ?", ("file://" + local, rowid))
    mlruns = store_path.parent / "mlruns"
    if mlruns.is_dir() and not mlruns.is_symlink() and not (destination / "mlruns").exists():
        _copy_plain(mlruns, destination / "mlruns")
    return f"sqlite:///{os.fspath(copy)}"

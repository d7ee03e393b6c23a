"""Committed MLflow stores: `mlruns/` file stores and SQLite databases, read without writing.

A file store is recognised by its structure (`<store>/<experiment id>/meta.yaml` naming
an experiment), not by its folder name. A SQLite file is a store when it holds MLflow's
tables; it is opened read-only and immutable, so not even a journal is written.
"""

from __future__ import annotations

import posixpath
import re
import sqlite3
from typing import Literal
from urllib.parse import urlparse

import yaml
from pydantic import BaseModel

from grader.submission.tree import (
    STORE_DIR_NAMES,
    FileEntry,
    Tree,
    Unreadable,
    normalize,
    read_capped,
    read_head,
    under,
)

META_CAP = 64 * 1024
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
SQLITE_HEADER = b"SQLite format 3\x00"
MLFLOW_TABLES = frozenset({"experiments", "runs", "metrics", "params"})
# A hostile database could make a query crawl: abandon it after this many progress
# callbacks, each one every SQLITE_STEPS_PER_CALL virtual-machine instructions.
SQLITE_STEPS_PER_CALL = 1000
SQLITE_MAX_CALLS = 50_000
_EXPERIMENT_ID = re.compile(r"^\d+$")


class MlflowStore(BaseModel):
    """A committed tracking store and what it holds."""

    path: str
    kind: Literal["file", "sqlite"]
    experiments: int = 0
    runs: int = 0
    logged_models: int = 0
    registered_models: int = 0
    declared: bool = False
    problem: str | None = None


def store_path_from_uri(uri: str) -> str | None:
    """The path inside the submission a tracking URI names; None for a remote server."""
    parsed = urlparse(uri)
    if parsed.scheme == "sqlite":
        # sqlite:///relative.db names a relative file, sqlite:////abs.db an absolute one.
        return uri.removeprefix("sqlite:///")
    if parsed.scheme == "file":
        return parsed.path if not parsed.netloc else None
    if parsed.scheme == "" or len(parsed.scheme) == 1:
        return uri
    return None


def find_stores(tree: Tree, declared: str | None) -> tuple[list[MlflowStore], set[str], list[str]]:
    """Every committed store, the folders they occupy, and problems met reading them."""
    problems: list[str] = []
    folders = _file_store_candidates(tree)
    stores = []
    for folder in sorted(folders):
        store = inspect_file_store(tree, folder)
        if store.experiments or posixpath.basename(folder) == "mlruns":
            stores.append(store)
    for entry in tree.files:
        if entry.name.lower().endswith(SQLITE_SUFFIXES):
            sqlite_store = inspect_sqlite(entry)
            if sqlite_store is not None:
                stores.append(sqlite_store)
    if declared is not None:
        declared = normalize(declared)
        match = next((store for store in stores if store.path == declared), None)
        if match is None:
            problems.append(f"takehome.toml names MLflow store '{declared}', which holds no MLflow experiments")
        else:
            match.declared = True
            stores.sort(key=lambda store: not store.declared)
    occupied = {store.path for store in stores if store.kind == "file"} | {
        folder for folder in tree.dirs if posixpath.basename(folder) in STORE_DIR_NAMES
    }
    return stores, occupied, problems


def _file_store_candidates(tree: Tree) -> set[str]:
    candidates = {folder for folder in tree.dirs if posixpath.basename(folder) == "mlruns"}
    for entry in tree.files:
        if entry.name == "meta.yaml":
            experiment = posixpath.dirname(entry.rel)
            if _EXPERIMENT_ID.match(posixpath.basename(experiment)) and posixpath.dirname(experiment):
                candidates.add(posixpath.dirname(experiment))
    # A store nested in another store's artifacts is part of it, not a store of its own.
    return {
        folder for folder in candidates if not any(under(folder, other) and folder != other for other in candidates)
    }


def inspect_file_store(tree: Tree, folder: str) -> MlflowStore:
    """Count experiments, runs and models of a file store from the walked paths."""
    store = MlflowStore(path=folder, kind="file")
    prefix = f"{folder}/" if folder else ""
    for entry in tree.files:
        if not entry.rel.startswith(prefix) or entry.name != "meta.yaml":
            continue
        parts = entry.rel[len(prefix) :].split("/")
        if len(parts) == 2 and _EXPERIMENT_ID.match(parts[0]):
            problem = _experiment_problem(entry)
            if problem:
                store.problem = problem
            else:
                store.experiments += 1
        elif len(parts) == 3 and parts[0] == "models":
            store.registered_models += 1
        elif len(parts) == 3 and _EXPERIMENT_ID.match(parts[0]) and parts[1] not in ("models", "tags"):
            store.runs += 1
        elif len(parts) == 4 and _EXPERIMENT_ID.match(parts[0]) and parts[1] == "models":
            store.logged_models += 1
    if not store.experiments and not store.problem:
        store.problem = f"'{folder}' holds no MLflow experiments"
    return store


def _experiment_problem(entry: FileEntry) -> str | None:
    try:
        meta = yaml.safe_load(read_capped(entry, META_CAP))
    except (Unreadable, yaml.YAMLError) as exc:
        return f"'{entry.rel}' is not a readable experiment record: {str(exc).splitlines()[0]}"
    if not isinstance(meta, dict) or "experiment_id" not in meta:
        return f"'{entry.rel}' is not an MLflow experiment record"
    return None


def inspect_sqlite(entry: FileEntry) -> MlflowStore | None:
    """A store for a SQLite file with MLflow's tables; None for any other file."""
    try:
        if read_head(entry, len(SQLITE_HEADER)) != SQLITE_HEADER:
            return None
    except Unreadable:
        return None
    uri = f"{entry.real.as_uri()}?mode=ro&immutable=1"
    calls = 0

    def over_budget() -> int:
        nonlocal calls
        calls += 1
        return int(calls > SQLITE_MAX_CALLS)

    try:
        connection = sqlite3.connect(uri, uri=True, timeout=1)
    except sqlite3.Error as exc:
        return MlflowStore(path=entry.rel, kind="sqlite", problem=f"cannot open '{entry.rel}' read-only: {exc}")
    try:
        connection.set_progress_handler(over_budget, SQLITE_STEPS_PER_CALL)
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables >= MLFLOW_TABLES:
            return None
        store = MlflowStore(path=entry.rel, kind="sqlite")
        store.experiments = _count(connection, "experiments")
        store.runs = _count(connection, "runs")
        if "logged_models" in tables:
            store.logged_models = _count(connection, "logged_models")
        if "registered_models" in tables:
            store.registered_models = _count(connection, "registered_models")
        return store
    except sqlite3.Error as exc:
        return MlflowStore(path=entry.rel, kind="sqlite", problem=f"'{entry.rel}' is not readable as SQLite: {exc}")
    finally:
        connection.close()


def _count(connection: sqlite3.Connection, table: str) -> int:
    # `table` comes from the fixed set above, never from the file.
    return int(connection.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])

"""Trained models: the files committed, and where the service loads its model from.

The service's source is parsed, never run: string constants that are registry or remote
URIs (`models:/`, `runs:/`, `s3://`, URLs handed to a loader) mean the model comes from
elsewhere at start-up; constants naming model files are checked against the submission.
"""

from __future__ import annotations

import ast
import posixpath
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal, TypeGuard

from pydantic import BaseModel, Field

from grader.evidence import Quote
from grader.submission.service import parse_module
from grader.submission.tree import FileEntry, Unreadable, read_head, under

ModelFormat = Literal[
    "joblib", "pickle", "skops", "onnx", "catboost", "lightgbm_text", "xgboost_json", "xgboost_ubj", "mlflow_model"
]
ModelSource = Literal["committed", "registry", "missing", "unknown"]

_BY_SUFFIX: dict[str, ModelFormat] = {
    ".joblib": "joblib",
    ".pkl": "pickle",
    ".pickle": "pickle",
    ".skops": "skops",
    ".onnx": "onnx",
    ".cbm": "catboost",
    ".ubj": "xgboost_ubj",
}
_SNIFF_BYTES = 4096
MAX_MODEL_FILES = 500
_REGISTRY = re.compile(r"^(models|runs):/", re.I)
_REMOTE_STORE = re.compile(r"^((s3a?|gs|wasbs?|abfss?|hdfs)://|dbfs:/)", re.I)
_URL = re.compile(r"^https?://", re.I)
# An http(s) URL is a model source only where a loader, a client or a model setting takes it.
_URL_CONTEXT = re.compile(r"load|download|fetch|urlopen|request|get|tracking|registry|model|artifact|uri|url", re.I)
_LOCAL_MODEL = re.compile(r"\.(joblib|pkl|pickle|skops|onnx|cbm|ubj)$|(^|/)MLmodel$", re.I)
_LOADER_CONTEXT = re.compile(r"load_model|model_file|model_path|model_dir|model_uri", re.I)
# Container settings worth reading: the rest (PIP_INDEX_URL, proxies) say nothing about the model.
_ENV_KEY = re.compile(r"model|mlflow|artifact|registry|bucket|weights", re.I)


class ModelFile(BaseModel):
    """A committed model artifact; an MLflow model folder counts once, with its total size."""

    path: str
    format: ModelFormat
    size_bytes: int
    in_mlflow_store: bool = False


class ModelLoading(BaseModel):
    """Where the service gets its model, with the lines that say so."""

    source: ModelSource = "unknown"
    remote_refs: list[Quote] = Field(default_factory=list)
    local_refs: list[Quote] = Field(default_factory=list)
    missing_refs: list[str] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)


def find_model_files(files: list[FileEntry], store_folders: set[str]) -> tuple[list[ModelFile], list[str]]:
    """Every model artifact among `files`, largest folders counted once."""
    folders = sorted({entry.parent for entry in files if entry.name == "MLmodel"})
    found: list[ModelFile] = []
    for folder in folders:
        size = sum(entry.size for entry in files if under(entry.rel, folder))
        in_store = _in(folder, store_folders)
        found.append(ModelFile(path=folder or ".", format="mlflow_model", size_bytes=size, in_mlflow_store=in_store))
    for entry in files:
        if any(under(entry.rel, folder) for folder in folders if folder):
            continue
        model_format = _format_of(entry)
        if model_format:
            in_store = _in(entry.rel, store_folders)
            found.append(
                ModelFile(path=entry.rel, format=model_format, size_bytes=entry.size, in_mlflow_store=in_store)
            )
    found.sort(key=lambda model: (model.in_mlflow_store, model.path))
    problems = []
    if len(found) > MAX_MODEL_FILES:
        problems.append(f"{len(found)} model files; only the first {MAX_MODEL_FILES} are listed")
    return found[:MAX_MODEL_FILES], problems


def _in(rel: str, folders: set[str]) -> bool:
    return any(under(rel, folder) for folder in folders)


def _format_of(entry: FileEntry) -> ModelFormat | None:
    suffix = posixpath.splitext(entry.name)[1].lower()
    if suffix in _BY_SUFFIX:
        return _BY_SUFFIX[suffix]
    if suffix not in (".txt", ".json"):
        return None
    try:
        head = read_head(entry, _SNIFF_BYTES)
    except Unreadable:
        return None
    if suffix == ".txt" and head.startswith((b"tree\n", b"tree\r\n")):
        return "lightgbm_text"
    if suffix == ".json" and b'"learner"' in head and (b'"gradient_booster"' in head or b'"version"' in head):
        return "xgboost_json"
    return None


@dataclass(frozen=True)
class _Reference:
    value: str
    quote: Quote
    remote: bool


def model_loading(
    sources: Iterable[FileEntry],
    settings: dict[str, dict[str, str]],
    model_files: list[ModelFile],
    image_paths: Callable[[str], list[str]] = lambda path: [],
) -> ModelLoading:
    """Decide whether the service's model is committed, pulled from a registry, or absent.

    `sources` are the service's modules; `settings` maps a Dockerfile or compose file to
    the environment it gives the container; `image_paths` maps an absolute path inside
    the image to the submission paths it was copied from.
    """
    references: list[_Reference] = []
    dynamic: list[Quote] = []
    for entry in sources:
        try:
            lines, module = parse_module(entry)
        except Unreadable:
            continue
        for node, text, context in _string_constants(module):
            references += _classify(text, _quote(entry, lines, node), context)
        dynamic += [_quote(entry, lines, node) for node in ast.walk(module) if _loads_from_a_variable(node)]
    for source, env in settings.items():
        for key, value in env.items():
            if _ENV_KEY.search(key):
                references += _classify(value, Quote(source=source, text=f"{key}={value}"[:200]), key)
    loading = _decide(references, model_files, image_paths)
    if dynamic:
        first = dynamic[0]
        loading.evidence.append(
            f"loads a model from a value known only at run time ({first.source}:{first.line}: {first.text})"
        )
        if loading.source == "missing" and not loading.missing_refs:
            loading.source = "unknown"
    return loading


def _quote(entry: FileEntry, lines: list[str], node: ast.expr) -> Quote:
    text = lines[node.lineno - 1].strip()[:200] if node.lineno <= len(lines) else ""
    return Quote(source=entry.rel, line=node.lineno, text=text)


def _loads_from_a_variable(node: ast.AST) -> TypeGuard[ast.Call]:
    """A `*.load_model(x)` call whose model location is not a literal."""
    if not isinstance(node, ast.Call) or not node.args:
        return False
    name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
    return name == "load_model" and not isinstance(node.args[0], ast.Constant)


def _string_constants(module: ast.Module) -> Iterator[tuple[ast.Constant, str, str]]:
    """String constants and their text, each with the call, assignment or keyword around it."""

    def visit(node: ast.AST, context: str) -> Iterator[tuple[ast.Constant, str, str]]:
        if isinstance(node, ast.Call):
            context = ast.unparse(node.func)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            context = " ".join(ast.unparse(target) for target in targets)
        elif isinstance(node, ast.keyword) and node.arg:
            context = f"{context} {node.arg}"
        elif isinstance(node, ast.Subscript):
            context = ""  # os.environ["MODEL_PATH"]: a key, not a location
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node, node.value, context
        for child in ast.iter_child_nodes(node):
            yield from visit(child, context)

    try:
        yield from visit(module, "")
    except RecursionError:
        return


def _classify(value: str, quote: Quote, context: str) -> list[_Reference]:
    value = value.strip()
    if _REGISTRY.match(value) or _REMOTE_STORE.match(value):
        return [_Reference(value, quote, remote=True)]
    if _URL.match(value):
        return [_Reference(value, quote, remote=True)] if _URL_CONTEXT.search(context) else []
    if _LOCAL_MODEL.search(value) or (_LOADER_CONTEXT.search(context) and value and not re.search(r"\s", value)):
        return [_Reference(value, quote, remote=False)]
    return []


def _decide(
    references: list[_Reference], model_files: list[ModelFile], image_paths: Callable[[str], list[str]]
) -> ModelLoading:
    local = [ref for ref in references if not ref.remote]
    remote = [ref for ref in references if ref.remote]
    loading = ModelLoading(remote_refs=[ref.quote for ref in remote], local_refs=[ref.quote for ref in local])
    for ref in local:
        named = [ref.value, *image_paths(ref.value)] if ref.value.startswith("/") else [ref.value]
        if not any(_names(path, model.path) for path in named for model in model_files):
            copied = f" (copied from '{named[1]}')" if len(named) > 1 else ""
            loading.missing_refs.append(f"{ref.value}{copied}")
    loading.missing_refs = list(dict.fromkeys(loading.missing_refs))
    committed = [model for model in model_files if not model.in_mlflow_store]
    if remote:
        loading.source = "registry"
        first = remote[0].quote
        where = f"{first.source}:{first.line}" if first.line else first.source
        loading.evidence.append(f"loads from a registry or remote store ({where}: {first.text})")
    elif loading.missing_refs:
        loading.source = "missing"
        loading.evidence.append(f"the service loads {', '.join(loading.missing_refs)}, not in the submission")
    elif local:
        loading.source = "committed"
        loading.evidence.append(f"the service names {len(local)} model path(s), all committed")
    elif committed:
        loading.evidence.append(f"{len(committed)} model artifact(s) committed; the service names none of them")
    elif not model_files:
        loading.source = "missing"
        loading.evidence.append("no model committed and no registry reference in the service")
    else:
        loading.evidence.append("models only inside a committed MLflow store; the service names none of them")
    return loading


def _names(named: str, model_path: str) -> bool:
    """Whether a path in code or settings names a committed model (or a folder holding one).

    Paths in code are relative to a working directory we do not know, so a path names a
    model when one ends with the other, or when the model lies in the named folder.
    """
    named = named.removeprefix("./").strip("/")
    if named.endswith("MLmodel"):
        named = posixpath.dirname(named)
    if not named:
        return False
    return (
        under(model_path, named)
        or named.endswith("/" + model_path)
        or model_path.endswith("/" + named)
        or f"/{named}/" in f"/{model_path}"
    )

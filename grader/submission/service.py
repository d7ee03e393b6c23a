"""The prediction service: which module holds the web app, found by parsing, never importing.

Candidate code is only ever parsed with `ast`; nothing is imported or executed. The
container's start command names the module when it can be read; otherwise the module
that instantiates `FastAPI(...)` or `Flask(...)` in the likeliest place wins.
"""

from __future__ import annotations

import ast
import posixpath
import re
import shlex
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from grader.submission.text import decode_text
from grader.submission.tree import FileEntry, Unreadable, read_capped, under

SOURCE_CAP = 1024 * 1024
MAX_SCANNED_MODULES = 3000
MAX_SERVICE_MODULES = 200
Framework = Literal["fastapi", "flask", "unknown"]
_FRAMEWORK_CLASSES: dict[str, Framework] = {"FastAPI": "fastapi", "Flask": "flask"}
_ENTRY_STEMS = ("main", "api", "app", "serve", "server", "service", "serving", "predict", "wsgi", "asgi")
_FALLBACK_FILES = ("predict.py", "app.py", "main.py", "serve.py", "server.py", "api.py")
_SERVER_PROGRAMS = ("uvicorn", "gunicorn", "hypercorn", "granian", "daphne", "waitress-serve")
_FRAMEWORK_BYTES = re.compile(rb"fastapi|flask", re.I)


class Service(BaseModel):
    """The module that serves predictions and how it was recognised."""

    path: str
    framework: Framework
    app_object: str | None = None
    app_factory: str | None = None
    line: int | None = None
    import_name: str | None = None
    evidence: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class AppSite:
    """Where a module instantiates a web framework's application class."""

    path: str
    framework: Framework
    app_object: str | None
    app_factory: str | None
    line: int


def parse_module(entry: FileEntry, raw: bytes | None = None) -> tuple[list[str], ast.Module]:
    """The module's source lines and syntax tree; Unreadable when it is too big or not Python."""
    raw = read_capped(entry, SOURCE_CAP) if raw is None else raw
    decoded = decode_text(raw)
    try:
        # Parsed from the bytes, as Python reads a module (UTF-8, a BOM, a coding line): one it
        # cannot read does not run either. The lines are for quotes only.
        return decoded.text.splitlines(), ast.parse(raw, filename=entry.rel)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        encoding = f" ({decoded.described} text)" if decoded.encoding != "utf-8" else ""
        raise Unreadable(f"'{entry.rel}' is not parseable Python{encoding}: {type(exc).__name__}: {exc}") from None


def _imported_frameworks(module: ast.Module) -> tuple[dict[str, Framework], dict[str, Framework]]:
    """Names bound to the app classes, and names bound to the framework modules."""
    classes = dict(_FRAMEWORK_CLASSES)
    modules: dict[str, Framework] = {"fastapi": "fastapi", "flask": "flask"}
    for node in ast.walk(module):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in modules:
            for alias in node.names:
                if alias.name in _FRAMEWORK_CLASSES:
                    classes[alias.asname or alias.name] = _FRAMEWORK_CLASSES[alias.name]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                root = alias.name.split(".")[0]
                if root in modules:
                    modules[alias.asname or root] = modules[root]
    return classes, modules


def _framework_of(
    call: ast.AST | None, classes: dict[str, Framework], modules: dict[str, Framework]
) -> Framework | None:
    if not isinstance(call, ast.Call):
        return None
    func = call.func
    if isinstance(func, ast.Name):
        return classes.get(func.id)
    if isinstance(func, ast.Attribute) and func.attr in _FRAMEWORK_CLASSES and isinstance(func.value, ast.Name):
        return modules.get(func.value.id)
    return None


def _target_name(target: ast.AST | None) -> str | None:
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Attribute):
        return ast.unparse(target)
    return None


def find_app_sites(path: str, module: ast.Module) -> list[AppSite]:
    """Every instantiation of FastAPI or Flask in a module, with the name it is bound to."""
    classes, modules = _imported_frameworks(module)
    sites: list[AppSite] = []

    def visit(node: ast.AST, function: str | None) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for child in node.body:
                visit(child, node.name)
            return
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.Return)):
            framework = _framework_of(node.value, classes, modules)
            if framework:
                targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
                name = next(filter(None, map(_target_name, targets)), None)
                sites.append(AppSite(path, framework, name, function, node.lineno))
                return
        framework = _framework_of(node, classes, modules)
        if framework and isinstance(node, ast.Call):
            sites.append(AppSite(path, framework, None, function, node.lineno))
            return
        for inner in ast.iter_child_nodes(node):
            visit(inner, function)

    visit(module, None)
    factories = {site.app_factory for site in sites if site.app_factory}
    bound = _factory_bindings(module, factories)
    return [
        AppSite(s.path, s.framework, bound.get(s.app_factory, s.app_object), s.app_factory, s.line)
        if s.app_factory
        else s
        for s in sites
    ]


def _factory_bindings(module: ast.Module, factories: set[str]) -> dict[str, str]:
    """Module-level `app = create_app()` bindings of the given factory functions."""
    bound = {}
    for node in module.body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
            and node.value.func.id in factories
            and isinstance(node.targets[0], ast.Name)
        ):
            bound[node.value.func.id] = node.targets[0].id
    return bound


def scan_modules(files: Iterable[FileEntry]) -> tuple[list[AppSite], dict[str, frozenset[str]], list[str]]:
    """App sites in every Python file that mentions a framework, the frameworks each imports, problems."""
    sites: list[AppSite] = []
    imports: dict[str, frozenset[str]] = {}
    problems: list[str] = []
    python = [entry for entry in files if entry.name.endswith(".py")]
    if len(python) > MAX_SCANNED_MODULES:
        problems.append(f"{len(python)} Python files; only the first {MAX_SCANNED_MODULES} were scanned for a web app")
    for entry in python[:MAX_SCANNED_MODULES]:
        try:
            raw = read_capped(entry, SOURCE_CAP)
            # Cheap filter first: only modules that name a framework are worth parsing.
            if not _FRAMEWORK_BYTES.search(raw):
                continue
            _, module = parse_module(entry, raw)
        except Unreadable as exc:
            problems.append(str(exc))
            continue
        imports[entry.rel] = frozenset(_imported_roots(module) & {"fastapi", "flask"})
        try:
            sites += find_app_sites(entry.rel, module)
        except RecursionError:
            problems.append(f"'{entry.rel}' is nested too deeply to scan for a web app")
    return sites, imports, problems


def _imported_roots(module: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(module):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def launch_targets(command: str) -> Iterator[tuple[str, str | None]]:
    """(module or file, app attribute) pairs a start command runs, e.g. ('app.main', 'app')."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    words = [word for part in words for word in part.split()]  # `sh -c "uvicorn ..."` quotes a whole command
    for index, word in enumerate(words):
        base = posixpath.basename(word)
        if base in _SERVER_PROGRAMS or (
            base == "fastapi" and index + 1 < len(words) and words[index + 1] in ("run", "dev")
        ):
            for target in words[index + 1 :]:
                match = re.fullmatch(r"([A-Za-z_][\w.]*):([A-Za-z_]\w*)(\(.*\))?", target)
                if match:
                    yield match.group(1), match.group(2)
                elif target.endswith(".py"):
                    yield target, None
        elif word.startswith(("--app=", "FLASK_APP=")) or (word == "--app" and index + 1 < len(words)):
            value = word.split("=", 1)[1] if "=" in word else words[index + 1]
            module, _, attr = value.partition(":")
            yield module, attr or None
        elif re.fullmatch(r"python[\d.]*", base):
            rest = [w for w in words[index + 1 :] if not re.fullmatch(r"-[a-zA-Z]+", w) or w == "-m"]
            if rest[:1] == ["-m"] and len(rest) > 1 and rest[1] not in _SERVER_PROGRAMS:
                yield rest[1], None
            elif rest and rest[0].endswith(".py"):
                yield rest[0], None


def module_files(target: str, known: set[str], bases: list[str], anywhere: bool = True) -> list[str]:
    """Files in the submission that a module or script name can mean, looked up under `bases`.

    With `anywhere`, a file whose path merely ends like the module counts too (last).
    """
    if target.endswith(".py"):
        relative = [target.lstrip("/")]
    else:
        dotted = target.replace(".", "/")
        relative = [f"{dotted}.py", f"{dotted}/__init__.py", f"{dotted}/__main__.py"]
    found = [posixpath.join(base, rel) for base in bases for rel in relative if posixpath.join(base, rel) in known]
    if anywhere:
        # The image may COPY a folder into its WORKDIR: match by path suffix as a last resort.
        found += [path for rel in relative for path in sorted(known) if path.endswith("/" + rel)]
    return list(dict.fromkeys(found))


def service_modules(files: list[FileEntry], service: Service) -> list[FileEntry]:
    """The service module and the submission's modules it imports, transitively, up to a cap."""
    by_rel = {entry.rel: entry for entry in files if entry.name.endswith(".py")}
    if service.path not in by_rel:
        return []
    stem = service.path.removesuffix(".py").removesuffix("/__init__")
    dotted = (service.import_name or "").replace(".", "/")
    root = stem[: -len(dotted)].rstrip("/") if dotted and stem.endswith(dotted) else posixpath.dirname(service.path)
    order: list[FileEntry] = []
    queue = [by_rel[service.path]]
    seen = {service.path}
    while queue and len(order) < MAX_SERVICE_MODULES:
        entry = queue.pop(0)
        order.append(entry)
        try:
            _, module = parse_module(entry)
        except Unreadable:
            continue
        for name, base in _imports(entry.rel, module, root):
            for rel in module_files(name, set(by_rel), [base, posixpath.dirname(entry.rel)], anywhere=False):
                if rel not in seen:
                    seen.add(rel)
                    queue.append(by_rel[rel])
    return order


def _imports(path: str, module: ast.Module, root: str) -> Iterator[tuple[str, str]]:
    """(dotted module, folder to resolve it from) for every import in a module."""
    for node in ast.walk(module):
        if isinstance(node, ast.Import):
            yield from ((alias.name, root) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = root
            if node.level:
                base = posixpath.dirname(path)
                for _ in range(node.level - 1):
                    base = posixpath.dirname(base)
            if node.module:
                yield node.module, base
            prefix = f"{node.module}." if node.module else ""
            yield from ((prefix + alias.name, base) for alias in node.names if alias.name != "*")


def import_name(path: str, context: str) -> str:
    """The dotted module name a server would import, relative to the build context."""
    rel = path[len(context) + 1 :] if context and under(path, context) else path
    rel = rel.removesuffix(".py").removesuffix("/__init__")
    parts = rel.split("/")
    if parts[0] == "src" and len(parts) > 1:
        parts = parts[1:]
    return ".".join(parts)


def _rank(site: AppSite) -> tuple:
    stem = posixpath.basename(site.path).removesuffix(".py")
    in_tests = any(part in ("tests", "test") for part in site.path.split("/")) or stem.startswith("test_")
    return (in_tests, site.framework != "fastapi", stem not in _ENTRY_STEMS, site.path.count("/"), site.path, site.line)


def find_service(
    files: list[FileEntry],
    start_command: str | None,
    context: str | None,
    forced: FileEntry | None,
    command_origin: str,
) -> tuple[Service | None, list[str], list[str]]:
    """The serving module, every module that creates an app, and problems met on the way."""
    known = {entry.rel for entry in files if entry.name.endswith(".py")}
    if forced is not None and forced.rel not in known:
        files = [*files, forced]
    sites, imports, problems = scan_modules(files)
    candidates = list(dict.fromkeys(site.path for site in sorted(sites, key=_rank)))
    context = context or ""
    if forced is not None:
        service = _service_at(forced.rel, sites, imports, context, None, "named by takehome.toml")
        return service, candidates, problems
    for target, attr in launch_targets(start_command or ""):
        bases = list(dict.fromkeys([context, posixpath.join(context, "src").lstrip("/"), "", "src"]))
        matches = module_files(target, known, bases)
        if matches:
            why = f"{command_origin} runs `{start_command}`"
            service = _service_at(matches[0], sites, imports, context, attr, why)
            if not target.endswith(".py"):
                service.import_name = target
            return service, candidates, problems
        problems.append(f"{command_origin} runs '{target}', which is not a module in the submission")
    if sites:
        best = sorted(sites, key=_rank)[0]
        others = len(candidates) - 1
        why = f"creates a {best.framework} app at line {best.line}"
        why += f"; chosen over {others} other module(s)" if others else ""
        return _service_at(best.path, sites, imports, context, None, why), candidates, problems
    for name in _FALLBACK_FILES:
        if name in known:
            why = f"no FastAPI or Flask app found; '{name}' at the root is the likeliest entry point"
            return _service_at(name, sites, imports, context, None, why), candidates, problems
    return None, candidates, problems


def _service_at(
    path: str, sites: list[AppSite], imports: dict[str, frozenset[str]], context: str, attr: str | None, why: str
) -> Service:
    here = sorted((site for site in sites if site.path == path), key=_rank)
    chosen = next((site for site in here if attr in (site.app_object, site.app_factory)), here[0] if here else None)
    service = Service(path=path, framework="unknown", import_name=import_name(path, context), evidence=[why])
    if chosen is not None:
        service.framework = chosen.framework
        service.app_object = chosen.app_object
        service.app_factory = chosen.app_factory
        service.line = chosen.line
        factory = f" inside {chosen.app_factory}()" if chosen.app_factory else ""
        bound = f", bound to '{chosen.app_object}'" if chosen.app_object else ""
        service.evidence.append(f"{path}:{chosen.line} instantiates {chosen.framework}{factory}{bound}")
    else:
        frameworks = sorted(imports.get(path, frozenset()))
        if len(frameworks) == 1:
            service.framework = frameworks[0]  # type: ignore[assignment]
            service.evidence.append(f"{path} imports {frameworks[0]} but creates no app itself")
        else:
            service.evidence.append(f"{path} creates no FastAPI or Flask app")
        service.app_object = attr
    return service

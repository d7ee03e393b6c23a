"""Dockerfiles and compose files: which image serves the model, and from which context."""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, Field

from grader.submission.dockerfile import copies, exposed_ports, image_env, parse_text, start_text
from grader.submission.tree import FileEntry, Tree, Unreadable, normalize, read_text

DOCKERFILE_CAP = 1024 * 1024
COMPOSE_CAP = 1024 * 1024
COMPOSE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
_SERVER_WORDS = re.compile(r"\b(uvicorn|gunicorn|hypercorn|granian|daphne|waitress|fastapi|flask|serve)\b", re.I)
_SERVING_NAME = re.compile(r"(^|[^a-z])(api|app|web|serv\w*)($|[^a-z])", re.I)


class DockerfileInfo(BaseModel):
    """One Dockerfile, read but never built: what its final image starts, exposes and sets."""

    path: str
    base_images: list[str] = Field(default_factory=list)
    exposed_ports: list[int] = Field(default_factory=list)
    start_command: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    copies: list[tuple[str, str]] = Field(default_factory=list)  # (source in the context, path in the image)
    serves: bool = False
    problem: str | None = None


@dataclass
class DockerChoice:
    """The serving image as discovery decided it, with every reason."""

    dockerfiles: list[DockerfileInfo] = field(default_factory=list)
    dockerfile: DockerfileInfo | None = None
    reason: str | None = None
    build_context: str | None = None
    build_context_reason: str | None = None
    compose_file: str | None = None
    compose_service: str | None = None
    compose_ports: list[int] = field(default_factory=list)
    start_command: str | None = None
    start_command_origin: str | None = None
    compose_env: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def is_dockerfile(entry: FileEntry) -> bool:
    lower = entry.name.lower()
    if lower.endswith(".dockerignore"):
        return False
    return lower in ("dockerfile", "containerfile") or lower.startswith("dockerfile.") or lower.endswith(".dockerfile")


def name_rank(name: str) -> int:
    """Dockerfile > dockerfile > Dockerfile.api (and other serving suffixes) > api.Dockerfile > the rest."""
    lower = name.lower()
    if name == "Dockerfile":
        return 0
    if lower in ("dockerfile", "containerfile"):
        return 1
    stem = lower.removeprefix("dockerfile.").removesuffix(".dockerfile")
    serving = bool(_SERVING_NAME.search(stem))
    if lower.startswith("dockerfile."):
        return 2 if serving else 4
    return 3 if serving else 5


def parse_dockerfile(rel: str, text: str) -> DockerfileInfo:
    """What a Dockerfile's final image starts and exposes, read by the one reader (`grader.submission.dockerfile`)."""
    parsed = parse_text(text, Path(rel))
    info = DockerfileInfo(path=rel)
    if not parsed.stages:
        info.problem = "no FROM instruction"
        return info
    command = start_text(parsed)
    info.base_images = [stage.base for stage in parsed.stages]
    info.exposed_ports = exposed_ports(parsed)
    info.start_command = command
    info.env = image_env(parsed)
    info.copies = copies(parsed)
    info.serves = bool(info.exposed_ports) or bool(_SERVER_WORDS.search(command or ""))
    return info


def image_to_context(dockerfile: DockerfileInfo, image_path: str) -> list[str]:
    """Paths in the build context that a path inside the image may have been copied from."""
    found = []
    for source, destination in dockerfile.copies:
        destination = posixpath.normpath(destination)
        if image_path != destination and not image_path.startswith(destination.rstrip("/") + "/"):
            continue
        rest = image_path[len(destination) :].lstrip("/")
        # A folder copied onto the path, or a file copied into it.
        found += [posixpath.join(source, rest), posixpath.join(posixpath.dirname(source.rstrip("/")), rest)]
    return list(dict.fromkeys(path for path in map(normalize, found) if path and not path.startswith("..")))


def find_dockerfiles(files: Iterable[FileEntry]) -> tuple[list[DockerfileInfo], list[str]]:
    """Every Dockerfile among `files`, parsed; problems for the ones that cannot be read."""
    found, problems = [], []
    for entry in files:
        if not is_dockerfile(entry):
            continue
        try:
            found.append(parse_dockerfile(entry.rel, read_text(entry, DOCKERFILE_CAP)))
        except Unreadable as exc:
            found.append(DockerfileInfo(path=entry.rel, problem=str(exc)))
            problems.append(str(exc))
    return found, problems


def choose(tree: Tree, files: list[FileEntry], forced: FileEntry | None, forced_context: str | None) -> DockerChoice:
    """Pick the serving Dockerfile: the manifest's, else compose's, else by name."""
    choice = DockerChoice()
    choice.dockerfiles, choice.problems = find_dockerfiles(files)
    by_path = {info.path: info for info in choice.dockerfiles}
    if forced is not None:
        if forced.rel not in by_path:
            extra, problems = find_dockerfiles([forced]) if is_dockerfile(forced) else _read_any(forced)
            choice.dockerfiles += extra
            choice.problems += problems
            by_path.update({info.path: info for info in extra})
        choice.dockerfile, choice.reason = by_path.get(forced.rel), "named by takehome.toml"
    compose = _compose_file(files)
    choice.compose_file = compose.rel if compose else None
    if choice.dockerfile is None and compose is not None:
        _choose_by_compose(compose, by_path, choice)
    if choice.dockerfile is None and choice.dockerfiles:
        ranked = sorted(
            choice.dockerfiles,
            key=lambda d: (not d.serves, name_rank(posixpath.basename(d.path)), d.path.count("/"), d.path),
        )
        choice.dockerfile = ranked[0]
        why = "the only Dockerfile" if len(ranked) == 1 else f"preferred by name among {len(ranked)} Dockerfiles"
        if len(ranked) > 1 and ranked[0].serves and not all(d.serves for d in ranked):
            why = f"the one that starts a server or exposes a port, among {len(ranked)} Dockerfiles"
        choice.reason = why
    if choice.dockerfile is None:
        return choice
    if forced_context is not None:
        choice.build_context, choice.build_context_reason = forced_context, "named by takehome.toml"
    elif choice.build_context is None:
        choice.build_context, choice.build_context_reason = guess_context(tree, choice.dockerfile)
    if choice.start_command is None and choice.dockerfile.start_command:
        choice.start_command = choice.dockerfile.start_command
        choice.start_command_origin = f"the CMD of {choice.dockerfile.path}"
    return choice


def _read_any(entry: FileEntry) -> tuple[list[DockerfileInfo], list[str]]:
    try:
        return [parse_dockerfile(entry.rel, read_text(entry, DOCKERFILE_CAP))], []
    except Unreadable as exc:
        return [DockerfileInfo(path=entry.rel, problem=str(exc))], [str(exc)]


def guess_context(tree: Tree, dockerfile: DockerfileInfo) -> tuple[str, str]:
    """The Dockerfile's folder, unless its COPY sources only make sense from the root."""
    folder = posixpath.dirname(dockerfile.path)
    if folder == "":
        return "", "the Dockerfile's folder (the root)"
    sources = [source for source, _ in dockerfile.copies if normalize(source) != ""]
    from_folder = sum(_exists(tree, posixpath.join(folder, source)) for source in sources)
    from_root = sum(_exists(tree, source) for source in sources)
    if from_root > from_folder:
        return "", f"the root: {from_root} of {len(sources)} COPY sources exist there, {from_folder} in '{folder}'"
    return folder, "the Dockerfile's folder"


def _exists(tree: Tree, rel: str) -> bool:
    rel = normalize(rel)
    if rel.startswith(".."):
        return False
    if any(char in rel for char in "*?["):
        return any(fnmatch.fnmatch(path, rel) for path in (*tree.index, *tree.dirs))
    return tree.has_path(rel)


def _compose_file(files: list[FileEntry]) -> FileEntry | None:
    composes = [entry for entry in files if entry.name.lower() in COMPOSE_NAMES]
    return min(composes, key=lambda e: (e.depth, COMPOSE_NAMES.index(e.name.lower()), e.rel), default=None)


def _choose_by_compose(compose: FileEntry, by_path: dict[str, DockerfileInfo], choice: DockerChoice) -> None:
    try:
        data = yaml.safe_load(read_text(compose, COMPOSE_CAP))
    except (Unreadable, yaml.YAMLError, RecursionError) as exc:
        choice.problems.append(f"{compose.rel} cannot be read as YAML: {_first_line(exc)}")
        return
    services = _services(data)
    picked = _serving_service(services)
    if picked is None:
        if services:
            choice.problems.append(f"{compose.rel}: no service builds an image here")
        return
    name, spec, why = picked
    build = spec["build"]
    context = build if isinstance(build, str) else build.get("context", ".")
    dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
    if not isinstance(context, str) or not isinstance(dockerfile, str) or "://" in context:
        choice.problems.append(f"{compose.rel}: service '{name}' builds from a context the grader cannot use")
        return
    context_rel = normalize(posixpath.join(compose.parent, context))
    dockerfile_rel = normalize(posixpath.join(context_rel, dockerfile))
    if context_rel.startswith("..") or dockerfile_rel.startswith("..") or posixpath.isabs(context_rel):
        choice.problems.append(f"{compose.rel}: service '{name}' builds from outside the submission; ignored")
        return
    info = by_path.get(dockerfile_rel)
    if info is None:
        choice.problems.append(
            f"{compose.rel}: service '{name}' builds '{dockerfile_rel}', which is not in the submission"
        )
        return
    choice.dockerfile = info
    choice.reason = f"{compose.rel}: service '{name}' {why}"
    choice.build_context = context_rel
    choice.build_context_reason = f"build.context of service '{name}' in {compose.rel}"
    choice.compose_service = name
    choice.compose_ports = _container_ports(spec.get("ports"))
    choice.compose_env = _compose_env(spec.get("environment"))
    choice.start_command = _compose_command(spec.get("command"))
    if choice.start_command:
        choice.start_command_origin = f"the command of service '{name}' in {compose.rel}"


def _services(data: object) -> dict[str, dict]:
    if not isinstance(data, dict):
        return {}
    services = data.get("services", data)
    if not isinstance(services, dict):
        return {}
    return {str(name): spec for name, spec in services.items() if isinstance(spec, dict)}


def _serving_service(services: dict[str, dict]) -> tuple[str, dict, str] | None:
    building = {name: spec for name, spec in services.items() if isinstance(spec.get("build"), (str, dict))}
    if not building:
        return None

    def rank(item: tuple[str, dict]) -> tuple[int, str]:
        name, spec = item
        publishes = bool(spec.get("ports"))
        named = bool(_SERVING_NAME.search(name))
        return (0 if publishes and named else 1 if publishes else 2 if named else 3, name)

    name, spec = min(building.items(), key=rank)
    publishes = bool(spec.get("ports"))
    named = bool(_SERVING_NAME.search(name))
    if publishes and named:
        why = "publishes a port and is named like a service"
    elif publishes:
        why = "publishes a port"
    elif named:
        why = "is named like a service"
    else:
        why = "is the only service that builds an image" if len(building) == 1 else "builds an image (first by name)"
    return name, spec, why


def _container_ports(ports: object) -> list[int]:
    found = []
    for port in ports if isinstance(ports, list) else []:
        if isinstance(port, dict):
            target = port.get("target")
        else:
            target = str(port).split("/")[0].rsplit(":", 1)[-1].split("-")[0]
        if isinstance(target, int) or (isinstance(target, str) and target.isdigit()):
            found.append(int(target))
    return found


def _compose_command(command: object) -> str | None:
    if isinstance(command, list):
        return " ".join(str(part) for part in command)
    return command if isinstance(command, str) else None


def _compose_env(environment: object) -> dict[str, str]:
    if isinstance(environment, dict):
        return {str(key): str(value) for key, value in environment.items() if value is not None}
    if isinstance(environment, list):
        return {key: value for key, _, value in (str(item).partition("=") for item in environment)}
    return {}


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__

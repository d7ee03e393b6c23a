"""Which build-context files land where in the image, worked out without building it.

Walks the final image's instructions in order (earlier stages of its lineage first, each
with the WORKDIR and build variables in effect: `grader.submission.dockerfile.walk`), and
maps every COPY / ADD from the context to container paths, honouring .dockerignore like
the builder. The `pip install`s of its RUN steps are read too. The practices checks
(baked data, layer order, pinned requirements) and the local backend (which lays the
files out and installs the requirements itself) both read this one plan.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from docker.utils.build import exclude_paths

from grader.submission.dockerfile import Instruction, ParsedDockerfile, Step, walk
from grader.submission.text import read_file_text

DEPENDENCY_FILES = (
    "requirements*.txt",
    "constraints*.txt",
    "pyproject.toml",
    "poetry.lock",
    "uv.lock",
    "Pipfile",
    "Pipfile.lock",
    "setup.cfg",
    "setup.py",
)


@dataclass
class PipInstall:
    """One `pip install` in a RUN: the requirement files and the packages named inline."""

    instruction: Instruction
    workdir: str
    requirement_files: list[str]
    packages: list[str]
    installs_project: bool


_PIP = re.compile(
    r"(?:^|[\s;&|(])(?:\S*/)?(?:python3?(?:\.\d+)?\s+-m\s+)?(?:uv\s+)?pip3?(?:\.\d+)?\s+install\b(.*?)(?=&&|\|\||;|$)",
    re.S,
)
# pip options that take a value: their value is not a package.
_PIP_VALUED = {
    "-c",
    "--constraint",
    "-i",
    "--index-url",
    "--extra-index-url",
    "-f",
    "--find-links",
    "--target",
    "-t",
    "--prefix",
    "--root",
    "--trusted-host",
    "--platform",
    "--python-version",
    "--implementation",
    "--abi",
    "--progress-bar",
    "--cache-dir",
    "--src",
    "--upgrade-strategy",
}


def _pip_installs(instruction: Instruction, workdir: str) -> list[PipInstall]:
    """The pip installs in one RUN instruction."""
    installs = []
    script = " ".join(instruction.exec_form() or [instruction.args])
    for match in _PIP.finditer(script):
        try:
            words = shlex.split(match.group(1))
        except ValueError:
            words = match.group(1).split()
        files, packages, project = [], [], False
        position = 0
        while position < len(words):
            word = words[position]
            if word in ("-r", "--requirement") and position + 1 < len(words):
                files.append(words[position + 1])
                position += 1
            elif word.startswith("--requirement="):
                files.append(word.split("=", 1)[1])
            elif word in _PIP_VALUED:
                position += 1
            elif word in ("-e", "--editable") or word in (".", "./") or word.startswith("-e."):
                project = True
            elif not word.startswith("-"):
                packages.append(word)
            position += 1
        installs.append(PipInstall(instruction, workdir, files, packages, project))
    return installs


@dataclass
class CopyStep:
    """One COPY / ADD: the files it brings from the context, as (context path, container path)."""

    instruction: Instruction
    files: list[tuple[str, str]] = field(default_factory=list)
    # Set when the source is not the build context (another stage, a URL, an archive).
    foreign: str | None = None

    @property
    def dependencies_only(self) -> bool:
        return bool(self.files) and all(
            any(fnmatch.fnmatch(PurePosixPath(src).name, pattern) for pattern in DEPENDENCY_FILES)
            for src, _ in self.files
        )


@dataclass
class ImageLayout:
    """The context files of the final image, in instruction order."""

    context: Path
    included: set[str]
    steps: list[CopyStep]
    dockerignore: Path | None
    pip_installs: list[PipInstall] = field(default_factory=list)

    def files(self) -> list[tuple[str, str]]:
        return [pair for step in self.steps for pair in step.files]

    def context_file_for(self, container_path: str) -> str | None:
        """The context file copied to `container_path`, if any COPY put one there."""
        for src, dest in reversed(self.files()):
            if dest == container_path:
                return src
        return None

    def inside(self, path: Path) -> bool:
        """Whether `path`, symlinks followed, is a file within the build context.

        A candidate's symlink may point anywhere on the grader's host; the builder would
        never follow it out of the context, and neither does the grader.
        """
        return path.resolve().is_relative_to(self.context.resolve()) and path.is_file()

    def requirement_file(self, install: PipInstall, name: str) -> str | None:
        """The context file behind `pip install -r name`: what a COPY put there, else a file of that name."""
        copied = self.context_file_for(posixpath.normpath(posixpath.join(install.workdir, name)))
        source = copied or name
        return source if self.inside(self.context / source) else None

    def requirement_files(self) -> list[str]:
        return sorted({self.requirement_file(i, n) or n for i in self.pip_installs for n in i.requirement_files})


def _dockerignore_patterns(context: Path) -> tuple[list[str], Path | None]:
    path = context / ".dockerignore"
    if not path.is_file():
        return [], None
    lines = read_file_text(path).splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")], path


def _matches(source: str, included: set[str]) -> list[str]:
    """Context entries (files and folders) a COPY source names."""
    source = str(PurePosixPath(source.lstrip("/"))) if source not in (".", "./", "/") else "."
    if source == ".":
        return ["."]
    if any(ch in source for ch in "*?["):
        # Like Go's filepath.Match, a wildcard never crosses a "/".
        return sorted(p for p in included if p.count("/") == source.count("/") and fnmatch.fnmatch(p, source))
    return [source] if source in included else []


def _files_under(entry: str, included: set[str], context: Path) -> list[str]:
    if entry == ".":
        return sorted(p for p in included if (context / p).is_file())
    if (context / entry).is_dir():
        return sorted(p for p in included if p.startswith(entry + "/") and (context / p).is_file())
    return [entry] if (context / entry).is_file() else []


def plan(parsed: ParsedDockerfile, context: Path) -> ImageLayout:
    """Map the final image's COPY / ADD instructions onto the build context."""
    patterns, dockerignore = _dockerignore_patterns(context)
    dockerfile_rel = str(parsed.path.relative_to(context)) if parsed.path.is_relative_to(context) else None
    included = set(exclude_paths(str(context), patterns, dockerfile=dockerfile_rel))
    layout = ImageLayout(context=context, included=included, steps=[], dockerignore=dockerignore)
    for step in walk(parsed).steps:
        if step.instruction.keyword == "RUN":
            layout.pip_installs.extend(_pip_installs(step.instruction, step.workdir))
        elif step.instruction.keyword in ("COPY", "ADD"):
            layout.steps.append(_copy_step(step, included, context))
    return layout


def _copy_step(build: Step, included: set[str], context: Path) -> CopyStep:
    instruction = build.instruction
    step = CopyStep(instruction)
    if "from" in instruction.flags:
        step.foreign = f"copies from build stage or image {instruction.flags['from']!r}, not from the context"
        return step
    words = [build.expand(w) for w in instruction.exec_form() or instruction.args.split()]
    if len(words) < 2:
        return step
    *sources, dest = words
    if any(s.startswith(("http://", "https://", "git@")) for s in sources):
        step.foreign = "fetches from a URL at build time"
        sources = [s for s in sources if not s.startswith(("http://", "https://", "git@"))]
    # Like the builder, resolve ".." against the image root: a COPY never lands outside it.
    dest_path = PurePosixPath(posixpath.normpath(posixpath.join(build.workdir, dest)))
    entries = [entry for source in sources for entry in _matches(source, included)]
    into_folder = dest.endswith("/") or len(entries) > 1 or dest in (".", "./")
    for entry in entries:
        is_dir = entry == "." or (context / entry).is_dir()
        for src in _files_under(entry, included, context):
            if is_dir:
                relative = src if entry == "." else str(PurePosixPath(src).relative_to(entry))
                target = dest_path / relative
            else:
                target = dest_path / PurePosixPath(src).name if into_folder else dest_path
            step.files.append((src, str(target)))
    return step

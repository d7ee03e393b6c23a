"""Read a Dockerfile the way the legacy builder does, without Docker: the one Dockerfile reader.

Parses instructions (parser directives such as `# escape=`, line continuations with
comments and blank lines inside, exec and shell forms, instruction flags), splits build
stages, and walks the final image's lineage (the last stage and the stages it builds FROM)
with the build variables in effect: ARG (in its stage; a global ARG only where a stage
declares it again) and ENV (inherited, and winning over an ARG of the same name). Discovery
(`grader.submission.docker`) reads what a Dockerfile serves from it; the serving stage
(`grader.serving`) reads the facts it records, the image layout and the practices from it.
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from grader.submission.text import read_file_text

_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$")
_HEREDOC = re.compile(r"<<-?\s*[\"']?[A-Za-z_][A-Za-z0-9_]*[\"']?")
_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")
# Flags the legacy builder knows; anything else on these instructions needs BuildKit.
_LEGACY_FLAGS = {"COPY": {"chown", "from"}, "ADD": {"chown"}, "RUN": set(), "FROM": {"platform"}}


@dataclass
class Instruction:
    keyword: str
    args: str
    line: int
    text: str
    flags: dict[str, str] = field(default_factory=dict)

    def exec_form(self) -> list[str] | None:
        """The JSON array form of the arguments, if that is what they are."""
        body = self.args.strip()
        if not body.startswith("["):
            return None
        try:
            value = json.loads(body)
        except json.JSONDecodeError:
            return None
        return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else None


@dataclass
class BuildStage:
    """One FROM and the instructions after it, up to the next FROM."""

    base: str
    alias: str | None
    instructions: list[Instruction]

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None


UsedBy = Literal["FROM", "COPY --from"]


@dataclass
class ExternalImage:
    """An image the build takes from outside the Dockerfile: a FROM base or a COPY --from source."""

    reference: str
    used_by: UsedBy
    line: int


@dataclass
class Step:
    """An instruction of the final image, with the WORKDIR and build variables in effect where it runs."""

    instruction: Instruction
    workdir: str
    variables: dict[str, str]

    def expand(self, text: str) -> str:
        return expand(text, self.variables)


@dataclass
class ParsedDockerfile:
    path: Path
    lines: list[str]
    directives: dict[str, str]
    instructions: list[Instruction]
    stages: list[BuildStage]
    unsupported: list[tuple[int, str]]
    # ARGs declared before the first FROM: usable in FROM, and in a stage that declares them again.
    global_args: dict[str, str] = field(default_factory=dict)

    @property
    def final(self) -> BuildStage | None:
        return self.stages[-1] if self.stages else None

    def lineage(self) -> list[BuildStage]:
        """The final stage and the earlier stages it builds FROM, final first."""
        chain: list[BuildStage] = []
        stage = self.final
        while stage is not None and stage not in chain:
            chain.append(stage)
            stage = next(
                (s for s in self.stages[: self.stages.index(stage)] if s.alias and s.alias == stage.base.lower()), None
            )
        return chain

    def external_images(self) -> list[ExternalImage]:
        """Images the build takes from outside this Dockerfile, in order, each once: FROM bases that are
        no earlier stage (nor `scratch`), and `COPY --from=<image>` sources that are no stage name or number."""
        aliases = {s.alias for s in self.stages if s.alias} | {"scratch"}
        found: dict[str, ExternalImage] = {}
        for stage in self.stages:
            uses: list[tuple[str, UsedBy, int]] = [(stage.base, "FROM", stage.instructions[0].line)]
            copies = [i for i in stage.all("COPY") if "from" in i.flags]
            uses += [(i.flags["from"].strip("\"'"), "COPY --from", i.line) for i in copies]
            for reference, used_by, line in uses:
                if reference and not reference.isdigit() and reference.lower() not in aliases:
                    found.setdefault(reference, ExternalImage(reference, used_by, line))
        return list(found.values())

    def inherited(self, keyword: str) -> Instruction | None:
        """The last `keyword` instruction in effect for the final image."""
        for stage in self.lineage():
            found = stage.last(keyword)
            if found is not None:
                return found
        return None


def _split_flags(args: str) -> tuple[dict[str, str], str]:
    flags: dict[str, str] = {}
    rest = args.lstrip()
    while rest.startswith("--"):
        token, _, remainder = rest.partition(" ")
        name, _, value = token[2:].partition("=")
        flags[name.lower()] = value
        rest = remainder.lstrip()
    return flags, rest


def parse(path: Path) -> ParsedDockerfile:
    """A Dockerfile on disk (already found safe to read), decoded as Docker reads it."""
    return parse_text(read_file_text(path), path)


def parse_text(text: str, path: Path) -> ParsedDockerfile:
    """Instructions and stages of a Dockerfile's text; BuildKit-only syntax is noted, not fatal."""
    lines = text.splitlines()
    directives: dict[str, str] = {}
    index = 0
    while index < len(lines) and (match := _DIRECTIVE.match(lines[index].strip())):
        directives[match.group(1).lower()] = match.group(2)
        index += 1
    escape = directives.get("escape", "\\")
    instructions: list[Instruction] = []
    unsupported: list[tuple[int, str]] = []
    if "syntax" in directives:
        unsupported.append(
            (
                1,
                f"`# syntax={directives['syntax']}` asks for a BuildKit frontend; this engine's legacy builder ignores it",
            )
        )
    while index < len(lines):
        start = index
        raw = lines[index]
        index += 1
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        parts = [raw]
        logical = raw.rstrip()
        while logical.endswith(escape) and index < len(lines):
            logical = logical[: -len(escape)]
            # Comment and blank lines inside a continuation neither end the instruction nor join it.
            while index < len(lines) and (not lines[index].strip() or lines[index].lstrip().startswith("#")):
                parts.append(lines[index])
                index += 1
            if index < len(lines):
                parts.append(lines[index])
                logical += " " + lines[index].rstrip()
                index += 1
        keyword, _, args = logical.strip().partition(" ")
        keyword = keyword.upper()
        flags, rest = _split_flags(args) if keyword in _LEGACY_FLAGS else ({}, args.strip())
        instruction = Instruction(keyword, rest, start + 1, "\n".join(parts).strip(), flags)
        instructions.append(instruction)
        for flag in flags:
            if flag not in _LEGACY_FLAGS[keyword]:
                unsupported.append((start + 1, f"`{keyword} --{flag}` needs BuildKit, which this engine does not have"))
        heredoc = _HEREDOC.search(rest) if keyword in ("RUN", "COPY", "ADD") else None
        if heredoc and not rest.lstrip().startswith("["):
            unsupported.append((start + 1, f"a heredoc in `{keyword}` needs BuildKit, which this engine does not have"))
            terminator = heredoc.group(0).lstrip("<-").strip().strip("\"'")
            while index < len(lines) and lines[index].strip() != terminator:
                index += 1
            index += 1
    stages, global_args = _stages(instructions)
    return ParsedDockerfile(path, lines, directives, instructions, stages, unsupported, global_args)


def expand(text: str, env: dict[str, str]) -> str:
    """Docker's variable substitution: $VAR, ${VAR}, ${VAR:-default}, ${VAR:+alt}."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(4)
        value = env.get(name)
        operator, word = match.group(2), match.group(3) or ""
        if operator in (":-", "-"):
            return value if value else word
        if operator in (":+", "+"):
            return word if value else ""
        return value or ""

    return _VAR.sub(substitute, text)


def parse_arg(instruction: Instruction) -> tuple[str, str | None]:
    """ARG NAME[=default]: the name and its default (None when it has none)."""
    name, equals, default = instruction.args.strip().partition("=")
    return name.strip(), default.strip().strip("\"'") if equals else None


def _stages(instructions: list[Instruction]) -> tuple[list[BuildStage], dict[str, str]]:
    global_args: dict[str, str] = {}
    stages: list[BuildStage] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            words = instruction.args.split()
            base = expand(words[0], global_args) if words else ""
            alias = words[2].lower() if len(words) >= 3 and words[1].lower() == "as" else None
            stages.append(BuildStage(base, alias, [instruction]))
        elif stages:
            stages[-1].instructions.append(instruction)
        elif instruction.keyword == "ARG":
            name, default = parse_arg(instruction)
            global_args[name] = default or ""
    return stages, global_args


def parse_env(instruction: Instruction) -> dict[str, str]:
    """ENV KEY=VALUE ... (or the legacy ENV KEY VALUE)."""
    args = instruction.args.strip()
    first = args.split(None, 1)[0] if args else ""
    if "=" not in first:
        key, _, value = args.partition(" ")
        return {key: value.strip()}
    try:
        words = shlex.split(args)
    except ValueError:
        words = args.split()
    return dict(word.partition("=")[::2] for word in words if "=" in word)


@dataclass
class ImageBuild:
    """The final image's instructions as `walk` steps, and the ENV and WORKDIR the image ends with."""

    steps: list[Step]
    env: dict[str, str]
    workdir: str


def walk(parsed: ParsedDockerfile) -> ImageBuild:
    """The final image's instructions in build order (earlier stages of its lineage first), each with
    the WORKDIR and the build variables in effect where it runs: the image's ENV so far over its
    stage's ARGs. WORKDIR and ENV carry into a stage built FROM another; ARGs do not."""
    steps: list[Step] = []
    env: dict[str, str] = {}
    workdir = "/"
    for stage in reversed(parsed.lineage()):
        args: dict[str, str] = {}
        for instruction in stage.instructions[1:]:
            variables = {**args, **env}
            steps.append(Step(instruction, workdir, variables))
            if instruction.keyword == "ARG":
                name, default = parse_arg(instruction)
                args[name] = expand(default, variables) if default is not None else parsed.global_args.get(name, "")
            elif instruction.keyword == "ENV":
                env.update({key: expand(value, variables) for key, value in parse_env(instruction).items()})
            elif instruction.keyword == "WORKDIR" and instruction.args.strip():
                target = expand(instruction.args.strip().strip("\"'"), variables)
                workdir = posixpath.normpath(posixpath.join(workdir, target))
    return ImageBuild(steps, env, workdir)


def image_env(parsed: ParsedDockerfile) -> dict[str, str]:
    """ENV of the final image, in order, earlier stages of its lineage first."""
    return walk(parsed).env


def image_workdir(parsed: ParsedDockerfile) -> str:
    """WORKDIR of the final image ('/' when never set)."""
    return walk(parsed).workdir


def is_port(text: str) -> bool:
    return text.isascii() and text.isdigit() and 0 < int(text) < 65536


def exposed_ports(parsed: ParsedDockerfile) -> list[int]:
    """The final image's EXPOSEd ports, in order, with ARG and ENV values expanded."""
    ports: list[int] = []
    for step in walk(parsed).steps:
        if step.instruction.keyword == "EXPOSE":
            for word in step.instruction.args.split():
                number = step.expand(word).split("/")[0]
                if is_port(number) and int(number) not in ports:
                    ports.append(int(number))
    return ports


def copies(parsed: ParsedDockerfile) -> list[tuple[str, str]]:
    """(source in the build context, path in the image) for each COPY / ADD of the final image from the
    context (not `--from` another stage or image, not a URL); sources as written, destinations resolved."""
    found: list[tuple[str, str]] = []
    for step in walk(parsed).steps:
        instruction = step.instruction
        if instruction.keyword not in ("COPY", "ADD") or "from" in instruction.flags:
            continue
        words = [step.expand(word) for word in instruction.exec_form() or instruction.args.split()]
        if len(words) < 2:
            continue
        destination = posixpath.normpath(posixpath.join(step.workdir, words[-1]))
        found += [(source, destination) for source in words[:-1] if "://" not in source]
    return found


def start_argv(parsed: ParsedDockerfile) -> tuple[list[str], Literal["exec", "shell"], Instruction] | None:
    """The command the image runs (ENTRYPOINT + CMD as Docker combines them), its form, its line."""
    entrypoint = parsed.inherited("ENTRYPOINT")
    cmd = parsed.inherited("CMD")
    if entrypoint is not None:
        entry_exec = entrypoint.exec_form()
        if entry_exec is None:
            return ["/bin/sh", "-c", entrypoint.args], "shell", entrypoint
        # An ENTRYPOINT drops a CMD inherited from an earlier stage, not one of its own stage.
        lineage = parsed.lineage()
        stage_of = {id(i): n for n, stage in enumerate(lineage) for i in stage.instructions}
        tail: list[str] = []
        if cmd is not None and stage_of[id(entrypoint)] >= stage_of[id(cmd)]:
            tail = cmd.exec_form() or ["/bin/sh", "-c", cmd.args]
        return [*entry_exec, *tail], "exec", entrypoint
    if cmd is not None:
        cmd_exec = cmd.exec_form()
        if cmd_exec is None:
            return ["/bin/sh", "-c", cmd.args], "shell", cmd
        return cmd_exec, "exec", cmd
    return None


def start_text(parsed: ParsedDockerfile) -> str | None:
    """The start command in words: the script of a shell-form command, else the exec form's words."""
    found = start_argv(parsed)
    if found is None:
        return None
    argv, form, _ = found
    return argv[2] if form == "shell" else " ".join(argv)

"""Read a Dockerfile the way the legacy builder does, without Docker.

Parses instructions (continuations, comments, parser directives, exec and shell
forms), splits stages, and works out what the final image runs: its effective start
command (ENTRYPOINT combined with CMD), the server, its port and host. The practices
judged from this live in `practices.py`.
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from grader.serving.evidence import DockerfileFacts, StartCommand
from grader.submission.text import read_file_text

_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$")
_HEREDOC = re.compile(r"<<-?\s*[\"']?[A-Za-z_][A-Za-z0-9_]*[\"']?")
_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")
# Flags the legacy builder knows; anything else on these instructions needs BuildKit.
_LEGACY_FLAGS = {"COPY": {"chown", "from"}, "ADD": {"chown"}, "RUN": set(), "FROM": {"platform"}}
SERVERS = ("uvicorn", "gunicorn", "hypercorn", "granian", "fastapi")
# Where each server listens when the command does not say.
_DEFAULT_HOST = {"uvicorn": "127.0.0.1", "gunicorn": "127.0.0.1", "hypercorn": "127.0.0.1", "fastapi": "0.0.0.0"}
DEFAULT_PORT = 8000


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
class Stage:
    base: str
    alias: str | None
    instructions: list[Instruction]

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None


@dataclass
class ExternalImage:
    """An image the build takes from outside the Dockerfile: a FROM base or a COPY --from source."""

    reference: str
    used_by: Literal["FROM", "COPY --from"]
    line: int


@dataclass
class ParsedDockerfile:
    path: Path
    lines: list[str]
    directives: dict[str, str]
    instructions: list[Instruction]
    stages: list[Stage]
    unsupported: list[tuple[int, str]]

    @property
    def final(self) -> Stage | None:
        return self.stages[-1] if self.stages else None

    def lineage(self) -> list[Stage]:
        """The final stage and the earlier stages it builds FROM, final first."""
        chain: list[Stage] = []
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
            uses = [(stage.base, "FROM", stage.instructions[0].line)]
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
    """Instructions and stages of a Dockerfile; BuildKit-only syntax is noted, not fatal."""
    lines = read_file_text(path).splitlines()
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
            nxt = lines[index]
            index += 1
            parts.append(nxt)
            if not nxt.strip() or nxt.lstrip().startswith("#"):
                logical += " "
                continue
            logical += " " + nxt.rstrip()
        keyword, _, args = logical.strip().partition(" ")
        keyword = keyword.upper()
        flags, rest = _split_flags(args) if keyword in _LEGACY_FLAGS else ({}, args.strip())
        instruction = Instruction(keyword, rest, start + 1, "\n".join(parts).strip(), flags)
        instructions.append(instruction)
        for flag in flags:
            if flag not in _LEGACY_FLAGS[keyword]:
                unsupported.append((start + 1, f"`{keyword} --{flag}` needs BuildKit, which this engine does not have"))
        if keyword in ("RUN", "COPY", "ADD") and _HEREDOC.search(rest) and not rest.lstrip().startswith("["):
            unsupported.append((start + 1, f"a heredoc in `{keyword}` needs BuildKit, which this engine does not have"))
            terminator = _HEREDOC.search(rest).group(0).lstrip("<-").strip().strip("\"'")
            while index < len(lines) and lines[index].strip() != terminator:
                index += 1
            index += 1
    return ParsedDockerfile(path, lines, directives, instructions, _stages(instructions), unsupported)


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


def _stages(instructions: list[Instruction]) -> list[Stage]:
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for instruction in instructions:
        if instruction.keyword == "FROM":
            words = instruction.args.split()
            base = expand(words[0], global_args) if words else ""
            alias = words[2].lower() if len(words) >= 3 and words[1].lower() == "as" else None
            stages.append(Stage(base, alias, [instruction]))
        elif stages:
            stages[-1].instructions.append(instruction)
        elif instruction.keyword == "ARG":
            name, _, default = instruction.args.strip().partition("=")
            global_args[name.strip()] = default.strip().strip("\"'")
    return stages


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


def image_env(parsed: ParsedDockerfile) -> dict[str, str]:
    """ENV of the final image, in order, earlier stages of its lineage first."""
    env: dict[str, str] = {}
    for stage in reversed(parsed.lineage()):
        for instruction in stage.all("ENV"):
            env.update({k: expand(v, env) for k, v in parse_env(instruction).items()})
    return env


def image_workdir(parsed: ParsedDockerfile) -> str:
    """WORKDIR of the final image ('/' when never set)."""
    workdir = "/"
    env: dict[str, str] = {}
    for stage in reversed(parsed.lineage()):
        for instruction in stage.instructions:
            if instruction.keyword == "ENV":
                env.update(parse_env(instruction))
            elif instruction.keyword == "WORKDIR":
                workdir = posixpath.normpath(posixpath.join(workdir, expand(instruction.args.strip(), env)))
    return workdir


def exposed_ports(parsed: ParsedDockerfile, env: dict[str, str]) -> list[int]:
    ports: list[int] = []
    for stage in reversed(parsed.lineage()):
        for instruction in stage.all("EXPOSE"):
            for word in instruction.args.split():
                number = expand(word, env).split("/")[0]
                if _is_port(number) and int(number) not in ports:
                    ports.append(int(number))
    return ports


def start_argv(parsed: ParsedDockerfile) -> tuple[list[str], str, Instruction] | None:
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


def command_words(argv: list[str]) -> tuple[list[str], bool]:
    """The words of the server command, and whether a shell expands variables in them."""
    if len(argv) >= 3 and Path(argv[0]).name in ("sh", "bash", "dash") and argv[1] in ("-c", "-ec", "-lc"):
        script = argv[2]
        commands = re.split(r"&&|\|\||;|\n", script)
        chosen = next((c for c in reversed(commands) if any(s in c for s in SERVERS)), commands[-1])
        try:
            words = shlex.split(chosen)
        except ValueError:
            words = chosen.split()
        while words and words[0] in ("exec", "nohup"):
            words = words[1:]
        return words, True
    return list(argv), False


def _option(words: list[str], *names: str) -> str | None:
    for position, word in enumerate(words):
        for name in names:
            if word == name and position + 1 < len(words):
                return words[position + 1]
            if name.startswith("--") and word.startswith(name + "="):
                return word.split("=", 1)[1]
    return None


def _is_port(text: str) -> bool:
    return text.isascii() and text.isdigit() and 0 < int(text) < 65536


def _port_value(raw: str, env: dict[str, str], shell: bool) -> tuple[int | None, str]:
    if "$" not in raw:
        return (int(raw), "command") if _is_port(raw) else (None, f"not a port number: {raw!r}")
    if not shell:
        return None, f"{raw!r} is passed literally: exec form does not expand variables"
    value = expand(raw, env)
    if _is_port(value):
        source = "ENV PORT" if "PORT" in env else f"the default in {raw}"
        return int(value), source
    return None, f"{raw} with PORT unset"


def start_command(parsed: ParsedDockerfile, env: dict[str, str]) -> StartCommand | None:
    """What starts the service: server, port (and where the number came from), host, workers."""
    found = start_argv(parsed)
    if found is None:
        return None
    argv, form, instruction = found
    words, shell = command_words(argv)
    names = [Path(w).name for w in words]
    server = next((s for s in SERVERS if s in names), None)
    if server is None and names and names[0].startswith("python"):
        server = "python"
    tail = words[names.index(server) + 1 :] if server in names else words
    port: int | None = None
    port_source: str | None = None
    host = _option(tail, "--host")
    bind = _option(tail, "--bind", "-b")
    raw_port = _option(tail, "--port")
    if bind:
        bind_host, _, raw_port = bind.rpartition(":")
        host = bind_host or host
    if raw_port is not None:
        port, port_source = _port_value(raw_port, env, shell)
    elif server in _DEFAULT_HOST:
        port, port_source = DEFAULT_PORT, f"{server}'s default"
    if host is None and server in _DEFAULT_HOST:
        host = f"{_DEFAULT_HOST[server]} ({server}'s default)"
    elif host is not None and "$" in host:
        host = expand(host, env) if shell else host
    workers = _option(tail, "--workers", "-w")
    return StartCommand(
        argv=argv,
        form=form,
        line=instruction.line,
        server=server,
        port=port,
        port_source=port_source,
        host=host,
        workers=int(workers) if workers and workers.isascii() and workers.isdigit() else None,
    )


def facts(parsed: ParsedDockerfile, shown_path: str, requirements_files: list[str]) -> DockerfileFacts:
    """The final image's declarations, for the evidence file."""
    env = image_env(parsed)
    user = parsed.inherited("USER")
    return DockerfileFacts(
        path=shown_path,
        base_images=[s.base for s in parsed.stages],
        copied_from_images=[e.reference for e in parsed.external_images() if e.used_by == "COPY --from"],
        exposed_ports=exposed_ports(parsed, env),
        start=start_command(parsed, env),
        user=user.args.strip() if user else None,
        workdir=image_workdir(parsed),
        env=env,
        requirements_files=requirements_files,
        unsupported=[f"line {line}: {reason}" for line, reason in parsed.unsupported],
    )


def candidate_ports(dockerfile: DockerfileFacts) -> list[int]:
    """Ports to look for the service on, most likely first."""
    ports = [dockerfile.start.port] if dockerfile.start and dockerfile.start.port else []
    for port in [*dockerfile.exposed_ports, DEFAULT_PORT, 8080, 80]:
        if port not in ports:
            ports.append(port)
    return ports


def needs_port_env(dockerfile: DockerfileFacts) -> bool:
    """The start command reads $PORT with no default and the image does not set it."""
    if dockerfile.start is None or "PORT" in dockerfile.env:
        return False
    text = " ".join(dockerfile.start.argv)
    return bool(re.search(r"\$\{?PORT\}?(?![:-])", text)) and "${PORT:-" not in text

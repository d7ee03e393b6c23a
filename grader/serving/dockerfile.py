"""What the serving stage makes of the candidate's Dockerfile: the facts it records, and where to find the service.

The Dockerfile is read by the one reader, `grader.submission.dockerfile` (discovery reads it
there too); this works out what the final image starts (the server, its port and where the
number came from, its host, its workers) and the declarations the evidence records.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from grader.serving.evidence import DockerfileFacts, StartCommand
from grader.submission.dockerfile import (
    ExternalImage,
    ParsedDockerfile,
    expand,
    exposed_ports,
    image_env,
    image_workdir,
    is_port,
    parse,
    start_argv,
)

# The serving stage's modules (and its tests) read these through here as well as the reader's own.
__all__ = [
    "DEFAULT_PORT",
    "SERVERS",
    "ExternalImage",
    "ParsedDockerfile",
    "candidate_ports",
    "command_words",
    "facts",
    "needs_port_env",
    "parse",
    "start_command",
]

SERVERS = ("uvicorn", "gunicorn", "hypercorn", "granian", "fastapi")
# Where each server listens when the command does not say.
_DEFAULT_HOST = {"uvicorn": "127.0.0.1", "gunicorn": "127.0.0.1", "hypercorn": "127.0.0.1", "fastapi": "0.0.0.0"}
DEFAULT_PORT = 8000


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


def _port_value(raw: str, env: dict[str, str], shell: bool) -> tuple[int | None, str]:
    if "$" not in raw:
        return (int(raw), "command") if is_port(raw) else (None, f"not a port number: {raw!r}")
    if not shell:
        return None, f"{raw!r} is passed literally: exec form does not expand variables"
    value = expand(raw, env)
    if is_port(value):
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
        exposed_ports=exposed_ports(parsed),
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

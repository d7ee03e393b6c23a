"""Dockerfile practices as checks, each quoting the line it judged. Pure: no Docker."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path, PurePosixPath

from grader.evidence import Check, Figure, Quote
from grader.serving.evidence import DockerfileFacts
from grader.serving.layout import ImageLayout
from grader.submission.dockerfile import Instruction, ParsedDockerfile
from grader.submission.text import read_file_text

_QUOTE_CHARS = 300
DATA_PATTERNS = ("*.parquet", "*.csv", "*.tsv", "*.feather", "*.arrow", "*.xlsx", "*.jsonl", "*.db", "*.sqlite")
DATA_FOLDERS = ("data", "datasets", "mlruns", "mlartifacts")
SECRET_PATTERNS = (
    ".env",
    ".env.*",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "id_rsa*",
    "id_ed25519*",
    ".netrc",
    ".git-credentials",
    "credentials*",
    "secrets.*",
    "kaggle.json",
    "*.kdbx",
)
SECRET_FOLDERS = (".ssh", ".aws", ".gnupg", ".kaggle")
_SECRET_NAME = re.compile(r"(?i)(secret|token|password|passwd|api_?key|access_?key|private_?key|credential)")
_PINNED = re.compile(r"(===?|@\s*\S+)")


def quote(shown_path: str, instruction: Instruction) -> Quote:
    text = instruction.text if len(instruction.text) <= _QUOTE_CHARS else instruction.text[:_QUOTE_CHARS] + "…"
    return Quote(source=shown_path, line=instruction.line, text=text)


def _line_quote(shown_path: str, parsed: ParsedDockerfile, line: int) -> Quote:
    return Quote(source=shown_path, line=line, text=parsed.lines[line - 1].strip()[:_QUOTE_CHARS])


def dockerfile_checks(parsed: ParsedDockerfile, facts: DockerfileFacts, layout: ImageLayout) -> list[Check]:
    """One check per practice; `passed=None` where the Dockerfile does not let us tell."""
    shown = facts.path
    return [
        _supported(parsed, shown),
        _base_pinned(parsed, shown),
        *_start_checks(parsed, facts, shown),
        _non_root(parsed, shown),
        _healthcheck(parsed, shown),
        _requirements_pinned(layout, shown),
        _dockerignore(layout),
        _baked(layout, shown, "dockerfile.no_baked_data", DATA_PATTERNS, DATA_FOLDERS, "data files"),
        _no_secrets(parsed, layout, shown),
        _layer_order(parsed, layout, shown),
    ]


def _supported(parsed: ParsedDockerfile, shown: str) -> Check:
    fatal = [(line, reason) for line, reason in parsed.unsupported if "ignores it" not in reason]
    return Check(
        id="dockerfile.supported_syntax",
        passed=not fatal,
        detail="; ".join(f"line {line}: {reason}" for line, reason in parsed.unsupported)
        or "legacy-builder syntax only",
        quotes=[_line_quote(shown, parsed, line) for line, _ in parsed.unsupported],
    )


def _base_pinned(parsed: ParsedDockerfile, shown: str) -> Check:
    stage = parsed.final
    if stage is None:
        return Check(id="dockerfile.base_pinned", passed=False, detail="no FROM instruction")
    aliases = {s.alias for s in parsed.stages if s.alias}
    bases = [
        (s.base, s.instructions[0]) for s in parsed.stages if s.base.lower() not in aliases and s.base != "scratch"
    ]
    loose = []
    for ref, _ in bases:
        name_part = ref.split("@")[0]
        tag = name_part.rsplit(":", 1)[1] if ":" in name_part.rsplit("/", 1)[-1] else ""
        if "@sha256:" not in ref and (not tag or tag == "latest" or not re.search(r"\d+\.\d+", tag)):
            loose.append(ref)
    return Check(
        id="dockerfile.base_pinned",
        passed=not loose,
        detail=f"not pinned to a version: {', '.join(loose)}"
        if loose
        else "every base image names a version (or digest)",
        quotes=[quote(shown, instruction) for _, instruction in bases],
        figures={"base_images": ", ".join(ref for ref, _ in bases)},
    )


def _start_checks(parsed: ParsedDockerfile, facts: DockerfileFacts, shown: str) -> list[Check]:
    start = facts.start
    expose = parsed.inherited("EXPOSE")
    expose_quotes = [quote(shown, expose)] if expose else []
    exposes = Check(
        id="dockerfile.exposes_port",
        passed=bool(facts.exposed_ports),
        detail=f"EXPOSE {', '.join(map(str, facts.exposed_ports))}" if facts.exposed_ports else "no EXPOSE",
        quotes=expose_quotes,
    )
    if start is None:
        missing = "no CMD or ENTRYPOINT: the image starts nothing"
        return [exposes, Check(id="dockerfile.start_command", passed=False, detail=missing)]
    instruction = next(i for i in parsed.instructions if i.line == start.line)
    quotes = [quote(shown, instruction)]
    figures: dict[str, Figure] = {
        "server": start.server,
        "port": start.port,
        "port_source": start.port_source,
        "host": start.host,
    }
    checks = [
        exposes,
        Check(
            id="dockerfile.start_command",
            passed=start.server is not None and start.port is not None,
            detail=f"{start.server or 'unrecognised program'} on port {start.port} ({start.port_source})",
            quotes=quotes,
            figures=figures,
        ),
        Check(
            id="dockerfile.exec_form",
            passed=start.form == "exec" and Path(start.argv[0]).name not in ("sh", "bash"),
            detail="exec form: the server is PID 1 and receives SIGTERM"
            if start.form == "exec" and Path(start.argv[0]).name not in ("sh", "bash")
            else "a shell is PID 1: it does not forward SIGTERM, so stops wait for the kill timeout",
            quotes=quotes,
        ),
    ]
    if start.host is not None:
        listens_all = start.host.split()[0] in ("0.0.0.0", "::", "[::]")
        checks.append(
            Check(
                id="dockerfile.listens_all_interfaces",
                passed=listens_all,
                detail=f"host {start.host}" + ("" if listens_all else ": unreachable from outside the container"),
                quotes=quotes,
            )
        )
    if start.port is not None and facts.exposed_ports:
        checks.append(
            Check(
                id="dockerfile.port_consistent",
                passed=start.port in facts.exposed_ports,
                detail=f"serves on {start.port}, exposes {', '.join(map(str, facts.exposed_ports))}",
                quotes=quotes + expose_quotes,
            )
        )
    return checks


def _non_root(parsed: ParsedDockerfile, shown: str) -> Check:
    user = parsed.inherited("USER")
    if user is None:
        return Check(id="dockerfile.non_root_user", passed=False, detail="no USER: the service runs as root")
    name = user.args.strip().split(":")[0]
    root = name in ("root", "0")
    return Check(
        id="dockerfile.non_root_user",
        passed=not root,
        detail=f"USER {name}" + (" is root" if root else ""),
        quotes=[quote(shown, user)],
    )


def _healthcheck(parsed: ParsedDockerfile, shown: str) -> Check:
    found = parsed.inherited("HEALTHCHECK")
    if found is None or found.args.strip().upper() == "NONE":
        return Check(
            id="dockerfile.healthcheck",
            passed=False,
            detail="no HEALTHCHECK",
            quotes=[quote(shown, found)] if found else [],
        )
    return Check(id="dockerfile.healthcheck", passed=True, detail="HEALTHCHECK declared", quotes=[quote(shown, found)])


def _requirement_lines(path: Path, layout: ImageLayout, seen: set[Path]) -> list[str]:
    """Requirement lines of a context file, following -r includes; options and comments dropped."""
    if path in seen or not layout.inside(path):
        return []
    seen.add(path)
    lines = []
    for raw in read_file_text(path).splitlines():
        line = raw.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r ", "--requirement")):
            lines.extend(_requirement_lines(path.parent / line.split(None, 1)[-1].split("=")[-1], layout, seen))
        elif not line.startswith("-"):
            lines.append(line)
    return lines


def _requirements_pinned(layout: ImageLayout, shown: str) -> Check:
    installs = layout.pip_installs
    if not installs:
        return Check(id="dockerfile.requirements_pinned", passed=None, detail="no pip install in the Dockerfile")
    quotes = [quote(shown, i) for i in {id(install.instruction): install.instruction for install in installs}.values()]
    if all(install.installs_project and not install.packages and not install.requirement_files for install in installs):
        return Check(
            id="dockerfile.requirements_pinned",
            passed=None,
            detail="installs the project itself; its pins are not read",
            quotes=quotes,
        )
    unpinned: list[str] = []
    files_read: list[str] = []
    for install in installs:
        unpinned.extend(p for p in install.packages if not _PINNED.search(p))
        for name in install.requirement_files:
            source = layout.requirement_file(install, name)
            if source is None:
                unpinned.append(f"{name} (not found in the build context)")
                continue
            files_read.append(source)
            unpinned.extend(
                line for line in _requirement_lines(layout.context / source, layout, set()) if not _PINNED.search(line)
            )
    return Check(
        id="dockerfile.requirements_pinned",
        passed=not unpinned,
        detail=("unpinned: " + ", ".join(unpinned[:15])) if unpinned else "every requirement is pinned with ==",
        quotes=quotes,
        figures={"requirement_files": ", ".join(files_read), "unpinned": len(unpinned)},
    )


def _dockerignore(layout: ImageLayout) -> Check:
    present = layout.dockerignore is not None
    return Check(
        id="dockerfile.dockerignore",
        passed=present,
        detail=".dockerignore present" if present else "no .dockerignore: the whole folder is sent to the builder",
        quotes=[Quote(source=".dockerignore", text=read_file_text(layout.dockerignore)[:_QUOTE_CHARS])]
        if layout.dockerignore is not None
        else [],
    )


def _flagged(path: str, patterns: tuple[str, ...], folders: tuple[str, ...]) -> bool:
    parts = PurePosixPath(path).parts
    return any(fnmatch.fnmatch(parts[-1], p) for p in patterns) or any(part in folders for part in parts[:-1])


def _baked(
    layout: ImageLayout, shown: str, check_id: str, patterns: tuple[str, ...], folders: tuple[str, ...], what: str
) -> Check:
    offending = [(step, src) for step in layout.steps for src, _ in step.files if _flagged(src, patterns, folders)]
    steps = list({id(step): step for step, _ in offending}.values())
    examples = sorted({src for _, src in offending})
    return Check(
        id=check_id,
        passed=not offending,
        detail=f"{len(examples)} {what} copied into the image, e.g. {', '.join(examples[:5])}"
        if offending
        else f"no {what} copied into the image",
        quotes=[quote(shown, step.instruction) for step in steps],
        figures={"files": len(examples)},
    )


def _no_secrets(parsed: ParsedDockerfile, layout: ImageLayout, shown: str) -> Check:
    check = _baked(
        layout, shown, "dockerfile.no_baked_secrets", SECRET_PATTERNS, SECRET_FOLDERS, "secret-looking files"
    )
    for instruction in parsed.instructions:
        if instruction.keyword in ("ENV", "ARG"):
            for word in instruction.args.split():
                name, _, value = word.partition("=")
                if _SECRET_NAME.search(name) and value.strip("\"'"):
                    check.passed = False
                    check.detail += f"; {instruction.keyword} {name} carries a literal value"
                    check.quotes.append(quote(shown, instruction))
    return check


def _layer_order(parsed: ParsedDockerfile, layout: ImageLayout, shown: str) -> Check:
    if not layout.pip_installs:
        return Check(id="dockerfile.dependency_layer_cached", passed=None, detail="no pip install to cache")
    first_install = layout.pip_installs[0].instruction
    position = {id(i): n for n, i in enumerate(parsed.instructions)}
    before = [s for s in layout.steps if s.files and position[id(s.instruction)] < position[id(first_install)]]
    code_first = [s for s in before if not s.dependencies_only]
    passed = not code_first
    detail = (
        "dependencies are installed before the code is copied: code edits reuse the installed layer"
        if passed
        else "the code is copied before pip install: every code edit reinstalls all dependencies"
    )
    return Check(
        id="dockerfile.dependency_layer_cached",
        passed=passed,
        detail=detail,
        quotes=[quote(shown, s.instruction) for s in code_first[:2]] + [quote(shown, first_install)],
    )

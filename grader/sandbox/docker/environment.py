"""What a build needs from the grader's machine, and telling its failures from the candidate's.

A Dockerfile's external images (FROM bases, `COPY --from=<image>`) must be in the engine:
no registry is reachable. Docker Hub's python image is served by an offline stand-in
(`grader.engine.standins` chooses which, `grader.engine.baseimages` builds it on first use
and tags it with the name the Dockerfile uses); any other image must already be there.
When one cannot be had, or the build fails only because this engine has no BuildKit or
the stand-in for an Alpine tag has no `apk`, the stage is not the candidate's to lose:
the evidence's `outcome.environment` says what happened and what to do.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import docker
import docker.errors

from grader.engine.baseimages import (
    StandinInfo,
    ensure_standin,
    print_progress,
    standin_image,
    standin_info,
    standin_ready,
    use_standin,
)
from grader.engine.standins import choose_standin, is_reference
from grader.errors import BaseImagesUnavailable
from grader.serving.dockerfile import ExternalImage, ParsedDockerfile
from grader.serving.evidence import BaseImage, BuildRecord

# A failing step only the Alpine image can run: its package manager, or busybox's adduser/addgroup flags.
_ALPINE_ONLY = re.compile(r"\bapk\b|\b(?:adduser|addgroup)\s+(?:-[A-Za-z]*[SDG]\b)")
# The legacy builder's words for syntax it cannot parse.
_PARSE_ERROR = re.compile(r"dockerfile parse error|unknown flag|unknown instruction", re.I)


def _pull_hint(registry: str = "its registry") -> str:
    return (
        f"grade on a machine that reaches {registry}, or `docker pull`/`docker load` it into this engine before grading"
    )


def base_images(
    client: docker.DockerClient,
    parsed: ParsedDockerfile,
    on_output: Callable[[str], None] = print_progress,
) -> list[BaseImage]:
    """Each external image the build needs, made available where a stand-in can serve it.

    A real image the engine holds is used as it is. A python:* reference gets the stand-in
    the rule chooses (built on first use, `on_output` hearing its progress), tagged as the
    reference. A malformed reference is left to the builder, whose error is the candidate's.
    """
    return [
        _prepare(client, external, on_output)
        for external in parsed.external_images()
        if is_reference(external.reference)
    ]


def _present(client: docker.DockerClient, reference: str) -> StandinInfo | None:
    try:
        return standin_info(client, reference)
    except docker.errors.APIError:
        return None


def _prepare(client: docker.DockerClient, external: ExternalImage, on_output: Callable[[str], None]) -> BaseImage:
    ref = external.reference
    record = BaseImage(requested=ref, used_by=external.used_by, available=False)
    info = _present(client, ref)
    if info is not None and not info.is_standin:
        record.available, record.python_version = True, info.python_version
        return record
    choice = choose_standin(ref)
    record.choice = choice
    if choice is None:
        record.unavailable = f"base image {ref} ({external.used_by}) is not available offline: {_pull_hint()}"
        return record
    if choice.python is None:
        record.unavailable = (
            f"base image {ref} is not available offline and has no stand-in ({choice.reason}): "
            f"{_pull_hint('Docker Hub')}"
        )
        return record
    record.standin_image = standin_image(choice.python)
    started = time.monotonic()
    try:
        if not standin_ready(client, choice.python):
            ensure_standin(client, choice.python, on_output)
            record.standin_built_s = round(time.monotonic() - started, 1)
        info = use_standin(client, ref, choice.python)
    except (BaseImagesUnavailable, docker.errors.APIError) as exc:
        # The first line names the cause; the advice below replaces the script's own.
        first_line = (str(exc).strip() or type(exc).__name__).splitlines()[0]
        first_line = first_line.removesuffix("; run it as root to retry. Last lines:")
        record.unavailable = (
            f"base image {ref}: the python {choice.python} stand-in (Debian {choice.suite}) could not be built "
            f"({first_line}): run `sandbox/bootstrap-base-images.sh --python {choice.python}` as root, "
            f"or `docker load` {ref} into this engine, before grading"
        )
        return record
    record.available = True
    # None: a real image took the name meanwhile, and the build uses it, not the stand-in.
    if info is not None:
        record.standin, record.python_version = True, info.python_version
    return record


def missing_images_problem(bases: list[BaseImage]) -> str | None:
    """The environment problem when an external image cannot be had offline; None when all are there."""
    missing = [b.unavailable or f"base image {b.requested} is not available offline" for b in bases if not b.available]
    return "; ".join(missing) or None


def standin_notes(bases: list[BaseImage]) -> list[str]:
    """One line per stand-in used: what was asked for, what python ran it, exact or nearest, why."""
    notes = []
    for base in bases:
        if not base.standin or base.choice is None:
            continue
        choice = base.choice
        notes.append(
            f"built on the offline stand-in for {base.requested}: python {base.python_version} "
            f"({choice.match}: {choice.reason}), not the registry image"
        )
        if base.standin_built_s is not None:
            notes.append(
                f"the python {choice.python} stand-in ({base.standin_image}) was built on first use "
                f"in {base.standin_built_s:.0f} s, before the candidate's build"
            )
    return notes


def build_failure_problem(parsed: ParsedDockerfile, bases: list[BaseImage], record: BuildRecord) -> str | None:
    """The environment problem when a failed build failed only for this machine's sake; None when it is the candidate's.

    Two causes: BuildKit-only syntax (this engine has the legacy builder only; a bare
    `# syntax=` line counts when the builder could not parse the file), and an Alpine tag
    on its Debian stand-in failing at a step only Alpine can run (`apk`).
    """
    if record.succeeded or record.timed_out:
        return None
    features = [reason for _, reason in parsed.unsupported if not reason.startswith("`# syntax=")]
    syntax_only = len(features) < len(parsed.unsupported) and not features
    error = f"{record.failing_step or ''}\n{record.error or ''}"
    if features or (syntax_only and _PARSE_ERROR.search(error)):
        shown = "; ".join(features) or "the `# syntax=` frontend it asks for"
        return (
            f"the Dockerfile needs BuildKit, which this engine lacks (legacy builder only): {shown}; "
            "grade on an engine with BuildKit (Docker 23 or later, or buildx) to build it as written"
        )
    alpine = [b for b in bases if b.standin and b.choice and b.choice.alpine]
    if alpine and record.failing_step and _ALPINE_ONLY.search(record.failing_step):
        names = ", ".join(b.requested for b in alpine)
        return (
            f"{names} is an Alpine image, stood in for offline by Debian's python {alpine[0].python_version}, "
            f"where `{_step_command(record.failing_step)}` cannot run: {_pull_hint('Docker Hub')}"
        )
    return None


def _step_command(step: str) -> str:
    """`Step 3/7 : RUN apk add gcc` -> `RUN apk add gcc`, shortened."""
    command = step.split(" : ", 1)[-1].strip()
    return command if len(command) <= 80 else command[:77] + "..."

"""The docker backend's build: the candidate's image, with the legacy builder, bounded in time, log captured.

The base images it needs are made available first (`environment`: offline stand-ins). The
low-level build stream is read in a thread so the grader keeps the clock: at the policy's
limit the builder's current intermediate container is killed, which makes the running step
fail and the build end. The full log goes to a file capped at the policy's size; the
evidence keeps its tail. RUN steps run on a network of the build's own (`networks`):
egress for pip, no connection to the grader's host. The image is removed when the block
that uses it ends, however it ends.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
import requests

from grader.sandbox.api import Build, BuildSpec
from grader.sandbox.docker.containers import run_labels
from grader.sandbox.docker.environment import (
    base_images,
    build_failure_problem,
    missing_images_problem,
    standin_notes,
)
from grader.sandbox.docker.networks import guarded_network
from grader.sandbox.policy import BuildLimits
from grader.serving.evidence import BuildRecord

_STEP = re.compile(r"^Step \d+/\d+ : .*")
_RUNNING_IN = re.compile(r"Running in ([0-9a-f]{12,64})")
_TAIL_CHARS = 4000
# How long a killed build may take to wind down before the grader stops waiting.
_STOP_GRACE_S = 30.0
# What a serving run's objects are labelled and its image named by.
SERVING_STAGE = "serving"
IMAGE_REPO = "churn-grader-serving"


class _BuildLog:
    """The build's output: a capped log file, the tail, the step in progress."""

    def __init__(self, path: Path | None, max_chars: int) -> None:
        self.file = path.open("w", encoding="utf-8") if path else None
        self.path = path
        self.max_chars = max_chars
        self.written = 0
        self.truncated = False
        self.tail: deque[str] = deque()
        self.tail_chars = 0
        self.step: str | None = None
        self.container: str | None = None
        self.error: str | None = None

    def add(self, text: str) -> None:
        for line in text.splitlines():
            if _STEP.match(line):
                self.step = line.strip()
            if match := _RUNNING_IN.search(line):
                self.container = match.group(1)
        if self.file and not self.truncated:
            room = self.max_chars - self.written
            self.file.write(text[:room])
            self.written += min(len(text), room)
            if len(text) > room:
                self.truncated = True
                self.file.write(f"\n[log capped at {self.max_chars} characters]\n")
        self.tail.append(text)
        self.tail_chars += len(text)
        while self.tail_chars > _TAIL_CHARS and len(self.tail) > 1:
            self.tail_chars -= len(self.tail.popleft())

    def close(self) -> None:
        if self.file:
            self.file.close()

    def tail_text(self) -> str:
        return "".join(self.tail)[-_TAIL_CHARS:]


def build_image(
    client: docker.DockerClient,
    context: Path,
    dockerfile: Path,
    tag: str,
    labels: dict[str, str],
    limits: BuildLimits,
    log_path: Path | None = None,
    network: str = "host",
) -> BuildRecord:
    """Build `dockerfile` in `context` as `tag`; never pulls; stopped at `limits.timeout_s`.

    `network`: the network RUN steps use (a guarded network of the run's own for candidates).
    """
    log = _BuildLog(log_path, limits.max_log_chars)
    memory = limits.memory_mb * 1024 * 1024
    done = threading.Event()

    def stream() -> None:
        try:
            for chunk in client.api.build(
                path=str(context),
                dockerfile=str(dockerfile.relative_to(context))
                if dockerfile.is_relative_to(context)
                else str(dockerfile),
                tag=tag,
                labels=labels,
                rm=True,
                forcerm=True,
                pull=False,
                network_mode=network,
                decode=True,
                timeout=limits.timeout_s,
                container_limits={"memory": memory, "memswap": memory},
            ):
                if "stream" in chunk:
                    log.add(str(chunk["stream"]))
                if "error" in chunk:
                    log.error = str(chunk["error"]).strip()
                    log.add(f"ERROR: {log.error}\n")
        except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as exc:
            log.error = f"{type(exc).__name__}: {exc}"
            log.add(f"ERROR: {log.error}\n")
        finally:
            done.set()

    started = time.monotonic()
    worker = threading.Thread(target=stream, name=f"build-{tag}", daemon=True)
    worker.start()
    try:
        timed_out = not done.wait(limits.timeout_s)
    except BaseException:
        # Ctrl-C: stop the builder too, or it finishes the image after the grader is gone.
        _stop_build(client, log)
        raise
    if timed_out:
        _stop_build(client, log)
        done.wait(_STOP_GRACE_S)
    seconds = round(time.monotonic() - started, 3)
    log.close()
    record = BuildRecord(
        attempted=True,
        seconds=seconds,
        timed_out=timed_out,
        log_tail=log.tail_text(),
        log_path=str(log_path) if log_path else None,
        log_truncated=log.truncated,
    )
    if timed_out:
        record.failing_step = log.step
        record.error = f"build stopped at the {limits.timeout_s} s build limit (it did not finish)" + (
            "" if done.is_set() else f" (the builder had still not stopped {_STOP_GRACE_S:.0f} s later)"
        )
        return record
    if log.error is None:
        try:
            image = client.images.get(tag)
        except docker.errors.ImageNotFound:
            log.error = "the build stream ended without an image"
        else:
            record.succeeded = True
            record.image_size_mb = round(int(image.attrs.get("Size", 0)) / 1e6, 1)
            return record
    record.failing_step = log.step
    record.error = log.error
    return record


def _stop_build(client: docker.DockerClient, log: _BuildLog) -> None:
    """Kill the builder's running step so the build fails and ends."""
    if log.container is None:
        return
    # An APIError here means the step finished on its own meanwhile.
    with contextlib.suppress(docker.errors.APIError):
        client.containers.get(log.container).kill()


@dataclass
class DockerBuild(Build):
    """A docker build; `image` is the candidate's image once it built."""

    image: str | None = None


@contextmanager
def candidate_image(client: docker.DockerClient, spec: BuildSpec) -> Iterator[DockerBuild]:
    """The candidate's image, built on the base images this engine can supply; removed when the block ends."""
    bases = base_images(client, spec.parsed)
    reasons = standin_notes(bases)
    problem = missing_images_problem(bases)
    if problem:
        # The grader's machine lacks an image, not the candidate: nothing is built, nothing judged.
        record = BuildRecord(base_images=bases)
        yield DockerBuild(record, None, problem, environment=problem, reasons=[*reasons, problem])
        return
    tag = f"{IMAGE_REPO}/{spec.run_id}:candidate"
    labels = run_labels(spec.run_id, SERVING_STAGE)
    try:
        with guarded_network(
            client, f"churn-grader-build-{spec.run_id}", "build", spec.run_id, labels, internal=False
        ) as network:
            record = build_image(
                client,
                spec.layout.context,
                spec.dockerfile,
                tag,
                labels,
                spec.policy.build,
                spec.logs / "build.log",
                network=network.name,
            )
        record.base_images = bases
        build = DockerBuild(record, record.succeeded, "", ready=record.succeeded, reasons=reasons)
        if not network.host_blocked:
            build.not_verified.append("build steps could connect to the grader's host (no firewall rule could be set)")
        build.environment = problem = build_failure_problem(spec.parsed, bases, record)
        if record.succeeded:
            build.image, build.detail = tag, f"built in {record.seconds} s, {record.image_size_mb} MB"
        else:
            # A failure this machine caused says nothing about the candidate's image.
            build.succeeded = None if problem else False
            build.detail = problem or f"{record.failing_step}: {record.error}"
            build.reasons.append(f"the image failed to build at {record.failing_step or 'the start'}: {record.error}")
            if problem:
                build.reasons.append(problem)
        yield build
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            client.images.remove(tag, force=True, noprune=spec.keep_layer_cache)

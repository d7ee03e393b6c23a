"""Build the candidate's image with the legacy builder, bounded in time, log captured.

The low-level build stream is read in a thread so the grader keeps the clock: at the
policy's limit the builder's current intermediate container is killed, which makes
the running step fail and the build end. The full log goes to a file capped at the
policy's size; the evidence keeps its tail. RUN steps run on a network of the build's
own (`grader.sandbox.networks`): egress for pip, no connection to the grader's host.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections import deque
from pathlib import Path

import docker
import docker.errors
import requests

from grader.sandbox.policy import BuildLimits
from grader.serving.evidence import BuildRecord

_STEP = re.compile(r"^Step \d+/\d+ : .*")
_RUNNING_IN = re.compile(r"Running in ([0-9a-f]{12,64})")
_TAIL_CHARS = 4000
# How long a killed build may take to wind down before the grader stops waiting.
_STOP_GRACE_S = 30.0


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

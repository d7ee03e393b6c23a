"""The notebook runner image, and its per-candidate layer with their requirements.

Both are shared caches (`grader.sandbox.cache`): workers that need the same image build
it once, under a lock. The runner image is never evicted; requirement layers are, least
recently used first, past the policy's cap, and a layer over the per-entry limit serves
its own grading only.
"""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from grader.sandbox.api import Say, quiet
from grader.sandbox.cache import Cache, CacheUse, ImageEntries, cache_folder, gigabytes
from grader.sandbox.docker.containers import run_labels
from grader.sandbox.docker.networks import guarded_network
from grader.sandbox.policy import CacheLimits, Policy
from grader.sandbox.stack import RUNNER_DIR
from grader.submission.text import decode_text

RUNNER_REPO = "churn-grader/runner"
LAYER_REPO = f"{RUNNER_REPO}-req"
MAX_REQUIREMENTS_BYTES = 64 * 1024


def _runner_key() -> str:
    """A hash of everything the runner image is built from, so edits rebuild it."""
    digest = hashlib.sha256()
    for path in sorted(RUNNER_DIR.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(RUNNER_DIR).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def runner_tag() -> str:
    """The runner image tag."""
    return f"{RUNNER_REPO}:{_runner_key()}"


@contextmanager
def _runner_image(client, timeout_s: int = 1800, say: Say = quiet) -> Iterator[CacheUse]:
    def build(tag: str) -> None:
        say(f"building the notebook runner image {tag} (first use on this machine: a few minutes)")
        client.images.build(
            path=str(RUNNER_DIR), tag=tag, rm=True, forcerm=True, network_mode="host", timeout=timeout_s
        )

    # No cap: the runner image is never evicted. The cache gives its build a lock, so the
    # workers of a cohort on a fresh machine build it once.
    runner = Cache(cache_folder("runner-image"), ImageEntries(client, RUNNER_REPO), "notebook runner image")
    with runner.use(_runner_key(), build) as use:
        yield use


def ensure_runner_image(client, timeout_s: int = 1800) -> str:
    """Build the runner image from sandbox/runner/ unless this version exists."""
    with _runner_image(client, timeout_s) as use:
        return use.where


def runner_layers(client, limits: CacheLimits, base: str) -> Cache:
    """The shared cache of requirement layers over the runner image `base`, bounded by the policy."""
    return Cache(
        cache_folder("runner-layers", "GRADER_RUNNER_LAYER_CACHE"),
        ImageEntries(client, LAYER_REPO, base),
        "requirements layer",
        max_bytes=gigabytes(limits.runner_layers_gb),
        max_entry_bytes=gigabytes(limits.max_entry_gb),
    )


def _requirement_files(submission: Path) -> dict[str, bytes]:
    """Every requirements/constraints file (for `-r other.txt` lines), paths kept, size capped."""
    found: dict[str, bytes] = {}
    total = 0
    for path in sorted(submission.rglob("*.txt")):
        if path.is_symlink() or not path.is_file() or not re.match(r"(requirements|constraints)", path.name, re.I):
            continue
        # pip reads UTF-16 only with a BOM and anything else in the locale's encoding (the candidate's
        # Windows code page at home, UTF-8 here): handed over as UTF-8, as discovery decoded it.
        data = decode_text(path.read_bytes()[:MAX_REQUIREMENTS_BYTES]).text.encode()
        total += len(data)
        if total > 8 * MAX_REQUIREMENTS_BYTES:
            break
        found[path.relative_to(submission).as_posix()] = data
    return found


def _context(dockerfile: str, files: dict[str, bytes]) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in {
            "Dockerfile": dockerfile.encode(),
            **{f"candidate/{k}": v for k, v in files.items()},
        }.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


def _failure(exc: Exception) -> str:
    log = "".join(str(chunk.get("stream", "")) for chunk in getattr(exc, "build_log", []) or [])
    detail = [line for line in log.splitlines() if "ERROR" in line or "error:" in line.lower()]
    reason = detail[-1] if detail else str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    return reason[:300]


@contextmanager
def candidate_runner_image(
    client, submission: Path, policy: Policy, layers: Cache | None = None, say: Say = quiet
) -> Iterator[tuple[str, list[str]]]:
    """The runner plus the candidate's requirements.txt (the plain runner if that fails), and notes.

    The image is kept while the block runs: no eviction removes it meanwhile. `layers`:
    the cache of requirement layers, else `runner_layers`.
    """
    with ExitStack() as stack:
        runner = stack.enter_context(_runner_image(client, say=say))
        base = runner.where
        # Reusing the runner image is every grading's case; only a slow get is worth a note.
        notes = [f"notebook runner image {base}: {runner.summary}"] if runner.built or runner.waited_s >= 1 else []
        requirements = submission / "requirements.txt"
        if not requirements.is_file() or requirements.is_symlink():
            yield base, [*notes, "no requirements.txt at the root: notebooks ran on the grader's data-science stack"]
            return
        files = _requirement_files(submission)
        dockerfile = (
            f"FROM {base}\nUSER root\nCOPY candidate /opt/candidate\n"
            "RUN cd /opt/candidate && pip install --no-cache-dir -r requirements.txt\nUSER 10001\n"
        )
        digest = hashlib.sha256(dockerfile.encode())
        for name, data in files.items():
            digest.update(name.encode() + b"\0" + data)

        def build(tag: str) -> None:
            say(
                f"installing the candidate's requirements.txt into a layer over the runner image ({tag}; cached by content)"
            )
            run_id = uuid.uuid4().hex[:12]
            # pip runs candidate-chosen packages (an sdist's setup.py): with egress, never towards this host.
            with guarded_network(
                client,
                f"churn-grader-build-{run_id}",
                "requirements",
                run_id,
                run_labels(run_id, "requirements"),
                internal=False,
            ) as network:
                client.images.build(
                    fileobj=_context(dockerfile, files),
                    custom_context=True,
                    tag=tag,
                    rm=True,
                    forcerm=True,
                    network_mode=network.name,
                    timeout=policy.build.timeout_s,
                )

        try:
            layer = stack.enter_context(
                (layers or runner_layers(client, policy.cache, base)).use(digest.hexdigest()[:16], build)
            )
        except Exception as exc:  # the candidate's requirements failing to install is evidence, not an error
            failed = _failure(exc)
        else:
            yield (
                layer.where,
                [*notes, f"candidate requirements installed ({layer.where}): {layer.summary}", *layer.notes],
            )
            return
        yield base, [*notes, f"candidate requirements did not install ({failed}): notebooks ran on the grader's stack"]

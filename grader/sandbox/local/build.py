"""The local backend's build: what `docker build` would give the service, made on this machine instead.

- dependencies: a virtualenv per set of requirements, cached (`grader.sandbox.cache`),
  installed with `--only-binary=:all:` so no candidate-chosen code (sdists, git URLs,
  `-e .`) runs as root on the host. Other RUN steps are not replayed.
- files: the Dockerfile's COPY / ADD are replayed from the build context into a staging
  root (root-owned, read-only to the service), never following a link out of the context.

What this cannot verify (no image exists) is said in the build's `not_verified`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from grader.sandbox.api import Build, BuildSpec
from grader.sandbox.cache import Cache, FolderEntries, cache_folder, gigabytes
from grader.sandbox.policy import Policy
from grader.serving.evidence import BuildRecord
from grader.serving.layout import ImageLayout

# Where service virtualenvs live when not under /var/cache/churn-grader/serving-venvs.
VENV_CACHE_VARIABLE = "GRADER_SERVING_VENV_CACHE"
STAGE_PREFIX = "churn-grader-serving-"
NOT_BUILT = "local backend: the image was not built"
NOT_VERIFIED_LOCALLY = [
    "build: the image was not built (no engine); only the Dockerfile was read",
    "image size and base image",
    "the user the image runs as (the local service runs as an unprivileged grader user)",
    "RUN steps other than pip install",
]


class LocalSetupError(Exception):
    """The candidate's environment could not be prepared (a candidate fault, recorded)."""


def _system_python() -> str:
    """An interpreter the unprivileged service user can execute."""
    system = shutil.which("python3", path="/usr/bin:/bin")
    return system if os.geteuid() == 0 and system else sys.executable


def _python_version(python: str) -> str:
    done = subprocess.run(
        [python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return done.stdout.strip()


@contextmanager
def prepare_venv(layout: ImageLayout, policy: Policy, log_path: Path) -> Iterator[tuple[Path, list[str]]]:
    """A cached virtualenv with the Dockerfile's pip installs, kept while the block runs, and notes.

    LocalSetupError with the pip log's tail when it cannot be built.
    """
    limits = policy.build
    python = _system_python()
    version = _python_version(python)
    files: list[Path] = []
    packages: list[str] = []
    for install in layout.pip_installs:
        packages.extend(install.packages)
        for name in install.requirement_files:
            source = layout.requirement_file(install, name)
            if source is None:
                raise LocalSetupError(f"requirements file {name} is not copied from the build context")
            files.append(layout.context / source)
    key = hashlib.sha256(
        "\n".join([version, *packages, *(f.read_text(errors="replace") for f in files)]).encode()
    ).hexdigest()[:16]
    folder = cache_folder("serving-venvs", VENV_CACHE_VARIABLE)
    cache = Cache(
        folder,
        FolderEntries(folder),
        "service virtualenv",
        max_bytes=gigabytes(policy.cache.serving_venvs_gb),
        max_entry_bytes=gigabytes(policy.cache.max_entry_gb),
    )

    def build(where: str) -> None:
        started = time.monotonic()
        steps = [[python, "-m", "venv", where]]
        if files or packages:
            steps.append(
                [
                    str(Path(where) / "bin" / "pip"),
                    "install",
                    "--disable-pip-version-check",
                    "--no-input",
                    "--only-binary=:all:",
                    *[arg for f in files for arg in ("-r", str(f))],
                    *packages,
                ]
            )
        with log_path.open("wb") as log:
            for step in steps:
                remaining = limits.timeout_s - (time.monotonic() - started)
                try:
                    done = subprocess.run(step, stdout=log, stderr=subprocess.STDOUT, timeout=max(remaining, 1))
                except subprocess.TimeoutExpired:
                    raise LocalSetupError(f"installing the requirements took over {limits.timeout_s} s") from None
                if done.returncode != 0:
                    tail = log_path.read_bytes()[-1500:].decode("utf-8", "replace")
                    raise LocalSetupError(
                        f"`{' '.join(step[:3])}` failed (the local backend installs wheels only):\n{tail}"
                    )

    with cache.use(key, build) as use:
        yield (
            Path(use.where),
            [
                f"python {version} from {python} (the image's base python is not used)",
                f"virtualenv {use.where}: {use.summary}",
                *use.notes,
            ],
        )


def stage_files(layout: ImageLayout, root: Path) -> list[str]:
    """Replay COPY / ADD from the context under `root`; notes on what could not be replayed."""
    notes = []
    for step in layout.steps:
        if step.foreign:
            notes.append(f"line {step.instruction.line} not replayed: {step.foreign}")
        for source, target in step.files:
            if not layout.inside(layout.context / source):
                notes.append(f"line {step.instruction.line}: {source} not copied: it points outside the build context")
                continue
            destination = root / target.lstrip("/")
            try:
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(layout.context / source, destination)
            except OSError as exc:
                notes.append(f"line {step.instruction.line}: {source} not copied: {exc.strerror or exc}")
                continue
            executable = (layout.context / source).stat().st_mode & 0o111
            os.chmod(destination, 0o755 if executable else 0o644)
    for folder, _dirs, _names in os.walk(root):
        os.chmod(folder, 0o755)
    return notes


@dataclass
class LocalBuild(Build):
    """A local build: the service's virtualenv and the root its files were staged in, once ready."""

    venv: Path | None = None
    root: Path | None = None


@contextmanager
def local_build(spec: BuildSpec) -> Iterator[LocalBuild]:
    """The virtualenv (a cache entry kept for the block) and the staged files; the staging root goes afterwards."""
    build = LocalBuild(BuildRecord(), None, NOT_BUILT, image_user=False, not_verified=list(NOT_VERIFIED_LOCALLY))
    with ExitStack() as stack:
        try:
            venv, notes = stack.enter_context(prepare_venv(spec.layout, spec.policy, spec.logs / "local-venv.log"))
        except LocalSetupError as exc:
            build.reasons.append(f"the local backend could not install the requirements: {exc}")
        else:
            root = Path(tempfile.mkdtemp(prefix=f"{STAGE_PREFIX}{spec.run_id}-"))
            stack.callback(shutil.rmtree, root, ignore_errors=True)
            os.chmod(root, 0o755)
            build.notes = [*notes, *stage_files(spec.layout, root)]
            build.venv, build.root, build.ready = venv, root, True
        yield build

"""The notebook runner image, and its per-candidate layer with their requirements."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

from grader.sandbox.policy import Policy

RUNNER_DIR = Path(__file__).resolve().parents[2] / "sandbox" / "runner"
RUNNER_REPO = "churn-grader/runner"
MAX_REQUIREMENTS_BYTES = 64 * 1024


def runner_tag() -> str:
    """The runner image tag: a hash of everything it is built from, so edits rebuild it."""
    digest = hashlib.sha256()
    for path in sorted(RUNNER_DIR.iterdir()):
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return f"{RUNNER_REPO}:{digest.hexdigest()[:12]}"


def _exists(client, tag: str) -> bool:
    try:
        client.images.get(tag)
        return True
    except Exception:
        return False


def ensure_runner_image(client, timeout_s: int = 1800) -> str:
    """Build the runner image from sandbox/runner/ unless this version exists."""
    tag = runner_tag()
    if not _exists(client, tag):
        client.images.build(path=str(RUNNER_DIR), tag=tag, rm=True, forcerm=True, network_mode="host", timeout=timeout_s)
    return tag


def _context(dockerfile: str, requirements: bytes) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in (("Dockerfile", dockerfile.encode()), ("requirements.txt", requirements)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


def candidate_runner_image(client, submission: Path, policy: Policy) -> tuple[str, list[str]]:
    """The runner plus the candidate's requirements.txt; the plain runner if that fails."""
    base = ensure_runner_image(client)
    requirements = submission / "requirements.txt"
    if not requirements.is_file() or requirements.is_symlink():
        return base, ["no requirements.txt at the root: notebooks ran on the grader's data-science stack"]
    data = requirements.read_bytes()[:MAX_REQUIREMENTS_BYTES]
    tag = f"{RUNNER_REPO}-req:{hashlib.sha256(base.encode() + data).hexdigest()[:16]}"
    if _exists(client, tag):
        return tag, [f"candidate requirements installed ({tag})"]
    dockerfile = (
        f"FROM {base}\nUSER root\nCOPY requirements.txt /opt/candidate-requirements.txt\n"
        "RUN pip install --no-cache-dir -r /opt/candidate-requirements.txt\nUSER 10001\n"
    )
    try:
        client.images.build(fileobj=_context(dockerfile, data), custom_context=True, tag=tag, rm=True,
                            forcerm=True, network_mode="host", timeout=policy.build.timeout_s)
    except Exception as exc:
        reason = str(exc).strip().splitlines()[-1][:300] if str(exc).strip() else type(exc).__name__
        return base, [f"candidate requirements did not install ({reason}): notebooks ran on the grader's stack"]
    return tag, [f"candidate requirements installed ({tag})"]

"""The notebook runner image, and its per-candidate layer with their requirements."""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
import uuid
from pathlib import Path

from grader.sandbox.backends import RUN_LABEL, STAGE_LABEL
from grader.sandbox.networks import guarded_network
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


def _requirement_files(submission: Path) -> dict[str, bytes]:
    """Every requirements/constraints file (for `-r other.txt` lines), paths kept, size capped."""
    found: dict[str, bytes] = {}
    total = 0
    for path in sorted(submission.rglob("*.txt")):
        if path.is_symlink() or not path.is_file() or not re.match(r"(requirements|constraints)", path.name, re.I):
            continue
        data = path.read_bytes()[:MAX_REQUIREMENTS_BYTES]
        total += len(data)
        if total > 8 * MAX_REQUIREMENTS_BYTES:
            break
        found[path.relative_to(submission).as_posix()] = data
    return found


def _context(dockerfile: str, files: dict[str, bytes]) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in {"Dockerfile": dockerfile.encode(), **{f"candidate/{k}": v for k, v in files.items()}}.items():
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
    files = _requirement_files(submission)
    digest = hashlib.sha256(base.encode())
    for name, data in files.items():
        digest.update(name.encode() + b"\0" + data)
    tag = f"{RUNNER_REPO}-req:{digest.hexdigest()[:16]}"
    if _exists(client, tag):
        return tag, [f"candidate requirements installed ({tag})"]
    dockerfile = (
        f"FROM {base}\nUSER root\nCOPY candidate /opt/candidate\n"
        "RUN cd /opt/candidate && pip install --no-cache-dir -r requirements.txt\nUSER 10001\n"
    )
    run_id = uuid.uuid4().hex[:12]
    try:
        # pip runs candidate-chosen packages (an sdist's setup.py): with egress, never towards this host.
        with guarded_network(client, f"churn-grader-build-{run_id}", "requirements", run_id,
                             {RUN_LABEL: run_id, STAGE_LABEL: "requirements"}, internal=False) as network:
            client.images.build(fileobj=_context(dockerfile, files), custom_context=True, tag=tag, rm=True,
                                forcerm=True, network_mode=network.name, timeout=policy.build.timeout_s)
    except Exception as exc:
        log = "".join(str(chunk.get("stream", "")) for chunk in getattr(exc, "build_log", []) or [])
        detail = [line for line in log.splitlines() if "ERROR" in line or "error:" in line.lower()]
        reason = (detail[-1] if detail else str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__)
        return base, [f"candidate requirements did not install ({reason[:300]}): notebooks ran on the grader's stack"]
    return tag, [f"candidate requirements installed ({tag})"]

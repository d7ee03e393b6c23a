"""Per-candidate seeds: HMAC-SHA256(cohort secret, candidate id)."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from pathlib import Path

from grader.errors import BadCandidateId, BadInput, SecretMissing

# Safe as a folder name and unambiguous as HMAC input: no separators, no dot-dot.
CANDIDATE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

# Only for `make demo` and tests; grading real candidates with it is refused by the CLI
# unless asked for explicitly, and every output made with it says so.
DEMO_SECRET = b"churn-grader-demo-secret-not-for-real-cohorts"


def check_candidate_id(candidate_id: str) -> str:
    """Return the id if it is safe, else raise BadCandidateId."""
    if not CANDIDATE_ID.fullmatch(candidate_id) or ".." in candidate_id:
        raise BadCandidateId(
            f"candidate id {candidate_id!r} is not allowed: use 1-64 letters, digits, '.', '_' "
            "or '-', starting with a letter or digit"
        )
    return candidate_id


def read_secret(secret_file: Path | None) -> bytes:
    """The cohort secret from --secret-file, else GRADER_SECRET."""
    if secret_file is not None:
        try:
            secret = secret_file.read_bytes().strip()
        except OSError as exc:
            raise BadInput(f"cannot read secret file {secret_file}: {exc.strerror}") from exc
        if not secret:
            raise SecretMissing(f"secret file {secret_file} is empty")
        return secret
    env = os.environ.get("GRADER_SECRET", "").strip()
    if not env:
        raise SecretMissing(
            "no cohort secret: set GRADER_SECRET or pass --secret-file "
            "(or --demo-secret for a demo, never for real candidates)"
        )
    return env.encode()


def candidate_seed(secret: bytes, candidate_id: str) -> bytes:
    """32 seed bytes that only the holder of the secret can recompute."""
    check_candidate_id(candidate_id)
    return hmac.new(secret, candidate_id.encode(), hashlib.sha256).digest()


def seed_fingerprint(seed: bytes) -> str:
    """A short public tag of a seed, to match a packet with its key without revealing it."""
    return hashlib.sha256(b"fingerprint:" + seed).hexdigest()[:16]

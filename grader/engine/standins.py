"""Which offline stand-in a `python:*` image reference gets, and why: the rule, no Docker.

No registry is reachable where the grader runs, so a Dockerfile's `FROM python:3.12.5-slim`
is built on a stand-in: Debian's python3 in a venv at /usr/local, one per Debian release
the machine's mirror serves (`sandbox/bootstrap-base-images.sh`, which holds the same
table; a test checks they agree). Each python minor maps to one of them:

- 3.7, 3.8, 3.9 (and older 3.x) -> 3.9, bullseye: the oldest release still served
  (buster is gone); 3.7/3.8 code runs on 3.9.
- 3.10, 3.11, 3.12 -> 3.11, bookworm: no release ships 3.10 or 3.12. 3.10 code runs on
  3.11 (FastAPI evaluates `int | None` annotations at runtime, which 3.9 cannot), and
  2024-era pins for 3.12 (numpy 1.26, pandas 2.2.2) have no cp313 wheels, so 3.11 is
  the safer neighbour.
- 3.13 and later -> 3.13, trixie: the newest stable release (forky and sid move daily).
- no version (`python:3`, `python:latest`, `python:slim`) -> 3.11, the default.

Alpine tags get the Debian stand-in of their version, recorded as such: their `apk`
steps then fail, and that failure is the grader's environment, not the candidate's.
"""

from __future__ import annotations

import re
from typing import Literal, TypedDict

from pydantic import BaseModel, Field

# The python each stand-in holds -> the Debian release that ships it.
STANDIN_SUITES: dict[str, str] = {"3.9": "bullseye", "3.11": "bookworm", "3.13": "trixie"}
DEFAULT_PYTHON = "3.11"
# How a reference may name Docker Hub's official python image.
_OFFICIAL_PREFIXES = (
    "docker.io/library/",
    "index.docker.io/library/",
    "registry-1.docker.io/library/",
    "docker.io/",
    "index.docker.io/",
    "registry-1.docker.io/",
    "library/",
)
# Docker's reference grammar, simplified: [registry[:port]/]path[:tag][@digest], path lowercase.
_REFERENCE = re.compile(
    r"^(?:[A-Za-z0-9.-]+(?::\d+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[\w][\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$"
)
_VERSION = re.compile(r"^(\d+)(?:\.(\d+))?(?:\.(\d+))?((?:a|b|rc)\d*)?$")
_WINDOWS = ("windowsservercore", "nanoserver")
_WHY = {
    "3.9": "Debian bullseye's 3.9 is the oldest python a release on this mirror ships (buster is gone); "
    "code for 3.7 and 3.8 runs on 3.9",
    "3.10": "no Debian release ships 3.10; code for 3.10 runs on bookworm's 3.11, while 3.9 cannot evaluate "
    "3.10 syntax such as the `int | None` annotations FastAPI reads at runtime",
    "3.12": "no Debian release ships 3.12; bookworm's 3.11 is the safer neighbour, since 2024-era pins for 3.12 "
    "(numpy 1.26, pandas 2.2.2) have no wheels for trixie's 3.13",
    "3.14": "Debian trixie's 3.13 is the newest python a stable release on this mirror ships",
}

Match = Literal["exact", "nearest", "default", "none"]


class StandinChoice(BaseModel):
    """What a python:* reference asked for, the stand-in chosen for it, and why."""

    requested: str
    # The version in the tag as written ("3.12.5", "3", None for python:slim).
    requested_version: str | None = None
    variants: list[str] = Field(default_factory=list)
    # The stand-in's python minor ("3.11"); None when no stand-in can serve the reference.
    python: str | None = None
    suite: str | None = None
    # exact: same minor (the patch level may differ); nearest: another minor; default: the
    # tag names no version; none: nothing local can stand in (digest pin, python 2, Windows).
    match: Match
    alpine: bool = False
    reason: str


class _Requested(TypedDict):
    """The fields of a StandinChoice that describe the reference, whatever stand-in is chosen."""

    requested: str
    requested_version: str | None
    variants: list[str]
    alpine: bool


def is_reference(reference: str) -> bool:
    """Whether the builder can parse this as an image reference (`python:-slim` from an unset ARG cannot)."""
    return bool(_REFERENCE.match(reference))


def official_python_tag(reference: str) -> tuple[str, str | None] | None:
    """The tag (and digest) of a reference to Docker Hub's python image; None for any other image.

    `python` alone means `python:latest`; `docker.io/library/python`, `library/python` and
    the other spellings of Docker Hub count.
    """
    ref = reference.strip().lower()
    ref, _, digest = ref.partition("@")
    for prefix in _OFFICIAL_PREFIXES:
        if ref.startswith(prefix):
            ref = ref[len(prefix) :]
            break
    name, _, tag = ref.partition(":")
    if name != "python":
        return None
    return tag or "latest", digest or None


def choose_standin(reference: str) -> StandinChoice | None:
    """The stand-in for a python:* reference, with the reason; None when it is not Docker Hub's python."""
    found = official_python_tag(reference)
    if found is None:
        return None
    tag, digest = found
    words = tag.split("-")
    version = _VERSION.match(words[0])
    variants = words[1:] if version else words
    if version is None and variants == ["latest"]:
        variants = []
    # "3.14-rc-slim": the rc word is part of the version, not a variant.
    variants = [v for v in variants if v != "rc"]
    alpine = any(v.startswith("alpine") for v in variants)
    common: _Requested = {
        "requested": reference,
        "requested_version": words[0] if version else None,
        "variants": variants,
        "alpine": alpine,
    }
    if digest:
        return StandinChoice(
            **common,
            match="none",
            reason=f"pinned by digest ({digest[:19]}…): only the image with that exact digest "
            "matches, and no stand-in can",
        )
    if any(v.startswith(_WINDOWS) for v in variants):
        return StandinChoice(**common, match="none", reason="a Windows image: no Linux stand-in can replace it")
    if version is not None and int(version.group(1)) != 3:
        return StandinChoice(
            **common,
            match="none",
            reason=f"python {version.group(1)} has no stand-in: the Debian releases here ship python 3 only",
        )
    if version is None or version.group(2) is None:
        named = "the tag names no python version" if version is None else f"`{words[0]}` names no minor version"
        reason = f"{named}: the default stand-in, python {DEFAULT_PYTHON} (Debian {STANDIN_SUITES[DEFAULT_PYTHON]})"
        return StandinChoice(
            **common,
            python=DEFAULT_PYTHON,
            suite=STANDIN_SUITES[DEFAULT_PYTHON],
            match="default",
            reason=reason + _alpine_note(alpine),
        )
    asked = int(version.group(2))
    python = "3.9" if asked <= 9 else "3.11" if asked <= 12 else "3.13"
    suite = STANDIN_SUITES[python]
    if python == f"3.{asked}":
        patch = f"; the patch level is Debian's, not {words[0]}" if version.group(3) or version.group(4) else ""
        reason = f"Debian {suite} ships python {python}, the minor version asked for{patch}"
        return StandinChoice(**common, python=python, suite=suite, match="exact", reason=reason + _alpine_note(alpine))
    why = _WHY["3.9" if asked < 9 else "3.14" if asked > 13 else f"3.{asked}"]
    reason = f"no stand-in holds python 3.{asked}: the nearest is {python} (Debian {suite}); {why}"
    return StandinChoice(**common, python=python, suite=suite, match="nearest", reason=reason + _alpine_note(alpine))


def _alpine_note(alpine: bool) -> str:
    return (
        (
            "; an Alpine tag, stood in for by Debian: `apk` steps fail on it, which is this grader's environment, "
            "not the candidate's"
        )
        if alpine
        else ""
    )


def tag_parts(reference: str) -> tuple[str, str]:
    """(repository, tag) to `docker tag` an image as exactly `reference` (no tag: latest)."""
    slash = reference.rfind("/")
    colon = reference.rfind(":")
    if colon > slash:
        return reference[:colon], reference[colon + 1 :]
    return reference, "latest"

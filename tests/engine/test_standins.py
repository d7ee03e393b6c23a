"""The stand-in rule: which python:* reference gets which offline stand-in, and why. No Docker."""

from __future__ import annotations

import subprocess

import pytest

from grader.engine.baseimages import BOOTSTRAP_SCRIPT, BOOTSTRAP_TAGS, BOOTSTRAP_VERSION, _run_bootstrap, standin_image
from grader.engine.standins import (
    DEFAULT_PYTHON,
    STANDIN_SUITES,
    choose_standin,
    is_reference,
    official_python_tag,
    tag_parts,
)
from grader.errors import BaseImagesUnavailable


def _script_output(*args: str) -> list[str]:
    result = subprocess.run(["bash", str(BOOTSTRAP_SCRIPT), *args], capture_output=True, text=True, check=True)
    return result.stdout.splitlines()


def test_python_constants_match_the_bootstrap_script() -> None:
    assert tuple(_script_output("--print-tags")) == BOOTSTRAP_TAGS
    assert _script_output("--print-version") == [BOOTSTRAP_VERSION]
    assert dict(line.split() for line in _script_output("--print-pythons")) == STANDIN_SUITES


def test_the_names_the_default_bootstrap_tags_all_resolve_to_its_stand_in() -> None:
    for tag in BOOTSTRAP_TAGS:
        choice = choose_standin(tag)
        assert choice is not None and choice.python == DEFAULT_PYTHON, (tag, choice)


def test_the_script_refuses_a_python_it_has_no_stand_in_for() -> None:
    result = subprocess.run(["bash", str(BOOTSTRAP_SCRIPT), "--python", "3.10"], capture_output=True, text=True)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "bootstrap: error: no stand-in for python 3.10: --python takes one of 3.9 3.11 3.13"
    ]


def test_a_failed_bootstrap_says_why_on_its_first_line() -> None:
    heard: list[str] = []
    with pytest.raises(BaseImagesUnavailable) as failed:
        _run_bootstrap(["--python", "3.10"], heard.append)
    assert str(failed.value).splitlines()[0] == (
        f"{BOOTSTRAP_SCRIPT} --python 3.10 failed with exit code 1 (no stand-in for python 3.10: --python takes "
        "one of 3.9 3.11 3.13); run it as root to retry. Last lines:"
    )
    assert heard == ["bootstrap: error: no stand-in for python 3.10: --python takes one of 3.9 3.11 3.13"]


@pytest.mark.parametrize(
    ("reference", "python", "match"),
    [
        ("python:3.9-slim", "3.9", "exact"),
        ("python:3.9", "3.9", "exact"),
        ("python:3.9.18-slim-bullseye", "3.9", "exact"),
        ("python:3.7", "3.9", "nearest"),
        ("python:3.8-slim-buster", "3.9", "nearest"),
        ("python:3.6", "3.9", "nearest"),
        ("python:3.10-slim", "3.11", "nearest"),
        ("python:3.11-slim", "3.11", "exact"),
        ("python:3.11.9-bookworm", "3.11", "exact"),
        ("python:3.12.5-slim", "3.11", "nearest"),
        ("python:3.12.12-slim", "3.11", "nearest"),
        ("python:3.12-slim-bookworm", "3.11", "nearest"),
        ("python:3.13-slim", "3.13", "exact"),
        ("python:3.13-trixie", "3.13", "exact"),
        ("python:3.14-slim", "3.13", "nearest"),
        ("python:3.14.0rc2-slim", "3.13", "nearest"),
        ("python:3.14-rc-slim", "3.13", "nearest"),
        ("python:3", "3.11", "default"),
        ("python:3-slim", "3.11", "default"),
        ("python:latest", "3.11", "default"),
        ("python:slim", "3.11", "default"),
        ("python:slim-bookworm", "3.11", "default"),
        ("python:bookworm", "3.11", "default"),
        ("python", "3.11", "default"),
        ("docker.io/library/python:3.9-slim", "3.9", "exact"),
        ("index.docker.io/library/python:3.13", "3.13", "exact"),
        ("docker.io/python:3.12", "3.11", "nearest"),
        ("library/python:3.10", "3.11", "nearest"),
        ("docker.io/library/python", "3.11", "default"),
    ],
)
def test_every_python_tag_spelling_gets_the_stand_in_of_the_rule(reference: str, python: str, match: str) -> None:
    choice = choose_standin(reference)
    assert choice is not None
    assert (choice.python, choice.match, choice.suite) == (python, match, STANDIN_SUITES[python]), choice
    assert choice.requested == reference and not choice.alpine
    assert f"Debian {choice.suite}" in choice.reason


def test_the_reasons_say_why_a_neighbour_was_chosen() -> None:
    assert (
        "no stand-in holds python 3.12: the nearest is 3.11 (Debian bookworm)"
        in choose_standin("python:3.12.5-slim").reason
    )
    assert "numpy 1.26" in choose_standin("python:3.12").reason
    assert "`int | None`" in choose_standin("python:3.10").reason
    assert "buster is gone" in choose_standin("python:3.8").reason
    exact_patch = choose_standin("python:3.9.18-slim")
    assert exact_patch.requested_version == "3.9.18" and "patch level is Debian's" in exact_patch.reason
    assert "patch level" not in choose_standin("python:3.9-slim").reason
    assert choose_standin("python:3-slim").requested_version == "3"
    assert choose_standin("python:slim").requested_version is None


@pytest.mark.parametrize(
    ("reference", "python", "variants"),
    [
        ("python:3.9-alpine", "3.9", ["alpine"]),
        ("python:3.12-alpine3.20", "3.11", ["alpine3.20"]),
        ("python:alpine", "3.11", ["alpine"]),
        ("python:3.13-slim-alpine", "3.13", ["slim", "alpine"]),
    ],
)
def test_alpine_tags_get_the_debian_stand_in_and_say_so(reference: str, python: str, variants: list[str]) -> None:
    choice = choose_standin(reference)
    assert choice.alpine and choice.python == python and choice.variants == variants
    assert "`apk` steps fail on it" in choice.reason


@pytest.mark.parametrize(
    ("reference", "needle"),
    [
        ("python:3.11-slim@sha256:" + "a" * 64, "pinned by digest"),
        ("python@sha256:" + "b" * 64, "pinned by digest"),
        ("python:2.7-slim", "python 2 has no stand-in"),
        ("python:3.12-windowsservercore-ltsc2022", "a Windows image"),
        ("python:3.11-nanoserver-1809", "a Windows image"),
    ],
)
def test_what_no_stand_in_can_serve_is_said_plainly(reference: str, needle: str) -> None:
    choice = choose_standin(reference)
    assert choice is not None and choice.python is None and choice.match == "none"
    assert needle in choice.reason


@pytest.mark.parametrize(
    "reference",
    [
        "ubuntu:22.04",
        "ghcr.io/astral-sh/uv:0.4.0",
        "ghcr.io/acme/python:3.11-slim",
        "pythonista:3.11",
        "myorg/python:3.11",
        "localhost:5000/python:3.11",
        "continuumio/miniconda3",
        "scratch",
    ],
)
def test_other_images_are_not_docker_hubs_python(reference: str) -> None:
    assert official_python_tag(reference) is None and choose_standin(reference) is None


def test_official_python_tag_normalises() -> None:
    assert official_python_tag("python") == ("latest", None)
    assert official_python_tag("docker.io/library/python:3.9-slim") == ("3.9-slim", None)
    assert official_python_tag("python:3.11@sha256:" + "c" * 64) == ("3.11", "sha256:" + "c" * 64)


@pytest.mark.parametrize(
    ("reference", "valid"),
    [
        ("python:3.9-slim", True),
        ("python", True),
        ("docker.io/library/python:3.12.5-slim", True),
        ("ghcr.io/astral-sh/uv:0.4.0", True),
        ("localhost:5000/team/app:1", True),
        ("python:3.11-slim@sha256:" + "d" * 64, True),
        ("python:-slim", False),  # an ARG with no value
        ("python:${PY}-slim", False),
        ("Python:3.11", False),
        ("", False),
    ],
)
def test_is_reference_follows_dockers_grammar(reference: str, valid: bool) -> None:
    assert is_reference(reference) is valid


def test_tag_parts_name_exactly_what_the_dockerfile_uses() -> None:
    assert tag_parts("python:3.9-slim") == ("python", "3.9-slim")
    assert tag_parts("python") == ("python", "latest")
    assert tag_parts("docker.io/library/python:3.13") == ("docker.io/library/python", "3.13")
    assert tag_parts("localhost:5000/python") == ("localhost:5000/python", "latest")


def test_standin_images_are_named_by_version_and_python() -> None:
    assert standin_image("3.9") == f"churn-grader/python-standin:{BOOTSTRAP_VERSION}-py3.9"

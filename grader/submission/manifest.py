"""`takehome.toml`: the candidate's optional pointers to deliverables that live elsewhere.

The manifest is strict: an unknown key, a wrong type or a path that leaves the root
makes the whole file invalid. An invalid manifest is recorded as a problem and
discovery falls back to looking for itself; it is never fatal.
"""

from __future__ import annotations

from pathlib import PurePosixPath, PureWindowsPath

from pydantic import BaseModel, ConfigDict, Field, field_validator

from grader.submission.tree import Tree, Unreadable, read_text
from grader.tomlfile import parse_toml, validate

MANIFEST_NAME = "takehome.toml"
MANIFEST_CAP = 256 * 1024


def _relative_path(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    if PurePosixPath(value).is_absolute() or PureWindowsPath(value).is_absolute() or PureWindowsPath(value).drive:
        raise ValueError(f"'{value}' is absolute; give a path relative to the repository root")
    if ".." in PurePosixPath(value.replace("\\", "/")).parts:
        raise ValueError(f"'{value}' climbs out of the repository with '..'")
    return value


class Manifest(BaseModel):
    """What `takehome.toml` may say; every path is relative to the submission root."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    notebooks: list[str] | None = Field(default=None, min_length=1)
    dockerfile: str | None = None
    build_context: str | None = None
    service: str | None = None
    readme: str | None = None
    requirements: list[str] | None = Field(default=None, min_length=1)
    mlflow_store: str | None = None
    mlflow_tracking_uri: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    predict_route: str | None = None

    @field_validator("dockerfile", "build_context", "service", "readme", "mlflow_store")
    @classmethod
    def _path_inside(cls, value: str | None) -> str | None:
        return None if value is None else _relative_path(value)

    @field_validator("notebooks", "requirements")
    @classmethod
    def _paths_inside(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else [_relative_path(value) for value in values]

    @field_validator("predict_route")
    @classmethod
    def _route(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise ValueError(f"'{value}' must start with '/', for example '/predict'")
        return value

    @field_validator("mlflow_tracking_uri")
    @classmethod
    def _uri(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be empty")
        return value


def parse_manifest(text: str) -> Manifest:
    """Parse manifest text; ValueError names the line, the bad key and what is wrong with it."""
    return validate(Manifest, parse_toml(text, MANIFEST_NAME, error=ValueError))


def load_manifest(tree: Tree) -> tuple[Manifest | None, list[str]]:
    """The root's manifest if there is a valid one, and problems met reading it."""
    entry = tree.file(MANIFEST_NAME)
    if entry is None:
        return None, []
    try:
        manifest = parse_manifest(read_text(entry, MANIFEST_CAP))
    except (Unreadable, ValueError) as exc:
        return None, [f"{MANIFEST_NAME} is invalid and was ignored, so everything was discovered instead: {exc}"]
    return manifest, []

"""What a preflight found, in plain words: no scores, no hidden data, nothing from the answer key."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

PREFLIGHT_SCHEMA = "preflight/1"
# ok: works; problem: fix it before submitting; warning: worth a look; skipped: could not check here.
Status = Literal["ok", "problem", "warning", "skipped"]


class Finding(BaseModel):
    step: str
    status: Status
    message: str
    details: list[str] = Field(default_factory=list)


class PreflightReport(BaseModel):
    """What `grader check` tells a candidate; safe to show as it is."""

    schema_version: str = PREFLIGHT_SCHEMA
    submission: str
    data: str | None = None
    backend: str
    findings: list[Finding] = Field(default_factory=list)

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "problem"]

    def add(self, step: str, status: Status, message: str, details: list[str] | None = None) -> Finding:
        finding = Finding(step=step, status=status, message=message, details=details or [])
        self.findings.append(finding)
        return finding

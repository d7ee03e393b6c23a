"""Which judge reads the README: the heuristic (default, offline) or a model behind an OpenAI-compatible endpoint.

`grader grade --judge openai` takes the endpoint from the environment: GRADER_JUDGE_URL
(the API base, `http://127.0.0.1:8080/v1`, or the full `/chat/completions` URL),
GRADER_JUDGE_MODEL, and GRADER_JUDGE_API_KEY (optional; read only when the request is
made, never stored in settings, evidence, logs or the cache). GRADER_JUDGE_TIMEOUT
(seconds, default 120) bounds one request. The settings cross process boundaries (a
cohort's workers) and enter the grading fingerprint without the key.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from grader.errors import BadInput

if TYPE_CHECKING:
    from grader.writeup.judge import Judge

JUDGES = ("heuristic", "openai")
URL_VARIABLE = "GRADER_JUDGE_URL"
MODEL_VARIABLE = "GRADER_JUDGE_MODEL"
KEY_VARIABLE = "GRADER_JUDGE_API_KEY"
TIMEOUT_VARIABLE = "GRADER_JUDGE_TIMEOUT"
DEFAULT_TIMEOUT_S = 120.0


class JudgeSettings(BaseModel):
    """The judge chosen for a grading; `make()` builds it."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["heuristic", "openai"] = "heuristic"
    url: str | None = None
    model: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    # The rubric whose judgment criteria the model is shown (None: the writeup's own concept list).
    rubric_file: Path | None = None

    @classmethod
    def from_environment(cls, kind: str, rubric_file: Path | None = None) -> JudgeSettings:
        """`--judge KIND` with the endpoint from the environment; a one-line error when it is incomplete."""
        if kind not in JUDGES:
            raise BadInput(f"--judge {kind!r}: choose one of {', '.join(JUDGES)}")
        if kind == "heuristic":
            return cls()
        missing = [name for name in (URL_VARIABLE, MODEL_VARIABLE) if not os.environ.get(name, "").strip()]
        if missing:
            raise BadInput(
                f"--judge openai needs {' and '.join(missing)} in the environment (and {KEY_VARIABLE} if the endpoint wants one)"
            )
        try:
            timeout = float(os.environ.get(TIMEOUT_VARIABLE) or DEFAULT_TIMEOUT_S)
        except ValueError:
            raise BadInput(f"{TIMEOUT_VARIABLE} must be a number of seconds") from None
        return cls(
            kind="openai",
            url=os.environ[URL_VARIABLE].strip(),
            model=os.environ[MODEL_VARIABLE].strip(),
            timeout_s=timeout,
            rubric_file=rubric_file.resolve() if rubric_file else None,
        )

    def fingerprinted(self) -> dict:
        """What shapes the writeup evidence (never the key)."""
        return {"kind": self.kind, "url": self.url, "model": self.model}

    def describe(self) -> str:
        return "heuristic" if self.kind == "heuristic" else f"model {self.model} at {self.url}"

    def make(self) -> Judge:
        """The judge these settings name."""
        from grader.writeup.judge import HeuristicJudge

        if self.kind == "heuristic":
            return HeuristicJudge()
        from grader.writeup.model import ModelJudge

        return ModelJudge(self)

"""What a report shows about the README beyond its criteria: who judged it, and paragraphs shared with others.

Read from the evidence (the scorecard holds points, not these): the judge and its model,
why a model's answer was not used, and each paragraph this README shares with another
candidate's, both texts side by side (the other candidate's report shows the same pair).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from grader.writeup.evidence import SharedParagraph


class ReadmeNotes(BaseModel):
    judge: str
    judge_model: str | None = None
    judge_note: str | None = None
    shared: list[SharedParagraph] = Field(default_factory=list)

    def judge_line(self) -> str:
        """ "README judged by heuristic/2", with the model and any note."""
        line = f"README judged by {self.judge}"
        if self.judge_model and self.judge_model not in self.judge:
            line += f" (model {self.judge_model} asked)"
        return line + (f". {self.judge_note}" if self.judge_note else "")


def readme_notes(document: Mapping[str, Any]) -> ReadmeNotes | None:
    """The notes from an evidence document; None when it has no writeup (or an older one without a judge)."""
    writeup = document.get("writeup")
    if not isinstance(writeup, Mapping) or not writeup.get("judge"):
        return None
    try:
        return ReadmeNotes.model_validate({k: writeup.get(k) for k in ReadmeNotes.model_fields if k in writeup})
    except ValidationError:
        return None

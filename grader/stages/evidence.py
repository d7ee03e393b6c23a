"""Everything the stages collected for one submission: evidence.json. The rubric reads only this."""

from __future__ import annotations

from pydantic import BaseModel, Field

from grader.evidence import StageOutcome
from grader.notebook.audit import AuditEvidence
from grader.notebook.execute import NotebookRun
from grader.notebook.mlflow_store import TrackingStore
from grader.notebook.modeling import ModelingEvidence
from grader.sandbox.api import Backend
from grader.serving.evidence import ServingEvidence
from grader.submission import Submission
from grader.writeup import WriteupEvidence

EVIDENCE_SCHEMA = "evidence/1"


class Evidence(BaseModel):
    """One submission's evidence; each stage fills its own field and `stages.<name>`."""

    schema_version: str = EVIDENCE_SCHEMA
    candidate: str
    spec_version: str
    seed_fingerprint: str
    backend: Backend
    graded_at_unix: float
    submission: Submission
    stages: dict[str, StageOutcome] = Field(default_factory=dict)
    notebook_run: NotebookRun | None = None
    mlflow: list[TrackingStore] = Field(default_factory=list)
    audit: AuditEvidence | None = None
    modeling: ModelingEvidence | None = None
    serving: ServingEvidence | None = None
    writeup: WriteupEvidence | None = None
    claimed_pr_auc: float | None = None
    executed_notebooks: list[str] = Field(default_factory=list)

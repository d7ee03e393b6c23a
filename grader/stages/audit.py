"""The audit stage: what the executed notebooks found about each seeded problem, against the answer key."""

from __future__ import annotations

from typing import ClassVar

from grader.evidence import StageOutcome
from grader.notebook.audit import CHECK_IDS as AUDIT_CHECK_IDS
from grader.notebook.audit import collect_audit
from grader.stages.base import Stage, StageName
from grader.stages.context import GradingContext


class AuditStage(Stage):
    """Reads the executed cells for the leak, drift, missingness, duplicates, rates, grouping, label window."""

    name = StageName.AUDIT
    records: ClassVar[frozenset[str]] = frozenset({"audit", *(f"audit.{check}" for check in AUDIT_CHECK_IDS)})

    def run(self, context: GradingContext) -> StageOutcome:
        assert context.seeded is not None, "the audit stage needs the candidate's answer key"
        signature = context.scoring_report.get("signature_inputs")
        columns = [str(c) for c in signature] if isinstance(signature, list) and signature else None
        context.evidence.audit = collect_audit(context.cells, context.seeded.key, columns)
        if context.cells:
            return StageOutcome(status="ok")
        return StageOutcome(status="failed", reasons=["no executed notebook to read"])

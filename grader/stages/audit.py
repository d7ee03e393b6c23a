"""The audit stage: what the executed notebooks found about each seeded problem, against the answer key."""

from __future__ import annotations

from typing import ClassVar

from grader.evidence import StageOutcome
from grader.notebook.audit import CHECK_IDS as AUDIT_CHECK_IDS
from grader.notebook.audit import collect_audit
from grader.notebook.reliance import model_inputs
from grader.notebook.trace import load_executed
from grader.stages.base import Stage, StageName
from grader.stages.context import GradingContext


class AuditStage(Stage):
    """Reads the executed cells and the record of what ran for the leak, drift, missingness, duplicates,
    rates, grouping, label window; keeps the validated record with the executed notebooks."""

    name = StageName.AUDIT
    records: ClassVar[frozenset[str]] = frozenset({"audit", *(f"audit.{check}" for check in AUDIT_CHECK_IDS)})

    def run(self, context: GradingContext) -> StageOutcome:
        assert context.seeded is not None, "the audit stage needs the candidate's answer key"
        report = context.scoring_report
        executed, problem = load_executed(context.folder.executed)
        context.evidence.audit = collect_audit(
            context.cells, context.seeded.key, model_inputs(report), executed, report
        )
        if executed.trace is not None:
            (context.staging / "notebooks").mkdir(exist_ok=True)
            (context.staging / "notebooks" / "trace.json").write_text(executed.trace.model_dump_json())
        reasons = [problem] if problem and context.cells else []
        if context.cells:
            return StageOutcome(status="ok", reasons=reasons)
        return StageOutcome(status="failed", reasons=["no executed notebook to read"])

"""`grader merge`: one cohort leaderboard from results graded on different machines.

Each input is a REPORTS folder of a cohort run (`_cohort/state/` and `_graded/`), a
folder `grader grade --candidate` wrote (`evidence.json` at its top), or a folder of
such folders (CI artifacts downloaded side by side). The same candidate found more than
once is a duplicate when the submission hash and grader fingerprint agree, a conflict
otherwise; either way the newest finished grading is kept (a failed grading never
replaces a finished one) and the merge says what it dropped. The output is itself a
cohort REPORTS folder: evidence, state files, freshly rendered reports, the leaderboard,
and merge.json.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from pydantic import BaseModel, Field

from grader.cohort.fingerprint import scoring_fingerprint
from grader.cohort.gradeone import ReportHook
from grader.cohort.layout import GRADED, CohortLayout
from grader.cohort.results import now
from grader.cohort.state import SubmissionState, read_states
from grader.cohort.worker import summarize
from grader.decision import DECISION_FILE
from grader.errors import BadInput
from grader.fsutil import atomic_output_dir, write_atomic
from grader.report import load_evidence

MERGE_SCHEMA = "cohort-merge/1"


class Found(BaseModel):
    """One grading of one candidate, as found in one input."""

    candidate: str
    source: str
    evidence_dir: str | None
    state: SubmissionState | None = None
    graded_at: float = 0.0
    outcome: str = "graded"

    @property
    def done(self) -> bool:
        return self.evidence_dir is not None and self.outcome != "failed"

    @property
    def graded_every_stage(self) -> bool:
        """False when the grader's environment kept a stage from running (as far as the state file tells)."""
        return not (self.state and self.state.score and self.state.score.environment)

    @property
    def content(self) -> str | None:
        return self.state.submission_sha256 if self.state else None

    @property
    def grading(self) -> str | None:
        return self.state.grading_fingerprint if self.state else None

    @property
    def grader(self) -> str | None:
        return self.state.grader_fingerprint or None if self.state else None


class Conflict(BaseModel):
    candidate: str
    kind: str  # duplicate (same submission and grader), conflict (different ones), or unknown
    kept: str
    dropped: list[str]
    detail: str


class MergeReport(BaseModel):
    """merge.json: where every kept grading came from, and every duplicate or conflict."""

    schema_version: str = MERGE_SCHEMA
    merged_at: float = Field(default_factory=now)
    inputs: list[str]
    kept: dict[str, str] = Field(default_factory=dict)
    failed: dict[str, str] = Field(default_factory=dict)
    conflicts: list[Conflict] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)

    def markdown(self, states: dict[str, SubmissionState]) -> str:
        """The merged leaderboard as Markdown (for a CI job's step summary)."""
        merged = f"{len(self.kept)} candidate(s) merged from {len(self.inputs)} input(s)."
        lines = [
            "# Cohort leaderboard",
            "",
            merged,
            "",
            "| candidate | total | bonus | verdict | red flags | graded on |",
            "|---|---|---|---|---|---|",
        ]

        def total(candidate: str) -> float:
            state = states.get(candidate)
            return state.score.total if state and state.score else -1.0

        for candidate in sorted(self.kept, key=total, reverse=True):
            state = states.get(candidate)
            s = state.score if state else None
            lines.append(
                f"| {candidate} | {f'{s.total:g}' if s else '-'} | {f'{s.bonus:g}' if s else '-'} | "
                f"{s.verdict if s else '-'} | {', '.join(s.red_flags) if s and s.red_flags else '-'} | "
                f"{state.host if state else '-'} |"
            )
        for candidate, reason in self.failed.items():
            lines.append(f"| {candidate} | - | - | not graded | - | {reason[:200]} |")
        if self.conflicts or self.warnings:
            lines += ["", "## Duplicates and conflicts", ""]
            lines += [f"- **{c.candidate}** ({c.kind}): {c.detail}" for c in self.conflicts]
            lines += [f"- {warning}" for warning in self.warnings]
        return "\n".join(lines) + "\n"


def _from_cohort(folder: Path) -> list[Found]:
    layout = CohortLayout(folder)
    found = []
    for candidate, state in read_states(layout).items():
        evidence = layout.evidence_dir(candidate)
        has_evidence = (evidence / "evidence.json").is_file()
        found.append(
            Found(
                candidate=candidate,
                source=str(folder),
                state=state,
                graded_at=state.finished_at,
                evidence_dir=str(evidence) if has_evidence else None,
                outcome=state.outcome if has_evidence else "failed",
            )
        )
    return found


def _from_single(folder: Path) -> Found:
    document = load_evidence(folder)
    return Found(
        candidate=str(document["candidate"]),
        source=str(folder),
        evidence_dir=str(folder),
        graded_at=float(document.get("graded_at_unix") or 0.0),
    )


def collect(inputs: list[Path]) -> list[Found]:
    """Every grading in the inputs (a cohort folder, a graded folder, or a folder of either)."""
    found: list[Found] = []
    for folder in inputs:
        if not folder.is_dir():
            raise BadInput(f"{folder} is not a folder")
        children = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
        if CohortLayout(folder).is_cohort():
            found += _from_cohort(folder)
        elif (folder / "evidence.json").is_file():
            found.append(_from_single(folder))
        elif any(CohortLayout(c).is_cohort() or (c / "evidence.json").is_file() for c in children):
            found += collect([c for c in children if CohortLayout(c).is_cohort() or (c / "evidence.json").is_file()])
        else:
            raise BadInput(
                f"{folder} holds no graded submission: give REPORTS folders of `grader grade`, "
                "folders `grader grade --candidate` wrote, or folders of them"
            )
    return found


def _choose(candidate: str, gradings: list[Found]) -> tuple[Found, Conflict | None]:
    # A machine that could run every stage beats a newer one whose environment could not.
    ranked = sorted(gradings, key=lambda f: (f.done, f.graded_every_stage, f.graded_at), reverse=True)
    kept, dropped = ranked[0], ranked[1:]
    if not dropped:
        return kept, None
    contents = {f.content for f in gradings if f.done}
    graders = {f.grading for f in gradings if f.done}
    if None in contents:
        kind, detail = (
            "unknown",
            (
                "a folder from `grader grade --candidate` keeps no content hash: cannot tell "
                "whether these are the same submission"
            ),
        )
    elif len(contents) > 1:
        kind, detail = "conflict", f"graded with {len(contents)} different submissions (content hashes differ)"
    elif len(graders) > 1:
        kind, detail = "conflict", "the same submission graded by different grader versions or settings"
    else:
        kind, detail = "duplicate", "the same submission graded twice with the same grader"
    preferred = kept.graded_every_stage and not all(f.graded_every_stage for f in gradings)
    detail += f"; kept the newest finished grading{' that graded every stage' if preferred else ''}, from {kept.source}"
    return kept, Conflict(
        candidate=candidate, kind=kind, kept=kept.source, dropped=[f.source for f in dropped], detail=detail
    )


def merge(inputs: list[Path], out: Path, hook: ReportHook, force: bool = False) -> MergeReport:
    """Merge graded results into OUT: evidence, states, re-rendered reports, leaderboard, merge.json."""
    out_resolved = out.resolve()
    if any(out_resolved == i.resolve() or out_resolved.is_relative_to(i.resolve()) for i in inputs):
        raise BadInput(f"--out {out} is (inside) one of the inputs: write the merge elsewhere")
    found = collect(inputs)
    if not found:
        raise BadInput("the inputs hold no graded submission")
    report = MergeReport(inputs=[str(i) for i in inputs])
    scoring = scoring_fingerprint(hook.rubric)
    by_candidate: dict[str, list[Found]] = {}
    for item in found:
        by_candidate.setdefault(item.candidate, []).append(item)
    cards, kept_gradings = [], []
    with atomic_output_dir(out, force) as staging:
        layout = CohortLayout(staging)
        layout.states.mkdir(parents=True)
        for candidate in sorted(by_candidate):
            kept, conflict = _choose(candidate, by_candidate[candidate])
            if conflict:
                report.conflicts.append(conflict)
            if not kept.done or kept.evidence_dir is None:
                report.failed[candidate] = "; ".join(kept.state.reasons if kept.state else [])[:300] or "no evidence"
                continue
            destination = staging / GRADED / candidate
            shutil.copytree(kept.evidence_dir, destination)
            # A hiring decision made on the input travels with it (the report shows it, stale or not).
            for decision in (
                Path(kept.source) / candidate / DECISION_FILE,
                Path(kept.evidence_dir) / "reports" / candidate / DECISION_FILE,
            ):
                if decision.is_file() and not decision.is_symlink():
                    (staging / candidate).mkdir(parents=True, exist_ok=True)
                    shutil.copy2(decision, staging / candidate / DECISION_FILE)
                    break
            card = hook.submission(load_evidence(destination), staging)
            cards.append(card)
            state = kept.state or SubmissionState(
                candidate=candidate,
                folder=kept.source,
                submission_sha256="",
                grading_fingerprint="",
                scoring_fingerprint="",
                outcome="graded",
                started_at=kept.graded_at,
                finished_at=kept.graded_at,
                host="unknown",
            )
            state = state.model_copy(
                update={"scoring_fingerprint": scoring, "score": summarize(card) if card else None}
            )
            write_atomic(layout.state_file(candidate), state.model_dump_json(indent=1) + "\n")
            report.kept[candidate] = kept.source
            kept_gradings.append(kept)
        if len({f.grader for f in kept_gradings} - {None}) > 1:
            report.warnings.append(
                "the kept gradings come from different grader versions or settings "
                "(rows, backend, spec): compare them with care"
            )
        hook.cohort([c for c in cards if c is not None], staging)
        write_atomic(staging / "merge.json", report.model_dump_json(indent=1) + "\n")
        write_atomic(staging / "summary.md", report.markdown(read_states(layout)))
    return report

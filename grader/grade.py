"""Grade one submission: regenerate the candidate's world, run each stage, save evidence.

Every stage only collects evidence; a stage that fails records why and the run goes on.
The key and the holdout labels stay in this process: the sandbox sees the candidate's
packet data and, for scoring, holdout features only.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pydantic import BaseModel, Field

from grader.evidence import Check, StageOutcome
from grader.fsutil import atomic_output_dir
from grader.notebook.audit import AuditEvidence, collect_audit
from grader.notebook.cells import Cell, read_cells
from grader.notebook.execute import GradingFolder, NotebookRun, execute_notebooks, grading_folder, work_base
from grader.notebook.mlflow_store import TrackingStore, prepare_committed_store, read_store
from grader.notebook.modeling import ModelingEvidence, claimed_pr_auc, collect_modeling
from grader.notebook.score import oracle_score, reference_score, score_candidate_model
from grader.sandbox.backends import Backend
from grader.sandbox.owner import remove_orphan_folders, remove_orphans
from grader.sandbox.policy import Policy, load_policy
from grader.serving.evidence import ServingEvidence
from grader.serving.settings import ServingSettings
from grader.serving.stage import run_serving_stage
from grader.submission import Submission, discover
from grader.world.packet import SeededWorld, write_packet
from grader.writeup import WriteupEvidence, collect_writeup

EVIDENCE_SCHEMA = "evidence/1"
INFLATED_CLAIM_RATIO = 1.5
# Committed runs were made on the candidate's own packet, the same data as this run.
REPRODUCED_TOLERANCE = 0.05


class Evidence(BaseModel):
    """Everything the stages collected for one submission (the rubric reads only this)."""

    schema_version: str = EVIDENCE_SCHEMA
    candidate: str
    spec_version: str
    seed_fingerprint: str
    backend: Backend
    graded_at_unix: float
    submission: dict
    stages: dict[str, StageOutcome] = Field(default_factory=dict)
    notebook_run: NotebookRun | None = None
    mlflow: list[TrackingStore] = Field(default_factory=list)
    audit: AuditEvidence | None = None
    modeling: ModelingEvidence | None = None
    serving: ServingEvidence | None = None
    writeup: WriteupEvidence | None = None
    claimed_pr_auc: float | None = None
    executed_notebooks: list[str] = Field(default_factory=list)


Progress = Callable[[str], None]


def _notebook_stage(
    submission: Submission, seeded: SeededWorld, folder: GradingFolder, policy: Policy, backend: Backend, client
) -> tuple[NotebookRun, list[Cell], list[str]]:
    packet = folder.root / "packet"
    write_packet(seeded, packet)
    notebooks = [n.path for n in submission.notebooks if n.valid]
    run = execute_notebooks(submission.root, notebooks, packet / "data", folder, policy, backend, client)
    broken = [f"{n.path} was not run: {n.problem}" for n in submission.notebooks if not n.valid]
    if broken:
        run.outcome.reasons[:0] = broken
        if run.outcome.status in ("ok", "skipped"):
            run.outcome.status = "partial" if notebooks else "failed"
    cells: list[Cell] = []
    problems = []
    for notebook in run.notebooks:
        if notebook.executed_path:
            found, problem = read_cells(Path(notebook.executed_path), notebook.path)
            cells += found
            if problem:
                problems.append(problem)
    return run, cells, problems


def grade_submission(
    submission_dir: Path,
    seeded: SeededWorld,
    out: Path,
    backend: Backend,
    client=None,
    force: bool = False,
    progress: Progress = lambda _stage: None,
    policy: Policy | None = None,
    serving_settings: ServingSettings | None = None,
) -> Evidence:
    """Grade one submission folder into `out` (evidence.json and the executed notebooks)."""
    policy = policy or load_policy()
    world, key = seeded.world, seeded.key
    # What graders killed before they could clean up left here (never a live grader's).
    remove_orphan_folders(work_base())
    if client is not None:
        remove_orphans(client)
    with atomic_output_dir(out, force) as staging, grading_folder() as folder:
        progress("discover")
        submission = discover(submission_dir)
        evidence = Evidence(
            candidate=key.candidate_id,
            spec_version=key.spec_version,
            seed_fingerprint=key.seed_fingerprint,
            backend=backend,
            graded_at_unix=time.time(),
            submission=submission.model_dump(mode="json"),
        )

        progress("notebooks")
        run, cells, problems = _notebook_stage(submission, seeded, folder, policy, backend, client)
        evidence.notebook_run = run
        evidence.stages["notebooks"] = run.outcome
        run.outcome.reasons.extend(problems)
        executed_dir = staging / "notebooks"
        executed_dir.mkdir()
        for notebook in run.notebooks:
            if notebook.executed_path:
                target = executed_dir / Path(notebook.executed_path).name
                shutil.copyfile(notebook.executed_path, target)
                evidence.executed_notebooks.append(f"notebooks/{target.name}")

        progress("mlflow")
        started = time.monotonic()
        # The candidate's code wrote the fresh store: its artifacts are read only where it may write.
        stores = [
            read_store(folder.tracking_uri, "fresh", [folder.mlflow, folder.submission])
            if folder.tracking_db.is_file()
            else TrackingStore(kind="fresh", location=folder.tracking_uri)
        ]
        for committed in submission.mlflow_stores:
            destination = folder.root / f"committed-{len(stores)}"
            destination.mkdir()
            try:
                uri = prepare_committed_store(submission.root / committed.path, destination)
                stores.append(read_store(uri, "committed", [destination]))
            except Exception as exc:  # an unreadable committed store is evidence too
                stores.append(
                    TrackingStore(kind="committed", location=committed.path, error=f"{type(exc).__name__}: {exc}"[:300])
                )
        evidence.mlflow = stores
        fresh_runs = len(stores[0].runs)
        evidence.stages["mlflow"] = StageOutcome(
            status="ok" if fresh_runs else ("partial" if any(s.runs for s in stores) else "failed"),
            reasons=[f"{s.kind} store {s.location}: {s.error}" for s in stores if s.error]
            + [
                f"{s.kind} store: artifacts outside the store not read ({'; '.join(s.outside[:3])})"
                for s in stores
                if s.outside
            ]
            + ([] if fresh_runs else ["this execution logged no MLflow run"]),
            duration_s=round(time.monotonic() - started, 3),
        )

        progress("holdout")
        started = time.monotonic()
        modeling = collect_modeling(cells, stores)
        candidate, report, predictions = None, {"error": "no MLflow run to take a model from"}, None
        # The grader's reference model trains here while the sandbox scores the candidate's.
        with ThreadPoolExecutor(max_workers=1) as pool:
            reference = pool.submit(reference_score, world)
            if fresh_runs:
                candidate, report, predictions = score_candidate_model(
                    world, folder, policy, backend, run.runner_image, client
                )
            modeling.holdout = [s for s in (candidate, reference.result(), oracle_score(world)) if s is not None]
        chosen = report.get("chosen") if isinstance(report.get("chosen"), dict) else {}
        modeling.final_model_uri = chosen.get("uri")
        modeling.final_model_reason = str(report.get("reason", report.get("error", "")))[:300]
        evidence.claimed_pr_auc = claimed_pr_auc(stores, chosen.get("run_id"))
        modeling.checks.append(_claim_check(evidence.claimed_pr_auc, candidate.pr_auc if candidate else None))
        modeling.checks.append(_committed_check(stores))
        evidence.modeling = modeling
        evidence.stages["holdout"] = StageOutcome(
            status="ok" if candidate else "failed",
            duration_s=round(time.monotonic() - started, 3),
            reasons=[] if candidate else [f"the final model could not be scored: {report.get('error')}"],
        )

        progress("serving")
        expected = None
        if predictions is not None:
            spec = world.spec
            rows = zip(world.holdout_features[spec.id_column], world.holdout_features[spec.time_column])
            expected = dict(zip(rows, predictions.tolist()))
        evidence.serving = run_serving_stage(
            folder.submission,
            None,
            world.holdout_features,
            world.holdout_labels,
            expected,
            backend,
            folder.root / "serving",
            policy=policy,
            client=client,
            settings=serving_settings,
        )
        evidence.stages["serving"] = evidence.serving.outcome

        progress("audit")
        signature = report.get("signature_inputs") if isinstance(report.get("signature_inputs"), list) else None
        evidence.audit = collect_audit(cells, key, [str(c) for c in signature] if signature else None)
        evidence.stages["audit"] = StageOutcome(
            status="ok" if cells else "failed", reasons=[] if cells else ["no executed notebook to read"]
        )

        progress("writeup")
        readme = submission.readme
        evidence.writeup = collect_writeup(
            submission.path(readme.path) if readme else None,
            source=readme.path if readme else None,
            key=key,
            audit=evidence.audit,
            modeling=evidence.modeling,
        )
        evidence.stages["writeup"] = evidence.writeup.outcome
        (staging / "evidence.json").write_text(evidence.model_dump_json(indent=1))
    return evidence


def _committed_check(stores: list[TrackingStore]) -> Check:
    """Does this execution reproduce the runs the candidate committed (best logged PR-AUC)?"""
    fresh = [s for s in stores if s.kind == "fresh"]
    committed = [s for s in stores if s.kind == "committed" and s.runs]
    if not committed:
        return Check(id="committed_runs_reproduced", passed=None, detail="no committed MLflow runs to compare")
    now, then = claimed_pr_auc(fresh, None), claimed_pr_auc(committed, None)
    if now is None or then is None:
        return Check(
            id="committed_runs_reproduced",
            passed=None,
            detail="no PR-AUC logged in both the committed and the fresh store",
            figures={"committed_runs": sum(len(s.runs) for s in committed)},
        )
    return Check(
        id="committed_runs_reproduced",
        passed=abs(now - then) <= REPRODUCED_TOLERANCE,
        detail=f"best PR-AUC {then:.3f} committed, {now:.3f} in this run (on this candidate's data)",
        figures={"committed": round(then, 4), "fresh": round(now, 4)},
    )


def _claim_check(claimed: float | None, measured: float | None) -> Check:
    """The candidate's logged PR-AUC against the one measured on the holdout."""
    if claimed is None or not measured:
        return Check(
            id="claim_matches_holdout",
            passed=None,
            detail="no logged PR-AUC to compare" if claimed is None else "the final model was not scored",
        )
    ratio = claimed / measured
    inflated = ratio > INFLATED_CLAIM_RATIO and claimed - measured > 0.1
    return Check(
        id="claim_matches_holdout",
        passed=not inflated,
        detail=(
            f"claimed PR-AUC {claimed:.3f} against {measured:.3f} measured on the holdout"
            + (": inflated" if inflated else "")
        ),
        figures={"claimed": round(claimed, 4), "measured": round(measured, 4), "ratio": round(ratio, 2)},
    )

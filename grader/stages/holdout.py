"""The holdout stage: the candidate's final logged model scored on the hidden holdout, and the
modeling evidence around it (runs, metrics, splits, plots), next to the grader's reference and the oracle."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar

from grader.evidence import Check, StageOutcome
from grader.notebook.mlflow_store import TrackingStore
from grader.notebook.modeling import CHECK_IDS as MODELING_CHECK_IDS
from grader.notebook.modeling import HoldoutScore, claimed_pr_auc, collect_modeling
from grader.notebook.months import month_profile
from grader.notebook.trace import load_executed
from grader.stages.base import Stage, StageName
from grader.stages.context import GradingContext

INFLATED_CLAIM_RATIO = 1.5
# Committed runs were made on the candidate's own packet, the same data as this run.
REPRODUCED_TOLERANCE = 0.05
HOLDOUT_CHECK_IDS = ("claim_matches_holdout", "committed_runs_reproduced", "tuned_beats_baseline")


class HoldoutStage(Stage):
    """Reads the modeling evidence, scores the final model in the sandbox, compares claim and measure."""

    name = StageName.HOLDOUT
    records: ClassVar[frozenset[str]] = frozenset(
        {f"modeling.{check}" for check in (*MODELING_CHECK_IDS, *HOLDOUT_CHECK_IDS)} | {"modeling", "claimed_pr_auc"}
    )

    def run(self, context: GradingContext) -> StageOutcome:
        # Scoring imports LightGBM: only when a stage runs, not when the registry reads declarations.
        from grader.notebook.score import oracle_score, reference_score, score_candidate_baseline, score_candidate_model

        assert context.seeded is not None, "the holdout stage needs the candidate's world"
        started = time.monotonic()
        world, stores = context.seeded.world, context.stores
        fresh_runs = bool(stores and stores[0].runs)
        key = context.seeded.key
        executed, _problem = load_executed(context.folder.executed)
        profile = month_profile(world.train, world.train_is_duplicate, key.grouping.time_column, key.label_column)
        modeling = collect_modeling(
            context.cells, stores, executed, profile, (key.grouping.time_column, key.grouping.group_column)
        )
        report: dict  # the sandbox's scoring report: JSON the candidate's code could shape
        candidate, report, predictions = None, {"error": "no MLflow run to take a model from"}, None
        # The grader's reference model trains here while the sandbox scores the candidate's.
        with ThreadPoolExecutor(max_workers=1) as pool:
            reference = pool.submit(reference_score, world)
            if fresh_runs:
                context.say("scoring the final logged model on the holdout features in the sandbox")
                candidate, report, predictions = score_candidate_model(
                    world, context.folder, context.policy, context.sandbox
                )
            baseline = score_candidate_baseline(world, context.folder, report) if candidate else None
            scores = (candidate, baseline, reference.result(), oracle_score(world))
            modeling.holdout = [s for s in scores if s is not None]
        chosen = report.get("chosen")
        chosen = chosen if isinstance(chosen, dict) else {}
        modeling.final_model_uri = chosen.get("uri")
        modeling.final_model_reason = str(report.get("reason", report.get("error", "")))[:300]
        context.evidence.claimed_pr_auc = claimed_pr_auc(stores, chosen.get("run_id"))
        modeling.checks.append(claim_check(context.evidence.claimed_pr_auc, candidate.pr_auc if candidate else None))
        modeling.checks.append(committed_check(stores))
        modeling.checks.append(baseline_check(candidate, baseline if fresh_runs and candidate else None, report))
        context.evidence.modeling = modeling
        context.scoring_report, context.predictions = report, predictions
        return StageOutcome(
            status="ok" if candidate else "failed",
            duration_s=round(time.monotonic() - started, 3),
            reasons=[] if candidate else [f"the final model could not be scored: {report.get('error')}"],
        )


def committed_check(stores: list[TrackingStore]) -> Check:
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


def claim_check(claimed: float | None, measured: float | None) -> Check:
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


def baseline_check(final: HoldoutScore | None, baseline: HoldoutScore | None, report: dict) -> Check:
    """`tuned_beats_baseline`: the final model against the candidate's own logged baseline, both
    scored on the hidden holdout (not their logged metrics)."""
    if final is None:
        return Check(id="tuned_beats_baseline", passed=None, detail="the final model was not scored")
    if baseline is None:
        found = report.get("baseline") if isinstance(report.get("baseline"), dict) else None
        why = (
            f"the baseline could not be scored ({str(found['error'])[:200]})"
            if found and found.get("error")
            else ("no logged model named like a baseline besides the final one")
        )
        return Check(id="tuned_beats_baseline", passed=None, detail=why)
    if final.pr_auc is None or baseline.pr_auc is None:
        return Check(id="tuned_beats_baseline", passed=None, detail="no holdout PR-AUC for one of the two")
    gain = final.pr_auc - baseline.pr_auc
    return Check(
        id="tuned_beats_baseline",
        passed=gain > 0,
        detail=f"on the hidden holdout the final model reaches PR-AUC {final.pr_auc:.3f}, its baseline "
        f"{baseline.pr_auc:.3f} ({gain:+.3f})",
        figures={"final": round(final.pr_auc, 4), "baseline": round(baseline.pr_auc, 4), "gain": round(gain, 4)},
    )

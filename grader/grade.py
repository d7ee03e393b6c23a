"""Grade one submission: regenerate the candidate's world, run the `GRADE` pipeline, save evidence.

Every stage only collects evidence (`grader.stages`); a stage that fails records why and
the run goes on. The key and the holdout labels stay in this process: the sandbox sees
the candidate's packet data and, for scoring, holdout features only.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

from grader.fsutil import atomic_output_dir
from grader.notebook.execute import grading_folder, work_base
from grader.sandbox.api import Sandbox
from grader.sandbox.owner import remove_orphan_folders, remove_orphans
from grader.sandbox.policy import Policy, load_policy
from grader.serving.settings import ServingSettings
from grader.stages.base import Hooks, NoHooks, StageName
from grader.stages.context import GradingContext, ServingRows
from grader.stages.evidence import EVIDENCE_SCHEMA, Evidence
from grader.stages.pipelines import GRADE, run_pipeline
from grader.submission import discover
from grader.world.packet import SeededWorld
from grader.writeup.settings import JudgeSettings

__all__ = ["EVIDENCE_SCHEMA", "Evidence", "grade_submission"]


def grade_submission(
    submission_dir: Path,
    seeded: SeededWorld,
    out: Path,
    sandbox: Sandbox,
    force: bool = False,
    hooks: Hooks | None = None,
    policy: Policy | None = None,
    serving_settings: ServingSettings | None = None,
    judge: JudgeSettings | None = None,
    cohort_readmes: Mapping[str, str] | None = None,
) -> Evidence:
    """Grade one submission folder into `out` (evidence.json and the executed notebooks).

    `judge` chooses who reads the README (default: the heuristic); `cohort_readmes` are the
    other candidates' READMEs of a cohort, by id, for paragraphs shared between them."""
    hooks = hooks or NoHooks()
    policy = policy or load_policy()
    world, key = seeded.world, seeded.key
    # What graders killed before they could clean up left here (never a live grader's).
    remove_orphan_folders(work_base())
    if sandbox.client is not None:
        remove_orphans(sandbox.client)
    with atomic_output_dir(out, force) as staging, grading_folder() as folder:
        hooks.progress(StageName.DISCOVER, None)
        submission = discover(submission_dir)
        evidence = Evidence(
            candidate=key.candidate_id,
            spec_version=key.spec_version,
            seed_fingerprint=key.seed_fingerprint,
            backend=sandbox.backend,
            graded_at_unix=time.time(),
            submission=submission,
        )
        context = GradingContext(
            submission=submission,
            folder=folder,
            policy=policy,
            sandbox=sandbox,
            evidence=evidence,
            staging=staging,
            seeded=seeded,
            serving_rows=ServingRows(world.holdout_features, world.holdout_labels),
            serving_settings=serving_settings or ServingSettings(),
            hooks=hooks,
            judge=judge or JudgeSettings(),
            cohort_readmes=dict(cohort_readmes or {}),
        )
        run_pipeline(GRADE, context)
        (staging / "evidence.json").write_text(evidence.model_dump_json(indent=1))
    return evidence

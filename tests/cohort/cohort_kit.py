"""Stand-in grade functions for scheduler tests: real processes and files, no notebooks or Docker.

`GradeOne` is the cohort's documented plug point; these stand-ins let the tests crash,
hang or slow down one submission on purpose and watch what the cohort does. Module-level
functions, so a spawned worker can import them. What a submission does is read from a
`behaviour` file in it: `ok` (default), `crash` (the process dies), `hang`, `raise`,
`slow` (3 s), `serve` (1.5 s in the serving stage, timed), `serve-long` (5 s in it), `environment`
(full synthetic evidence whose serving stage the grader's environment stopped), `control` (full
synthetic evidence with control characters in the candidate's text).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from grader.fsutil import atomic_output_dir
from grader.stages.base import StageName


def evidence_document(candidate: str, status: str = "ok") -> dict:
    """The smallest evidence.json the rubric and reports accept (most sections not graded)."""
    return {
        "schema_version": "evidence/1",
        "candidate": candidate,
        "spec_version": "churn-v1",
        "seed_fingerprint": "0" * 16,
        "backend": "local",
        "graded_at_unix": time.time(),
        "submission": {},
        "stages": {"notebooks": {"status": status, "reasons": [] if status == "ok" else ["cell 2 failed"]}},
    }


def synthetic_document(candidate: str, behaviour: str) -> dict:
    """The rubric tests' synthetic evidence, for the behaviours that need a whole evidence.json."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rubric"))
    from synthetic import ENVIRONMENT, perfect, serving_stopped, with_control_characters

    if behaviour == "environment":
        return serving_stopped(perfect(candidate), "base image python:3.12-slim is not available", ENVIRONMENT)
    return with_control_characters(perfect(candidate))


def stand_in_grade(job, hooks) -> dict:
    behaviour_file = job.submission / "behaviour"
    behaviour = behaviour_file.read_text().strip() if behaviour_file.is_file() else "ok"
    hooks.progress(StageName.NOTEBOOKS)
    if behaviour == "crash":
        os._exit(9)
    if behaviour == "hang":
        time.sleep(3600)
    if behaviour == "raise":
        raise RuntimeError("a grader bug")
    time.sleep(3.0 if behaviour == "slow" else 0.2)
    hooks.progress(StageName.SERVING)
    if behaviour in ("serve", "serve-long"):
        with hooks.exclusive():
            started = time.time()
            time.sleep(1.5 if behaviour == "serve" else 5.0)
            with open(job.reports_dir / "serving-times.txt", "a") as times:
                times.write(f"{job.candidate} {started} {time.time()}\n")
    if behaviour in ("environment", "control"):
        document = synthetic_document(job.candidate, behaviour)
    else:
        document = evidence_document(job.candidate, "partial" if behaviour == "partial" else "ok")
    with atomic_output_dir(job.evidence_dir, force=True) as staging:
        (staging / "evidence.json").write_text(json.dumps(document))
    return document


def make_submissions(root: Path, behaviours: dict[str, str]) -> Path:
    """A cohort folder: one folder per candidate with a notebook stub and its behaviour."""
    for candidate, behaviour in behaviours.items():
        folder = root / candidate
        folder.mkdir(parents=True)
        (folder / "behaviour").write_text(behaviour)
        (folder / "analysis.ipynb").write_text("{}")
    return root

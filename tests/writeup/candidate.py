"""A thorough candidate's evidence on a real generated world, in the shape the stages record it.

The audit quotes are the lines the strong reference notebook prints (its format, with this
world's true figures), the modeling evidence is `perfect()`'s, and the MLflow store holds
the final model's run with its logged metrics: what a README's numbers are held to.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rubric"))
from synthetic import perfect

SAMPLES = Path(__file__).resolve().parent / "samples"
LOGGED = {"pr_auc": 0.2434, "ece": 0.0075, "brier": 0.0386, "top_decile_lift": 4.19, "roc_auc": 0.77}


def audit_lines(key) -> dict[str, str]:
    """What the strong reference's audit prints for each finding, with this world's truth."""
    drift, mnar = key.covariate_drift[0], key.missing_not_at_random
    rate = sum(key.churn_rate_by_month.values()) / len(key.churn_rate_by_month)
    return {
        "leak_named": (
            f"Leakage: {key.leak.column} — single-feature PR-AUC {key.leak.single_feature_pr_auc:.3f}, far above the "
            f"best honest column ({key.leak.best_honest_column}, {key.leak.best_honest_pr_auc:.3f})."
        ),
        "drift_named": (
            f"Drift: {drift.column} from {drift.from_month} — PSI vs {key.months[0]} is at most 0.01 before "
            f"{drift.from_month} and {drift.psi_first_vs_last:.2f} from {drift.from_month} on (KS up to 0.6)."
        ),
        "mnar_named": (
            f"MNAR: {mnar.column} is missing for {mnar.missing_rate_churners:.1%} of churners vs "
            f"{mnar.missing_rate_stayers:.1%} of stayers: missing not at random."
        ),
        "duplicates_found": f"Duplicates: {key.duplicates.count} exact duplicate rows, an ETL replay.",
        "churn_rate_reported": f"Churn rate: {rate:.2%} overall.",
    }


def strong_work(key) -> dict:
    """Evidence of a thorough notebook on `key`'s world: every check passed, its figures printed and logged."""
    document = perfect(key.candidate_id)
    lines = audit_lines(key)
    for number, check in enumerate(document["audit"]["checks"]):
        if check["id"] in lines:
            check["quotes"] = [{"source": "notebooks/01_audit.ipynb", "cell": number, "text": lines[check["id"]]}]
    document["mlflow"] = [
        {
            "kind": "fresh",
            "location": "sqlite:///mlflow.db",
            "runs": [{"run_id": "run-1", "name": "tuned_lightgbm", "metrics": LOGGED}],
            "models": [{"uri": "models:/m-1", "name": "churn_model", "run_id": "run-1"}],
        }
    ]
    return document


def fill(text: str, key) -> str:
    """A sample README with this world's columns and this candidate's figures in its placeholders."""
    drift = key.covariate_drift[0]
    rate = sum(key.churn_rate_by_month.values()) / len(key.churn_rate_by_month)
    return text.format(
        leak=key.leak.column,
        drift=drift.column,
        drift_month=drift.from_month,
        mnar=key.missing_not_at_random.column,
        concept=key.concept_drift.column,
        psi=f"{drift.psi_first_vs_last:.2f}",
        psi_stable="0.01",
        rate=f"{rate:.1%}",
        pr_auc=f"{LOGGED['pr_auc']:.3f}",
        lift=f"{LOGGED['top_decile_lift']:.2f}",
        ece=f"{LOGGED['ece']}",
        ece_limit="0.02",
    )


def sample(name: str, key=None) -> str:
    text = (SAMPLES / name).read_text()
    return fill(text, key) if key is not None else text


def judging_grade(job, hooks) -> dict:
    """A stand-in GradeOne for cohort runs: judges the submission's README against the cohort's
    READMEs it was handed (the real writeup stage's inputs), on synthetic evidence for the rest."""
    import json

    from grader.fsutil import atomic_output_dir
    from grader.writeup import collect_writeup

    document = perfect(job.candidate)
    others = {c: text for c, text in job.cohort_readmes.items() if c != job.candidate}
    readme = job.submission / "README.md"
    writeup = collect_writeup(readme if readme.is_file() else None, source="README.md", cohort_readmes=others)
    document["writeup"] = writeup.model_dump(mode="json")
    with atomic_output_dir(job.evidence_dir, force=True) as staging:
        (staging / "evidence.json").write_text(json.dumps(document))
    return document

"""Synthetic evidence documents for rubric and report tests: every check, in the shape of evidence.json.

`perfect()` passes every check the shipped rubric reads; tests flip what they study with
`set_check`. The documents validate as `grader.grade.Evidence` (plus a `writeup` key).
"""

from __future__ import annotations

import copy
from typing import Any

from grader.writeup import parse
from grader.writeup.collect import review_items
from grader.writeup.evidence import CONCEPTS, CONSISTENCY_TOPICS

AUDIT_IDS = (
    "leak_named",
    "leak_excluded",
    "drift_named",
    "drift_month",
    "concept_drift_named",
    "mnar_named",
    "duplicates_found",
    "duplicates_count",
    "churn_rate_reported",
    "label_window_checked",
    "grouping_noted",
    "duplicates_checked",
    "missingness_by_label",
    "drift_statistic",
    "single_feature_ranking",
    "rate_by_month",
)
MODELING_IDS = (
    "mlflow_runs",
    "baseline_run",
    "tuned_run",
    "model_logged",
    "model_signature",
    "pr_auc_used",
    "brier_logged",
    "calibration_metric_logged",
    "time_split",
    "group_split",
    "calibrated_model",
    "class_imbalance_handled",
    "hyperparameter_search",
    "calibration_plot",
    "pr_curve",
    "lift_table",
    "evaluation_artifacts_logged",
    "claim_matches_holdout",
)
MODELING_PROBLEMS = ("roc_auc_only", "random_split")
SERVING_IDS = (
    "dockerfile.present",
    "dockerfile.base_pinned",
    "dockerfile.non_root_user",
    "dockerfile.healthcheck",
    "dockerfile.requirements_pinned",
    "dockerfile.dockerignore",
    "dockerfile.no_baked_data",
    "dockerfile.no_baked_secrets",
    "dockerfile.dependency_layer_cached",
    "build.succeeded",
    "run.healthy",
    "run.health_route",
    "contract.prediction_route",
    "contract.fields_mapped",
    "contract.returns_probabilities",
    "contract.batch_supported",
    "quality.holdout_scored",
    "quality.ranks",
    "correctness.probabilities_in_range",
    "correctness.deterministic",
    "correctness.matches_logged_model",
    "correctness.leak_ignored",
    "bad_input.no_5xx",
    "bad_input.handled",
    "bad_input.still_healthy",
    "load.no_errors",
    "run.survived",
    "run.non_root",
)
WRITEUP_PROBLEMS = ("roc_auc_headline", "promotes_on_offline_metric", "deployment_disowned")


def check(
    check_id: str, passed: bool | None = True, detail: str = "", quotes: list[dict] | None = None, **figures: Any
) -> dict:
    return {
        "id": check_id,
        "passed": passed,
        "detail": detail or f"{check_id} {'passed' if passed else 'failed'}",
        "quotes": quotes or [],
        "figures": figures,
    }


def holdout(who: str, pr_auc: float, ece: float, lift: float) -> dict:
    curve = [[0.01 * (i + 1), 0.01 * (i + 1)] for i in range(10)]
    return {
        "who": who,
        "rows": 3000,
        "pr_auc": pr_auc,
        "roc_auc": 0.8,
        "brier": 0.035,
        "expected_calibration_error": ece,
        "top_decile_lift": lift,
        "lift_by_decile": [lift, 1.8, 1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3],
        "calibration_curve": curve,
        "note": "",
    }


def load_profile() -> dict:
    steps = []
    for rate, p99 in ((50.0, 6.0), (100.0, 7.0), (250.0, 9.0), (500.0, 12.0)):
        steps.append(
            {
                "rate": rate,
                "duration_s": 3.0,
                "warmup_s": 1.0,
                "timeout_s": 2.0,
                "sent": 100,
                "warmup_sent": 10,
                "measured": 90,
                "ok": 90,
                "errors": 0,
                "timeouts": 0,
                "connection_errors": 0,
                "status_counts": {"200": 90},
                "p50_ms": p99 / 3,
                "p95_ms": p99 / 1.5,
                "p99_ms": p99,
                "max_ms": p99 * 2,
                "dispatch_lag_p50_ms": 0.5,
                "dispatch_lag_p99_ms": 1.0,
                "dispatch_lag_max_ms": 2.0,
                "dispatch_lag_allowed_ms": 5.0,
                "max_in_flight": 2,
                "connection_limit": 256,
                "actual_duration_s": 3.0,
                "valid": True,
                "invalid_reason": None,
            }
        )
    return {"steps": steps}


def quality(rows_per_s: float = 5000.0, top_answer_share: float = 0.002, answers_std: float = 0.05) -> dict:
    """The holdout scored through the API: how fast, and how much the served probabilities vary."""
    return {
        "rows_total": 3000,
        "rows_sent": 3000,
        "rows_scored": 3000,
        "rows_failed": 0,
        "mode": "batch",
        "batch_size": 256,
        "seconds": round(3000 / rows_per_s, 3),
        "rows_per_s": rows_per_s,
        "metrics": {"pr_auc": 0.22, "positive_rate": 0.04},
        "distinct_answers": 2900,
        "top_answer_share": top_answer_share,
        "answers_std": answers_std,
    }


def writeup(strength: float = 1.0) -> dict:
    checks = [check("length", True, words=520, brief=500)]
    checks += [
        check(
            f"covers.{c}",
            strength >= 0.5,
            strength=strength,
            sentences=1,
            quotes=[{"source": "README.md", "line": 3, "text": f"we watch {c} weekly at 0.1"}],
        )
        for c in CONCEPTS
    ]
    checks += [
        check("prose", True, share=1.0),
        check("specificity", True, share=0.6, score=1.0),
        check("originality", True, share=1.0),
        check("own_data", True, score=1.0),
        check("consistency", True, score=1.0, claims=3, held=3, contradicted=0),
    ]
    checks += [check(f"consistency.{t}", True) for t in CONSISTENCY_TOPICS]
    checks += [check("monitoring_plan", True), check("online_evaluation", True)]
    checks += [check(c, False) for c in WRITEUP_PROBLEMS]
    return {
        "schema_version": "writeup/1",
        "source": "README.md",
        "judge": "synthetic",
        "words": 520,
        "outcome": {"status": "ok", "reasons": [], "duration_s": 0.0, "backend": None},
        "checks": checks,
    }


def perfect(candidate: str = "cand-1") -> dict:
    """Evidence that earns every point of the shipped rubric."""
    audit = [
        check(
            i, True, quotes=[{"source": "notebooks/01_audit.ipynb", "cell": n, "line": None, "text": f"finding: {i}"}]
        )
        for n, i in enumerate(AUDIT_IDS)
    ]
    # No problem pinned on many honest columns (`blanket_flagging` passes when one is).
    audit.append(check("blanket_flagging", False, leak=0, drift=1, concept_drift=0, mnar=0, columns=40, share=0.026))
    modeling = [check(i, True) for i in MODELING_IDS] + [check(i, False) for i in MODELING_PROBLEMS]
    modeling[MODELING_IDS.index("evaluation_artifacts_logged")]["detail"] = "calibration.png, pr_curve.png, lift.csv"
    claim = modeling[MODELING_IDS.index("claim_matches_holdout")]
    claim["figures"] = {"claimed": 0.23, "measured": 0.22, "ratio": 1.05}
    return {
        "schema_version": "evidence/1",
        "candidate": candidate,
        "spec_version": "churn-v1",
        "seed_fingerprint": "abc123",
        "backend": "docker",
        "graded_at_unix": 1_790_000_000.0,
        "submission": {
            "root": "/submissions/x",
            "dockerfile": {"path": "Dockerfile"},
            "service": {"path": "app/main.py", "framework": "fastapi"},
            "readme": {"path": "README.md", "size_bytes": 3000, "words": 520},
        },
        "stages": {
            "notebooks": {"status": "ok", "reasons": [], "duration_s": 1.0, "backend": "docker"},
            "audit": {"status": "ok", "reasons": [], "duration_s": 0.0, "backend": None},
        },
        "audit": {"checks": audit, "false_leak_claims": [], "false_drift_claims": []},
        "modeling": {
            "checks": modeling,
            "baseline_runs": ["baseline"],
            "tuned_runs": ["tuned"],
            "metric_names": ["pr_auc"],
            "holdout": [
                holdout("candidate's logged model", 0.22, 0.005, 4.8),
                holdout("grader reference (LightGBM, honest columns)", 0.16, 0.011, 3.9),
                holdout("oracle (true probabilities)", 0.22, 0.004, 5.0),
            ],
            "final_model_uri": "models:/m-1",
            "final_model_reason": "the only model",
        },
        "serving": {
            "schema_version": "1",
            "backend": "docker",
            "run_id": "synthetic",
            "outcome": {"status": "ok", "reasons": [], "duration_s": 10.0, "backend": "docker"},
            "contract": {"route": {"path": "/predict", "shape": "record", "free_form": False}},
            "quality": quality(),
            "load": {
                "url": "http://x/predict",
                "rates": [50, 100, 250, 500],
                "step_duration_s": 3.0,
                "warmup_s": 1.0,
                "bodies": 10,
                "profile": load_profile(),
            },
            "checks": [check(i, True) for i in SERVING_IDS],
        },
        "writeup": writeup(),
        "claimed_pr_auc": 0.23,
    }


def _checks(document: dict, section: str) -> list[dict]:
    return document[section]["checks"]


def set_check(document: dict, path: str, passed: bool | None, **figures: Any) -> dict:
    """A copy of `document` with the check at `section.check_id` set (added when absent)."""
    changed = copy.deepcopy(document)
    section, check_id = path.split(".", 1)
    checks = _checks(changed, section)
    found = next((c for c in checks if c["id"] == check_id), None)
    if found is None:
        found = check(check_id, passed)
        checks.append(found)
    found["passed"] = passed
    found["detail"] = f"{check_id} set to {passed}"
    found["figures"].update(figures)
    return changed


def without(document: dict, key: str) -> dict:
    changed = copy.deepcopy(document)
    changed[key] = None
    return changed


# What the serving stage records when the grader's engine has no way to get the base image.
ENVIRONMENT = (
    "base image python:3.12-slim is not on this engine and no registry answers: pre-pull it "
    "(docker pull, or docker save | docker load from a machine with access) or configure a registry mirror"
)


def serving_stopped(
    document: dict, reason: str, environment: str | None = None, kept: tuple[str, ...] = ("dockerfile.",)
) -> dict:
    """A copy whose serving stage stopped early, keeping only the checks whose ids start with `kept`;
    the outcome lands in both places evidence.json holds it (`stages.serving` and `serving.outcome`)."""
    changed = copy.deepcopy(document)
    serving = changed["serving"]
    serving["checks"] = [c for c in serving["checks"] if c["id"].startswith(kept)]
    serving["checks"].append(check("build.succeeded", None if environment else False, reason))
    serving["load"] = serving["quality"] = None  # neither holdout scoring nor the load probe ran
    # As the serving stage records it: the environment problem is among the reasons too.
    serving["outcome"] = {
        "status": "failed",
        "reasons": [reason] + ([environment] if environment else []),
        "duration_s": 1.0,
        "backend": "docker",
        "environment": environment,
    }
    changed["stages"]["serving"] = copy.deepcopy(serving["outcome"])
    return changed


# Candidate text as it reaches evidence: a UTF-16 README read as UTF-8 (NULs between the letters),
# terminal escape sequences, a bell, a carriage return, a C1 control.
UTF16_AS_UTF8 = "w\x00e\x00 \x00w\x00a\x00t\x00c\x00h\x00 \x00d\x00r\x00i\x00f\x00t\x00"
ESCAPES = "\x1b[31mred\x1b[0m \x1b]0;owned\x07 \x1b[2J cleared\r overwritten \x9b31m c1"


def with_control_characters(document: dict) -> dict:
    """A copy with control characters in every kind of candidate text a report shows."""
    changed = copy.deepcopy(document)
    changed["audit"]["checks"][0]["quotes"] = [
        {
            "source": "notebooks/01\x00audit.ipynb",
            "cell": 0,
            "line": None,
            "text": f"finding: {UTF16_AS_UTF8} {ESCAPES}",
        }
    ]
    changed["audit"]["checks"][0]["detail"] = f"leak named {ESCAPES}"
    changed["writeup"]["checks"][1]["quotes"] = [{"source": "README.md", "line": 3, "text": UTF16_AS_UTF8}]
    changed["stages"]["notebooks"] = {
        "status": "partial",
        "reasons": [f"cell 3 printed {ESCAPES}\x00"],
        "duration_s": 1.0,
        "backend": "docker",
    }
    changed = set_check(changed, "modeling.baseline_run", False)  # a raised flag: its detail is shown too
    changed["modeling"]["checks"][1]["detail"] = f"no baseline {ESCAPES}"
    return changed


# A README sentence that once raised deployment_not_my_problem from wording alone (issue 16).
PLATFORM_SENTENCE = "Deployment goes through the platform team's Kubernetes cluster, and I own the on-call rotation."


def with_review(document: dict, sentence: str = PLATFORM_SENTENCE) -> dict:
    """A copy whose README holds `sentence`, its review items recorded as the writeup stage records them."""
    changed = copy.deepcopy(document)
    items = review_items(parse(sentence + "\n"))
    assert items, f"no review item for {sentence!r}"
    changed["writeup"]["review"] = [item.model_dump(mode="json") for item in items]
    return changed

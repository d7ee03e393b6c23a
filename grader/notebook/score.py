"""Score models on the hidden holdout: the candidate's (in the sandbox), the grader's own
reference model, and the oracle. Holdout labels never leave this process."""

from __future__ import annotations

import json

import lightgbm as lgb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from sklearn.metrics import roc_auc_score

from grader import metrics
from grader.notebook.execute import GradingFolder, runner_spec
from grader.notebook.modeling import HoldoutScore
from grader.sandbox.api import Mount, Sandbox
from grader.sandbox.policy import Policy
from grader.world.build import World

MAX_SCORE_JSON_BYTES = 2 * 1024**2
# Training rows handed to the sandbox's sensitivity pass, and the share of the scoring time it may use.
REFERENCE_ROWS = 5000
SENSITIVITY_SHARE = 0.4


def holdout_score(who: str, labels: np.ndarray, predictions: np.ndarray, note: str = "") -> HoldoutScore:
    """Every holdout figure the report shows for one set of predictions."""
    labels = np.asarray(labels, dtype=np.int64)
    predictions = np.asarray(predictions, dtype=np.float64)
    ranking = np.nan_to_num(predictions, nan=-np.inf)
    is_probability = bool(np.all(np.isfinite(predictions)) and predictions.min() >= 0 and predictions.max() <= 1)
    order = np.argsort(predictions, kind="stable")
    curve = [(float(predictions[c].mean()), float(labels[c].mean())) for c in np.array_split(order, 10) if len(c)]
    return HoldoutScore(
        who=who,
        rows=len(labels),
        pr_auc=metrics.average_precision(labels, ranking),
        roc_auc=float(roc_auc_score(labels, np.nan_to_num(predictions, nan=-1e12))),
        brier=metrics.brier(labels, predictions) if is_probability else None,
        expected_calibration_error=metrics.expected_calibration_error(labels, predictions) if is_probability else None,
        top_decile_lift=metrics.lift_by_decile(labels, ranking)[0],
        lift_by_decile=metrics.lift_by_decile(labels, ranking),
        calibration_curve=curve if is_probability else [],
        pr_curve=metrics.pr_curve_points(labels, ranking),
        note=note
        if is_probability
        else (note + " predictions are not probabilities: calibration not computed").strip(),
    )


def reference_score(world: World) -> HoldoutScore:
    """The grader's own honest model (fixed recipe) on the holdout: a realistic bar."""
    spec = world.spec
    columns = [c for c in world.feature_columns if c != world.choices.leak_column]
    train = world.train.drop_duplicates()
    x_train, x_holdout = train[columns].copy(), world.holdout_features[columns].copy()
    for column in columns:
        if x_train[column].dtype == object:
            categories = sorted(x_train[column].dropna().unique())
            x_train[column] = pd.Categorical(x_train[column], categories=categories)
            x_holdout[column] = pd.Categorical(x_holdout[column], categories=categories)
    model = lgb.LGBMClassifier(
        n_estimators=120,
        learning_rate=0.08,
        num_leaves=31,
        min_child_samples=50,
        max_bin=63,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.8,
        random_state=0,
        verbose=-1,
        n_jobs=2,
    )
    model.fit(x_train, train[spec.label_column])
    labels = world.holdout_labels[spec.label_column].to_numpy()
    return holdout_score(
        "grader reference (LightGBM, honest columns)", labels, np.asarray(model.predict_proba(x_holdout))[:, 1]
    )


def oracle_score(world: World) -> HoldoutScore:
    labels = world.holdout_labels
    return holdout_score(
        "oracle (true probabilities)", labels[world.spec.label_column].to_numpy(), labels["true_probability"].to_numpy()
    )


def score_candidate_model(
    world: World, folder: GradingFolder, policy: Policy, sandbox: Sandbox
) -> tuple[HoldoutScore | None, dict, np.ndarray | None]:
    """Send holdout features into the sandbox, read predictions back, score them here.

    The model runs on what the notebooks ran on (`folder.runner`). Returns the score, the
    sandbox's account of which model it ran, and the predictions (row-aligned with the
    holdout) for the serving stage's skew check."""
    if folder.runner is None:
        return None, {"error": "the notebooks did not run, so there is no runner to score their model with"}, None
    holdout_dir = folder.root / "holdout-features"
    out = folder.root / "scored"
    holdout_dir.mkdir(exist_ok=True)
    out.mkdir(exist_ok=True)
    features = holdout_dir / "features.parquet"
    world.holdout_features.to_parquet(features, index=False)
    # Training rows from the candidate's own packet (no label) for the sensitivity pass: every
    # column is replaced in turn by values from its training distribution, so the sandbox is never
    # told which column the grader cares about.
    reference = holdout_dir / "reference.parquet"
    shared = [c for c in world.holdout_features.columns if c in world.train.columns]
    world.train[shared].sample(n=min(REFERENCE_ROWS, len(world.train)), random_state=0).to_parquet(
        reference, index=False
    )
    # MLflow writes next to the artifacts it loads, so the (copied) submission stays writable.
    mounts = [
        Mount(path=folder.submission, read_only=False),
        Mount(path=holdout_dir, read_only=True),
        Mount(path=folder.mlflow, read_only=False),
        Mount(path=out, read_only=False),
    ]
    timeout_s = policy.notebook.scoring_timeout_s
    args = ["--tracking-uri", folder.tracking_uri, "--features", str(features), "--out", str(out)]
    args += ["--reference", str(reference), "--sensitivity-budget-s", str(round(timeout_s * SENSITIVITY_SHARE))]
    result = sandbox.run(runner_spec(folder.runner, "score_model.py", args, mounts, folder, policy.notebook, timeout_s))
    report: dict = {}
    report_file = out / "score.json"
    if report_file.is_file() and report_file.stat().st_size <= MAX_SCORE_JSON_BYTES:
        try:
            loaded = json.loads(report_file.read_text())
            report = loaded if isinstance(loaded, dict) else {}
        except ValueError:
            report = {}
    report.pop("traceback", None)
    if result.timed_out:
        report["error"] = f"scoring stopped at the {timeout_s} s scoring limit"
    elif result.stopped:
        report["error"] = f"scoring: {result.stopped}"
    elif result.oom_killed:
        report["error"] = f"scoring ran out of memory: limit of {policy.notebook.memory_mb} MB reached (OOM-killed)"
    predictions_file = out / "predictions.parquet"
    if report.get("error") or not predictions_file.is_file():
        report.setdefault("error", "the model produced no predictions")
        return None, report, None
    labels = world.holdout_labels[world.spec.label_column].to_numpy()
    try:
        # The sandbox wrote this file: its row count is checked before a single row is decoded.
        rows = pq.ParquetFile(predictions_file).metadata.num_rows
        if rows != len(labels):
            report["error"] = f"{rows} predictions for {len(labels)} holdout rows"
            return None, report, None
        predictions = pd.read_parquet(predictions_file, columns=["prediction"])["prediction"].to_numpy(dtype=float)
    except Exception as exc:
        report["error"] = f"unreadable predictions: {type(exc).__name__}"
        return None, report, None
    note = f"model {report.get('chosen', {}).get('uri', '?')} ({report.get('reason', '')})"
    return holdout_score("candidate's logged model", labels, predictions, note), report, predictions


def score_candidate_baseline(world: World, folder: GradingFolder, report: dict) -> HoldoutScore | None:
    """The candidate's logged baseline (score_model.py's `baseline`) on the holdout, when it was scored."""
    baseline = report.get("baseline") if isinstance(report.get("baseline"), dict) else None
    path = folder.root / "scored" / "baseline.parquet"
    if baseline is None or baseline.get("error") or not path.is_file():
        return None
    labels = world.holdout_labels[world.spec.label_column].to_numpy()
    try:
        if pq.ParquetFile(path).metadata.num_rows != len(labels):
            return None
        predictions = pd.read_parquet(path, columns=["prediction"])["prediction"].to_numpy(dtype=float)
    except Exception:
        return None
    chosen = baseline.get("chosen") if isinstance(baseline.get("chosen"), dict) else {}
    return holdout_score(BASELINE_WHO, labels, predictions, f"model {chosen.get('uri', '?')}")


# Not "candidate..." : rubric paths pick the final model by that prefix (grader/rubric/paths.py).
BASELINE_WHO = "baseline: the candidate's logged baseline model"

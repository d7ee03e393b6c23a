"""Score a candidate's logged MLflow model on holdout features, inside the sandbox.

Standalone: runs in the runner image next to the candidate's own packages. It sees the
holdout *features* only (labels never enter the sandbox), picks the candidate's final
model from their MLflow store, and writes one prediction per row plus a JSON account of
which model it chose and why. The grader treats both files as untrusted.

    python score_model.py --tracking-uri URI --features F.parquet --out DIR
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import traceback
from pathlib import Path

import numpy as np
import pandas as pd

FINAL_WORDS = re.compile(r"final|tuned|calibrat|best|champion|prod|lgbm|lightgbm|xgb|gbm", re.I)
BASELINE_WORDS = re.compile(r"baseline|logreg|logistic|dummy|simple", re.I)


def _candidates(mlflow) -> list[dict]:
    """Every model the store knows: registered versions, logged models, run artifacts."""
    client = mlflow.MlflowClient()
    found: list[dict] = []
    try:
        for registered in client.search_registered_models():
            for version in client.search_model_versions(f"name='{registered.name}'"):
                found.append({"uri": f"models:/{registered.name}/{version.version}", "label": registered.name,
                              "source": "registry", "created": int(version.creation_timestamp or 0),
                              "run_id": version.run_id})
    except Exception:  # an old or partial store: fall through to the other sources
        pass
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs = {}
    if experiments:
        for run in client.search_runs(experiments, max_results=2000):
            runs[run.info.run_id] = run
    try:
        for model in mlflow.search_logged_models(experiment_ids=experiments, output_format="list"):
            run = runs.get(model.source_run_id)
            label = " ".join(filter(None, [model.name, run.info.run_name if run else None]))
            found.append({"uri": f"models:/{model.model_id}", "label": label, "source": "logged_model",
                          "created": int(model.creation_timestamp or 0), "run_id": model.source_run_id})
    except Exception:
        pass
    if not any(c["source"] == "logged_model" for c in found):
        # MLflow 2 layout: models are MLmodel folders among a run's artifacts.
        for run_id, run in runs.items():
            try:
                for artifact in client.list_artifacts(run_id):
                    if artifact.is_dir and any(a.path.endswith("MLmodel") for a in client.list_artifacts(run_id, artifact.path)):
                        found.append({"uri": f"runs:/{run_id}/{artifact.path}", "label": f"{run.info.run_name} {artifact.path}",
                                      "source": "run_artifact", "created": int(run.info.start_time or 0), "run_id": run_id})
            except Exception:
                continue
    return found


def choose(found: list[dict]) -> tuple[dict | None, str]:
    if not found:
        return None, "no model was logged to MLflow"
    registry = [c for c in found if c["source"] == "registry"]
    if registry:
        return max(registry, key=lambda c: c["created"]), "the latest registered model version"
    named = [c for c in found if FINAL_WORDS.search(c["label"]) and not BASELINE_WORDS.search(c["label"])]
    if named:
        return max(named, key=lambda c: c["created"]), "the latest model named like a final/tuned model"
    not_baseline = [c for c in found if not BASELINE_WORDS.search(c["label"])]
    if not_baseline:
        return max(not_baseline, key=lambda c: c["created"]), "the latest logged model not named baseline"
    return max(found, key=lambda c: c["created"]), "the latest logged model (only baselines were logged)"


def _as_scores(raw) -> np.ndarray:
    values = raw.to_numpy() if hasattr(raw, "to_numpy") else np.asarray(raw)
    if values.ndim == 2:
        values = values[:, -1]
    return values.astype(float)


def predict(mlflow, uri: str, features: pd.DataFrame) -> tuple[np.ndarray, dict]:
    info = mlflow.models.get_model_info(uri)
    flavors = sorted(info.flavors)
    detail: dict = {"flavors": flavors}
    inputs = info.signature.inputs.input_names() if info.signature is not None else None
    if inputs:
        missing = [c for c in inputs if c not in features.columns]
        detail["signature_inputs"] = inputs
        detail["missing_inputs"] = missing
        frame = features[[c for c in inputs if c in features.columns]]
    else:
        frame = features
    for flavor in ("sklearn", "lightgbm", "xgboost"):
        if flavor in info.flavors:
            model = getattr(mlflow, flavor).load_model(uri)
            if hasattr(model, "predict_proba"):
                detail["method"] = f"{flavor}.predict_proba"
                return _as_scores(model.predict_proba(frame)), detail
    detail["method"] = "pyfunc.predict"
    return _as_scores(mlflow.pyfunc.load_model(uri).predict(frame)), detail


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    report: dict = {"tracking_uri": args.tracking_uri}
    try:
        import mlflow

        mlflow.set_tracking_uri(args.tracking_uri)
        found = _candidates(mlflow)
        chosen, reason = choose(found)
        report.update(candidates=found, chosen=chosen, reason=reason)
        if chosen is not None:
            features = pd.read_parquet(args.features)
            scores, detail = predict(mlflow, chosen["uri"], features)
            report.update(detail)
            if len(scores) != len(features):
                raise ValueError(f"model returned {len(scores)} predictions for {len(features)} rows")
            labels_only = bool(np.isin(np.unique(scores[np.isfinite(scores)]), [0.0, 1.0]).all())
            report["output_kind"] = "labels" if labels_only else "scores"
            pd.DataFrame({"prediction": scores}).to_parquet(args.out / "predictions.parquet", index=False)
    except Exception as exc:
        report["error"] = f"{type(exc).__name__}: {str(exc)[:1000]}"
        report["traceback"] = traceback.format_exc()[-4000:]
    (args.out / "score.json").write_text(json.dumps(report, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())

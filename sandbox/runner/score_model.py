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
import os
import re
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

FINAL_WORDS = re.compile(r"final|tuned|calibrat|best|champion|prod|lgbm|lightgbm|xgb|gbm", re.I)
BASELINE_WORDS = re.compile(r"baseline|logreg|logistic|dummy|simple", re.I)
# The sensitivity pass: rows of the holdout it rescores per column, and its seed.
SENSITIVITY_ROWS = 2000
SENSITIVITY_SEED = 20261202


def _candidates(mlflow) -> list[dict]:
    """Every model the store knows: registered versions, logged models, run artifacts."""
    client = mlflow.MlflowClient()
    found: list[dict] = []
    try:
        for registered in client.search_registered_models():
            for version in client.search_model_versions(f"name='{registered.name}'"):
                found.append(
                    {
                        "uri": f"models:/{registered.name}/{version.version}",
                        "label": registered.name,
                        "source": "registry",
                        "created": int(version.creation_timestamp or 0),
                        "run_id": version.run_id,
                    }
                )
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
            found.append(
                {
                    "uri": f"models:/{model.model_id}",
                    "label": label,
                    "source": "logged_model",
                    "created": int(model.creation_timestamp or 0),
                    "run_id": model.source_run_id,
                }
            )
    except Exception:
        pass
    if not any(c["source"] == "logged_model" for c in found):
        # MLflow 2 layout: models are MLmodel folders among a run's artifacts.
        for run_id, run in runs.items():
            try:
                for artifact in client.list_artifacts(run_id):
                    if artifact.is_dir and any(
                        a.path.endswith("MLmodel") for a in client.list_artifacts(run_id, artifact.path)
                    ):
                        found.append(
                            {
                                "uri": f"runs:/{run_id}/{artifact.path}",
                                "label": f"{run.info.run_name} {artifact.path}",
                                "source": "run_artifact",
                                "created": int(run.info.start_time or 0),
                                "run_id": run_id,
                            }
                        )
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


def choose_baseline(found: list[dict], final: dict) -> dict | None:
    """The latest model named like a baseline that is not the final one: scored too, so that
    'tuned beats baseline' is measured on the holdout, not read from logged metrics."""
    baselines = [c for c in found if BASELINE_WORDS.search(c["label"]) and c["uri"] != final["uri"]]
    return max(baselines, key=lambda c: c["created"]) if baselines else None


def _as_scores(raw) -> np.ndarray:
    values = raw.to_numpy() if hasattr(raw, "to_numpy") else np.asarray(raw)
    if values.ndim == 2:
        values = values[:, -1]
    return values.astype(float)


def _fitted_inputs(model) -> list[str] | None:
    """The columns a model was fitted on, where it kept them (scikit-learn, LightGBM, XGBoost)."""
    names = getattr(model, "feature_names_in_", None)
    if names is None and callable(getattr(model, "feature_name", None)):  # a LightGBM Booster
        names = model.feature_name()
    if names is None and isinstance(getattr(model, "feature_names", None), list):  # an XGBoost Booster
        names = model.feature_names
    return [str(name) for name in names] if names is not None and len(names) else None


def _select(features: pd.DataFrame, inputs: list[str], detail: dict, source: str) -> pd.DataFrame:
    detail[f"{source}_inputs"] = inputs
    detail["missing_inputs"] = [c for c in inputs if c not in features.columns]
    return features[[c for c in inputs if c in features.columns]]


def load_scorer(mlflow, uri: str, features: pd.DataFrame) -> tuple[Callable[[pd.DataFrame], np.ndarray], dict]:
    """The model at `uri` as a function of a holdout frame, loaded once; and how it takes its inputs."""
    info = mlflow.models.get_model_info(uri)
    flavors = sorted(info.flavors)
    detail: dict = {"flavors": flavors}
    # A signature of an array (a tensor spec) has positions, not column names.
    named = info.signature is not None and info.signature.inputs.has_input_names()
    inputs = info.signature.inputs.input_names() if named else None
    if inputs:
        _select(features, inputs, detail, "signature")
    native, loaded_as = None, None
    for flavor in ("sklearn", "lightgbm", "xgboost"):
        if flavor in info.flavors:
            native, loaded_as = getattr(mlflow, flavor).load_model(uri), flavor
            break
    fitted = _fitted_inputs(native) if native is not None else None
    if fitted:
        detail["fitted_inputs"] = fitted
    # A model logged without a signature (MLflow 2.x habits) gets the columns it was fitted on,
    # in that order, as the candidate's own code gave them; the holdout has more.
    if not inputs and fitted and set(fitted) <= set(features.columns):
        inputs = fitted
        _select(features, fitted, detail, "fitted")
    columns = [c for c in inputs if c in features.columns] if inputs else None
    if hasattr(native, "predict_proba"):
        detail["method"] = f"{loaded_as}.predict_proba"
        method = native.predict_proba
    else:
        detail["method"] = "pyfunc.predict"
        method = mlflow.pyfunc.load_model(uri).predict

    def score(frame: pd.DataFrame) -> np.ndarray:
        try:
            return _as_scores(method(frame[columns] if columns else frame))
        except Exception as exc:
            if columns or getattr(native, "n_features_in_", None) is None:
                raise
            raise ValueError(
                f"the model was fitted on {native.n_features_in_} unnamed columns (an array, not a DataFrame) "
                f"and no signature names them, so which holdout columns it takes is unknown "
                f"({type(exc).__name__}: {str(exc)[:300]})"
            ) from exc

    return score, detail


def sensitivity(
    score: Callable[[pd.DataFrame], np.ndarray], features: pd.DataFrame, reference: pd.DataFrame, budget_s: float
) -> dict:
    """How much the model's answers move when one column at a time is replaced by values drawn from
    its training distribution (`reference`: rows of the candidate's own packet, no labels).

    Every column gets the same treatment, so nothing here knows or reveals which column the grader
    is asking about. Columns go in a seeded order; a model too slow for the budget leaves the rest
    unmeasured (`unmeasured`), never a guess."""
    rng = np.random.default_rng(SENSITIVITY_SEED)
    sample = features.iloc[np.sort(rng.choice(len(features), size=min(SENSITIVITY_ROWS, len(features)), replace=False))]
    sample = sample.reset_index(drop=True)
    base = score(sample)
    spread = float(np.nanmean(np.abs(base))) if len(base) else 0.0
    columns = [c for c in features.columns if c in reference.columns]
    order = [columns[i] for i in rng.permutation(len(columns))]
    effects: dict[str, dict] = {}
    failed: dict[str, str] = {}
    deadline = time.monotonic() + budget_s
    for position, column in enumerate(order):
        if time.monotonic() > deadline:
            return {
                "rows": len(sample),
                "mean_prediction": spread,
                "effects": effects,
                "failed": failed,
                "unmeasured": order[position:],
            }
        drawn = reference[column].to_numpy()[rng.integers(0, len(reference), size=len(sample))]
        replaced = sample.copy()
        try:
            replaced[column] = pd.Series(drawn, index=replaced.index).astype(sample[column].dtype)
        except (TypeError, ValueError):  # values the holdout's type cannot hold (a NaN in an int column)
            replaced[column] = drawn
        try:
            moved = np.abs(score(replaced) - base)
        except Exception as exc:
            failed[column] = f"{type(exc).__name__}: {str(exc)[:200]}"
            continue
        moved = moved[np.isfinite(moved)]
        effects[column] = {
            "mean_abs_change": round(float(moved.mean()), 6) if len(moved) else None,
            "share_changed": round(float((moved > 0.01).mean()), 6) if len(moved) else None,
        }
    return {"rows": len(sample), "mean_prediction": spread, "effects": effects, "failed": failed, "unmeasured": []}


def _candidate_code_importable(root: Path) -> None:
    """Let a model pickled with a class from the candidate's own code (churnlib/, src/, a module
    next to a notebook) find it, as their kernel did; appended, so it shadows no installed package."""
    folders = [root, root / "src", *sorted({p.parent for p in [*root.glob("*.ipynb"), *root.glob("*/*.ipynb")]})]
    sys.path.extend(str(f) for f in dict.fromkeys(folders) if f.is_dir() and str(f) not in sys.path)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--reference", type=Path, help="training rows (no labels) for the sensitivity pass")
    parser.add_argument("--sensitivity-budget-s", type=float, default=120.0)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    report: dict = {"tracking_uri": args.tracking_uri}
    try:
        # Unpickling a candidate's model is safe here: this runs in their sandbox, where their
        # code already ran. Set, so no MLflow version's default can refuse the model.
        os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = "true"
        _candidate_code_importable(Path.cwd())
        import mlflow

        mlflow.set_tracking_uri(args.tracking_uri)
        found = _candidates(mlflow)
        chosen, reason = choose(found)
        report.update(candidates=found, chosen=chosen, reason=reason)
        if chosen is not None:
            features = pd.read_parquet(args.features)
            score, detail = load_scorer(mlflow, chosen["uri"], features)
            report.update(detail)
            scores = score(features)
            if len(scores) != len(features):
                raise ValueError(f"model returned {len(scores)} predictions for {len(features)} rows")
            labels_only = bool(np.isin(np.unique(scores[np.isfinite(scores)]), [0.0, 1.0]).all())
            report["output_kind"] = "labels" if labels_only else "scores"
            pd.DataFrame({"prediction": scores}).to_parquet(args.out / "predictions.parquet", index=False)
            baseline = choose_baseline(found, chosen)
            if baseline is not None:
                report["baseline"] = {"chosen": baseline}
                try:
                    scored_baseline, baseline_detail = load_scorer(mlflow, baseline["uri"], features)
                    report["baseline"].update(baseline_detail)
                    values = scored_baseline(features)
                    if len(values) != len(features):
                        raise ValueError(f"model returned {len(values)} predictions for {len(features)} rows")
                    pd.DataFrame({"prediction": values}).to_parquet(args.out / "baseline.parquet", index=False)
                except Exception as exc:  # the final model's predictions stand
                    report["baseline"]["error"] = f"{type(exc).__name__}: {str(exc)[:500]}"
            if args.reference is not None:
                try:
                    reference = pd.read_parquet(args.reference)
                    report["sensitivity"] = sensitivity(score, features, reference, args.sensitivity_budget_s)
                except Exception as exc:  # the predictions stand; only the sensitivity is missing
                    report["sensitivity"] = {"error": f"{type(exc).__name__}: {str(exc)[:500]}"}
    except Exception as exc:
        report["error"] = f"{type(exc).__name__}: {str(exc)[:1000]}"
        report["traceback"] = traceback.format_exc()[-4000:]
    (args.out / "score.json").write_text(json.dumps(report, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())

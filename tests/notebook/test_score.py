"""Logged models scored on the holdout for real: a notebook in the sandbox logs a model with
MLflow's plain calls, score_model.py picks and predicts it in the sandbox, the grader scores it.

Issue #13: the runner's MLflow (3.17) saves scikit-learn models with skops by default, which
refused a plain DecisionTree; the kernel now defaults to cloudpickle where the candidate did
not choose. The notebook also prints the versions it ran with, checked against TASK.md.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
from conftest import docker_client_or_skip

from grader.notebook.cells import read_cells
from grader.notebook.execute import execute_notebooks, grading_folder
from grader.notebook.reliance import leak_excluded_check, model_inputs
from grader.notebook.score import BASELINE_WHO, score_candidate_baseline, score_candidate_model
from grader.sandbox.docker import DockerSandbox
from grader.sandbox.local import LocalSandbox
from grader.sandbox.policy import load_policy
from grader.stages.holdout import baseline_check
from grader.world.packet import SeededWorld, write_packet

BACKENDS = ["local", pytest.param("docker", marks=pytest.mark.docker)]
ROWS = 2000

READ_DATA = """
import sys, mlflow, sklearn, pandas as pd
frame = pd.read_parquet("../data/churn.parquet")
label = "churned_next_30d"
y = frame[label]
print(f"Python {sys.version_info.major}.{sys.version_info.minor}")
print(f"mlflow=={mlflow.__version__} scikit-learn=={sklearn.__version__} pandas=={pd.__version__}")
"""

# The case: no serialization_format, no signature, artifact_path positional (MLflow 2.x style).
PLAIN_TREE = """
from sklearn.tree import DecisionTreeClassifier
numeric = [c for c in frame.select_dtypes("number").columns if c != label]
model = DecisionTreeClassifier(max_depth=4, random_state=0).fit(frame[numeric], y)
with mlflow.start_run(run_name="decision-tree"):
    logged = mlflow.sklearn.log_model(model, "model")
print("logged", logged.flavors["sklearn"]["serialization_format"])
"""

# A pipeline with a class of the candidate's own package, calibrated, registered: MLflow 3 style.
PIPELINE = """
sys.path.insert(0, "..")
from churnlib.features import ClipHigh
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
categorical = [c for c in frame.select_dtypes("object").columns if c not in ("customer_id", "snapshot_month")]
numeric = [c for c in frame.select_dtypes("number").columns if c != label]
X = frame[numeric + categorical]
prep = ColumnTransformer([
    ("num", Pipeline([("impute", SimpleImputer(strategy="median")), ("clip", ClipHigh()),
                      ("scale", StandardScaler())]), numeric),
    ("cat", Pipeline([("impute", SimpleImputer(strategy="constant", fill_value="missing")),
                      ("onehot", OneHotEncoder(handle_unknown="ignore"))]), categorical),
])
model = Pipeline([("prep", prep), ("clf", CalibratedClassifierCV(LogisticRegression(max_iter=300), cv=3))]).fit(X, y)
with mlflow.start_run(run_name="tuned-pipeline"):
    logged = mlflow.sklearn.log_model(model, name="model", input_example=X.head(3), registered_model_name="churn")
print("logged", logged.flavors["sklearn"]["serialization_format"])
"""

# The same tree without the seeded leak (its name filled in by the test, which knows the key).
HONEST_TREE = """
from sklearn.tree import DecisionTreeClassifier
numeric = [c for c in frame.select_dtypes("number").columns if c not in (label, "{leak}")]
model = DecisionTreeClassifier(max_depth=4, random_state=0).fit(frame[numeric], y)
with mlflow.start_run(run_name="decision-tree"):
    logged = mlflow.sklearn.log_model(model, "model")
print("logged", logged.flavors["sklearn"]["serialization_format"])
"""

CLIP_HIGH = """
import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin


class ClipHigh(BaseEstimator, TransformerMixin):
    def __init__(self, quantile=0.99):
        self.quantile = quantile

    def fit(self, X, y=None):
        self.upper_ = np.nanquantile(np.asarray(X, dtype=float), self.quantile, axis=0)
        return self

    def transform(self, X):
        return np.minimum(np.asarray(X, dtype=float), self.upper_)
"""


@pytest.fixture(scope="module")
def docker_client():
    from grader.sandbox.docker.runner_image import ensure_runner_image

    client = docker_client_or_skip(need_base_images=True)
    ensure_runner_image(client)
    return client


@pytest.fixture(scope="module")
def seeded(make_world) -> SeededWorld:
    return make_world("logged-models", ROWS)


def _submission(root: Path, sources: list[str]) -> Path:
    submission = root / "submission"
    (submission / "notebooks").mkdir(parents=True)
    (submission / "churnlib").mkdir()
    (submission / "churnlib" / "__init__.py").write_text("")
    (submission / "churnlib" / "features.py").write_text(CLIP_HIGH)
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nbformat.write(notebook, submission / "notebooks" / "01_model.ipynb")
    return submission


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["plain_tree", "pipeline", "honest_tree"])
def test_a_model_logged_with_mlflows_plain_calls_is_scored_on_the_holdout(
    tmp_path, backend, kind, request, seeded
) -> None:
    sandbox = DockerSandbox(request.getfixturevalue("docker_client")) if backend == "docker" else LocalSandbox()
    packet = write_packet(seeded, tmp_path / "packet")
    leak = seeded.key.leak.column
    model_code = {"plain_tree": PLAIN_TREE, "pipeline": PIPELINE, "honest_tree": HONEST_TREE.replace("{leak}", leak)}
    submission = _submission(tmp_path, [READ_DATA, model_code[kind]])
    policy = load_policy()
    with grading_folder() as folder:
        run = execute_notebooks(submission, ["notebooks/01_model.ipynb"], packet / "data", folder, policy, sandbox)
        cells, problem = read_cells(Path(run.notebooks[0].executed_path), "notebooks/01_model.ipynb")
        assert problem is None
        outputs = {c.index: c for c in cells}
        assert not outputs[1].error, outputs[1].error
        assert "logged cloudpickle" in outputs[1].output
        score, report, predictions = score_candidate_model(seeded.world, folder, policy, sandbox)
    assert score is not None, report.get("error")
    assert report["method"] == "sklearn.predict_proba" and report["output_kind"] == "scores"
    if kind == "pipeline":
        assert report["chosen"]["uri"] == "models:/churn/1"  # the registered version
    else:
        assert report["chosen"]["source"] == "logged_model"
    # No signature: the tree gets the columns it was fitted on, not every holdout column.
    inputs = report.get("signature_inputs" if kind == "pipeline" else "fitted_inputs")
    assert inputs and report["missing_inputs"] == []
    assert score.rows == len(seeded.world.holdout_labels) == len(predictions)
    assert np.isfinite(predictions).all() and predictions.min() >= 0 and predictions.max() <= 1
    assert score.brier is not None and score.pr_auc > 0

    # The leak by behaviour: every column of a holdout sample replaced in turn by training values;
    # the two models fitted on every numeric column depend on the leak, the honest tree does not.
    sensitivity = report["sensitivity"]
    assert not sensitivity["failed"] and not sensitivity["unmeasured"], sensitivity
    assert leak in sensitivity["effects"] and len(sensitivity["effects"]) == len(seeded.world.holdout_features.columns)
    check = leak_excluded_check(leak, model_inputs(report), report)
    assert check.figures["measured_by"] == "behaviour", check.detail
    assert check.passed is (kind == "honest_tree"), check.detail
    if kind == "honest_tree":
        assert sensitivity["effects"][leak]["mean_abs_change"] == 0
    else:
        assert check.figures["leak_rank"] <= 3, check.detail

    # What the notebook ran with is what TASK.md names.
    task = (packet / "TASK.md").read_text()
    printed = outputs[0].output
    python = re.search(r"Python (\d+\.\d+)", printed).group(1)
    assert f"Python {python} with" in task
    for pinned in re.findall(r"\S+==\S+", printed):
        assert f"`{pinned}`" in task, pinned


# A baseline and a tuned model, each logged in its own run: both are scored on the holdout.
BASELINE_AND_TUNED = """
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingClassifier
numeric = [c for c in frame.select_dtypes("number").columns if c not in (label, "{leak}")]
with mlflow.start_run(run_name="baseline"):
    mlflow.sklearn.log_model(DummyClassifier(strategy="prior").fit(frame[numeric], y), name="model")
with mlflow.start_run(run_name="tuned"):
    tuned = HistGradientBoostingClassifier(max_iter=60, random_state=0).fit(frame[numeric], y)
    mlflow.sklearn.log_model(tuned, name="model", input_example=frame[numeric].head(3))
"""


def test_the_baseline_is_scored_on_the_holdout_next_to_the_final_model(tmp_path, seeded) -> None:
    """Issue #15: 'tuned beats baseline' measured on the hidden holdout, not read from logged metrics."""
    sandbox = LocalSandbox()
    packet = write_packet(seeded, tmp_path / "packet")
    source = BASELINE_AND_TUNED.replace("{leak}", seeded.key.leak.column)
    submission = _submission(tmp_path, [READ_DATA, source])
    policy = load_policy()
    with grading_folder() as folder:
        run = execute_notebooks(submission, ["notebooks/01_model.ipynb"], packet / "data", folder, policy, sandbox)
        assert not run.notebooks[0].failed_cells, run.notebooks[0]
        final, report, _ = score_candidate_model(seeded.world, folder, policy, sandbox)
        baseline = score_candidate_baseline(seeded.world, folder, report)
    assert final is not None and baseline is not None, report
    assert "tuned" in report["chosen"]["label"] and "baseline" in report["baseline"]["chosen"]["label"]
    assert baseline.rows == final.rows and baseline.who == BASELINE_WHO
    check = baseline_check(final, baseline, report)
    # The prior answers one value: its PR-AUC is the base rate; the tuned model ranks.
    assert check.passed is True and check.figures["gain"] > 0, check.detail
    assert abs(baseline.pr_auc - seeded.world.holdout_labels[seeded.world.spec.label_column].mean()) < 0.01

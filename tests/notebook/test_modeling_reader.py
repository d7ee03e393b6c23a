"""collect_modeling, claimed_pr_auc and the two checks grade.py adds, on synthetic cells and MLflow stores.

No MLflow server, kernel or Docker: runs, metrics, artifacts and logged models are pydantic objects.
Every check id collect_modeling emits gets a positive and a negative case; assertions are on ids,
`passed`, figures and the cells quoted, never on wording. Strict xfails state what a fair grader
should do where the reader does not yet (issue #15); they are listed in /work/notes/fast-tests.md.
"""

from __future__ import annotations

import pytest
from reader_kit import NOTEBOOK, code, markdown, model, quoted, run, store

from grader.notebook.cells import Cell
from grader.notebook.mlflow_store import TrackingStore
from grader.notebook.modeling import ModelingEvidence, claimed_pr_auc, classify_runs, collect_modeling
from grader.stages.holdout import claim_check, committed_check

MODELING_IDS = [
    "mlflow_runs",
    "baseline_run",
    "tuned_run",
    "model_logged",
    "model_signature",
    "pr_auc_used",
    "roc_auc_only",
    "brier_logged",
    "calibration_metric_logged",
    "time_split",
    "group_split",
    "random_split",
    "calibrated_model",
    "class_imbalance_handled",
    "hyperparameter_search",
    "calibration_plot",
    "pr_curve",
    "lift_table",
    "evaluation_artifacts_logged",
]


def modeling(*cells: Cell, stores: list[TrackingStore] | None = None) -> ModelingEvidence:
    return collect_modeling(list(cells), stores or [])


def metrics_only(**metrics: float) -> list[TrackingStore]:
    return [store(run("r1", "lgbm_tuned", metrics=metrics))]


# ------------------------------------------------------------------------------------------- every id


def test_every_check_is_emitted_once_and_nothing_passes_without_runs_or_cells() -> None:
    evidence = modeling()
    assert [c.id for c in evidence.checks] == MODELING_IDS
    assert {c.id: c.passed for c in evidence.checks} == dict.fromkeys(MODELING_IDS, False)
    assert evidence.baseline_runs == evidence.tuned_runs == evidence.metric_names == []


# ------------------------------------------------------------------------------------------- runs


@pytest.mark.parametrize(
    ("name", "params", "parent", "kind"),
    [
        ("baseline", {}, None, "baseline"),
        ("logreg", {}, None, "baseline"),
        ("run-1", {"model": "LogisticRegression"}, None, "baseline"),
        ("xgb_baseline", {}, None, "baseline"),  # never both: baseline in the name wins
        ("lgbm_tuned", {"lr": "0.05"}, None, "tuned"),  # 'lr' in the params, a tuned name
        ("lightgbm", {}, None, "tuned"),
        ("trial-3", {}, None, "tuned"),
        ("run-2", {"search": "optuna"}, None, "tuned"),
        ("", {"max_depth": "3"}, "parent-run", "tuned"),  # a child run of a search
        ("run-1", {"max_depth": "3"}, None, "neither"),
    ],
)
def test_runs_are_classified_by_name_params_and_parent(name: str, params: dict, parent: str | None, kind: str) -> None:
    baseline, tuned = classify_runs(store(run("r1", name, params=params, parent=parent)))
    found = "baseline" if baseline else "tuned" if tuned else "neither"
    assert found == kind
    assert not (baseline and tuned)


def test_baseline_and_tuned_runs_across_stores() -> None:
    fresh = store(run("r1", "baseline_logreg"), run("r2", "lgbm_tuned"), run("r3", "", parent="r2"))
    committed = store(run("r4", "dummy"), kind="committed")
    evidence = modeling(stores=[fresh, committed])
    assert evidence.check("mlflow_runs").passed is True
    assert evidence.check("mlflow_runs").figures == {"runs": 4}
    assert evidence.check("baseline_run").passed is True and evidence.check("tuned_run").passed is True
    assert evidence.baseline_runs == ["baseline_logreg", "dummy"]
    assert evidence.tuned_runs == ["lgbm_tuned", "r3"]  # a run without a name is listed by its id


def test_only_a_baseline_or_only_unclassified_runs() -> None:
    evidence = modeling(stores=[store(run("r1", "baseline"))])
    assert evidence.check("baseline_run").passed is True and evidence.check("tuned_run").passed is False
    evidence = modeling(stores=[store(run("r1", "run-1"), run("r2", "run-2"))])
    assert evidence.check("mlflow_runs").passed is True
    assert evidence.check("baseline_run").passed is False and evidence.check("tuned_run").passed is False


def test_an_empty_store_has_no_runs() -> None:
    evidence = modeling(stores=[store(), store(kind="committed")])
    assert evidence.check("mlflow_runs").passed is False and evidence.check("mlflow_runs").figures == {"runs": 0}


# ------------------------------------------------------------------------------------------- models


def test_model_logged_with_a_signature() -> None:
    models = [model("model", "r1", input_columns=["tenure_months"]), model("baseline", "r2")]
    evidence = modeling(stores=[store(run("r1", "final"), models=models)])
    assert evidence.check("model_logged").passed is True and evidence.check("model_logged").figures == {"models": 2}
    assert evidence.check("model_signature").passed is True


@pytest.mark.parametrize("input_columns", [None, []])
def test_model_logged_without_a_signature(input_columns: list[str] | None) -> None:
    evidence = modeling(stores=[store(run("r1", "final"), models=[model("model", "r1", input_columns)])])
    assert evidence.check("model_logged").passed is True
    assert evidence.check("model_signature").passed is False


def test_no_model_logged() -> None:
    evidence = modeling(stores=[store(run("r1", "final"))])
    assert evidence.check("model_logged").passed is False and evidence.check("model_logged").figures == {"models": 0}
    assert evidence.check("model_signature").passed is False


# ------------------------------------------------------------------------------------ PR-AUC vs ROC-AUC


@pytest.mark.parametrize("metric", ["val_pr_auc", "pr-auc", "average_precision", "val_auprc", "ap"])
def test_pr_auc_logged(metric: str) -> None:
    evidence = modeling(stores=metrics_only(**{metric: 0.4, "val_roc_auc": 0.8}))
    assert evidence.check("pr_auc_used").passed is True
    assert evidence.check("pr_auc_used").figures == {"logged": 1}
    assert evidence.check("roc_auc_only").passed is False
    assert metric in evidence.metric_names


@pytest.mark.parametrize(
    "cell",
    [
        code("ap = average_precision_score(y_val, p_val)"),
        code("scores()", output="val PR-AUC 0.41"),
        code("PrecisionRecallDisplay.from_predictions(y_val, p_val)"),
    ],
)
def test_pr_auc_computed_in_the_notebook(cell: Cell) -> None:
    evidence = modeling(cell, stores=metrics_only(val_roc_auc=0.8))
    assert evidence.check("pr_auc_used").passed is True
    assert evidence.check("pr_auc_used").figures == {"logged": 0}
    assert evidence.check("roc_auc_only").passed is False


@pytest.mark.parametrize(
    ("cells", "metrics"),
    [
        ([], {"val_roc_auc": 0.8}),
        ([], {"auc": 0.8}),
        ([code("roc_auc_score(y_val, p_val)")], {}),
    ],
)
def test_roc_auc_only(cells: list[Cell], metrics: dict[str, float]) -> None:
    evidence = modeling(*cells, stores=metrics_only(**metrics))
    assert evidence.check("roc_auc_only").passed is True
    assert evidence.check("pr_auc_used").passed is False


def test_no_ranking_metric_is_not_roc_auc_only() -> None:
    evidence = modeling(stores=metrics_only(val_f1=0.3, val_accuracy=0.9))
    assert evidence.check("roc_auc_only").passed is False and evidence.check("pr_auc_used").passed is False


@pytest.mark.xfail(strict=True, reason="#15: PR-AUC metric names val_ap / test_ap / auc_pr are not read as PR-AUC")
@pytest.mark.parametrize("metric", ["val_ap", "test_ap", "val_auc_pr"])
def test_more_pr_auc_metric_names(metric: str) -> None:
    evidence = modeling(stores=metrics_only(**{metric: 0.4}))
    assert evidence.check("pr_auc_used").passed is True
    assert evidence.check("roc_auc_only").passed is False


@pytest.mark.xfail(strict=True, reason="#15: a metric containing 'roc' (process_time_s) is read as ROC-AUC")
def test_a_timing_metric_is_not_roc_auc() -> None:
    assert modeling(stores=metrics_only(process_time_s=1.5)).check("roc_auc_only").passed is False


@pytest.mark.xfail(strict=True, reason="#15: PR-AUC named only in markdown prose counts as PR-AUC used")
def test_pr_auc_mentioned_only_in_markdown_is_not_used() -> None:
    cells = [markdown("PR-AUC would be the right metric here."), code("roc_auc_score(y_val, p_val)", output="0.81")]
    evidence = modeling(*cells)
    assert evidence.check("pr_auc_used").passed is False
    assert evidence.check("roc_auc_only").passed is True


# ------------------------------------------------------------------------------------ Brier and calibration


@pytest.mark.parametrize(
    ("metric", "brier", "calibration"),
    [
        ("brier_score", True, False),
        ("val_brier", True, False),
        ("ece", False, True),
        ("val_ece", False, True),
        ("expected_calibration_error", False, True),
        ("val_precision", False, False),
        ("log_loss", False, False),
    ],
)
def test_brier_and_calibration_metrics(metric: str, brier: bool, calibration: bool) -> None:
    evidence = modeling(stores=metrics_only(**{metric: 0.05}))
    assert evidence.check("brier_logged").passed is brier
    assert evidence.check("calibration_metric_logged").passed is calibration


def test_brier_in_code_but_not_logged_does_not_count() -> None:
    evidence = modeling(code("brier_score_loss(y_val, p_val)", output="0.041"), stores=metrics_only(val_pr_auc=0.4))
    assert evidence.check("brier_logged").passed is False


# ------------------------------------------------------------------------------------ splits and code checks


CODE_CASES = {
    "time_split": (
        ['train = frame[frame["snapshot_month"] < "2025-10"]', "cv = TimeSeriesSplit(n_splits=4)"],
        "X_train, X_val = train_test_split(X, y)",
    ),
    "group_split": (
        [
            'GroupKFold(n_splits=5).split(X, y, groups=frame["customer_id"])',
            "splitter = GroupShuffleSplit(test_size=0.2)",
        ],
        "cv = KFold(n_splits=5)",
    ),
    "random_split": (
        [
            "X_train, X_val = train_test_split(X, y, stratify=y)",
            "cv = StratifiedKFold(5)",
            "train = frame.sample(frac=0.8)",
        ],
        'train = frame[frame["snapshot_month"] < "2025-10"]',
    ),
    "calibrated_model": (
        ['CalibratedClassifierCV(model, method="isotonic", cv=3)', "iso = IsotonicRegression()"],
        "model = LogisticRegression(max_iter=1000)",
    ),
    "class_imbalance_handled": (
        ['LGBMClassifier(class_weight="balanced")', "params = {'scale_pos_weight': 20}"],
        "model = LGBMClassifier(n_estimators=300)",
    ),
    "hyperparameter_search": (
        ["RandomizedSearchCV(model, grid, n_iter=20)", "study = optuna.create_study()"],
        "model.fit(X_train, y_train)",
    ),
}


@pytest.mark.parametrize(("check_id", "line"), [(c, line) for c, (lines, _) in CODE_CASES.items() for line in lines])
def test_code_check_found_in_code(check_id: str, line: str) -> None:
    check = modeling(code("import pandas as pd", index=0), code(f"x = 1\n{line}", index=4)).check(check_id)
    assert check.passed is True
    assert quoted(check) == [(NOTEBOOK, 4)] and check.quotes[0].text == line


@pytest.mark.parametrize("check_id", list(CODE_CASES))
def test_code_check_not_found(check_id: str) -> None:
    negative = CODE_CASES[check_id][1]
    check = modeling(code(negative)).check(check_id)
    assert check.passed is False and check.quotes == []


@pytest.mark.parametrize("check_id", list(CODE_CASES))
def test_code_check_only_in_prose_or_output_does_not_count(check_id: str) -> None:
    line = CODE_CASES[check_id][0][0]
    check = modeling(markdown(line), code("print(plan)", output=line)).check(check_id)
    assert check.passed is False


@pytest.mark.xfail(strict=True, reason="#15: a comment in a code cell counts as code that ran")
@pytest.mark.parametrize(
    ("check_id", "comment"),
    [
        ("group_split", "# GroupKFold would be better here"),
        ("time_split", "# TODO: TimeSeriesSplit"),
        ("calibrated_model", "# CalibratedClassifierCV did not help, so not used"),
        ("hyperparameter_search", "# no time for RandomizedSearchCV"),
        ("random_split", "# not train_test_split(X, y): rows of one customer would land on both sides"),
    ],
)
def test_a_comment_is_not_code(check_id: str, comment: str) -> None:
    assert modeling(code(f"{comment}\nmodel.fit(X_train, y_train)")).check(check_id).passed is False


@pytest.mark.xfail(strict=True, reason="#15: GroupKFold( matches the random_split pattern KFold\\((?!.*Group)")
@pytest.mark.parametrize("line", ["cv = GroupKFold(n_splits=5)", "cv = StratifiedGroupKFold(n_splits=5)"])
def test_a_group_split_is_not_a_random_split(line: str) -> None:
    evidence = modeling(code(line))
    assert evidence.check("group_split").passed is True
    assert evidence.check("random_split").passed is False


# ------------------------------------------------------------------------------------ plots shown


PLOTS = {
    "calibration_plot": "CalibrationDisplay.from_predictions(y_val, p_val)",
    "pr_curve": "PrecisionRecallDisplay.from_predictions(y_val, p_val)",
}


@pytest.mark.parametrize("check_id", list(PLOTS))
def test_plot_drawn_and_shown(check_id: str) -> None:
    check = modeling(code(f"fig, ax = plt.subplots()\n{PLOTS[check_id]}", index=7, images=1)).check(check_id)
    assert check.passed is True and quoted(check) == [(NOTEBOOK, 7)]


@pytest.mark.parametrize("check_id", list(PLOTS))
def test_plot_code_without_an_image_is_not_shown(check_id: str) -> None:
    check = modeling(code(PLOTS[check_id], index=7, images=0), code("frame.hist()", index=8, images=1)).check(check_id)
    assert check.passed is False
    assert quoted(check) == [(NOTEBOOK, 7)]  # the code is quoted, the point withheld


@pytest.mark.parametrize(
    ("check_id", "body"),
    [
        (
            "calibration_plot",
            "    observed, predicted = calibration_curve(y, p, n_bins=10)\n    plt.plot(predicted, observed)",
        ),
        ("pr_curve", "    precision, recall, _ = precision_recall_curve(y, p)\n    plt.plot(recall, precision)"),
    ],
)
def test_plot_drawn_by_a_notebook_helper_called_in_an_image_cell(check_id: str, body: str) -> None:
    helper = code(f"def draw(y, p):\n{body}", index=2)
    shown = modeling(helper, code("draw(y_val, p_val)", index=9, images=1)).check(check_id)
    assert shown.passed is True and quoted(shown) == [(NOTEBOOK, 9)]
    not_shown = modeling(helper, code("draw(y_val, p_val)", index=9, images=0)).check(check_id)
    assert not_shown.passed is False and quoted(not_shown) == [(NOTEBOOK, 2)]


def test_an_unrelated_image_does_not_show_a_plot() -> None:
    evidence = modeling(code("frame.hist()", images=3))
    assert evidence.check("calibration_plot").passed is False and evidence.check("pr_curve").passed is False


@pytest.mark.xfail(strict=True, reason="#15: a helper in a cell with an IPython magic is not parsed, so its calls miss")
def test_a_helper_next_to_a_magic_still_draws() -> None:
    helper = code(
        "%matplotlib inline\ndef draw(y, p):\n    observed, predicted = calibration_curve(y, p)\n"
        "    plt.plot(predicted, observed)",
        index=2,
    )
    assert modeling(helper, code("draw(y_val, p_val)", index=3, images=1)).check("calibration_plot").passed is True


# ------------------------------------------------------------------------------------ lift table


@pytest.mark.parametrize(
    "source",
    ['frame["decile"] = pd.qcut(p_val, 10, labels=False)\nlift_table(frame)', "print(lift_by_decile(y_val, p_val))"],
)
def test_lift_table_computed_and_shown(source: str) -> None:
    check = modeling(code(source, output="decile  lift\n1  4.1\n2  2.0", index=5)).check("lift_table")
    assert check.passed is True and {cell for _, cell in quoted(check)} == {5}


def test_lift_computed_but_not_shown() -> None:
    check = modeling(code("table = lift_by_decile(y_val, p_val)", index=5)).check("lift_table")
    assert check.passed is False and quoted(check) == [(NOTEBOOK, 5)]


def test_lift_only_in_markdown() -> None:
    assert modeling(markdown("The top decile lift is 4.1")).check("lift_table").passed is False


@pytest.mark.xfail(strict=True, reason="#15: a comment in a code cell with any output counts as a lift table shown")
def test_a_lift_comment_is_not_a_lift_table() -> None:
    assert (
        modeling(code("# lift table: later\nframe.head()", output="   a  b\n0  1  2")).check("lift_table").passed
        is False
    )


# ------------------------------------------------------------------------------------ evaluation artifacts


@pytest.mark.parametrize(
    "artifact", ["plots/calibration.png", "pr_curve.png", "precision_recall.png", "lift_by_decile.csv"]
)
def test_evaluation_artifacts_logged(artifact: str) -> None:
    stores = [store(run("r1", "final", artifacts=["model/MLmodel", artifact]))]
    check = modeling(stores=stores).check("evaluation_artifacts_logged")
    assert check.passed is True
    assert artifact in check.detail  # the rubric reads the detail for calib / pr_curve / lift


def test_no_evaluation_artifacts() -> None:
    stores = [store(run("r1", "final", artifacts=["model/MLmodel", "model/model.pkl", "features.json"]))]
    assert modeling(stores=stores).check("evaluation_artifacts_logged").passed is False


# ------------------------------------------------------------------------------------ claimed PR-AUC


def test_claimed_pr_auc_is_the_chosen_runs_best() -> None:
    stores = [
        store(
            run("r1", "baseline", metrics={"val_pr_auc": 0.2}),
            run("r2", "final", metrics={"val_pr_auc": 0.41, "average_precision": 0.43, "roc_auc": 0.9}),
        )
    ]
    assert claimed_pr_auc(stores, "r2") == 0.43
    assert claimed_pr_auc(stores, "r1") == 0.2


def test_claimed_pr_auc_falls_back_to_every_run() -> None:
    stores = [
        store(run("r1", metrics={"val_pr_auc": 0.2})),
        store(run("r2", metrics={"pr_auc": 0.5}), kind="committed"),
    ]
    assert claimed_pr_auc(stores, None) == 0.5
    assert claimed_pr_auc(stores, "no-such-run") == 0.5


def test_claimed_pr_auc_ignores_values_outside_zero_one_and_other_metrics() -> None:
    stores = [store(run("r1", metrics={"pr_auc": 1.7, "val_pr_auc": 0.3, "f1": 0.9}))]
    assert claimed_pr_auc(stores, "r1") == 0.3


def test_no_claimed_pr_auc() -> None:
    assert claimed_pr_auc([], None) is None
    stores = [store(run("r1", metrics={"roc_auc": 0.8}), run("r2", metrics={"pr_auc": 0.4}))]
    assert claimed_pr_auc(stores, "r1") is None  # the chosen run claims none: no fallback to another run


@pytest.mark.xfail(strict=True, reason="#15: the claim is the max over all PR metrics, a train score included")
def test_the_claim_is_the_validation_score_not_the_training_one() -> None:
    stores = [store(run("r1", "final", metrics={"train_pr_auc": 0.95, "val_pr_auc": 0.45}))]
    assert claimed_pr_auc(stores, "r1") == 0.45


# ------------------------------------------------------------------------ claim_matches_holdout (grade.py)


@pytest.mark.parametrize(("claimed", "measured"), [(None, 0.4), (0.4, None), (0.4, 0.0)])
def test_claim_not_verifiable(claimed: float | None, measured: float | None) -> None:
    check = claim_check(claimed, measured)
    assert check.id == "claim_matches_holdout" and check.passed is None


@pytest.mark.parametrize(
    ("claimed", "measured", "passed"),
    [
        (0.42, 0.40, True),  # honest
        (0.30, 0.40, True),  # under-claimed
        (0.58, 0.40, True),  # ratio 1.45: not past 1.5
        (0.15, 0.08, True),  # ratio 1.9, but 0.07 apart: small figures are noisy
        (0.65, 0.40, False),  # ratio 1.63 and 0.25 apart
        (0.95, 0.30, False),
    ],
)
def test_claim_against_the_holdout(claimed: float, measured: float, passed: bool) -> None:
    check = claim_check(claimed, measured)
    assert check.passed is passed
    assert check.figures == {"claimed": claimed, "measured": measured, "ratio": round(claimed / measured, 2)}


# ---------------------------------------------------------------------- committed_runs_reproduced (grade.py)


def test_nothing_committed_to_compare() -> None:
    fresh = store(run("r1", metrics={"pr_auc": 0.4}))
    for stores in ([fresh], [fresh, store(kind="committed")]):
        check = committed_check(stores)
        assert check.id == "committed_runs_reproduced" and check.passed is None


@pytest.mark.parametrize(
    ("fresh_metrics", "committed_metrics"), [({"roc_auc": 0.8}, {"pr_auc": 0.4}), ({"pr_auc": 0.4}, {"roc_auc": 0.8})]
)
def test_no_pr_auc_on_one_side(fresh_metrics: dict, committed_metrics: dict) -> None:
    committed = store(run("c1", metrics=committed_metrics), run("c2"), kind="committed")
    check = committed_check([store(run("r1", metrics=fresh_metrics)), committed])
    assert check.passed is None and check.figures == {"committed_runs": 2}


def test_no_fresh_store_is_not_verifiable() -> None:
    check = committed_check([store(run("c1", metrics={"pr_auc": 0.4}), kind="committed")])
    assert check.passed is None


@pytest.mark.parametrize(
    ("fresh", "committed", "passed"), [(0.40, 0.42, True), (0.40, 0.36, True), (0.40, 0.46, False), (0.40, 0.30, False)]
)
def test_committed_runs_reproduced_within_tolerance(fresh: float, committed: float, passed: bool) -> None:
    stores = [
        store(run("r1", metrics={"val_pr_auc": fresh}), run("r2", metrics={"val_pr_auc": fresh - 0.1})),
        store(run("c1", metrics={"val_pr_auc": committed}), kind="committed"),
    ]
    check = committed_check(stores)
    assert check.passed is passed
    assert check.figures == {"committed": committed, "fresh": fresh}  # the best of each side

"""collect_modeling, claimed_pr_auc and the two checks the holdout stage adds, on synthetic cells,
kernel records and MLflow stores.

No MLflow server, kernel or Docker: runs, metrics, artifacts, logged models and what ran
(`ran(call(...))`) are pydantic objects. Every check id collect_modeling emits gets a positive and a
negative case; splits, search, calibration, metrics and plots come from what ran, never from source
text or logged words. Assertions are on ids, `passed`, figures and the cells quoted, never on wording.
"""

from __future__ import annotations

import pytest
from reader_kit import NOTEBOOK, call, code, markdown, model, quoted, ran, run, store

from grader.notebook.cells import Cell
from grader.notebook.mlflow_store import LoggedModel, TrackingStore
from grader.notebook.modeling import ModelingEvidence, claimed_pr_auc, classify_runs, collect_modeling
from grader.notebook.months import MonthProfile
from grader.notebook.trace import Executed
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


def modeling(
    *cells: Cell, stores: list[TrackingStore] | None = None, executed: Executed | None = None
) -> ModelingEvidence:
    """The modeling evidence; by default the kernel recorded nothing (a record, empty)."""
    return collect_modeling(list(cells), stores or [], executed if executed is not None else ran())


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


# A metric computed on real labels in cell 3, then logged by name in cell 4.
COMPUTED_AND_LOGGED = (
    call("sklearn.metrics.average_precision_score", cell=3, y_rows=2000, y_pos=90),
    call("mlflow.log_metrics", cell=4, names=["val_pr_auc", "val_brier"]),
)


def test_baseline_and_tuned_runs_across_stores() -> None:
    fresh = store(
        run("r1", "baseline_logreg", metrics={"val_pr_auc": 0.3}),
        run("r2", "lgbm_tuned"),
        run("r3", "", parent="r2", metrics={"val_brier": 0.04}),
        models=[model("model", "r2")],
    )
    committed = store(run("r4", "dummy"), models=[model("baseline", "r4")], kind="committed")
    evidence = modeling(stores=[fresh, committed], executed=ran(*COMPUTED_AND_LOGGED))
    assert evidence.check("mlflow_runs").passed is True
    assert evidence.check("mlflow_runs").figures == {"runs": 4}
    assert evidence.check("baseline_run").passed is True and evidence.check("tuned_run").passed is True
    assert evidence.check("baseline_run").figures == {"named": 2, "counted": 2}
    assert evidence.baseline_runs == ["baseline_logreg", "dummy"]
    assert evidence.tuned_runs == ["lgbm_tuned", "r3"]  # a run without a name is listed by its id


def test_only_a_baseline_or_only_unclassified_runs() -> None:
    evidence = modeling(stores=[store(run("r1", "baseline"), models=[model("model", "r1")])])
    assert evidence.check("baseline_run").passed is True and evidence.check("tuned_run").passed is False
    evidence = modeling(stores=[store(run("r1", "run-1"), run("r2", "run-2"))])
    assert evidence.check("mlflow_runs").passed is True
    assert evidence.check("baseline_run").passed is False and evidence.check("tuned_run").passed is False


def test_empty_runs_named_baseline_and_tuned_earn_nothing() -> None:
    """The text-stuffer: two runs that log made-up metrics in a cell where nothing was computed."""
    runs = store(
        run("r1", "baseline", metrics={"pr_auc": 0.781, "brier": 0.061}, params={"cv": "GroupKFold"}),
        run("r2", "tuned_final", metrics={"pr_auc": 0.852}, artifacts=["calibration_plot.txt", "pr_curve.txt"]),
    )
    fit_only = ran(
        call("sklearn.fit", cell=2, estimator="HistGradientBoostingClassifier", y_rows=2000, y_pos=90, proba=True),
        call("mlflow.log_metrics", cell=4, names=["pr_auc", "brier"]),
    )
    evidence = modeling(stores=[runs], executed=fit_only)
    for check_id in ("baseline_run", "tuned_run"):
        check = evidence.check(check_id)
        assert check.passed is False and check.figures == {"named": 1, "counted": 0}
    assert evidence.baseline_runs == evidence.tuned_runs == []


@pytest.mark.parametrize(
    "calls",
    [
        # computed after the metrics were logged, or in another notebook: not what was logged
        (
            call("mlflow.log_metrics", cell=4, names=["val_pr_auc"]),
            call("sklearn.metrics.average_precision_score", cell=5, y_rows=2000, y_pos=90),
        ),
        (
            call("sklearn.metrics.average_precision_score", cell=3, y_rows=2000, y_pos=90, notebook="a.ipynb"),
            call("mlflow.log_metrics", cell=4, names=["val_pr_auc"], notebook="b.ipynb"),
        ),
        # computed on a toy
        (
            call("sklearn.metrics.average_precision_score", cell=3, y_rows=4, y_pos=2),
            call("mlflow.log_metrics", cell=4, names=["val_pr_auc"]),
        ),
        # another metric was computed and logged
        (
            call("sklearn.metrics.average_precision_score", cell=3, y_rows=2000, y_pos=90),
            call("mlflow.log_metric", cell=4, names=["val_roc_auc"]),
        ),
    ],
)
def test_a_logged_metric_counts_only_after_a_metric_was_computed(calls: tuple) -> None:
    evidence = modeling(stores=[store(run("r1", "baseline", metrics={"val_pr_auc": 0.3}))], executed=ran(*calls))
    assert evidence.check("baseline_run").passed is False


@pytest.mark.parametrize(
    "logged",
    [
        model("churn_ranker", "r1"),  # an MLflow 3 logged model (models:/m-...), a custom pyfunc among them
        LoggedModel(uri="runs:/r1/model", name="model", run_id="r1", flavors=["python_function"]),  # MLflow 2
    ],
)
def test_a_run_with_a_model_mlflow_reads_counts_without_a_record(logged: LoggedModel) -> None:
    evidence = collect_modeling([], [store(run("r1", "baseline-logreg"), models=[logged])], None)
    assert evidence.check("baseline_run").passed is True
    assert evidence.check("baseline_run").figures == {"named": 1, "counted": 1}


def test_a_model_whose_mlmodel_does_not_read_is_no_model() -> None:
    unreadable = LoggedModel(uri="runs:/r1/model", name="model", run_id="r1", flavors=[])
    evidence = modeling(stores=[store(run("r1", "baseline"), models=[unreadable])])
    assert evidence.check("baseline_run").passed is False


def test_metrics_without_a_record_of_what_ran_are_unknown_but_committed_ones_are_not_evidence() -> None:
    fresh = store(run("r1", "baseline", metrics={"val_pr_auc": 0.3}))
    assert collect_modeling([], [fresh], None).check("baseline_run").passed is None
    committed = store(run("r1", "baseline", metrics={"val_pr_auc": 0.3}), kind="committed")
    assert collect_modeling([], [committed], None).check("baseline_run").passed is False
    assert modeling(stores=[committed], executed=ran(*COMPUTED_AND_LOGGED)).check("baseline_run").passed is False


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


def test_pr_auc_computed_in_code_that_ran() -> None:
    executed = ran(call("sklearn.metrics.average_precision_score", cell=4, y_rows=2000, y_pos=90))
    evidence = modeling(stores=metrics_only(val_roc_auc=0.8), executed=executed)
    assert evidence.check("pr_auc_used").passed is True and quoted(evidence.check("pr_auc_used")) == [(NOTEBOOK, 4)]
    assert evidence.check("roc_auc_only").passed is False


@pytest.mark.parametrize(
    "calls",
    [
        [call("sklearn.metrics.PrecisionRecallDisplay.from_predictions", cell=4, y_rows=2000, y_pos=90)],
        [
            call("sklearn.metrics.precision_recall_curve", cell=4, y_rows=2000, y_pos=90),
            call("sklearn.metrics.auc", cell=4),
        ],
        [call("lightgbm.train", cell=4, y_rows=2000, y_pos=90, params="p1", metric="average_precision")],
    ],
)
def test_other_ways_of_computing_pr_auc(calls: list) -> None:
    assert modeling(executed=ran(*calls)).check("pr_auc_used").passed is True


@pytest.mark.parametrize(
    "metric", ["val_pr_auc", "pr-auc", "average_precision", "val_auprc", "ap", "val_ap", "test_ap", "val_auc_pr"]
)
def test_a_logged_pr_metric_is_words_but_clears_roc_auc_only(metric: str) -> None:
    evidence = modeling(stores=metrics_only(**{metric: 0.4, "val_roc_auc": 0.8}))
    assert evidence.check("pr_auc_used").passed is False
    assert evidence.check("pr_auc_used").figures == {"logged": 1}
    assert evidence.check("roc_auc_only").passed is False
    assert metric in evidence.metric_names


@pytest.mark.parametrize(
    ("calls", "metrics"),
    [
        ([], {"val_roc_auc": 0.8}),
        ([], {"auc": 0.8}),
        ([call("sklearn.metrics.roc_auc_score", cell=2, y_rows=2000, y_pos=90)], {}),
    ],
)
def test_roc_auc_only(calls: list, metrics: dict[str, float]) -> None:
    evidence = modeling(stores=metrics_only(**metrics), executed=ran(*calls))
    assert evidence.check("roc_auc_only").passed is True
    assert evidence.check("pr_auc_used").passed is False


def test_no_ranking_metric_is_not_roc_auc_only() -> None:
    evidence = modeling(stores=metrics_only(val_f1=0.3, val_accuracy=0.9))
    assert evidence.check("roc_auc_only").passed is False and evidence.check("pr_auc_used").passed is False


def test_a_timing_metric_is_not_roc_auc() -> None:
    assert modeling(stores=metrics_only(process_time_s=1.5)).check("roc_auc_only").passed is False


def test_pr_auc_in_words_is_not_pr_auc_used() -> None:
    cells = [
        markdown("PR-AUC would be the right metric here: pr_auc"),
        code("# average_precision_score(y_val, p_val)\nprint('pr_auc')", output="pr_auc 0.41"),
    ]
    evidence = modeling(*cells, executed=ran(call("sklearn.metrics.roc_auc_score", cell=1, y_rows=2000, y_pos=90)))
    assert evidence.check("pr_auc_used").passed is False
    assert evidence.check("roc_auc_only").passed is True


def test_a_pr_auc_on_a_toy_is_not_pr_auc_used() -> None:
    executed = ran(call("sklearn.metrics.average_precision_score", cell=1, y_rows=2, y_pos=1))
    assert modeling(executed=executed).check("pr_auc_used").passed is False


def test_without_a_record_executed_checks_are_unknown() -> None:
    evidence = collect_modeling([], [], None)
    executed_ids = {"pr_auc_used", "time_split", "group_split", "random_split", "calibrated_model"}
    executed_ids |= {"class_imbalance_handled", "hyperparameter_search", "calibration_plot", "pr_curve", "lift_table"}
    assert {c.id for c in evidence.checks if c.passed is None} == executed_ids


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


# ------------------------------------------------------------------------------------ splits, from what ran

MONTHS = [f"2025-{m:02d}" for m in range(1, 13)]
# 100 rows and 10 churners a month; one duplicate row a month (a stayer).
PROFILE = MonthProfile(
    months=MONTHS, rows=[100] * 12, positives=[10] * 12, unique_rows=[99] * 12, unique_positives=[10] * 12
)
COLUMNS = ("snapshot_month", "customer_id")


def fit(cell: int, rows: int, positives: int, notebook: str = NOTEBOOK, **facts) -> tuple:
    return call(
        "sklearn.fit",
        cell=cell,
        notebook=notebook,
        estimator="LogisticRegression",
        y_rows=rows,
        y_pos=positives,
        proba=True,
        params="p1",
        **facts,
    )


def scored(cell: int, rows: int, positives: int, notebook: str = NOTEBOOK) -> tuple:
    return call("sklearn.metrics.average_precision_score", cell=cell, notebook=notebook, y_rows=rows, y_pos=positives)


def splits(*calls: tuple, cells: list[Cell] | None = None) -> ModelingEvidence:
    return collect_modeling(cells or [], [], ran(*calls), PROFILE, COLUMNS)


@pytest.mark.parametrize(
    ("fitted", "evaluated"),
    [
        ((900, 90), (300, 30)),  # nine months, then the last three
        ((891, 90), (99, 10)),  # without the duplicates: nine months, then the tenth
        ((200, 20), (100, 10)),  # a sliding window: two months, then the next
    ],
)
def test_a_time_split_observed_in_what_the_model_saw(fitted: tuple, evaluated: tuple) -> None:
    check = splits(fit(3, *fitted), scored(4, *evaluated)).check("time_split")
    assert check.passed is True and quoted(check) == [(NOTEBOOK, 4)]
    assert "fitted on 2025-01" in check.detail or "fitted on 2025-" in check.detail


@pytest.mark.parametrize(
    ("fitted", "evaluated"),
    [
        ((960, 96), (240, 24)),  # a random 80/20 split: no month adds up to these
        ((1200, 120), (300, 30)),  # fitted on every month
    ],
)
def test_no_time_split_in_what_the_model_saw(fitted: tuple, evaluated: tuple) -> None:
    assert splits(fit(3, *fitted), scored(4, *evaluated)).check("time_split").passed is False


def test_a_selection_on_the_time_column_in_the_notebook_that_fits() -> None:
    selection = call("pandas.Series.__lt__", cell=2, name=["snapshot_month"], rows=1200, value=["2025-10"])
    check = splits(selection, fit(3, 960, 96)).check("time_split")
    assert check.passed is True and quoted(check) == [(NOTEBOOK, 2)]
    polars = call("polars.Expr.__lt__", cell=2, name=["snapshot_month"], value=["2025-10"])
    assert splits(polars, fit(3, 960, 96)).check("time_split").passed is True
    months = call("numpy.isin", cell=2, rows=1200, value=MONTHS[:9])
    assert splits(months, fit(3, 960, 96)).check("time_split").passed is True


def test_a_time_selection_elsewhere_is_not_the_validation() -> None:
    selection = call(
        "pandas.Series.__lt__", cell=2, name=["snapshot_month"], value=["2025-10"], notebook="01_audit.ipynb"
    )
    assert splits(selection, fit(3, 960, 96, notebook="02_model.ipynb")).check("time_split").passed is False
    random_rows = call("sklearn.model_selection.train_test_split", cell=3, rows=1200, shuffle=True, stratify=True)
    same_notebook = call("pandas.Series.__lt__", cell=2, name=["snapshot_month"], value=["2025-10"])
    assert splits(same_notebook, random_rows, fit(4, 960, 96)).check("time_split").passed is False


def test_time_series_split_ran() -> None:
    ran_split = call("sklearn.split", cell=3, splitter="TimeSeriesSplit", rows=1200, groups=False)
    assert splits(ran_split).check("time_split").passed is True
    in_a_search = call(
        "sklearn.fit",
        cell=3,
        estimator="GridSearchCV",
        cv="TimeSeriesSplit",
        y_rows=1200,
        y_pos=120,
        proba=True,
        params="p",
    )
    assert splits(in_a_search).check("time_split").passed is True


def test_group_split_ran() -> None:
    for group_split in (
        call("sklearn.split", cell=3, splitter="GroupKFold", rows=1200, groups=True),
        call(
            "sklearn.fit",
            cell=3,
            estimator="GridSearchCV",
            cv="StratifiedGroupKFold",
            groups=True,
            y_rows=1200,
            y_pos=120,
            proba=True,
            params="p",
        ),
    ):
        evidence = splits(group_split)
        assert evidence.check("group_split").passed is True
        assert evidence.check("random_split").passed is False
    by_hand = [call("pandas.Series.isin", cell=2, name=["customer_id"], rows=1200), fit(3, 960, 96)]
    assert splits(*by_hand).check("group_split").passed is True
    without_groups = call("sklearn.split", cell=3, splitter="GroupKFold", rows=1200, groups=False)
    assert splits(without_groups).check("group_split").passed is False


@pytest.mark.parametrize(
    "random_split",
    [
        call("sklearn.model_selection.train_test_split", cell=3, rows=1200, shuffle=True, stratify=True),
        call("sklearn.split", cell=3, splitter="StratifiedKFold", rows=1200, groups=False),
        call("pandas.DataFrame.sample", cell=3, rows=1200, frac=0.8),
    ],
)
def test_random_split_ran(random_split: tuple) -> None:
    evidence = splits(random_split)
    assert evidence.check("random_split").passed is True
    assert evidence.check("time_split").passed is False and evidence.check("group_split").passed is False


@pytest.mark.parametrize(
    "text",
    [
        "# GroupKFold would be better here\n# TODO: TimeSeriesSplit\nmodel.fit(X_train, y_train)",
        'params = {"cv": "GroupKFold", "calibration": "isotonic", "search": "GridSearchCV"}',
        "# not train_test_split(X, y): rows of one customer would land on both sides",
    ],
)
def test_words_are_never_a_split_search_or_calibration(text: str) -> None:
    evidence = splits(cells=[code(text, output="GroupKFold TimeSeriesSplit isotonic"), markdown(text)])
    for check_id in ("time_split", "group_split", "random_split", "calibrated_model", "hyperparameter_search"):
        assert evidence.check(check_id).passed is False, check_id


# ------------------------------------------------------------------------------------ search, calibration, weights


@pytest.mark.parametrize(
    "calls",
    [
        [
            call(
                "sklearn.fit",
                cell=5,
                estimator="RandomizedSearchCV",
                cv="5",
                y_rows=1200,
                y_pos=120,
                proba=True,
                params="p",
            )
        ],
        [call("optuna.Study.optimize", cell=5, trials=30)],
        [call("lightgbm.train", cell=5, y_rows=900, y_pos=90, params=f"p{i}") for i in range(3)],
    ],
)
def test_hyperparameter_search_ran(calls: list) -> None:
    check = splits(*calls).check("hyperparameter_search")
    assert check.passed is True and quoted(check)[0] == (NOTEBOOK, 5)


def test_refitting_one_setting_is_not_a_search() -> None:
    calls = [call("lightgbm.train", cell=5, y_rows=900, y_pos=90, params="same") for _ in range(4)]
    assert splits(*calls).check("hyperparameter_search").passed is False


@pytest.mark.parametrize(
    "calibrator",
    [
        call(
            "sklearn.fit",
            cell=6,
            estimator="CalibratedClassifierCV",
            method="isotonic",
            y_rows=100,
            y_pos=10,
            proba=True,
            params="p",
        ),
        call("sklearn.fit", cell=6, estimator="IsotonicRegression", y_rows=100, y_pos=10, proba=False, params="p"),
        call(
            "sklearn.fit",
            cell=6,
            estimator="LogisticRegression",
            rows=100,
            cols=1,
            y_rows=100,
            y_pos=10,
            proba=True,
            params="p",
        ),
    ],
)
def test_a_calibrator_was_fitted(calibrator: tuple) -> None:
    check = splits(calibrator).check("calibrated_model")
    assert check.passed is True and quoted(check) == [(NOTEBOOK, 6)]


def test_a_plain_model_is_not_calibrated() -> None:
    plain = call(
        "sklearn.fit",
        cell=6,
        estimator="LogisticRegression",
        rows=100,
        cols=30,
        y_rows=100,
        y_pos=10,
        proba=True,
        params="p",
    )
    assert splits(plain).check("calibrated_model").passed is False


def test_class_weights_in_a_fit_that_ran() -> None:
    weighted = fit(3, 900, 90, weighting=["class_weight"])
    assert splits(weighted).check("class_imbalance_handled").passed is True
    assert splits(fit(3, 900, 90)).check("class_imbalance_handled").passed is False


# ------------------------------------------------------------------------------------ plots and lift, shown


@pytest.mark.parametrize(
    ("check_id", "function"),
    [
        ("calibration_plot", "sklearn.calibration.CalibrationDisplay.from_predictions"),
        ("calibration_plot", "sklearn.calibration.calibration_curve"),
        ("pr_curve", "sklearn.metrics.PrecisionRecallDisplay.from_predictions"),
        ("pr_curve", "sklearn.metrics.precision_recall_curve"),
    ],
)
def test_a_plot_drawn_in_a_cell_that_shows_an_image(check_id: str, function: str) -> None:
    drawn = call(function, cell=7, y_rows=300, y_pos=30)
    shown = splits(drawn, cells=[code("draw(y_val, p_val)", index=7, images=1)]).check(check_id)
    assert shown.passed is True and quoted(shown) == [(NOTEBOOK, 7)]
    not_shown = splits(drawn, cells=[code("draw(y_val, p_val)", index=7, images=0)]).check(check_id)
    assert not_shown.passed is False and quoted(not_shown) == [(NOTEBOOK, 7)]


def test_a_helper_defined_elsewhere_draws_where_it_is_called() -> None:
    """The kernel records a call in the cell that ran it: a helper (next to a magic or not) counts where called."""
    cells = [
        code("%matplotlib inline\ndef draw(y, p):\n    observed, predicted = calibration_curve(y, p)", index=2),
        code("draw(y_val, p_val)", index=3, images=1),
    ]
    drawn = call("sklearn.calibration.calibration_curve", cell=3, y_rows=300, y_pos=30)
    assert splits(drawn, cells=cells).check("calibration_plot").passed is True


def test_an_unrelated_image_does_not_show_a_plot() -> None:
    evidence = splits(cells=[code("frame.hist()", images=3)])
    assert evidence.check("calibration_plot").passed is False and evidence.check("pr_curve").passed is False


@pytest.mark.parametrize(
    "binning",
    [call("pandas.qcut", cell=5, rows=300, bins=10), call("numpy.array_split", cell=5, rows=300, bins=10)],
)
def test_lift_table_computed_and_shown(binning: tuple) -> None:
    shown = [code("lift_table(y, p)", output="decile  lift\n1  4.1\n2  2.0", index=5)]
    check = splits(binning, cells=shown).check("lift_table")
    assert check.passed is True and quoted(check) == [(NOTEBOOK, 5)]
    assert splits(binning, cells=[code("table = lift_table(y, p)", index=5)]).check("lift_table").passed is False


def test_a_lift_comment_is_not_a_lift_table() -> None:
    cells = [code("# lift table: later\nframe.head()", output="   a  lift\n0  1  2", index=5)]
    assert splits(cells=cells).check("lift_table").passed is False


# ------------------------------------------------------------------------------------ evaluation artifacts


@pytest.mark.parametrize(
    "artifact", ["plots/calibration.png", "pr_curve.png", "precision_recall.png", "lift_by_decile.csv"]
)
def test_evaluation_artifacts_logged(artifact: str) -> None:
    stores = [store(run("r1", "final", artifacts=["model/MLmodel", artifact], images=[artifact]))]
    check = modeling(stores=stores).check("evaluation_artifacts_logged")
    assert check.passed is True
    assert artifact in check.detail  # the rubric reads the detail for calib / pr_curve / lift


def test_a_plot_by_name_that_is_not_an_image_is_not_logged() -> None:
    artifacts = ["calibration_plot.txt", "pr_curve.png", "evaluation", "evaluation/calibration.svg", "lift_table.txt"]
    stores = [store(run("r1", "tuned_final", artifacts=artifacts, images=["evaluation/calibration.svg"]))]
    check = modeling(stores=stores).check("evaluation_artifacts_logged")
    # pr_curve.png holds text; a lift table may be any table (text, CSV, JSON), a plot must be an image
    assert check.passed is True and check.figures == {"not_images": 2}
    assert check.detail == "evaluation/calibration.svg, lift_table.txt"
    only_text = [store(run("r1", "tuned_final", artifacts=["calibration_plot.txt", "pr_curve.txt"]))]
    check = modeling(stores=only_text).check("evaluation_artifacts_logged")
    assert check.passed is False and "calib" not in check.detail and "pr_curve" not in check.detail


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

"""Modeling evidence from what executed: splits, search, calibration, metrics and plots.

Read from the kernel trace (grader.notebook.trace), never from source text: a comment, a string
or a logged parameter naming GroupKFold or "isotonic" is the candidate's words. A split done by
hand shows in what ran: a comparison or filter on the time (or customer) column in the notebook
that then fitted a model, or, strongest, the models' own inputs: a fit whose labels are exactly
some months' rows and churners, and a metric computed on later months' (grader.notebook.months).
"""

from __future__ import annotations

import re

from grader.evidence import Check
from grader.notebook.cells import Cell
from grader.notebook.months import MonthProfile
from grader.notebook.trace import Executed, Fact, Ran

FIT_CALLS = (
    "sklearn.fit",
    "lightgbm.train",
    "lightgbm.fit",
    "lightgbm.cv",
    "xgboost.train",
    "xgboost.fit",
    "xgboost.cv",
    "catboost.fit",
)
LABELLED_CALLS = (
    "sklearn.metrics.average_precision_score",
    "sklearn.metrics.roc_auc_score",
    "sklearn.metrics.brier_score_loss",
    "sklearn.metrics.log_loss",
    "sklearn.metrics.precision_recall_curve",
    "sklearn.metrics.roc_curve",
    "sklearn.calibration.calibration_curve",
    "sklearn.metrics.PrecisionRecallDisplay.",
    "sklearn.metrics.RocCurveDisplay.",
    "sklearn.calibration.CalibrationDisplay.",
)
PR_CALLS = ("sklearn.metrics.average_precision_score", "sklearn.metrics.PrecisionRecallDisplay.")
ROC_CALLS = ("sklearn.metrics.roc_auc_score", "sklearn.metrics.roc_curve", "sklearn.metrics.RocCurveDisplay.")
CALIBRATION_PLOT_CALLS = ("sklearn.calibration.calibration_curve", "sklearn.calibration.CalibrationDisplay.")
PR_CURVE_CALLS = ("sklearn.metrics.precision_recall_curve", "sklearn.metrics.PrecisionRecallDisplay.")
BINNING_CALLS = ("pandas.qcut", "pandas.cut", "numpy.array_split", "polars.Series.qcut", "polars.Expr.qcut")
ORDERING = ("__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__", "isin", "between", "is_in", "is_between")
SELECTIONS = tuple(f"{kind}.{op}" for kind in ("pandas.Series", "polars.Expr", "polars.Series") for op in ORDERING)
FILTERS = ("polars.DataFrame.filter", "polars.LazyFrame.filter", "pandas.DataFrame.query", "numpy.isin")
RANDOM_SPLITTERS = {
    "KFold",
    "StratifiedKFold",
    "ShuffleSplit",
    "StratifiedShuffleSplit",
    "RepeatedKFold",
    "RepeatedStratifiedKFold",
}
GROUP_SPLITTERS = re.compile(r"Group")
SEARCHES = re.compile(r"SearchCV$")
CALIBRATORS = {"CalibratedClassifierCV", "IsotonicRegression", "_SigmoidCalibration"}
PR_TRAINING_METRICS = re.compile(r"average_precision|aucpr|\bmap\b|pr_auc", re.I)
LIFT_WORDS = re.compile(r"lift|decile|capture|top 10", re.I)
MIN_LABELS = 100
DISTINCT_CONFIGS = 3


def _labels(facts: dict[str, Fact]) -> tuple[int, int | None] | None:
    rows, positives = facts.get("y_rows"), facts.get("y_pos")
    if not isinstance(rows, int) or rows <= 0:
        return None
    return rows, positives if isinstance(positives, int) else None


def _is_model(ran: Ran, facts: dict[str, Fact]) -> bool:
    """A fit of something that predicts churn: a classifier or booster given labels (not a scaler)."""
    if _labels(facts) is None:
        return False
    return ran.call != "sklearn.fit" or facts.get("proba") is True or facts.get("estimator") in CALIBRATORS


def _names(facts: dict[str, Fact]) -> set[str]:
    found: set[str] = set()
    for key in ("name", "by"):
        value = facts.get(key)
        if isinstance(value, list):
            found |= {v for v in value if isinstance(v, str)}
        elif isinstance(value, str):
            found.add(value)
    return found


def _check(check_id: str, executed: Executed, ran: list[tuple[Ran, str]], missing: str) -> Check:
    if ran:
        return Check(
            id=check_id,
            passed=True,
            quotes=[r.quote(why) for r, why in ran[:2]],
            detail=ran[0][1],
            figures={"basis": "executed"},
        )
    return Check(
        id=check_id,
        passed=False if executed.available else None,
        detail=missing if executed.available else "no record of what ran: nothing credited as executed",
    )


class Validation:
    """The modeling checks that read what ran."""

    def __init__(
        self,
        executed: Executed,
        cells: list[Cell],
        profile: MonthProfile | None,
        time_column: str | None,
        group_column: str | None,
    ) -> None:
        self.executed, self.profile = executed, profile
        self.time_column, self.group_column = time_column, group_column
        self.cells = {(c.notebook, c.index): c for c in cells}
        self.fits = [(r, f) for r, f in executed.facts(*FIT_CALLS) if _is_model(r, f)]

    def _fitted_from(self, notebook: str, cell: int) -> bool:
        return any(r.notebook == notebook and r.cell >= cell for r, _ in self.fits)

    def _rows_split_at_random_in(self, notebook: str) -> bool:
        """train_test_split or a random sample of rows in this notebook: its selections on the time
        column (a drift check, a label-window check) were not how the model was validated."""
        return any(
            r.notebook == notebook and (r.call.endswith("train_test_split") or r.call.endswith(".sample"))
            for r, _ in self.random()
        )

    def random(self) -> list[tuple[Ran, str]]:
        found = [(r, "train_test_split ran") for r in self.executed.calls("sklearn.model_selection.train_test_split")]
        found += [
            (r, f"{f.get('splitter')} split rows at random")
            for r, f in self.executed.facts("sklearn.split")
            if f.get("splitter") in RANDOM_SPLITTERS
        ]
        found += [
            (r, "a random sample of the rows")
            for r, f in self.executed.facts("pandas.DataFrame.sample", "polars.DataFrame.sample")
            if isinstance(frac := f.get("frac"), float) and 0 < frac < 1
        ]
        found += [
            (r, f"{f.get('estimator')} validated with cv={f.get('cv')} (random folds)")
            for r, f in self.executed.facts("sklearn.fit", "sklearn.model_selection.")
            if isinstance(cv := f.get("cv"), str) and (cv.isdigit() or cv == "None" or cv in RANDOM_SPLITTERS)
        ]
        return found

    def observed_months(self) -> tuple[Ran, str] | None:
        """A model fitted on some months and scored on later ones, from the sizes of their labels."""
        if self.profile is None:
            return None
        last = len(self.profile.months) - 1
        fitted = []
        for ran, facts in self.fits:
            labels = _labels(facts)
            spans = self.profile.spans(*labels) if labels else []
            fitted += [(ran, span) for span in spans if span != (0, last)]
        for ran, facts in self.executed.facts(*LABELLED_CALLS):
            labels = _labels(facts)
            spans = self.profile.spans(*labels) if labels and labels[1] is not None else []
            for (first, end), (fit, (start, stop)) in ((s, f) for s in spans for f in fitted):
                if first > stop:
                    months = self.profile.months
                    return ran, (
                        f"fitted on {months[start]}..{months[stop]} (cell {fit.cell}), "
                        f"evaluated on {months[first]}..{months[end]}"
                    )
        return None

    def _selections(self, column: str | None, months: set[str] | None = None) -> list[Ran]:
        if not column:
            return []
        found = [r for r, f in self.executed.facts(*SELECTIONS) if column in _names(f)]
        found += [
            r for r, f in self.executed.facts(*FILTERS) if column in _names(f) or column in str(f.get("expr", ""))
        ]
        if months:
            found += [
                r
                for r, f in self.executed.facts("numpy.isin")
                if isinstance(value := f.get("value"), list) and months & set(value)
            ]
        return found

    def time_split(self) -> Check:
        found: list[tuple[Ran, str]] = []
        observed = self.observed_months()
        if observed:
            found.append(observed)
        found += [
            (r, "TimeSeriesSplit ran")
            for r, f in self.executed.facts("sklearn.split", "sklearn.fit", "sklearn.model_selection.")
            if "TimeSeriesSplit" in (str(f.get("splitter")), str(f.get("cv")))
        ]
        months = set(self.profile.months) if self.profile else None
        found += [
            (r, f"rows selected on {self.time_column} in the notebook that then fits a model")
            for r in self._selections(self.time_column, months)
            if self._fitted_from(r.notebook, r.cell) and not self._rows_split_at_random_in(r.notebook)
        ]
        return _check("time_split", self.executed, found, "no split by time ran")

    def group_split(self) -> Check:
        found = [
            (r, f"{f.get('splitter') or f.get('cv')} split by groups")
            for r, f in self.executed.facts("sklearn.split", "sklearn.fit", "sklearn.model_selection.")
            if f.get("groups") is True and GROUP_SPLITTERS.search(str(f.get("splitter") or f.get("cv")))
        ]
        found += [
            (r, f"rows selected by {self.group_column} in the notebook that then fits a model")
            for r, f in self.executed.facts(*(s for s in SELECTIONS if s.endswith(("isin", "is_in"))))
            if self.group_column in _names(f)
            and self._fitted_from(r.notebook, r.cell)
            and not self._rows_split_at_random_in(r.notebook)
        ]
        return _check("group_split", self.executed, found, "no split by customer ran")

    def random_split(self) -> Check:
        return _check("random_split", self.executed, self.random(), "no random row split ran")

    def calibrated_model(self) -> Check:
        found = [
            (r, f"{f.get('estimator')} fitted" + (f" ({f['method']})" if isinstance(f.get("method"), str) else ""))
            for r, f in self.fits
            if f.get("estimator") in CALIBRATORS
        ]
        found += [
            (r, "a logistic regression fitted on one score column (Platt scaling)")
            for r, f in self.fits
            if f.get("estimator") == "LogisticRegression" and f.get("cols") == 1
        ]
        return _check("calibrated_model", self.executed, found, "no calibrator was fitted")

    def class_imbalance_handled(self) -> Check:
        found = [
            (r, f"{f.get('estimator') or r.call} fitted with {', '.join(map(str, weighting))}")
            for r, f in self.fits
            if isinstance(weighting := f.get("weighting"), list) and weighting
        ]
        return _check("class_imbalance_handled", self.executed, found, "no class weighting in any fit that ran")

    def hyperparameter_search(self) -> Check:
        found = [(r, f"{f.get('estimator')} ran") for r, f in self.fits if SEARCHES.search(str(f.get("estimator")))]
        found += [(r, "an optuna study ran") for r in self.executed.calls("optuna.Study.optimize")]
        found += [(r, "hyperopt's fmin ran") for r in self.executed.calls("hyperopt.fmin")]
        configs: dict[tuple[str, str], set] = {}
        first: dict[tuple[str, str], Ran] = {}
        for ran, facts in self.fits:
            model = (ran.notebook, str(facts.get("estimator") or ran.call))
            configs.setdefault(model, set()).add(facts.get("params"))
            first.setdefault(model, ran)
        found += [
            (first[model], f"{model[1]} fitted with {len(seen)} different settings")
            for model, seen in configs.items()
            if len(seen) >= DISTINCT_CONFIGS
        ]
        return _check("hyperparameter_search", self.executed, found, "no hyperparameter search ran")

    def _shown(self, check_id: str, calls: tuple[str, ...], what: str) -> Check:
        ran = self.executed.calls(*calls)
        shown = [(r, f"{what} drawn in a cell that shows an image") for r in ran if self._images(r) > 0]
        check = _check(check_id, self.executed, shown, f"no {what} drawn")
        if ran and not shown:
            check.detail, check.quotes = f"{what} computed but no image shown", [ran[0].quote()]
        return check

    def _images(self, ran: Ran) -> int:
        cell = self.cells.get((ran.notebook, ran.cell))
        return cell.images if cell else 0

    def calibration_plot(self) -> Check:
        return self._shown("calibration_plot", CALIBRATION_PLOT_CALLS, "calibration curve")

    def pr_curve(self) -> Check:
        return self._shown("pr_curve", PR_CURVE_CALLS, "precision-recall curve")

    def lift_table(self) -> Check:
        found = []
        for ran, facts in self.executed.facts(*BINNING_CALLS):
            cell = self.cells.get((ran.notebook, ran.cell))
            if facts.get("bins") == 10 and cell is not None and LIFT_WORDS.search(cell.output):
                found.append((ran, "scores cut into deciles and a lift table printed"))
        return _check("lift_table", self.executed, found, "no lift table by decile computed and shown")

    def pr_computed(self) -> list[tuple[Ran, str]]:
        found = [
            (r, "PR-AUC computed")
            for r, f in self.executed.facts(*PR_CALLS)
            if (_labels(f) or (0, None))[0] >= MIN_LABELS
        ]
        curves = {(r.notebook, r.cell) for r in self.executed.calls("sklearn.metrics.precision_recall_curve")}
        found += [
            (r, "area under a precision-recall curve computed")
            for r in self.executed.calls("sklearn.metrics.auc")
            if (r.notebook, r.cell) in curves
        ]
        found += [
            (r, f"trained against {f['metric']}")
            for r, f in self.fits
            if PR_TRAINING_METRICS.search(str(f.get("metric", "")))
        ]
        return found

    def roc_computed(self) -> list[Ran]:
        return self.executed.calls(*ROC_CALLS)

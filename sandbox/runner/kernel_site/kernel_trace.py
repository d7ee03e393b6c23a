"""What ran in the candidate's kernel: analysis, splitting, search, calibration, metric and
tracking calls, counted once per cell, with a few facts about what each was called on.

Imported by sitecustomize.py in the notebook kernel only: candidate_kernel.py hands the kernel
a file descriptor (GRADER_TRACE_FD) and its own pid (GRADER_TRACE_PID); any other Python the
kernel starts finds the pid different and records nothing. When a traced library module is
imported, the functions below are wrapped in place. A wrapped call is recorded only when its
caller is the candidate's code (a notebook cell, their own package), never when a library calls
another library, so pandas' own comparisons and a search's inner fits are not counted.

Per cell, each function gets a call count and, for its first calls, a description of the
arguments: shapes, column and series names, the labels' size and positives, splitter and
estimator classes, a hash of hyperparameters. No data values are kept, except short scalars a
frame was compared with (a month string, a cut-off). After each cell one JSON line goes to the
descriptor; the runner maps execution counts to cells and writes `trace.json`.

The record lives in the candidate's process: their code can add to it on purpose. It says what
ran, not that it was meant; the grader checks figures against the truth for anything that matters
more. Standalone, like the other runner scripts; never raises into the candidate's code.
"""

from __future__ import annotations

import functools
import json
import os
import site
import sys
import sysconfig
import threading

from kernel_trace_describe import (  # kernel_site is on the path, as this module is
    array_split,
    between,
    binning,
    cross_val,
    crosstab,
    display,
    features_and_labels,
    fit,
    frame_method,
    groupby,
    isin,
    logged,
    metric,
    nothing,
    pivot,
    query,
    sample,
    series_method,
    size,
    split,
    train,
    train_test_split,
    trials,
    two_samples,
)

SCHEMA = "kernel-trace/1"
DESCRIBED_CALLS = 32  # per function and cell: the first calls whose arguments are described
MAX_FUNCTIONS = 300  # per cell
MAX_LINE_BYTES = 256 * 1024
_MARK = "__grader_traced__"


# ------------------------------------------------------------------------------ the record


class _Recorder:
    """The calls of the running cell ({function: [count, [descriptions]]}), written when it ends.

    Cells run one after another, so whatever was recorded since the last cell ended belongs to
    the cell now ending: IPython's post_run_cell gives its execution count (whenever a given IPython
    version increments it), which the runner maps to the cell."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.calls: dict[str, list] = {}
        self.hooked = False
        self.lock = threading.Lock()
        self._write({"trace": SCHEMA, "pid": os.getpid()})

    def _hook(self) -> None:
        self.hooked = True
        ipython = sys.modules.get("IPython")
        shell = ipython.get_ipython() if ipython is not None else None
        if shell is not None:
            shell.events.register("post_run_cell", self.flush)

    def record(self, name: str, describe, args, kwargs) -> None:
        if not self.hooked:
            self._hook()
        entry = self.calls.get(name)
        if entry is None:
            if len(self.calls) >= MAX_FUNCTIONS:
                return
            entry = self.calls[name] = [0, []]
        entry[0] += 1
        if entry[0] <= DESCRIBED_CALLS:
            facts = describe(args, kwargs)
            if facts not in entry[1]:
                entry[1].append(facts)

    def flush(self, result=None) -> None:
        with self.lock:
            calls, self.calls = self.calls, {}
        if calls:
            number = getattr(result, "execution_count", None)
            cell = {"cell": number if isinstance(number, int) else 0}
            self._write({**cell, "calls": {name: {"count": c, "described": d} for name, (c, d) in calls.items()}})

    def _write(self, record: dict) -> None:
        try:
            line = json.dumps(record, default=str, separators=(",", ":"))
            if len(line) > MAX_LINE_BYTES:
                # Too much described: keep the counts.
                calls = {n: {"count": c["count"], "described": []} for n, c in record.get("calls", {}).items()}
                line = json.dumps({**record, "calls": calls, "truncated": True}, default=str)[:MAX_LINE_BYTES]
            os.write(self.fd, (line + "\n").encode("utf-8", "replace"))
        except Exception:
            pass


_recorder: _Recorder | None = None
_library_files: dict[str, bool] = {}
_LIBRARY_PREFIXES: tuple[str, ...] = ()


def _is_library(filename: str) -> bool:
    known = _library_files.get(filename)
    if known is None:
        known = filename.startswith(_LIBRARY_PREFIXES) or filename.startswith("<frozen")
        _library_files[filename] = known
    return known


def _traced(function, name: str, describe):
    """`function`, recording each call from the candidate's code under `name`."""
    if getattr(function, _MARK, False):
        return function

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        recorder = _recorder
        if recorder is not None:
            try:
                if not _is_library(sys._getframe(1).f_code.co_filename):
                    recorder.record(name, describe, args, kwargs)
            except Exception:
                pass
        return function(*args, **kwargs)

    setattr(wrapper, _MARK, True)
    return wrapper


def _wrap_attribute(owner, attribute: str, name: str, describe) -> None:
    """Wrap a function, method, classmethod or staticmethod where `owner` defines or inherits it."""
    raw = None
    for klass in getattr(owner, "__mro__", (owner,)):
        if attribute in vars(klass):
            raw = vars(klass)[attribute]
            break
    if raw is None:
        return
    if isinstance(raw, classmethod):
        wrapped = classmethod(_traced(raw.__func__, name, describe))
    elif isinstance(raw, staticmethod):
        wrapped = staticmethod(_traced(raw.__func__, name, describe))
    elif callable(raw):
        wrapped = _traced(raw, name, describe)
    else:
        return
    if wrapped is raw:
        return
    setattr(owner, attribute, wrapped)
    # A function re-exported from where it is defined: wrap it there too, so pickling by name still finds it.
    home = sys.modules.get(getattr(raw, "__module__", "") or "")
    if (
        isinstance(owner, type(sys))
        and home is not None
        and home is not owner
        and getattr(home, attribute, None) is raw
    ):
        setattr(home, attribute, wrapped)


def _resolve(module, path: str):
    owner = module
    for part in path.split(".")[:-1]:
        owner = getattr(owner, part, None)
        if owner is None:
            return None, None
    return owner, path.split(".")[-1]


# What is traced, by the module whose import triggers it: (attribute path, recorded name, describer).
COMPARISONS = ("__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__")
TARGETS: dict[str, list[tuple[str, str, object]]] = {
    "pandas": [
        *[(f"Series.{op}", f"pandas.Series.{op}", series_method) for op in COMPARISONS],
        ("Series.isin", "pandas.Series.isin", series_method),
        ("Series.between", "pandas.Series.between", between),
        ("DataFrame.query", "pandas.DataFrame.query", query),
        ("DataFrame.duplicated", "pandas.DataFrame.duplicated", frame_method),
        ("DataFrame.drop_duplicates", "pandas.DataFrame.drop_duplicates", frame_method),
        ("Series.duplicated", "pandas.Series.duplicated", frame_method),
        ("DataFrame.isna", "pandas.DataFrame.isna", frame_method),
        ("DataFrame.isnull", "pandas.DataFrame.isnull", frame_method),
        ("DataFrame.notna", "pandas.DataFrame.notna", frame_method),
        ("Series.isna", "pandas.Series.isna", frame_method),
        ("Series.isnull", "pandas.Series.isnull", frame_method),
        ("Series.notna", "pandas.Series.notna", frame_method),
        ("DataFrame.groupby", "pandas.DataFrame.groupby", groupby),
        ("Series.groupby", "pandas.Series.groupby", groupby),
        ("DataFrame.pivot_table", "pandas.DataFrame.pivot_table", pivot),
        ("crosstab", "pandas.crosstab", crosstab),
        ("Series.value_counts", "pandas.Series.value_counts", frame_method),
        ("Series.nunique", "pandas.Series.nunique", frame_method),
        ("DataFrame.sample", "pandas.DataFrame.sample", sample),
        ("qcut", "pandas.qcut", binning),
        ("cut", "pandas.cut", binning),
    ],
    "polars": [
        *[(f"Expr.{op}", f"polars.Expr.{op}", series_method) for op in COMPARISONS],
        *[(f"Series.{op}", f"polars.Series.{op}", series_method) for op in COMPARISONS],
        ("Expr.is_in", "polars.Expr.is_in", series_method),
        ("Expr.is_between", "polars.Expr.is_between", between),
        ("Expr.is_null", "polars.Expr.is_null", frame_method),
        ("Series.is_null", "polars.Series.is_null", frame_method),
        ("DataFrame.null_count", "polars.DataFrame.null_count", frame_method),
        ("DataFrame.is_duplicated", "polars.DataFrame.is_duplicated", frame_method),
        ("DataFrame.unique", "polars.DataFrame.unique", frame_method),
        ("DataFrame.group_by", "polars.DataFrame.group_by", groupby),
        ("LazyFrame.group_by", "polars.LazyFrame.group_by", groupby),
        ("DataFrame.filter", "polars.DataFrame.filter", groupby),
        ("LazyFrame.filter", "polars.LazyFrame.filter", groupby),
        ("DataFrame.sample", "polars.DataFrame.sample", sample),
        ("Series.qcut", "polars.Series.qcut", binning),
        ("Expr.qcut", "polars.Expr.qcut", binning),
    ],
    "numpy": [
        ("isin", "numpy.isin", isin),
        ("array_split", "numpy.array_split", array_split),
    ],
    "scipy.stats": [
        (f, f"scipy.stats.{f}", two_samples)
        for f in (
            "ks_2samp",
            "wasserstein_distance",
            "mannwhitneyu",
            "ttest_ind",
            "anderson_ksamp",
            "cramervonmises_2samp",
            "epps_singleton_2samp",
            "entropy",
            "chi2_contingency",
        )
    ],
    "scipy.spatial.distance": [("jensenshannon", "scipy.spatial.distance.jensenshannon", two_samples)],
    "sklearn.metrics": [
        *[
            (f, f"sklearn.metrics.{f}", metric)
            for f in (
                "average_precision_score",
                "precision_recall_curve",
                "roc_auc_score",
                "roc_curve",
                "brier_score_loss",
                "log_loss",
            )
        ],
        ("auc", "sklearn.metrics.auc", two_samples),
        *[
            (f"{display}.{method}", f"sklearn.metrics.{display}.{method}", display)
            for display in ("PrecisionRecallDisplay", "RocCurveDisplay")
            for method in ("from_predictions", "from_estimator")
        ],
    ],
    "sklearn.feature_selection": [
        ("mutual_info_classif", "sklearn.feature_selection.mutual_info_classif", features_and_labels),
    ],
    "sklearn.calibration": [
        ("calibration_curve", "sklearn.calibration.calibration_curve", metric),
        *[
            (f"CalibrationDisplay.{m}", f"sklearn.calibration.CalibrationDisplay.{m}", display)
            for m in ("from_predictions", "from_estimator")
        ],
    ],
    "sklearn.model_selection": [
        ("train_test_split", "sklearn.model_selection.train_test_split", train_test_split),
        *[
            (f, f"sklearn.model_selection.{f}", cross_val)
            for f in ("cross_val_score", "cross_validate", "cross_val_predict")
        ],
        ("ParameterGrid.__iter__", "sklearn.model_selection.ParameterGrid", size),
        ("ParameterSampler.__iter__", "sklearn.model_selection.ParameterSampler", size),
    ],
    "lightgbm": [
        ("train", "lightgbm.train", train),
        ("cv", "lightgbm.cv", train),
        ("LGBMModel.fit", "lightgbm.fit", fit),
        ("LGBMClassifier.fit", "lightgbm.fit", fit),
        ("LGBMRegressor.fit", "lightgbm.fit", fit),
    ],
    "xgboost": [
        ("train", "xgboost.train", train),
        ("cv", "xgboost.cv", train),
        ("XGBModel.fit", "xgboost.fit", fit),
        ("XGBClassifier.fit", "xgboost.fit", fit),
        ("XGBRegressor.fit", "xgboost.fit", fit),
    ],
    "catboost": [("CatBoost.fit", "catboost.fit", fit)],
    "optuna": [("study.Study.optimize", "optuna.Study.optimize", trials)],
    "hyperopt": [("fmin", "hyperopt.fmin", trials)],
    "mlflow": [
        ("log_metric", "mlflow.log_metric", logged),
        ("log_metrics", "mlflow.log_metrics", logged),
        ("log_param", "mlflow.log_param", logged),
        ("log_params", "mlflow.log_params", logged),
        ("log_figure", "mlflow.log_figure", nothing),
        ("log_artifact", "mlflow.log_artifact", nothing),
        ("start_run", "mlflow.start_run", nothing),
    ],
}
# scikit-learn estimators (`fit`) and cross-validators (`split`) are found by walking each public
# subpackage as it is imported: there are too many to list, and candidates use any of them.
SKLEARN_WALKED = ("fit", "split")


def _patch_sklearn_module(module) -> None:
    base = getattr(sys.modules.get("sklearn.base"), "BaseEstimator", None)
    for value in list(vars(module).values()):
        if not isinstance(value, type) or not value.__module__.startswith("sklearn"):
            continue
        if base is not None and issubclass(value, base) and "fit" in dir(value):
            _wrap_attribute(value, "fit", "sklearn.fit", fit)
        elif callable(getattr(value, "split", None)) and "get_n_splits" in dir(value):
            _wrap_attribute(value, "split", "sklearn.split", split)


def patch_module(module) -> None:
    """Wrap what TARGETS lists for this freshly imported module."""
    name = module.__name__
    for path, recorded, describe in TARGETS.get(name, ()):
        owner, attribute = _resolve(module, path)
        if owner is not None:
            _wrap_attribute(owner, attribute, recorded, describe)
    parts = name.split(".")
    if parts[0] == "sklearn" and len(parts) == 2 and not parts[1].startswith("_"):
        _patch_sklearn_module(module)


def watched(name: str) -> bool:
    """Whether importing `name` should patch it."""
    if name in TARGETS:
        return True
    parts = name.split(".")
    return parts[0] == "sklearn" and len(parts) == 2 and not parts[1].startswith("_")


def activate(fd: int) -> None:
    """Start recording to `fd`; modules already imported are patched now, the rest on import."""
    global _recorder, _LIBRARY_PREFIXES
    paths = sysconfig.get_paths()
    prefixes = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}
    try:
        prefixes.update(site.getsitepackages())
        prefixes.add(site.getusersitepackages())
    except Exception:
        pass
    prefixes.add(os.path.dirname(os.path.abspath(__file__)))
    _LIBRARY_PREFIXES = tuple(sorted(os.path.join(p, "") for p in prefixes if p))
    _recorder = _Recorder(fd)
    import atexit

    atexit.register(_recorder.flush)
    for name in list(sys.modules):
        if watched(name) and sys.modules.get(name) is not None:
            try:
                patch_module(sys.modules[name])
            except Exception:
                pass

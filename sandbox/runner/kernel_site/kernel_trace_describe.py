"""What a traced call was given, in a few facts: shapes, column and series names, the labels' size
and positives, splitter and estimator classes, a hash of hyperparameters (kernel_trace.py).

No data values are kept, except short literal scalars a frame was compared with (a month
string, a cut-off). Each describer takes the call's (args, kwargs) and never raises past the
recorder, which catches everything.
"""

from __future__ import annotations

import hashlib
import sys

MAX_NAMES = 200
MAX_TEXT = 120


def _text(value) -> str:
    return str(value)[:MAX_TEXT]


def _shape(obj) -> tuple[int, ...] | None:
    shape = getattr(obj, "shape", None)
    if isinstance(shape, tuple) and all(isinstance(d, int) for d in shape):
        return shape
    try:
        return (len(obj),)
    except Exception:
        return None


def _names(obj, depth: int = 0) -> list[str]:
    """Column or series names an argument refers to: a name, a Series, a polars expression, lists of them."""
    if obj is None or depth > 2:
        return []
    if isinstance(obj, str):
        return [obj[:MAX_TEXT]]
    if isinstance(obj, (list, tuple)):
        return [name for item in obj[:MAX_NAMES] for name in _names(item, depth + 1)][:MAX_NAMES]
    meta = getattr(obj, "meta", None)  # a polars expression
    if meta is not None and hasattr(meta, "root_names"):
        try:
            return [_text(name) for name in meta.root_names()][:MAX_NAMES]
        except Exception:
            return []
    name = getattr(obj, "name", None)
    if isinstance(name, (str, int, float, tuple)) and hasattr(obj, "dtype"):
        return [_text(name)]
    key = getattr(obj, "key", None)  # a pandas Grouper
    return [_text(key)] if isinstance(key, str) else []


def _columns(obj) -> list[str]:
    columns = getattr(obj, "columns", None)
    if columns is None:
        return []
    try:
        return [_text(c) for c in list(columns)[:MAX_NAMES]]
    except Exception:
        return []


def _scalars(value) -> list[str]:
    """A compared value, as text: a scalar, or a sample of a short literal collection (a list of months).

    Never the candidate's data: a Series or frame compared with another gives nothing here."""
    kind = type(value)
    if isinstance(value, (str, int, float, bool)) or kind.__name__ in ("Timestamp", "Period", "date", "datetime"):
        return [_text(value)]
    if kind.__module__ == "numpy" and getattr(value, "ndim", 1) == 0:
        return [_text(value)]
    if isinstance(value, (list, tuple, set, frozenset, range)) or kind.__name__ == "ndarray":
        try:
            if len(value) <= 1000:
                return [_text(v) for v in list(value)[:24]]
        except Exception:
            pass
    return []


def _labels(y) -> dict:
    """How many labels and how many positives (1 or True): enough to tell which months they are."""
    if y is None:
        return {}
    numpy = sys.modules.get("numpy")
    try:
        values = y.to_numpy() if hasattr(y, "to_numpy") else numpy.asarray(y)
        values = values.reshape(-1) if values.ndim > 1 and values.size == len(values) else values
        facts = {"y_rows": int(values.shape[0])}
        if values.dtype.kind in "biuf":
            facts["y_pos"] = int(numpy.count_nonzero(values == 1))
        return facts
    except Exception:
        shape = _shape(y)
        return {"y_rows": shape[0]} if shape else {}


def _frame(obj) -> dict:
    shape = _shape(obj)
    facts: dict = {}
    if shape:
        facts["rows"] = shape[0]
        if len(shape) > 1:
            facts["cols"] = shape[1]
    return facts


def _params_hash(params) -> str:
    try:
        text = repr(sorted((str(k), repr(v)) for k, v in dict(params).items()))
    except Exception:
        text = repr(params)
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:12]


def _argument(args, kwargs, position: int, name: str):
    if name in kwargs:
        return kwargs[name]
    return args[position] if len(args) > position else None


def series_method(args, kwargs) -> dict:
    facts = {"name": _names(args[0])[:1], **_frame(args[0])} if args else {}
    if len(args) > 1:
        facts["value"] = _scalars(args[1])
    return facts


def between(args, kwargs) -> dict:
    values = [_argument(args, kwargs, 1, "left"), _argument(args, kwargs, 2, "right")]
    return {"name": _names(args[0])[:1] if args else [], "value": [_text(v) for v in values]}


def query(args, kwargs) -> dict:
    return {"expr": _text(_argument(args, kwargs, 1, "expr")), **_frame(args[0] if args else None)}


def frame_method(args, kwargs) -> dict:
    facts = _frame(args[0]) if args else {}
    subset = kwargs.get("subset", args[1] if len(args) > 1 and isinstance(args[1], (list, tuple)) else None)
    if subset is not None:
        facts["subset"] = _names(subset)
    name = _names(args[0])[:1] if args else []
    if name:
        facts["name"] = name
    return facts


def groupby(args, kwargs) -> dict:
    keys = kwargs.get("by", kwargs.get("level"))
    if keys is None:
        keys = list(args[1:]) if len(args) > 2 else (args[1] if len(args) > 1 else None)
    return {"by": _names(keys), **_frame(args[0] if args else None)}


def pivot(args, kwargs) -> dict:
    names = [_names(kwargs.get(key)) for key in ("index", "columns", "values")]
    return {"by": [n for group in names for n in group], **_frame(args[0] if args else None)}


def crosstab(args, kwargs) -> dict:
    return {"by": _names(_argument(args, kwargs, 0, "index")) + _names(_argument(args, kwargs, 1, "columns"))}


def binning(args, kwargs) -> dict:
    bins = _argument(args, kwargs, 1, "q") if "bins" not in kwargs else kwargs["bins"]
    bins = bins if isinstance(bins, int) else (len(bins) - 1 if hasattr(bins, "__len__") else None)
    return {"bins": bins, **_frame(args[0] if args else None)}


def sample(args, kwargs) -> dict:
    facts = _frame(args[0]) if args else {}
    for key, position in (("n", 1), ("frac", 2)):
        value = _argument(args, kwargs, position, key)
        if isinstance(value, (int, float)):
            facts[key] = value
    return facts


def isin(args, kwargs) -> dict:
    return {**_frame(args[0] if args else None), "value": _scalars(_argument(args, kwargs, 1, "test_elements"))}


def array_split(args, kwargs) -> dict:
    sections = _argument(args, kwargs, 1, "indices_or_sections")
    return {**_frame(args[0] if args else None), "bins": sections if isinstance(sections, int) else None}


def two_samples(args, kwargs) -> dict:
    return {"sizes": [(_shape(a) or (0,))[0] for a in args[:2]]}


def metric(args, kwargs) -> dict:
    return _labels(_argument(args, kwargs, 0, "y_true"))


def features_and_labels(args, kwargs) -> dict:
    return {**_frame(_argument(args, kwargs, 0, "X")), **_labels(_argument(args, kwargs, 1, "y"))}


def display(args, kwargs) -> dict:
    # classmethods: (cls, y_true, y_pred) or (cls, estimator, X, y)
    if len(args) > 1 and hasattr(args[1], "fit"):
        return {"estimator": type(args[1]).__name__, **_labels(_argument(args, kwargs, 3, "y"))}
    return _labels(_argument(args, kwargs, 1, "y_true"))


def _estimator_params(estimator) -> dict:
    try:
        return estimator.get_params(deep=False)
    except Exception:
        return {}


def fit(args, kwargs) -> dict:
    """An estimator's fit: what it is, what it was fitted on, with which settings."""
    estimator = args[0]
    X, y = _argument(args, kwargs, 1, "X"), _argument(args, kwargs, 2, "y")
    params = _estimator_params(estimator)
    facts = {
        "estimator": type(estimator).__name__,
        **_frame(X),
        **_labels(y),
        "params": _params_hash(params),
        "proba": hasattr(estimator, "predict_proba"),
    }
    columns = _columns(X)
    if columns:
        facts["columns"] = columns
    weighted = [
        k for k in ("class_weight", "scale_pos_weight", "is_unbalance") if params.get(k) not in (None, 1, False)
    ]
    if kwargs.get("sample_weight") is not None:
        weighted.append("sample_weight")
    if weighted:
        facts["weighting"] = weighted
    for key in ("metric", "eval_metric", "objective", "method"):
        if isinstance(params.get(key), str):
            facts.setdefault("metric" if key == "eval_metric" else key, _text(params[key]))
    if isinstance(kwargs.get("eval_metric"), str):
        facts["metric"] = _text(kwargs["eval_metric"])
    if hasattr(estimator, "cv") and not callable(estimator.cv):
        cv = estimator.cv
        facts["cv"] = _text(cv if cv is None or isinstance(cv, (int, str)) else type(cv).__name__)
    if kwargs.get("groups") is not None:
        facts["groups"] = True
    return facts


def train(args, kwargs) -> dict:
    """lightgbm.train / xgboost.train (params, data, ...): the labels are on the dataset object."""
    params = _argument(args, kwargs, 0, "params") or {}
    data = _argument(args, kwargs, 1, "train_set" if "train_set" in kwargs else "dtrain")
    label = getattr(data, "label", None)
    if label is None and hasattr(data, "get_label"):
        try:
            label = data.get_label()
        except Exception:
            label = None
    facts = {**_labels(label), "params": _params_hash({**params, "rounds": kwargs.get("num_boost_round")})}
    inner = getattr(data, "data", None)
    facts.update(_frame(inner) if inner is not None and not isinstance(inner, str) else {})
    rows = data.num_row() if hasattr(data, "num_row") else None
    if isinstance(rows, int):
        facts["rows"] = rows
    if isinstance(params, dict):
        metric = params.get("metric", params.get("eval_metric"))
        if metric is not None:
            facts["metric"] = _names(metric) if isinstance(metric, (list, tuple)) else _text(metric)
        weighted = [k for k in ("scale_pos_weight", "is_unbalance") if params.get(k) not in (None, 1, False)]
        if weighted:
            facts["weighting"] = weighted
    return facts


def split(args, kwargs) -> dict:
    splitter = args[0]
    return {
        "splitter": type(splitter).__name__,
        **_frame(_argument(args, kwargs, 1, "X")),
        "groups": _argument(args, kwargs, 3, "groups") is not None,
    }


def train_test_split(args, kwargs) -> dict:
    return {
        **_frame(args[0] if args else None),
        "shuffle": bool(kwargs.get("shuffle", True)),
        "stratify": kwargs.get("stratify") is not None,
    }


def cross_val(args, kwargs) -> dict:
    cv = kwargs.get("cv")
    return {
        "estimator": type(args[0]).__name__ if args else "",
        **_frame(_argument(args, kwargs, 1, "X")),
        **_labels(_argument(args, kwargs, 2, "y")),
        "cv": _text(cv if cv is None or isinstance(cv, (int, str)) else type(cv).__name__),
        "groups": kwargs.get("groups") is not None,
    }


def size(args, kwargs) -> dict:
    try:
        return {"size": len(args[0])}
    except Exception:
        return {}


def trials(args, kwargs) -> dict:
    trials = kwargs.get("n_trials", kwargs.get("max_evals"))
    return {"trials": trials} if isinstance(trials, int) else {}


def logged(args, kwargs) -> dict:
    first = _argument(args, kwargs, 0, "key" if "key" in kwargs else "metrics")
    if isinstance(first, dict):
        return {"names": [_text(k) for k in list(first)[:MAX_NAMES]]}
    return {"names": [_text(first)]} if isinstance(first, str) else {}


def nothing(args, kwargs) -> dict:
    return {}

"""Imported at start-up by the candidate's kernel and every Python it starts (PYTHONPATH set
by candidate_kernel.py): MLflow saves scikit-learn models the way MLflow 2.x did.

MLflow 3.14 made skops the default format of `mlflow.sklearn` (3.17 of `mlflow.lightgbm`'s
scikit-learn models too), and skops refuses to save a model whose types are not on its
allow-list unless the caller lists them: a plain `mlflow.sklearn.log_model(tree, "model")`
on a DecisionTreeClassifier or a ColumnTransformer pipeline raises. A candidate who did not
choose a format must not lose their model to the version the grader installs, so where
the call names no `serialization_format`, cloudpickle (the default of MLflow 2.x up to
3.13) is used. A format the candidate chose is kept.

Safe because the models are only ever loaded inside the sandbox (score_model.py), where
the candidate's own code already runs: unpickling gives them nothing they lacked.
Standalone, like the other runner scripts, and silent when MLflow is absent or older.
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import inspect
import sys

CANDIDATE_DEFAULT = "cloudpickle"
# The flavors whose save/log functions take `serialization_format`.
FLAVORS = ("mlflow.sklearn", "mlflow.lightgbm")
FUNCTIONS = ("save_model", "log_model")


def _default_to_cloudpickle(function):
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return function
    if "serialization_format" not in signature.parameters or getattr(function, "_grader_default", False):
        return function

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            bound = signature.bind_partial(*args, **kwargs)
        except TypeError:  # a wrong call: MLflow gives its own error
            return function(*args, **kwargs)
        if bound.arguments.get("serialization_format") is not None:
            return function(*args, **kwargs)
        bound.arguments["serialization_format"] = CANDIDATE_DEFAULT
        return function(*bound.args, **bound.kwargs)

    wrapper._grader_default = True
    return wrapper


def _patch(module) -> None:
    for name in FUNCTIONS:
        function = getattr(module, name, None)
        if callable(function):
            setattr(module, name, _default_to_cloudpickle(function))


class _PatchFlavorsOnImport(importlib.abc.MetaPathFinder):
    """Patches a flavor module right after MLflow imports it (lazily, on first use)."""

    def find_spec(self, fullname, path, target=None):
        if fullname not in FLAVORS:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run_module = spec.loader.exec_module

        def exec_module(module):
            run_module(module)
            _patch(module)

        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _PatchFlavorsOnImport())

"""churnkit: the few pieces the notebooks, the MLflow model and the API must share.

- roles.py    which column is the id, the month, the label, and what kind each feature is
- prep.py     records (a polars frame) -> the float matrix the models see
- scoring.py  preprocessing + LightGBM booster + isotonic calibrator, saved and loaded as files
- metrics.py  PR-AUC, Brier, ECE, lift by decile, and the three evaluation plots
- pyfunc.py   the MLflow PythonModel around scoring.ChurnScorer (imports mlflow; the API does not)
"""

"""Shared code of the churn model: the same feature encoding and scoring in the notebooks,
the MLflow model and the service, so that training and serving cannot drift apart.

The serving path (features, forest, calibration, scorer) needs numpy only.
"""

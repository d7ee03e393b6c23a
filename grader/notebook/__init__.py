"""The notebook stage: execute in the sandbox, read the MLflow runs, collect evidence."""

"""Builders for real submission layouts on disk: notebooks, Dockerfiles, services, stores.

Import as `from submission_layouts import ...` from tests/submission/ (pytest's default
import mode puts this folder on sys.path). Everything written here is a real file of its
kind: notebooks through nbformat, SQLite through sqlite3, MLflow stores through MLflow.
"""

from __future__ import annotations

import sqlite3
import textwrap
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

AUDIT_CELLS = [
    "import pandas as pd\ndf = pd.read_parquet('../data/churn.parquet')",
    "df.isna().mean().sort_values()",
    "df.duplicated().sum()",
    "df['plan'].value_counts()",
]
MODELING_CELLS = [
    "import mlflow\nfrom sklearn.linear_model import LogisticRegression",
    "with mlflow.start_run():\n    model = LogisticRegression().fit(X, y)\n    mlflow.sklearn.log_model(model, name='model')",
]
EVALUATION_CELLS = [
    "from sklearn.calibration import calibration_curve\nfrom sklearn.metrics import precision_recall_curve",
    "prob_true, prob_pred = calibration_curve(y, p, n_bins=10)",
    "lift = deciles.groupby('decile').churn.mean()",
]

FASTAPI_MAIN = """\
import joblib
from fastapi import FastAPI

app = FastAPI(title="churn")
model = joblib.load("models/model.joblib")


@app.post("/predict")
def predict(record: dict) -> dict:
    return {"churn_probability": 0.5}
"""

FLASK_APP = """\
import pickle
from flask import Flask, jsonify, request

server = Flask(__name__)


@server.route("/predict", methods=["POST"])
def predict():
    return jsonify({"churn_probability": 0.5})
"""

MLFLOW_DDL = """
CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY);
CREATE TABLE experiments (experiment_id INTEGER PRIMARY KEY, name VARCHAR(256), lifecycle_stage VARCHAR(32));
CREATE TABLE runs (run_uuid VARCHAR(32) PRIMARY KEY, experiment_id INTEGER, status VARCHAR(9));
CREATE TABLE metrics (key VARCHAR(250), value FLOAT, run_uuid VARCHAR(32));
CREATE TABLE params (key VARCHAR(250), value VARCHAR(8000), run_uuid VARCHAR(32));
CREATE TABLE registered_models (name VARCHAR(256) PRIMARY KEY);
"""


def write(root: Path, rel: str, text: str = "") -> Path:
    """Write a text file at `root/rel`, creating folders; returns the path."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def write_notebook(root: Path, rel: str, code: list[str] | None = None, markdown: list[str] | None = None) -> Path:
    """A real nbformat-4 notebook with the given markdown then code cells."""
    cells = [new_markdown_cell(text) for text in markdown or []] + [new_code_cell(text) for text in code or []]
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(new_notebook(cells=cells), path)
    return path


def dockerfile(
    port: int = 8000,
    command: str = '["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000"]',
    copy: str = ". /app",
) -> str:
    """The text of a typical serving Dockerfile."""
    return (
        "FROM python:3.11-slim\n"
        "WORKDIR /app\n"
        "COPY requirements.txt .\n"
        "RUN pip install -r requirements.txt\n"
        f"COPY {copy}\n"
        f"EXPOSE {port}\n"
        f"CMD {command}\n"
    )


def mlflow_like_sqlite(path: Path, runs: int = 3) -> Path:
    """A SQLite file with MLflow's core tables and a few rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as connection:
        connection.executescript(MLFLOW_DDL)
        connection.execute("INSERT INTO experiments VALUES (0, 'Default', 'active')")
        connection.executemany("INSERT INTO runs VALUES (?, 0, 'FINISHED')", [(f"run{i}",) for i in range(runs)])
    connection.close()
    return path


def standard_submission(root: Path) -> Path:
    """The layout TASK.md asks for: README, notebooks/, requirements.txt, Dockerfile, app/."""
    write(root, "README.md", "# Churn\n\n" + "word " * 500)
    write_notebook(root, "notebooks/01_audit.ipynb", AUDIT_CELLS, ["# Data audit"])
    write_notebook(root, "notebooks/02_modeling.ipynb", MODELING_CELLS + EVALUATION_CELLS)
    write(root, "requirements.txt", "fastapi==0.110.0\nuvicorn==0.29.0\nscikit-learn==1.4.2\njoblib==1.4.0\n")
    write(root, "Dockerfile", dockerfile())
    write(root, "app/__init__.py")
    write(root, "app/main.py", FASTAPI_MAIN)
    (root / "models").mkdir(exist_ok=True)
    (root / "models" / "model.joblib").write_bytes(b"\x80\x04joblib" * 100)
    return root

"""`grader packet` / `grader key` through the real console script: files, determinism, bad input."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest

GRADER = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "grader"
ROWS = "3000"


def run(*args: str, secret: str | None = "cli-test-secret", cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "GRADER_SECRET"}
    if secret is not None:
        env["GRADER_SECRET"] = secret
    return subprocess.run([str(GRADER), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


def tree_hashes(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_packet_and_key_are_byte_identical_for_the_same_seed(tmp_path: Path) -> None:
    for attempt in ("first", "second"):
        assert run("packet", "cand-7", "--rows", ROWS, "--out", str(tmp_path / attempt / "packet")).returncode == 0
        assert run("key", "cand-7", "--rows", ROWS, "--out", str(tmp_path / attempt / "key")).returncode == 0
    first, second = tree_hashes(tmp_path / "first"), tree_hashes(tmp_path / "second")
    assert first == second
    assert {
        "packet/TASK.md",
        "packet/packet.json",
        "packet/data/churn.parquet",
        "packet/data/churn.csv",
        "packet/data/data_dictionary.json",
        "packet/data/DATA_DICTIONARY.md",
        "key/answer_key.json",
        "key/holdout/features.parquet",
        "key/holdout/labels.parquet",
    } == set(first)
    other = run("packet", "cand-7", "--rows", ROWS, "--out", str(tmp_path / "other"), secret="another-cohort")
    assert other.returncode == 0
    assert tree_hashes(tmp_path / "other")["data/churn.parquet"] != first["packet/data/churn.parquet"]


def test_packet_reveals_nothing_of_the_key(tmp_path: Path) -> None:
    assert run("packet", "cand-8", "--rows", ROWS, "--out", str(tmp_path / "packet")).returncode == 0
    assert run("key", "cand-8", "--rows", ROWS, "--out", str(tmp_path / "key")).returncode == 0
    key = json.loads((tmp_path / "key" / "answer_key.json").read_text())
    packet = tmp_path / "packet"
    text = "\n".join(p.read_text() for p in packet.rglob("*") if p.suffix in {".md", ".json"})
    for secret_fact in (key["leak"]["why"], *key["holdout_months"], "cancellation", "leak_column"):
        assert secret_fact not in text
    dictionary = json.loads((packet / "data" / "data_dictionary.json").read_text())
    leak_entry = next(e for e in dictionary if e["name"] == key["leak"]["column"])
    assert "leak" not in leak_entry["description"].lower()
    data = pd.read_parquet(packet / "data" / "churn.parquet")
    assert sorted(data["snapshot_month"].unique()) == key["months"]
    assert len(pd.read_csv(packet / "data" / "churn.csv")) == len(data) == key["rows"]
    holdout = pd.read_parquet(tmp_path / "key" / "holdout" / "features.parquet")
    assert "churned_next_30d" not in holdout.columns
    assert set(holdout["snapshot_month"]) == set(key["holdout_months"])


def _one_line_error(result: subprocess.CompletedProcess, needle: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], result.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("packet", "cand", "--spec", "churn-v9"), "unknown world spec"),
        (("packet", "../escape"), "not allowed"),
        (("packet", "a/b"), "not allowed"),
        (("key", "cand", "--secret-file", "/nonexistent/secret"), "cannot read secret file"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path: Path, args: tuple[str, ...], needle: str) -> None:
    out = tmp_path / "out"
    _one_line_error(run(*args, "--rows", ROWS, "--out", str(out)), needle)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_missing_secret_is_a_clear_error(tmp_path: Path) -> None:
    _one_line_error(run("packet", "cand", "--rows", ROWS, "--out", str(tmp_path / "o"), secret=None), "GRADER_SECRET")


def test_non_empty_output_needs_force_and_is_replaced_whole(tmp_path: Path) -> None:
    out = tmp_path / "packet"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    _one_line_error(run("packet", "cand", "--rows", ROWS, "--out", str(out)), "not empty")
    assert (out / "keep.txt").read_text() == "mine"
    assert run("packet", "cand", "--rows", ROWS, "--out", str(out), "--force").returncode == 0
    assert not (out / "keep.txt").exists()
    assert (out / "data" / "churn.parquet").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["packet"], "no staging folders left behind"


def test_secret_file_and_env_give_the_same_world(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("cli-test-secret\n")
    assert run("packet", "c1", "--rows", ROWS, "--out", str(tmp_path / "env")).returncode == 0
    by_file = run(
        "packet", "c1", "--rows", ROWS, "--out", str(tmp_path / "file"), "--secret-file", str(secret_file), secret=None
    )
    assert by_file.returncode == 0, by_file.stderr
    assert tree_hashes(tmp_path / "env") == tree_hashes(tmp_path / "file")


def test_task_names_the_versions_notebooks_run_with_when_nothing_is_pinned(tmp_path: Path) -> None:
    assert run("packet", "cand-9", "--rows", ROWS, "--out", str(tmp_path / "packet")).returncode == 0
    task = " ".join((tmp_path / "packet" / "TASK.md").read_text().split())
    runner = Path(__file__).resolve().parents[2] / "sandbox" / "runner"
    pins = [line.split("#")[0].strip() for line in (runner / "requirements.txt").read_text().splitlines()]
    pins = [pin for pin in pins if pin]
    assert any(pin.startswith(("mlflow==", "scikit-learn==")) for pin in pins)
    python = re.search(r"^FROM python:(\d+\.\d+)", (runner / "Dockerfile").read_text(), re.M).group(1)
    assert f"when nothing is pinned, notebooks run on Python {python} with " in task
    for pin in pins:
        assert f"`{pin}`" in task, pin
    assert "A pinned `requirements.txt` at the repository root is installed on top of these" in task

"""`grader check` on the reference submissions, for real: notebooks in the sandbox, image built, service asked.

Runs as a candidate would: `python -m grader check SUBMISSION --data PACKET/data`,
with no GRADER_SECRET anywhere in its environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import docker_client_or_skip

from grader.world.packet import write_packet

REFERENCE = Path(__file__).resolve().parents[2] / "reference"
ROWS = 12_000


def _preflight(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "GRADER_SECRET"}
    return subprocess.run(
        [sys.executable, "-m", "grader", "check", *args],
        capture_output=True,
        text=True,
        env={**env, "COLUMNS": "200"},
        timeout=600,
    )


@pytest.fixture(scope="module")
def packet_data(make_world, tmp_path_factory) -> Path:
    """The data/ folder of a candidate's packet, as they received it."""
    return write_packet(make_world("preflight-candidate", ROWS), tmp_path_factory.mktemp("packet") / "packet") / "data"


@pytest.fixture(scope="module")
def docker():
    docker_client_or_skip().close()


def _findings(path: Path) -> list[dict]:
    return json.loads(path.read_text())["findings"]


def test_without_data_it_says_where_to_find_it(tmp_path: Path) -> None:
    done = _preflight(str(REFERENCE / "strong"))
    assert done.returncode == 2
    assert "--data DIR" in done.stderr and "Traceback" not in done.stderr


def test_a_git_lfs_pointer_instead_of_the_data_is_named_as_such(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "churn.parquet").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 9\n")
    done = _preflight(str(REFERENCE / "strong"), "--data", str(data))
    assert done.returncode == 2
    assert "git-LFS pointer" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.slow
@pytest.mark.docker
@pytest.mark.timeout(600)
def test_the_strong_reference_passes(docker, packet_data: Path, tmp_path: Path) -> None:
    report = tmp_path / "preflight.json"
    done = _preflight(
        str(REFERENCE / "strong"), "--data", str(packet_data), "--backend", "docker", "--json", str(report)
    )
    assert done.returncode == 0, done.stdout[-4000:]
    assert "No problems found" in done.stdout
    steps = {f["step"] for f in _findings(report) if f["status"] == "ok"}
    assert {"layout", "data", "notebooks", "mlflow", "image", "service", "malformed input"} <= steps
    messages = [f["message"] for f in _findings(report)]
    assert "GET /health answers" in messages and "the image builds" in messages
    assert any(m.endswith("logged model(s)") and not m.startswith("0 run") for m in messages)
    # Nothing hidden and nothing scored: no holdout, no key, no points, no metric names.
    text = report.read_text().lower() + done.stdout.lower()
    for hidden in ("holdout", "answer_key", "pr_auc", "pr-auc", "points", "/100", "leak"):
        assert hidden not in text, hidden


@pytest.mark.slow
@pytest.mark.docker
@pytest.mark.timeout(600)
def test_broken_serving_names_its_faults(docker, packet_data: Path, tmp_path: Path) -> None:
    report = tmp_path / "preflight.json"
    done = _preflight(
        str(REFERENCE / "broken-serving"), "--data", str(packet_data), "--backend", "docker", "--json", str(report)
    )
    assert done.returncode == 1, done.stdout[-4000:]
    problems = {f["message"]: f for f in _findings(report) if f["status"] == "problem"}
    health = problems["no health route: GET /health (or /healthz) does not answer 200"]
    assert "ready only by /openapi.json" in health["details"][0]
    malformed = next(f for m, f in problems.items() if m.startswith("malformed requests get a server error"))
    assert "HTTP 500" in malformed["details"][0]
    assert len(problems) == 2, list(problems)
    assert "2 problem(s) to fix before you submit" in done.stdout
    ok = {f["message"] for f in _findings(report) if f["status"] == "ok"}
    assert {"the image builds", "the prediction route answers a well-formed request"} <= ok

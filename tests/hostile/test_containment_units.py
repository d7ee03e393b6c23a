"""The containment pieces one by one, fast and without an engine: the cohort suites run them for real."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from grader.cohort.entries import find_submissions
from grader.cohort.fingerprint import submission_sha256
from grader.errors import BadInput
from grader.notebook.execute import ExecutedNotebook, explain_error, run_reasons
from grader.notebook.mlflow_store import prepare_committed_store, read_store
from grader.sandbox.api import Runner, RunSpec, SandboxResult
from grader.sandbox.diskwatch import DiskWatch
from grader.sandbox.folders import remove_planted_links
from grader.sandbox.local.uids import LOCAL_UID_FIRST, sandbox_user
from grader.sandbox.owner import OWNER_HOST, OWNER_PID, owner_alive, owner_labels
from grader.sandbox.policy import POLICY_FILE, load_policy

LIMITS = load_policy().notebook


def test_the_disk_watchdog_stops_a_run_past_its_bytes_or_its_files(tmp_path: Path) -> None:
    (tmp_path / "copied-in.bin").write_bytes(os.urandom(2 << 20))  # the baseline does not count
    stopped = []
    with DiskWatch([tmp_path], limit_mb=1, max_files=1000, stop=lambda: stopped.append("bytes")) as watch:
        (tmp_path / "written.bin").write_bytes(os.urandom(3 << 20))
        time.sleep(1.2)
    assert stopped == ["bytes"] and "more than the disk limit of 1 MB" in watch.reason and watch.peak_mb >= 3
    many = tmp_path / "many"
    many.mkdir()
    with DiskWatch([many], limit_mb=100, max_files=50, stop=lambda: stopped.append("files")) as watch:
        for n in range(80):
            (many / str(n)).touch()
        time.sleep(1.2)
    assert stopped[-1] == "files" and "more than the limit of 50 files" in watch.reason
    sparse = tmp_path / "sparse"
    sparse.mkdir()
    with (
        DiskWatch([sparse], limit_mb=1, max_files=10, stop=lambda: stopped.append("sparse")) as watch,
        open(sparse / "huge.dat", "wb") as out,
    ):
        out.truncate(50 * 1024**3)  # allocated blocks count, not the size on paper
    assert watch.reason is None and stopped[-1] == "files"


def test_links_and_fifos_the_sandbox_planted_are_removed(tmp_path: Path) -> None:
    (tmp_path / "deep" / "er").mkdir(parents=True)
    (tmp_path / "deep" / "er" / "Dockerfile").symlink_to("/etc/shadow")
    (tmp_path / "status.json").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "requirements.txt")
    (tmp_path / "real.txt").write_text("kept")
    removed = remove_planted_links([tmp_path])
    assert len(removed) == 3 and any("-> /etc/shadow" in r for r in removed)
    assert [p.name for p in tmp_path.rglob("*") if not p.is_dir()] == ["real.txt"]


def test_owners_alive_dead_and_elsewhere() -> None:
    mine = owner_labels()
    assert owner_alive(mine) is True
    child = subprocess.Popen([sys.executable, "-c", "import os; print(os.getpid())"], stdout=subprocess.PIPE)
    pid = int(child.stdout.read())
    zombie = {**mine, OWNER_PID: str(pid)}
    # Its start time is not ours; once it exits it is a zombie until reaped, and dead either way.
    child.stdout.close()
    time.sleep(0.3)
    assert owner_alive(zombie) is False
    child.wait()
    assert owner_alive({**mine, OWNER_PID: str(pid)}) is False
    assert owner_alive({**mine, OWNER_HOST: "another-host"}) is None
    assert owner_alive({}) is None


def test_limit_errors_are_said_in_plain_words() -> None:
    assert explain_error("OSError: [Errno 27] File too large", LIMITS).endswith(
        f"(no file may grow past the disk limit of {LIMITS.disk_mb} MB)"
    )
    assert "the process limit of 7 was reached" in explain_error(
        "BlockingIOError: [Errno 11] Resource temporarily unavailable", LIMITS, 7
    )
    assert explain_error("ValueError: boom", LIMITS) == "ValueError: boom"
    died = ExecutedNotebook(path="a.ipynb", stop="kernel_died", stopped_at_cell=3, oom_killed=True)
    slow = ExecutedNotebook(path="b.ipynb", stop="cell_timeout", stopped_at_cell=2)
    result = SandboxResult(backend="docker", exit_code=0, timed_out=False, seconds=1.0, oom_killed=True)
    reasons = run_reasons(result, [died, slow], LIMITS)
    assert reasons == [
        f"a.ipynb: the notebook kernel died at cell 3: memory limit of {LIMITS.memory_mb} MB reached (OOM-killed); "
        "the cells after it did not run",
        f"b.ipynb: cell 2 ran past the {LIMITS.cell_timeout_s} s cell limit; the cells after it did not run",
    ]


def test_a_misspelt_or_missing_limit_is_a_clear_error(tmp_path: Path) -> None:
    text = POLICY_FILE.read_text()
    (tmp_path / "typo.toml").write_text(text.replace("disk_mb", "disk_mbs"))
    with pytest.raises(BadInput, match="disk_mbs"):
        load_policy(tmp_path / "typo.toml")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "grader",
            "grade",
            str(tmp_path),
            "--candidate",
            "x",
            "--out",
            str(tmp_path / "out"),
            "--policy",
            str(tmp_path / "typo.toml"),
            "--demo-secret",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    # Each problem named with its line: the missing limit and the misspelt one, with the closest name.
    assert re.search(r"typo\.toml:\d+: missing `disk_mb`", run.stderr), run.stderr
    assert "unknown field `disk_mbs` in notebook (did you mean `disk_mb`?)" in run.stderr, run.stderr


def test_archives_beside_submissions_are_named_never_unpacked(tmp_path: Path) -> None:
    (tmp_path / "alice").mkdir()
    (tmp_path / "bob.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    (tmp_path / "linked").symlink_to("/etc")
    cohort = find_submissions(tmp_path)
    assert [e.candidate for e in cohort.entries] == ["alice"]
    assert any("bob.zip" in w and "never unpacked" in w for w in cohort.warnings)
    assert any("linked" in w for w in cohort.warnings)


def test_a_huge_sparse_file_is_fingerprinted_without_reading_it(tmp_path: Path) -> None:
    with open(tmp_path / "huge.dat", "wb") as out:
        out.truncate(200 * 1024**3)
    started = time.monotonic()
    first = submission_sha256(tmp_path)
    assert time.monotonic() - started < 5
    with open(tmp_path / "huge.dat", "r+b") as out:
        out.seek(10)
        out.write(b"changed")
    assert submission_sha256(tmp_path) != first


def test_a_committed_store_is_copied_without_links_and_read_only_inside(tmp_path: Path) -> None:
    store = tmp_path / "mlruns"
    (store / "0").mkdir(parents=True)
    (store / "0" / "meta.yaml").write_text(
        "artifact_location: file:///nowhere/mlruns/0\nexperiment_id: '0'\nlifecycle_stage: active\nname: Default\n"
    )
    (store / "0" / "zero").symlink_to("/dev/zero")  # followed, it would fill the disk
    (store / "0" / "shadow").symlink_to("/etc/shadow")
    destination = tmp_path / "copy"
    destination.mkdir()
    uri = prepare_committed_store(store, destination)
    assert sorted(p.name for p in (destination / "mlruns" / "0").iterdir()) == ["meta.yaml"]
    assert read_store(uri, "committed", [destination]).error is None


def test_a_fresh_store_naming_host_paths_is_not_followed(tmp_path: Path) -> None:
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment("hostile", artifact_location="file:///etc")
    with mlflow.start_run(experiment_id=experiment):
        mlflow.log_metric("pr_auc", 0.9)
    store = read_store(uri, "fresh", [tmp_path])
    assert len(store.runs) == 1 and store.runs[0].artifacts == []
    assert store.outside and "file:///etc" in store.outside[0]


def test_each_local_run_takes_a_user_of_its_own() -> None:
    with sandbox_user() as first, sandbox_user() as second:
        assert first != second and first >= LOCAL_UID_FIRST and second >= LOCAL_UID_FIRST
    with sandbox_user() as again:
        assert again == first


class _OverwritingSandbox:
    """A sandbox whose scoring run writes ten times the rows it was asked for, as hostile model code may."""

    backend = "local"

    def __init__(self, rows: int) -> None:
        self.rows = rows

    def run(self, spec: RunSpec) -> SandboxResult:
        out = Path(spec.args[spec.args.index("--out") + 1])
        pd.DataFrame({"prediction": [0.1] * (10 * self.rows)}).to_parquet(out / "predictions.parquet")
        (out / "score.json").write_text(json.dumps({"chosen": {"uri": "m"}}))
        return SandboxResult(backend="local", exit_code=0, timed_out=False, seconds=0.1)


def test_predictions_are_counted_before_they_are_read(tmp_path: Path, make_world) -> None:
    from grader.notebook.execute import GradingFolder
    from grader.notebook.score import score_candidate_model

    seeded = make_world("units-score", 2000)
    folder = GradingFolder(root=tmp_path, runner=Runner(backend="local", python="python3", scripts=tmp_path))
    sandbox = _OverwritingSandbox(len(seeded.world.holdout_labels))
    found, report, predictions = score_candidate_model(seeded.world, folder, load_policy(), sandbox)
    # Refused from the file's metadata, before a row is decoded.
    assert found is None and predictions is None and "predictions for" in report["error"]

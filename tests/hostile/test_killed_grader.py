"""A grader killed with SIGKILL leaves containers and folders behind; the next grading removes them, and only them.

A cohort whose notebook sleeps and whose service never answers is graded until both its
notebook container and its serving container (with network and image) are up; then the
whole process group gets SIGKILL. They are still there, owned by dead processes. A live
grader's objects (here: this test process's) sit beside them. The next `grader grade`
removes the orphans at its start and leaves the live ones alone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import hostile_kit as kit
import pytest
from conftest import docker_client_or_skip

from grader.cohort.layout import CohortLayout, read_log
from grader.sandbox.docker.containers import RUN_LABEL, STAGE_LABEL
from grader.sandbox.hostguard import COMMENT
from grader.sandbox.owner import OWNER_PID, owner_alive, owner_labels

pytestmark = [pytest.mark.slow, pytest.mark.docker, pytest.mark.timeout(300)]
PATIENT_POLICY = (
    kit.POLICY.replace("cell_timeout_s = 15", "cell_timeout_s = 600")
    .replace("total_timeout_s = 45", "total_timeout_s = 900")
    .replace("startup_timeout_s = 10", "startup_timeout_s = 600")
)


def _objects(client, pids: set[str]) -> dict[str, list]:
    selector = {"label": OWNER_PID}
    return {
        "containers": [
            c for c in client.containers.list(all=True, filters=selector) if c.labels.get(OWNER_PID) in pids
        ],
        "networks": [
            n for n in client.networks.list(filters=selector) if (n.attrs.get("Labels") or {}).get(OWNER_PID) in pids
        ],
        "images": [i for i in client.images.list(filters=selector) if i.labels.get(OWNER_PID) in pids],
    }


def _grade(submissions: Path, reports: Path, root: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "grader",
        "grade",
        str(submissions),
        "--out",
        str(reports),
        "--jobs",
        "2",
        "--overlap-serving",
        "--rows",
        "3000",
        "--backend",
        "docker",
        "--policy",
        str(root / "policy.toml"),
        "--serving-settings",
        str(root / "quick.toml"),
    ]


def test_a_sigkilled_graders_leftovers_are_removed_by_the_next_grading(tmp_path: Path) -> None:
    client = docker_client_or_skip(need_base_images=True)
    sys.path.insert(0, str(kit.SERVING_FIXTURES))
    from serving_kit import warm_base_image

    warm_base_image(client)
    (tmp_path / "policy.toml").write_text(PATIENT_POLICY)
    (tmp_path / "quick.toml").write_text(kit.QUICK_SERVING)
    submissions, reports = tmp_path / "submissions", tmp_path / "REPORTS"
    targets = kit.Targets(
        root=tmp_path,
        key=tmp_path / "key",
        submissions=submissions,
        reports=reports,
        work_base=tmp_path,
        home_canary=tmp_path / "c",
        tmp_canary=tmp_path / "c",
        listener_port=9,
        gateway="127.0.0.1",
        secret="",
    )
    kit.notebook(submissions / "sleeper" / "sleep.ipynb", ["import time\ntime.sleep(3600)"])
    kit.never_healthy(submissions, targets)
    env = {**os.environ, "GRADER_SECRET": f"killed-{uuid.uuid4().hex}"}
    with open(tmp_path / "first.log", "w") as log:
        first = subprocess.Popen(
            _grade(submissions, reports, tmp_path),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        deadline, pids, found = time.monotonic() + 150, set(), {}
        while time.monotonic() < deadline and first.poll() is None:
            pids = {str(event["pid"]) for event in read_log(CohortLayout(reports)) if "pid" in event}
            found = _objects(client, pids)
            stages = {c.labels.get(STAGE_LABEL) for c in found["containers"] if c.status == "running"}
            if {"notebook", "serving"} <= stages and found["networks"] and found["images"]:
                break
            time.sleep(0.5)
        assert first.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
        assert {c.labels.get(STAGE_LABEL) for c in found["containers"]} >= {"notebook", "serving"}, found
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    time.sleep(1.0)
    orphans = _objects(client, pids)
    # SIGKILL leaves them: nothing in the killed processes could clean up.
    assert orphans["containers"] and orphans["networks"] and orphans["images"]
    assert all(owner_alive(c.labels) is False for c in orphans["containers"])
    bridges = [n.attrs["Options"]["com.docker.network.bridge.name"] for n in orphans["networks"]]

    # A live grader's objects: this test process owns them.
    live_labels = {**owner_labels(), RUN_LABEL: uuid.uuid4().hex, STAGE_LABEL: "notebook"}
    live_container = client.containers.create("python:3.11-slim", ["sleep", "60"], labels=live_labels)
    live_network = client.networks.create(
        f"churn-grader-live-{uuid.uuid4().hex[:8]}", internal=True, labels=live_labels
    )
    try:
        empty = tmp_path / "next-cohort"
        (empty / "readme-only").mkdir(parents=True)
        (empty / "readme-only" / "README.md").write_text("# nothing to run\n")
        second = subprocess.run(
            _grade(empty, tmp_path / "REPORTS-next", tmp_path), capture_output=True, text=True, env=env, timeout=180
        )
        assert second.returncode == 0, second.stderr[-3000:]
        assert "of stopped graders:" in second.stderr
        assert _objects(client, pids) == {"containers": [], "networks": [], "images": []}
        # The killed run's grading folders on the host went too.
        assert not CohortLayout(reports).work.exists()
        live = {str(os.getpid())}
        assert [c.id for c in _objects(client, live)["containers"]] == [live_container.id]
        assert [n.id for n in _objects(client, live)["networks"]] == [live_network.id]
        rules = subprocess.run(["iptables", "-S", "INPUT"], capture_output=True, text=True).stdout
        assert not [bridge for bridge in bridges if f"{COMMENT} {bridge}" in rules]
    finally:
        live_container.remove(force=True)
        live_network.remove()
    assert kit.tagged_processes("sleep.ipynb") == []

"""The notebook-side attacks and a phoning-home service on the `local` backend, with an honest one.

What the local backend guarantees here, as root with unshare, setpriv, chroot and a
writable cgroup hierarchy: no network (its own namespace, loopback only), its own /proc, a
private root holding only the system (read-only), the runner and its grading folders,
private /tmp and /dev/shm, an unprivileged user of its own, a cgroup with the policy's
memory, CPUs and pids, rlimits for CPU time and file size, the disk watchdog, and every
process it started ended with it. The service runs in the same confinement, in a network
namespace of its own whose one way out (a veth pair to the grader) is firewalled. What it
does not: the runner and the kernel share one user, so the candidate's code could rewrite
the runner's record of its own notebooks (`the runner and the kernel run as one user` in the
evidence). The Docker suite (test_hostile_cohort.py) covers the rest.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import hostile_kit as kit
import pytest

from grader.cohort.layout import CohortLayout
from grader.cohort.state import read_states
from grader.sandbox.local.build import prepare_venv
from grader.sandbox.policy import load_policy
from grader.serving.dockerfile import parse
from grader.serving.layout import plan
from grader.world.packet import generate, write_key
from grader.world.spec import load_spec

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
ROWS = 3000


def _local_backend_or_skip() -> None:
    if os.geteuid() != 0 or subprocess.run(["unshare", "--net", "--pid", "--fork", "true"]).returncode != 0:
        pytest.skip("the local backend's namespaces need root and unshare")


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    _local_backend_or_skip()
    root = tmp_path_factory.mktemp("hostile-local")
    submissions, reports = root / "submissions", root / "REPORTS"
    secret = f"hostile-local-{uuid.uuid4().hex}"
    key = root / "key"
    write_key(generate(load_spec(kit.HONEST_SPEC), secret.encode(), "honest", ROWS, False), key)
    # A key a hiring manager left world-readable: a host file the sandbox user could open without a private root.
    exposed = Path("/tmp") / f"{kit.TAG}-exposed-key"
    write_key(generate(load_spec(kit.HONEST_SPEC), secret.encode(), "read-key", ROWS, False), exposed)
    listener = kit.Listener()
    targets = kit.Targets(
        root=root,
        key=exposed,
        submissions=submissions,
        reports=reports,
        work_base=Path("/tmp") / f"churn-grader-{os.geteuid()}",
        home_canary=root / "home-canary",
        tmp_canary=root / "canary.txt",
        listener_port=listener.port,
        gateway="127.0.0.1",
        secret=secret,
    )
    for build in (
        kit.honest,
        kit.read_key,
        kit.fork_bomb,
        kit.memory_hog,
        kit.infinite_loop,
        kit.disk_fill,
        kit.background,
    ):
        build(submissions, targets)
    service = kit.network(submissions, targets)
    # The service's virtualenv, built under the real build limit (the cohort's is 20 s): a shared cache entry.
    with prepare_venv(plan(parse(service / "Dockerfile"), service), load_policy(), root / "warm-venv.log"):
        pass
    (root / "policy.toml").write_text(kit.POLICY)
    (root / "quick.toml").write_text(kit.QUICK_SERVING)
    started = time.monotonic()
    try:
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "grader",
                "grade",
                str(submissions),
                "--spec",
                kit.HONEST_SPEC,
                "--out",
                str(reports),
                "--jobs",
                "2",
                "--rows",
                str(ROWS),
                "--backend",
                "local",
                "--policy",
                str(root / "policy.toml"),
                "--serving-settings",
                str(root / "quick.toml"),
                "--ci",
            ],
            capture_output=True,
            text=True,
            timeout=500,
            env={**os.environ, "GRADER_SECRET": secret},
        )
    finally:
        listener.close()
    seconds = time.monotonic() - started
    evidence = {p.parent.name: json.loads(p.read_text()) for p in reports.glob("_graded/*/evidence.json")}
    yield {
        "completed": completed,
        "evidence": evidence,
        "reports": reports,
        "accepted": listener.accepted,
        "targets": targets,
        "seconds": seconds,
        "tagged": kit.tagged_processes(),
        "exposed_key": (exposed / "answer_key.json").read_text(),
    }
    subprocess.run(["rm", "-rf", str(exposed)])


def _reasons(run, candidate: str) -> str:
    return " | ".join(run["evidence"][candidate]["stages"]["notebooks"]["reasons"])


def _outputs(run, candidate: str) -> str:
    return kit.cell_outputs(run["reports"] / "_graded" / candidate / "notebooks")


def test_local_grader_finishes_and_grades_the_honest_one(local_run) -> None:
    completed = local_run["completed"]
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    states = read_states(CohortLayout(local_run["reports"]))
    assert len(states) == 8 and all(s.outcome != "failed" for s in states.values())
    honest = local_run["evidence"]["honest"]["stages"]
    assert honest["notebooks"]["status"] == honest["mlflow"]["status"] == honest["holdout"]["status"] == "ok"
    sandbox = local_run["evidence"]["honest"]["notebook_run"]["sandbox"]
    assert sandbox["backend"] == "local" and any("private root" in item for item in sandbox["isolation"])
    assert (
        "the runner and the kernel run as one user: the kernel can alter the runner's record" in sandbox["not_enforced"]
    )
    print(f"\nlocal hostile cohort graded in {local_run['seconds']:.0f} s")


def test_local_sandbox_has_no_network(local_run) -> None:
    assert local_run["accepted"] == []
    outputs = _outputs(local_run, "network")
    assert "REACHED" not in outputs and "notebook 127.0.0.1 blocked" in outputs


def test_local_service_is_confined_like_the_notebooks_and_reaches_nothing(local_run) -> None:
    serving = local_run["evidence"]["network"]["serving"]
    run = serving["run"]
    assert run["healthy"], serving["outcome"]["reasons"]
    log = run["log_tail"]
    # It tried the grader's end of its veth pair and its own loopback, and reached neither.
    assert re.search(r"service 10\.213\.\d+\.\d+ blocked", log) and "service 127.0.0.1 blocked" in log, log
    assert "REACHED" not in log
    assert any("private root" in item for item in run["isolation"]), run["isolation"]
    assert any("grader's host" in item for item in run["isolation"]) and "own network namespace" in run["network"]
    assert run["user_id"] in range(kit.LOCAL_UID_FIRST, kit.LOCAL_UID_FIRST + kit.LOCAL_UID_COUNT)


def test_local_sandbox_sees_no_key_no_host_files_no_grader(local_run) -> None:
    outputs = _outputs(local_run, "read-key")
    # The key sits world-readable on the host, yet outside the private root it does not exist.
    assert "key-json blocked FileNotFoundError" in outputs and "answer-key/1" not in outputs
    assert local_run["exposed_key"][:200] not in outputs
    assert local_run["targets"].secret not in outputs
    assert "other-candidate-marker blocked" in outputs and local_run["targets"].markers["honest"] not in outputs
    assert "guessed files 0" in outputs
    # Its own /proc: the grader's processes (and their environments) are not there to read.
    assert "grader grade" not in outputs


def test_local_limits_hold(local_run) -> None:
    assert "bomb.ipynb" in _reasons(local_run, "fork-bomb")
    # With a writable cgroup hierarchy the kernel is OOM-killed as in Docker; without, it gets a MemoryError.
    memory = _reasons(local_run, "memory-hog")
    assert "memory limit of 1024 MB reached (OOM-killed)" in memory or "out of memory" in memory, memory
    assert "loop.ipynb: cell 1 ran past the 15 s cell limit" in _reasons(local_run, "infinite-loop")
    assert "more than the disk limit of 256 MB" in _reasons(local_run, "disk-fill")
    assert "linger.ipynb: left processes running after it ended; the runner killed them" in _reasons(
        local_run, "background"
    )


def test_local_leaves_nothing_running(local_run) -> None:
    assert local_run["tagged"] == []
    assert not CohortLayout(local_run["reports"]).work.exists()
    # No sandbox-user process outside a container: a local run's processes all ended with it.
    assert [pid for pid, container in kit.sandbox_processes().items() if not container] == []

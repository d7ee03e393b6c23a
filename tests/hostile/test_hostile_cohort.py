"""Hostile and broken submissions, graded as one cohort with an honest one, in the Docker sandbox.

`python -m grader grade` runs the cohort as a real subprocess (`--jobs 2`, a tight
policy through `--policy`). Each hostile submission tries one thing; for each, the test
checks the outcome and reason recorded, and around the whole run: the honest submission
is graded normally, no file outside the run's output changed, nothing is left running,
no key, secret or other candidate's data reached candidate code, and the listener the
test started on the host was never reached.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import hostile_kit as kit
import pytest
from conftest import docker_client_or_skip

from grader.cohort.layout import CohortLayout, read_log
from grader.cohort.state import read_states
from grader.sandbox.hostguard import COMMENT
from grader.sandbox.owner import OWNER_PID
from grader.world.packet import generate, write_key
from grader.world.seed import candidate_seed
from grader.world.spec import load_spec

pytestmark = [pytest.mark.slow, pytest.mark.docker, pytest.mark.timeout(900)]
ROWS = 3000
# Everything a concurrent edit of the repository may touch, besides this suite's own files.
REPO_SKIP = (
    ".venv",
    ".git",
    "churn_grader.egg-info",
    "grader/report",
    "grader/decide",
    "interview",
    "tests/decide",
    "tests/report",
    "README.md",
    ".ci",
)

BUILDERS = [
    kit.honest,
    kit.read_key,
    kit.network,
    kit.fork_bomb,
    kit.memory_hog,
    kit.infinite_loop,
    kit.disk_fill,
    kit.gigabyte_print,
    kit.writes_outside,
    kit.background,
    kit.forger,
    kit.symlinks,
    kit.bad_notebook,
    kit.binary_readme,
    kit.huge_readme,
    kit.huge_file,
    kit.zip_bomb,
    kit.build_never_ends,
    kit.exits_at_once,
    kit.never_healthy,
    kit.dies_under_load,
]


@dataclass
class HostileRun:
    root: Path
    submissions: Path
    reports: Path
    targets: kit.Targets
    completed: subprocess.CompletedProcess
    seconds: float
    accepted: list
    largest_log: int
    before: dict[str, dict[str, str]]
    after: dict[str, dict[str, str]]
    tagged: list[str]
    sandbox_processes: dict[int, str]
    grader_pids: set[int]
    evidence: dict[str, dict] = field(default_factory=dict)

    def stage(self, candidate: str, name: str) -> dict:
        return self.evidence[candidate]["stages"][name]

    def reasons(self, candidate: str, name: str) -> str:
        return " | ".join(self.stage(candidate, name)["reasons"])

    def outputs(self, candidate: str) -> str:
        """What every executed notebook of a candidate printed."""
        return kit.cell_outputs(self.reports / "_graded" / candidate / "notebooks")


def _home_canary() -> Path:
    return Path.home() / f".{kit.TAG}-canary"


def _snapshots(targets: kit.Targets) -> dict[str, dict[str, str]]:
    return {
        "submissions": kit.snapshot(targets.submissions),
        "key": kit.snapshot(targets.key),
        "next to the run": kit.snapshot(targets.root, skip=("REPORTS", "submissions", "key", "grade.log")),
        "home canary": {"canary": kit.file_digest(targets.home_canary)},
        "home": {name: "" for name in os.listdir(Path.home()) if kit.TAG in name},
        "repo": kit.snapshot(kit.REPO, skip=REPO_SKIP),
    }


def _grade_hostile_cohort(client, root: Path) -> HostileRun:
    """Build the hostile cohort next to an honest submission, grade it for real, record what happened."""
    sys.path.insert(0, str(kit.SERVING_FIXTURES))
    from serving_kit import warm_base_image

    warm_base_image(client)
    submissions, reports = root / "submissions", root / "REPORTS"
    secret = f"hostile-secret-{uuid.uuid4().hex}"
    key = root / "key"
    write_key(generate(load_spec(kit.HONEST_SPEC), secret.encode(), "honest", ROWS, False), key)
    listener = kit.Listener()
    try:
        targets = kit.Targets(
            root=root,
            key=key,
            submissions=submissions,
            reports=reports,
            work_base=Path("/tmp") / f"churn-grader-{os.geteuid()}",
            home_canary=_home_canary(),
            tmp_canary=root / "canary.txt",
            listener_port=listener.port,
            gateway=kit.bridge_gateway(client),
            secret=secret,
        )
        targets.home_canary.write_text(f"canary {kit.TAG}\n")
        targets.tmp_canary.write_text(f"canary {kit.TAG}\n")
        for build in BUILDERS:
            build(submissions, targets)
        (root / "policy.toml").write_text(kit.POLICY)
        (root / "quick.toml").write_text(kit.QUICK_SERVING)
        before = _snapshots(targets)
        logs = kit.LogWatch(client)
        command = [
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
            "docker",
            "--serving-settings",
            str(root / "quick.toml"),
            "--policy",
            str(root / "policy.toml"),
            "--ci",
        ]
        started = time.monotonic()
        try:
            completed = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=800,
                env={**os.environ, "GRADER_SECRET": secret, "COLUMNS": "160"},
            )
        finally:
            seconds = time.monotonic() - started
            logs.close()
    finally:
        listener.close()
    (root / "grade.log").write_text(completed.stdout + completed.stderr)
    time.sleep(1.0)  # anything the run left would still be there; nothing should be
    events = read_log(CohortLayout(reports))
    grader_pids = {event["pid"] for event in events if "pid" in event}
    found = HostileRun(
        root=root,
        submissions=submissions,
        reports=reports,
        targets=targets,
        completed=completed,
        seconds=seconds,
        accepted=list(listener.accepted),
        largest_log=logs.largest,
        before=before,
        after=_snapshots(targets),
        tagged=kit.tagged_processes(),
        sandbox_processes=kit.sandbox_processes(),
        grader_pids=grader_pids,
    )
    for path in reports.glob("_graded/*/evidence.json"):
        found.evidence[path.parent.name] = json.loads(path.read_text())
    return found


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Iterator[HostileRun | str]:
    """The graded cohort, or why it could not be set up (then every test says so, none passes)."""
    client = docker_client_or_skip(need_base_images=True)
    try:
        found: HostileRun | str = _grade_hostile_cohort(client, tmp_path_factory.mktemp("hostile"))
    except Exception as exc:  # any setup fault: the suite must fail with it, not error 23 times unexplained
        found = f"{type(exc).__name__}: {exc}"
    yield found
    _home_canary().unlink(missing_ok=True)


@pytest.fixture
def run(graded: HostileRun | str) -> HostileRun:
    if isinstance(graded, str):
        pytest.fail(f"not run: the hostile cohort could not be set up ({graded})", pytrace=False)
    return graded


def test_the_hostile_cohort_sets_up(graded: HostileRun | str) -> None:
    assert not isinstance(graded, str), f"the hostile cohort could not be set up: {graded}"


def test_the_grader_finishes_and_records_every_submission(run: HostileRun) -> None:
    assert run.completed.returncode == 0, run.completed.stdout[-3000:] + run.completed.stderr[-3000:]
    states = read_states(CohortLayout(run.reports))
    expected = {folder.name for folder in run.submissions.iterdir() if folder.is_dir()}
    assert set(states) == expected == set(run.evidence)
    # "failed" is the grader's own failure; a hostile submission is graded, partly.
    assert {c: s.outcome for c, s in states.items() if s.outcome == "failed"} == {}
    for candidate in expected:
        report = json.loads((run.reports / candidate / "report.json").read_text())
        assert report["candidate"] == candidate
    print(f"\nhostile cohort of {len(expected)} graded in {run.seconds:.0f} s")
    assert run.seconds < 420, "the hostile cohort should grade in under 7 minutes"


def test_the_honest_submission_is_graded_normally(run: HostileRun) -> None:
    stages = {name: run.stage("honest", name)["status"] for name in run.evidence["honest"]["stages"]}
    assert stages["notebooks"] == "ok", run.reasons("honest", "notebooks")
    assert stages["mlflow"] == stages["holdout"] == "ok", (
        run.reasons("honest", "mlflow"),
        run.reasons("honest", "holdout"),
    )
    assert "no Dockerfile" in run.reasons("honest", "serving")
    candidate = next(s for s in run.evidence["honest"]["modeling"]["holdout"] if s["who"].startswith("candidate"))
    # A real, scored prediction on every holdout row; its quality at this tiny size (3K rows) is noise.
    assert candidate["rows"] > 0 and 0.0 < candidate["pr_auc"] <= 1.0
    assert run.targets.markers["honest"] in run.outputs("honest")
    report = json.loads((run.reports / "honest" / "report.json").read_text())
    assert report["total"] > 0 and kit.TAG not in json.dumps(report)


def test_the_key_and_secrets_never_reach_candidate_code(run: HostileRun) -> None:
    key_json = (run.targets.key / "answer_key.json").read_bytes()
    labels = (run.targets.key / "holdout" / "labels.parquet").read_bytes()
    forbidden = {
        "the cohort secret": run.targets.secret,
        "the answer key's schema": "answer-key/1",
        "the key folder": str(run.targets.key),
        "the holdout labels path": str(run.targets.key / "holdout" / "labels.parquet"),
        "the key's sha256": hashlib.sha256(key_json).hexdigest(),
        "the labels' sha256": hashlib.sha256(labels).hexdigest(),
    }
    for candidate in run.evidence:
        forbidden[f"{candidate}'s seed"] = candidate_seed(run.targets.secret.encode(), candidate).hex()
    leaks = []
    for path in run.reports.rglob("*"):
        if not path.is_file() or path.suffix in (".png", ".svg"):
            continue
        text = path.read_text(errors="replace")
        owner = path.relative_to(run.reports).parts
        # The symlinks submission names the key folder itself: its links' targets, recorded as it
        # wrote them in its own report, its state file and its row of the cohort summary.
        own = "symlinks" in owner or path.stem == "symlinks"
        others = "\n".join(line for line in text.splitlines() if "symlinks" not in line)
        if path.name == "summary.json":
            rows = json.loads(text)
            others = json.dumps(_without_candidate(rows, "symlinks"))
        for what, needle in forbidden.items():
            in_key_folder = needle.startswith(str(run.targets.key))
            if needle in text and not (in_key_folder and (own or needle not in others)):
                leaks.append(f"{what} in {path}")
        for candidate, marker in run.targets.markers.items():
            if marker in text and candidate not in owner and owner[0] not in ("leaderboard.html", "leaderboard.csv"):
                leaks.append(f"{candidate}'s marker in {path}")
    assert leaks == []
    attempts = run.outputs("read-key")
    # The attack really ran: every target was tried, and refused or absent.
    for label in ("key-json", "labels", "other-candidate-marker", "shadow", "docker-socket", "parent environ"):
        assert f"{label} blocked" in attempts, label
    assert "guessed files 0" in attempts


def test_no_network_from_notebook_build_or_service(run: HostileRun) -> None:
    assert run.accepted == []
    outputs = run.outputs("network")
    assert "REACHED" not in outputs and "notebook 127.0.0.1 blocked" in outputs and "http blocked" in outputs
    serving = run.evidence["network"]["serving"]
    assert serving["run"]["healthy"], run.reasons("network", "serving")
    assert "service" in serving["run"]["log_tail"] and "REACHED" not in serving["run"]["log_tail"]
    assert f"service {run.targets.gateway} blocked" in serving["run"]["log_tail"]
    assert "build 127.0.0.1 blocked" in serving["build"]["log_tail"]
    assert "REACHED" not in serving["build"]["log_tail"]
    assert any("grader's host" in line for line in serving["run"]["isolation"])


def test_fork_bomb_is_contained(run: HostileRun) -> None:
    reasons = run.reasons("fork-bomb", "notebooks")
    assert "bomb.ipynb: cell 1 ran past the 15 s cell limit" in reasons, reasons
    assert "before" in run.outputs("fork-bomb")


def test_memory_hog_is_oom_killed_with_a_clear_reason(run: HostileRun) -> None:
    reasons = run.reasons("memory-hog", "notebooks")
    assert "hog.ipynb: the notebook kernel died at cell 1: memory limit of 1024 MB reached (OOM-killed)" in reasons
    assert run.evidence["memory-hog"]["notebook_run"]["sandbox"]["oom_killed"] is True


def test_infinite_loop_is_stopped_at_the_cell_limit(run: HostileRun) -> None:
    reasons = run.reasons("infinite-loop", "notebooks")
    assert "loop.ipynb: cell 1 ran past the 15 s cell limit; the cells after it did not run" in reasons
    assert "before" in run.outputs("infinite-loop") and "never" not in run.outputs("infinite-loop")


def test_disk_fill_is_stopped_at_the_disk_limit(run: HostileRun) -> None:
    reasons = run.reasons("disk-fill", "notebooks")
    assert "more than the disk limit of 256 MB" in reasons, reasons
    sandbox = run.evidence["disk-fill"]["notebook_run"]["sandbox"]
    # Measured twice a second: the overshoot is what it writes in half a second, at most.
    assert 256 < sandbox["disk_written_mb"] < 768
    outputs = run.outputs("disk-fill")
    assert "/tmp full" in outputs and "one file capped" in outputs and "File too large" in outputs


def test_gigabytes_of_output_are_capped_everywhere(run: HostileRun) -> None:
    executed = run.reports / "_graded" / "gigabyte-print" / "notebooks"
    # The executed notebooks and the kernel's record of what ran (trace.json): each capped.
    assert sorted(p.name for p in executed.iterdir()) == ["a_cell_output.ipynb", "b_process_output.ipynb", "trace.json"]
    assert all(p.stat().st_size < 200_000 for p in executed.iterdir())
    reasons = run.reasons("gigabyte-print", "notebooks")
    assert "a_cell_output.ipynb: " in reasons, reasons
    assert len(run.evidence["gigabyte-print"]["notebook_run"]["sandbox"]["log_tail"]) <= 8000
    # The engine's own log of the container: capped at the policy's log_mb (2 MB), not 1 GB.
    assert 0 < run.largest_log <= 3 * 1024**2


def test_writes_outside_its_folder_change_nothing(run: HostileRun) -> None:
    for what in run.before:
        changed = kit.changed(run.before[what], run.after[what])
        if what == "repo":
            # Other sessions may edit the repository meanwhile; every hostile write carries TAG.
            changed = [
                path
                for path in changed
                if kit.TAG in path
                or ((kit.REPO / path).is_file() and kit.TAG in (kit.REPO / path).read_text(errors="replace"))
            ]
        assert changed == [], what
    outputs = run.outputs("writes-outside")
    for label in (
        "home-canary",
        "tmp-canary",
        "repo-file",
        "honest-report",
        "own-original",
        "key-json",
        "etc",
        "next-to-run",
        "data",
        "data-new",
    ):
        assert f"{label} blocked" in outputs, label


def test_nothing_is_left_running(run: HostileRun) -> None:
    assert run.tagged == []
    client = docker_client_or_skip()
    ours = {str(pid) for pid in run.grader_pids}
    left = {
        "containers": [
            c.name
            for c in client.containers.list(all=True, filters={"label": OWNER_PID})
            if c.labels.get(OWNER_PID) in ours
        ],
        "networks": [
            n.name
            for n in client.networks.list(filters={"label": OWNER_PID})
            if (n.attrs.get("Labels") or {}).get(OWNER_PID) in ours
        ],
        "images": [i.id for i in client.images.list(filters={"label": OWNER_PID}) if i.labels.get(OWNER_PID) in ours],
    }
    assert left == {"containers": [], "networks": [], "images": []}
    # Sandbox-user processes now running belong to other graders' live containers, never to this run.
    live = {c.id: c.labels.get(OWNER_PID) for c in client.containers.list(all=True)}
    strays = {
        pid: container
        for pid, container in run.sandbox_processes.items()
        if container not in live or live[container] in ours
    }
    assert strays == {}
    rules = subprocess.run(["iptables", "-S", "INPUT"], capture_output=True, text=True).stdout
    stale = [
        line
        for line in rules.splitlines()
        if COMMENT in line and not Path("/sys/class/net", line.split(f"{COMMENT} ")[-1].strip('"')).exists()
    ]
    assert stale == []
    assert not CohortLayout(run.reports).work.exists()


def test_background_processes_are_killed_when_the_notebook_ends(run: HostileRun) -> None:
    reasons = run.reasons("background", "notebooks")
    assert "linger.ipynb: left processes running after it ended; the runner killed them" in reasons
    assert "three background processes started" in run.outputs("background")


def test_forged_results_are_not_believed(run: HostileRun) -> None:
    report = json.loads((run.reports / "forger" / "report.json").read_text())
    assert report["total"] < 50 and not report["passed"] and kit.TAG not in json.dumps(report)
    state = read_states(CohortLayout(run.reports))["forger"]
    assert kit.TAG not in state.model_dump_json()
    evidence = run.evidence["forger"]
    assert kit.TAG not in json.dumps(evidence["notebook_run"]["notebooks"])
    assert [n["path"] for n in evidence["notebook_run"]["notebooks"]] == ["forge.ipynb"]
    outputs = run.outputs("forger")
    assert "status blocked PermissionError" in outputs and "executed blocked PermissionError" in outputs
    # Writes to the guessed REPORTS paths land, if anywhere, in the sandbox's own /tmp: never on the host.
    for path in (
        run.reports / "honest" / "report.json",
        run.reports / "summary.json",
        run.reports / "_graded" / "forger" / "evidence.json",
    ):
        assert kit.TAG not in path.read_text(), path
    for line in run.completed.stdout.splitlines():
        if line.startswith("forger"):
            assert "100/100" not in line and "PASS" not in line, line
    assert "| forger | graded | 100 |" not in (run.reports / "summary.md").read_text()


def test_symlinks_are_never_followed(run: HostileRun) -> None:
    evidence = run.evidence["symlinks"]
    links = {link["path"]: link for link in evidence["submission"]["symlinks"]}
    assert {"key", "answer.json", "etc", "README.md", "stolen.ipynb"} <= set(links)
    assert not any(link["followed"] for link in links.values())
    notes = run.reasons("symlinks", "notebooks")
    assert "symlink not copied: key" in notes and "removed 4 link(s) or special file(s)" in notes
    for label in ("key", "answer", "etc", "readme"):
        assert f"{label} blocked" in run.outputs("symlinks"), label
    assert run.evidence["symlinks"]["writeup"]["outcome"]["status"] != "ok"


def test_a_notebook_that_is_not_json(run: HostileRun) -> None:
    stage = run.stage("bad-notebook", "notebooks")
    assert stage["status"] == "failed"
    assert "analysis.ipynb was not run: not a valid notebook: invalid JSON" in run.reasons("bad-notebook", "notebooks")


def test_a_binary_readme(run: HostileRun) -> None:
    assert "the README is binary, not text" in json.dumps(run.evidence["binary-readme"]["writeup"])


def test_a_50_mb_readme_is_read_capped(run: HostileRun) -> None:
    writeup = json.dumps(run.evidence["huge-readme"]["writeup"])
    assert "only the first part was read" in writeup
    assert "huge-readme" in run.completed.stdout


def test_one_huge_sparse_file_is_neither_copied_nor_read_in_full(run: HostileRun) -> None:
    notes = run.reasons("huge-file", "notebooks")
    assert "not copied, the submission would pass the 64 MB copy limit: features.dat (65536 MB)" in notes
    assert "False" in run.outputs("huge-file")  # the sandbox never saw it
    state = read_states(CohortLayout(run.reports))["huge-file"]
    assert state.duration_s < 120


def test_archives_are_never_unpacked(run: HostileRun) -> None:
    assert (
        "candidate-sent-a.zip is not a submission folder and was not graded: archives are never unpacked"
        in run.completed.stderr
    )
    assert "data-archive.zip" in run.outputs("zip-bomb")
    assert "expanded-bomb-member" not in run.outputs("zip-bomb")
    assert "expanded-bomb-member" not in json.dumps(run.evidence["zip-bomb"])


def test_a_build_that_never_ends_is_stopped(run: HostileRun) -> None:
    reasons = run.reasons("build-never-ends", "serving")
    assert "build stopped at the 20 s build limit" in reasons, reasons
    assert run.evidence["build-never-ends"]["serving"]["build"]["seconds"] < 90


def test_a_container_that_exits_at_once(run: HostileRun) -> None:
    assert "the service exited before it was healthy" in run.reasons("exits-at-once", "serving")


def test_a_service_that_sleeps_forever_at_import_never_becomes_healthy(run: HostileRun) -> None:
    reasons = run.reasons("never-healthy", "serving")
    assert "the service never became healthy" in reasons and "10 s" in reasons, reasons


def test_a_service_that_dies_under_load(run: HostileRun) -> None:
    assert "the service died during the load probe" in run.reasons("dies-under-load", "serving")


def _without_candidate(document, candidate: str):
    """A cohort summary's JSON with every object that belongs to `candidate` left out."""
    if isinstance(document, dict):
        if candidate in (document.get("candidate"), document.get("id")):
            return None
        return {k: _without_candidate(v, candidate) for k, v in document.items() if k != candidate}
    if isinstance(document, list):
        return [_without_candidate(v, candidate) for v in document]
    return document

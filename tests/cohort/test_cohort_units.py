"""Cohort building blocks on real files: entries, hashes, capacity, the lock, state files, CI output."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from grader.cohort.capacity import GRADER_PROCESS_MB, SYSTEM_RESERVE_MB, default_timeout_s, machine_capacity
from grader.cohort.ci import GRADER_FAILED, CiEntry, exit_code, junit_xml
from grader.cohort.command import _serving_settings
from grader.cohort.entries import find_submissions
from grader.cohort.fingerprint import PACKAGE_DIR, code_files, submission_sha256
from grader.cohort.layout import CohortBusy, CohortLayout, cohort_lock
from grader.cohort.state import SubmissionState, read_state, write_state
from grader.cohort.worker import classify
from grader.errors import BadInput
from grader.sandbox.policy import load_policy


def _folder(root: Path, name: str, files: dict[str, str] | None = None) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    for rel, text in (files or {"analysis.ipynb": "{}"}).items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    return folder


def test_folder_names_are_candidate_ids_unless_cohort_toml_maps_them(tmp_path: Path) -> None:
    _folder(tmp_path, "cand-1")
    _folder(tmp_path, "Jane Doe")
    _folder(tmp_path, "bad name!")
    _folder(tmp_path, "twin")
    _folder(tmp_path, ".git")
    (tmp_path / "cohort.toml").write_text('[candidates]\n"Jane Doe" = "cand-2"\n"twin" = "cand-1"\n"gone" = "cand-9"\n')
    cohort = find_submissions(tmp_path)
    found = {entry.folder.name: entry for entry in cohort.entries}
    assert set(found) == {"cand-1", "Jane Doe", "bad name!", "twin"}
    assert found["Jane Doe"].candidate == "cand-2" and found["Jane Doe"].error is None
    assert "not allowed" in found["bad name!"].error and "cohort.toml" in found["bad name!"].error
    assert "also used by" in found["twin"].error and "also used by" in found["cand-1"].error
    assert [w for w in cohort.warnings if "'gone'" in w]
    assert [e.candidate for e in find_submissions(tmp_path, only=["cand-2"]).entries] == ["cand-2"]
    with pytest.raises(BadInput, match="no submission for nobody"):
        find_submissions(tmp_path, only=["nobody"])


def test_a_single_submission_is_not_mistaken_for_a_cohort(tmp_path: Path) -> None:
    submission = _folder(tmp_path, "sub", {"Dockerfile": "FROM python:3.11-slim\n", "app/main.py": ""})
    with pytest.raises(BadInput, match="--candidate"):
        find_submissions(submission)
    with pytest.raises(BadInput, match="not valid TOML"):
        (tmp_path / "cohort.toml").write_text("[candidates\n")
        find_submissions(tmp_path)


def test_a_bad_cohort_toml_or_serving_settings_file_names_the_line(tmp_path: Path) -> None:
    _folder(tmp_path, "cand-1")
    (tmp_path / "cohort.toml").write_text('[candidates]\n"Jane Doe" = "cand-2"\n"Bob" = 3\n')
    with pytest.raises(BadInput, match=r"cohort\.toml:3: candidates\.Bob: Input should be a valid string"):
        find_submissions(tmp_path)
    (tmp_path / "cohort.toml").write_text('[candidates]\n"Jane Doe" = "cand-2"\n\n[people]\nx = "y"\n')
    with pytest.raises(BadInput, match=r"cohort\.toml:4: unknown field `people` \(known: candidates\)"):
        find_submissions(tmp_path)
    settings = tmp_path / "serving.toml"
    settings.write_text("load_rates = [50.0, 150.0]\nload_step = 2.0\n")
    with pytest.raises(
        BadInput, match=r"^serving settings .*serving\.toml:2: unknown field `load_step` .*`load_step_s`"
    ):
        _serving_settings(settings)
    settings.write_text("load_rates = [50.0, 150.0]\nload_step_s = 2.0\n")
    assert _serving_settings(settings).load_step_s == 2.0


def test_scoring_code_and_grading_code_are_told_apart() -> None:
    scoring = {str(p.relative_to(PACKAGE_DIR)) for p in code_files(scoring=True)}
    grading = {str(p.relative_to(PACKAGE_DIR)) for p in code_files(scoring=False)}
    # decision.json's model is read by the reports: changing it re-renders, never regrades.
    assert {"decision.py", "report/render.py", "rubric/engine.py", "decide/rule.py"} <= scoring
    assert {"tomlfile.py", "workdir.py", "stages/serving.py", "serving/probes.py"} <= grading
    assert not scoring & grading and not any(path.startswith(("cohort/", "preflight/")) for path in grading)


def test_the_content_hash_follows_what_grading_reads(tmp_path: Path) -> None:
    sub = _folder(tmp_path, "s", {"analysis.ipynb": "{}", "app/main.py": "print(1)\n"})
    before = submission_sha256(sub)
    for ignored in (
        ".git/HEAD",
        ".venv/pyvenv.cfg",
        "__pycache__/x.pyc",
        "data/churn.csv",
        "app/data/big.csv",
        ".ipynb_checkpoints/analysis-checkpoint.ipynb",
    ):
        (sub / ignored).parent.mkdir(parents=True, exist_ok=True)
        (sub / ignored).write_text("noise")
    assert submission_sha256(sub) == before
    (sub / "app/main.py").write_text("print(2)\n")
    changed = submission_sha256(sub)
    assert changed != before
    os.symlink("/etc/passwd", sub / "leak")
    assert submission_sha256(sub) not in (before, changed)


def test_capacity_is_bounded_by_memory_and_cpus() -> None:
    policy = load_policy()
    per_job = max(policy.notebook.memory_mb, policy.build.memory_mb, policy.service.memory_mb) + GRADER_PROCESS_MB
    assert machine_capacity(policy, cpus=16, memory_mb=SYSTEM_RESERVE_MB + 3 * per_job + 10).max_jobs == 3
    assert machine_capacity(policy, cpus=2, memory_mb=10 * per_job).max_jobs == 2
    tiny = machine_capacity(policy, cpus=8, memory_mb=1000)
    assert tiny.max_jobs == 1 and "GB" in tiny.explain()
    assert machine_capacity(policy).max_jobs >= 1
    assert default_timeout_s(policy) > policy.notebook.total_timeout_s + policy.build.timeout_s


def test_one_run_at_a_time_and_stale_staging_is_cleaned(tmp_path: Path) -> None:
    layout = CohortLayout(tmp_path / "R")
    layout.prepare(force=False)
    with cohort_lock(layout), pytest.raises(CohortBusy, match="another grader run"), cohort_lock(layout):
        pass
    stale = [layout.graded / ".cand-1.tmp-abc", layout.reports / ".cand-1.old-xyz"]
    for folder in stale:
        folder.mkdir()
    (layout.states / ".cand-1.json.x.tmp").write_text("{")
    assert len(layout.clean_stale()) == 3
    assert not any(path.exists() for path in stale)
    layout.evidence_dir("cand-1").mkdir()
    assert layout.evidence_dir("cand-1").is_dir()
    other = tmp_path / "other"
    (other / "x").mkdir(parents=True)
    with pytest.raises(BadInput, match="holds no cohort run"):
        CohortLayout(other).prepare(force=False)


def test_state_files_round_trip_and_bad_ones_are_ignored(tmp_path: Path) -> None:
    layout = CohortLayout(tmp_path)
    layout.states.mkdir(parents=True)
    state = SubmissionState(
        candidate="cand-1",
        folder="/x",
        submission_sha256="a",
        grading_fingerprint="b",
        scoring_fingerprint="c",
        outcome="partial",
        reasons=["serving failed"],
        started_at=1.0,
        finished_at=61.5,
    )
    write_state(layout, state)
    assert read_state(layout.state_file("cand-1")) == state and state.duration_s == 60.5 and state.done
    assert oct(layout.state_file("cand-1").stat().st_mode & 0o777) == "0o644"
    layout.state_file("cand-2").write_text('{"candidate": "cand-2"')
    assert read_state(layout.state_file("cand-2")) is None


def test_outcomes_come_from_the_stages() -> None:
    ok = {"stages": {"notebooks": {"status": "ok"}, "serving": {"status": "ok"}}}
    assert classify(ok) == ("graded", [], {"notebooks": "ok", "serving": "ok"})
    partial = {"stages": {"notebooks": {"status": "ok"}, "serving": {"status": "failed", "reasons": ["no Dockerfile"]}}}
    outcome, reasons, _ = classify(partial)
    assert outcome == "partial" and reasons == ["serving failed: no Dockerfile"]


def test_a_grader_failure_is_a_junit_error_and_exit_3() -> None:
    failed = CiEntry(candidate="cand-1", card=None, grader_failed=True, reasons=["the grading process died"])
    document = ET.fromstring(junit_xml([failed]))
    assert document.get("errors") == "1"
    assert document.find("testsuite/testcase/error").get("message") == "the grading process died"
    assert exit_code([failed], None, False) == GRADER_FAILED


def test_the_submission_hash_covers_what_the_sandbox_gets_and_ignores_what_it_does_not(tmp_path: Path) -> None:
    from grader.cohort.fingerprint import submission_sha256

    root = tmp_path / "sub"
    (root / "checkpoints").mkdir(parents=True)
    (root / "checkpoints" / "model.pkl").write_bytes(b"v1")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: main")
    first = submission_sha256(root)
    (root / ".git" / "HEAD").write_text("ref: other")
    assert submission_sha256(root) == first  # .git is never copied into the sandbox
    (root / "checkpoints" / "model.pkl").write_bytes(b"v2")
    assert submission_sha256(root) != first  # a model the service may load is copied: it counts


def test_archiver_folders_are_not_candidates_and_a_lone_submission_is_recognised(tmp_path: Path) -> None:
    from grader.cohort.entries import find_submissions
    from grader.errors import BadInput

    cohort = tmp_path / "cohort"
    for name in ("cand-1", "__MACOSX"):
        (cohort / name).mkdir(parents=True)
        (cohort / name / "analysis.ipynb").write_text("{}")
    found = find_submissions(cohort)
    assert [entry.candidate for entry in found.entries] == ["cand-1"]
    assert any("__MACOSX" in warning for warning in found.warnings)
    lone = tmp_path / "lone"
    (lone / "notebooks").mkdir(parents=True)
    (lone / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    with pytest.raises(BadInput, match="looks like one submission"):
        find_submissions(lone)

"""The GitHub workflows in ci-templates/: valid, consistent, safe with untrusted input, and their scripts run.

actionlint's PyPI package fetches its binary from GitHub at install time, which is not
reachable here; instead every workflow is validated against SchemaStore's GitHub workflow
schema (shipped in schemas/), cross-checked the way actionlint would for jobs, outputs and
reusable workflows, and its scripts are parsed by bash and, where they only need files
and environment variables, executed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "ci-templates"
SCHEMA = json.loads((Path(__file__).parent / "schemas" / "github-workflow.json").read_text())
WORKFLOWS = sorted(TEMPLATES.rglob("*.yml"))
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


class _WorkflowLoader(yaml.SafeLoader):
    """YAML 1.2 booleans only: GitHub reads `on:` as a key, not as True."""


_WorkflowLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_WorkflowLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|false)$"), list("tf"))


def load(path: Path) -> dict:
    return yaml.load(path.read_text(), Loader=_WorkflowLoader)


def steps(workflow: dict):
    for job_id, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_id, job, step


def test_there_are_the_hiring_and_candidate_workflows() -> None:
    names = {path.relative_to(TEMPLATES).as_posix() for path in WORKFLOWS}
    assert names == {
        "hiring/grade-one.yml",
        "hiring/grade-candidate.yml",
        "hiring/grade-cohort.yml",
        "candidate/notify-grader.yml",
    }


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_the_github_schema(path: Path) -> None:
    errors = sorted(jsonschema.Draft7Validator(SCHEMA).iter_errors(load(path)), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message[:300]}" for e in errors]


def test_the_schema_rejects_a_broken_workflow() -> None:
    broken = yaml.load(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    step:\n      - run: echo\n", Loader=_WorkflowLoader
    )
    assert list(jsonschema.Draft7Validator(SCHEMA).iter_errors(broken))


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_scripts_parse_and_never_expand_expressions(path: Path) -> None:
    for job_id, _job, step in steps(load(path)):
        script = step.get("run")
        if script is None:
            continue
        # Untrusted values (dispatch payloads, inputs) reach scripts through env: only.
        assert not EXPRESSION.search(script), (path.name, job_id, step.get("name"))
        parsed = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
        assert parsed.returncode == 0, (path.name, step.get("name"), parsed.stderr)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_jobs_needs_and_outputs_line_up(path: Path) -> None:
    workflow = load(path)
    jobs = workflow["jobs"]
    for job_id, job in jobs.items():
        needs = job.get("needs", [])
        needs = [needs] if isinstance(needs, str) else needs
        assert set(needs) <= set(jobs), (job_id, needs)
        text = json.dumps(job)
        step_ids = {step.get("id") for step in job.get("steps", [])}
        for step_id in re.findall(r"steps\.([\w-]+)\.outputs", text):
            assert step_id in step_ids, (path.name, job_id, step_id)
        for needed, output in re.findall(r"needs\.([\w-]+)\.outputs\.([\w-]+)", text):
            assert needed in needs and output in jobs[needed].get("outputs", {}), (path.name, job_id, needed, output)
        for expression in EXPRESSION.findall(text):
            assert expression.count("(") == expression.count(")"), expression


def test_reusable_workflow_calls_match_its_inputs_and_secrets() -> None:
    called = load(TEMPLATES / "hiring" / "grade-one.yml")["on"]["workflow_call"]
    inputs, secrets = called["inputs"], called.get("secrets", {})
    calls = 0
    for path in WORKFLOWS:
        for job_id, job in load(path)["jobs"].items():
            if "uses" not in job:
                continue
            calls += 1
            assert job["uses"] == "./.github/workflows/grade-one.yml", (path.name, job_id)
            given = set(job.get("with", {}))
            assert given <= set(inputs), (path.name, job_id, given - set(inputs))
            assert {name for name, spec in inputs.items() if spec.get("required")} <= given, (path.name, job_id)
            assert set(job.get("secrets", {})) <= set(secrets), (path.name, job_id)
    assert calls == 2


def test_only_the_hiring_grading_step_sees_the_cohort_secret() -> None:
    for path in WORKFLOWS:
        text = path.read_text()
        if path.name != "grade-one.yml":
            assert "GRADER_SECRET" not in text, path.name
    workflow = load(TEMPLATES / "hiring" / "grade-one.yml")
    seen = [(job_id, job, step) for job_id, job, step in steps(workflow) if "GRADER_SECRET" in json.dumps(step)]
    assert len(seen) == 1
    job_id, job, step = seen[0]
    assert job.get("environment") == "grading" and step["env"] == {"GRADER_SECRET": "${{ secrets.GRADER_SECRET }}"}
    assert "grader grade" in step["run"] and "--ci" in step["run"]
    candidate = load(TEMPLATES / "candidate" / "notify-grader.yml")
    assert set(candidate["on"]) == {"push"} and "repository_dispatch" not in json.dumps(candidate)
    for path in WORKFLOWS:
        for job_id, _job, step in steps(load(path)):
            if step.get("uses", "").startswith("actions/checkout"):
                assert step["with"]["persist-credentials"] is False, (path.name, job_id)


def _run_step(workflow: Path, job: str, name: str, workdir: Path, env: dict[str, str]) -> tuple[int, dict, str]:
    step = next(s for s in load(workflow)["jobs"][job]["steps"] if s.get("name") == name)
    output = workdir / "github_output"
    output.write_text("")
    done = subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        cwd=workdir,
        text=True,
        capture_output=True,
        env={"PATH": os.environ["PATH"], "GITHUB_OUTPUT": str(output), **env},
    )
    values = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    return done.returncode, values, done.stdout + done.stderr


def test_the_candidate_lookup_accepts_only_listed_repositories(tmp_path: Path) -> None:
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "candidates.txt").write_bytes((TEMPLATES / "hiring" / "candidates.txt").read_bytes())
    workflow = TEMPLATES / "hiring" / "grade-candidate.yml"
    sha = "a" * 40
    code, values, _ = _run_step(
        workflow,
        "resolve",
        "Find the candidate id",
        tmp_path,
        {"REPOSITORY": "example-org/takehome-jane-doe", "REF": sha},
    )
    assert code == 0 and values == {"repository": "example-org/takehome-jane-doe", "ref": sha, "candidate": "cand-0042"}
    for repository, ref in (
        ("example-org/not-listed", sha),
        ("x/y; rm -rf /", sha),
        ("example-org/takehome-jane-doe", "$(id)"),
    ):
        code, values, log = _run_step(
            workflow, "resolve", "Find the candidate id", tmp_path, {"REPOSITORY": repository, "REF": ref}
        )
        assert code != 0 and not values, (repository, ref, log)


def test_the_cohort_plan_makes_one_job_per_listed_candidate(tmp_path: Path) -> None:
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "candidates.txt").write_bytes((TEMPLATES / "hiring" / "candidates.txt").read_bytes())
    workflow = TEMPLATES / "hiring" / "grade-cohort.yml"
    code, values, log = _run_step(workflow, "plan", "One job per candidate", tmp_path, {"ONLY": ""})
    assert code == 0, log
    assert json.loads(values["matrix"]) == [
        {"repository": "example-org/takehome-jane-doe", "candidate": "cand-0042"},
        {"repository": "example-org/takehome-bob-smith", "candidate": "cand-0043"},
    ]
    _, values, _ = _run_step(workflow, "plan", "One job per candidate", tmp_path, {"ONLY": "cand-0043"})
    assert [row["candidate"] for row in json.loads(values["matrix"])] == ["cand-0043"]

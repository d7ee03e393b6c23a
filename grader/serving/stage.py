"""The serving stage: build, run and probe the candidate's FastAPI service for real.

`run_serving_stage` always returns evidence: a Dockerfile that is missing, an image
that fails to build, a container that never answers or dies under load are all
recorded outcomes, never exceptions. Whatever a run creates (image, container,
network, namespace, staging folder) is removed before it returns, also on Ctrl-C. What a
grader killed outright (SIGKILL) left is removed by the next grading, which knows it by
its owner labels (`grader.sandbox.owner`); `cleanup_leftovers` removes every serving
run's objects, a live one's too.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors
import pandas as pd

from grader.errors import EngineUnavailable
from grader.evidence import Check, StageOutcome
from grader.sandbox.engine import connect
from grader.sandbox.networks import guarded_network
from grader.sandbox.policy import Policy, load_policy
from grader.serving import dockerfile as dockerfile_parser
from grader.serving.build import build_image
from grader.serving.dockerfile import ParsedDockerfile
from grader.serving.environment import base_images, build_failure_problem, missing_images_problem, standin_notes
from grader.serving.evidence import Backend, DockerfileFacts, RowKey, ServingEvidence
from grader.serving.layout import ImageLayout, plan
from grader.serving.local import (
    STAGE_PREFIX,
    LocalSetupError,
    local_service,
    prepare_venv,
    remove_leftovers,
    stage_files,
)
from grader.serving.practices import dockerfile_checks
from grader.serving.probes import run_probes
from grader.serving.run import (
    DockerService,
    docker_service,
    image_removed_after,
    isolation_summary,
    remove_labelled,
    run_labels,
)
from grader.serving.service import Service
from grader.serving.settings import ServingSettings
from grader.submission.discover import Submission, discover

NOT_VERIFIED_LOCALLY = [
    "build: the image was not built (no engine); only the Dockerfile was read",
    "image size and base image",
    "the user the image runs as (the local service runs as an unprivileged grader user)",
    "RUN steps other than pip install",
]


def discovered_dockerfile(submission_root: Path, found: Submission | None = None) -> tuple[Path | None, Path, str]:
    """The serving Dockerfile and build context that submission discovery picks (or picked: `found`), and why."""
    found = discover(submission_root) if found is None else found.model_copy(update={"root": submission_root})
    if found.dockerfile is None:
        return None, submission_root, "; ".join(found.problems[:3]) or "discovery found no Dockerfile"
    context = found.path(found.build_context or "")
    reason = f"{found.dockerfile_reason}; build context {found.build_context or '.'} ({found.build_context_reason})"
    return found.path(found.dockerfile.path), context, reason


@dataclass
class _Job:
    """One serving-stage run: what it was given and what it has found so far."""

    context: Path  # the build context
    dockerfile: Path
    parsed: ParsedDockerfile
    layout: ImageLayout
    environment: dict[str, str]
    holdout_features: pd.DataFrame
    holdout_labels: pd.DataFrame
    expected: dict[RowKey, float] | None
    workdir: Path
    policy: Policy
    settings: ServingSettings
    evidence: ServingEvidence
    # Held while the service runs and is probed (not while it builds): in a cohort, one
    # submission's load probe at a time, so none measures another's load.
    slot: Callable[[], AbstractContextManager[object]] = nullcontext
    # Shared cache entries the run uses (the local service's virtualenv), kept until it ends.
    leases: ExitStack = field(default_factory=ExitStack)

    @property
    def run_id(self) -> str:
        return self.evidence.run_id

    @property
    def facts(self) -> DockerfileFacts:
        assert self.evidence.dockerfile is not None
        return self.evidence.dockerfile

    @property
    def reasons(self) -> list[str]:
        return self.evidence.outcome.reasons

    def probe(self, service: Service) -> bool:
        feature_columns = [c for c in self.holdout_features.columns if c not in self.holdout_labels.columns]
        return run_probes(
            service,
            self.evidence,
            self.holdout_features,
            self.holdout_labels,
            feature_columns,
            self.expected,
            self.policy,
            self.settings,
        )


def run_serving_stage(
    submission_root: Path,
    dockerfile: Path | None,
    holdout_features: pd.DataFrame,
    holdout_labels: pd.DataFrame,
    expected: dict[RowKey, float] | None,
    backend: Backend,
    workdir: Path,
    *,
    context: Path | None = None,
    policy: Policy | None = None,
    settings: ServingSettings | None = None,
    client: docker.DockerClient | None = None,
    discovered: Submission | None = None,
    slot: Callable[[], AbstractContextManager[object]] = nullcontext,
) -> ServingEvidence:
    """Build, run and probe the submission's service; evidence of everything it did.

    `dockerfile` None: submission discovery picks the Dockerfile and the build context (the
    grading's own discovery `discovered`, when given, is not run again); given, the build
    context is `context` or else `submission_root`. `expected` holds
    the candidate's logged model's probabilities for holdout rows, keyed by
    (customer_id, snapshot_month): served answers are compared with them.
    `holdout_labels` never leaves this process. `policy` and `settings` default to
    sandbox/policy.toml and ServingSettings(); `client` to `grader.sandbox.engine.connect()`.
    """
    started = time.monotonic()
    evidence = ServingEvidence(
        backend=backend, run_id=uuid.uuid4().hex[:12], outcome=StageOutcome(status="failed", backend=backend)
    )
    try:
        read = _read_dockerfile(submission_root.resolve(), dockerfile, context, evidence, discovered)
        if read is not None:
            path, build_context, parsed, layout, environment = read
            job = _Job(
                build_context,
                path,
                parsed,
                layout,
                environment,
                holdout_features,
                holdout_labels,
                expected,
                workdir,
                policy or load_policy(),
                settings or ServingSettings(),
                evidence,
                slot,
            )
            workdir.mkdir(parents=True, exist_ok=True)
            with job.leases:
                completed = _run_docker(job, client) if backend == "docker" else _run_local(job)
            evidence.outcome.status = "ok" if completed else ("partial" if evidence.run.healthy else "failed")
    finally:
        evidence.outcome.duration_s = round(time.monotonic() - started, 3)
    return evidence


def _read_dockerfile(
    submission_root: Path,
    dockerfile: Path | None,
    context: Path | None,
    evidence: ServingEvidence,
    discovered: Submission | None,
) -> tuple[Path, Path, ParsedDockerfile, ImageLayout, dict[str, str]] | None:
    """Parse the Dockerfile and judge its practices; None when there is nothing to run."""
    reasons = evidence.outcome.reasons
    if dockerfile is None:
        path, found_context, why = discovered_dockerfile(submission_root, discovered)
        context = context or found_context
    else:
        path, why = dockerfile.resolve(), "given by the caller"
    context = (context or submission_root).resolve()
    if path is None or not path.is_file():
        reasons.append(f"no Dockerfile in the submission: {why if path is None else path}")
        evidence.checks.append(Check(id="dockerfile.present", passed=False, detail=reasons[-1]))
        return None
    shown = str(path.relative_to(submission_root)) if path.is_relative_to(submission_root) else str(path)
    evidence.checks.append(Check(id="dockerfile.present", passed=True, detail=f"{shown}: {why}"))
    parsed = dockerfile_parser.parse(path)
    layout = plan(parsed, context)
    facts = dockerfile_parser.facts(parsed, shown, layout.requirement_files())
    evidence.dockerfile = facts
    evidence.checks += dockerfile_checks(parsed, facts, layout)
    if facts.start is None:
        reasons.append("the Dockerfile has no CMD or ENTRYPOINT: nothing starts the service")
        return None
    environment = {}
    if dockerfile_parser.needs_port_env(facts):
        environment["PORT"] = str(facts.start.port or dockerfile_parser.DEFAULT_PORT)
        evidence.run.notes.append(
            f"PORT={environment['PORT']} set: the start command reads $PORT and the image does not set it"
        )
    return path, context, parsed, layout, environment


def _run_docker(job: _Job, client: docker.DockerClient | None) -> bool:
    if client is not None:
        return _build_and_run(job, client)
    try:
        owned = connect()
    except EngineUnavailable as exc:
        job.reasons.append(f"{exc}; the local backend runs without an engine")
        return False
    try:
        return _build_and_run(job, owned)
    finally:
        owned.close()


def _build_and_run(job: _Job, client: docker.DockerClient) -> bool:
    evidence, reasons = job.evidence, job.reasons
    bases = base_images(client, job.parsed)
    evidence.build.base_images = bases
    reasons += standin_notes(bases)
    problem = missing_images_problem(bases)
    if problem:
        # The grader's machine lacks an image, not the candidate: nothing is built, nothing judged.
        evidence.outcome.environment = problem
        reasons.append(problem)
        evidence.checks.append(Check(id="build.succeeded", passed=None, detail=problem))
        return False
    tag = f"churn-grader-serving/{job.run_id}:candidate"
    labels = run_labels(job.run_id)
    with image_removed_after(client, tag, job.settings.keep_layer_cache):
        with guarded_network(
            client, f"churn-grader-build-{job.run_id}", "build", job.run_id, labels, internal=False
        ) as network:
            record = build_image(
                client,
                job.context,
                job.dockerfile,
                tag,
                labels,
                job.policy.build,
                job.workdir / "build.log",
                network=network.name,
            )
        if not network.host_blocked:
            evidence.not_verified.append(
                "build steps could connect to the grader's host (no firewall rule could be set)"
            )
        record.base_images = bases
        evidence.build = record
        problem = build_failure_problem(job.parsed, bases, record)
        evidence.outcome.environment = problem
        evidence.checks.append(
            Check(
                id="build.succeeded",
                # A failure this machine caused says nothing about the candidate's image.
                passed=None if problem else record.succeeded,
                detail=f"built in {record.seconds} s, {record.image_size_mb} MB"
                if record.succeeded
                else problem or f"{record.failing_step}: {record.error}",
                figures={
                    "seconds": record.seconds,
                    "image_size_mb": record.image_size_mb,
                    "timed_out": record.timed_out,
                },
            )
        )
        if not record.succeeded:
            reasons.append(f"the image failed to build at {record.failing_step or 'the start'}: {record.error}")
            if problem:
                reasons.append(problem)
            elif job.facts.unsupported:
                reasons.append("the Dockerfile uses BuildKit-only syntax: " + "; ".join(job.facts.unsupported))
            return False
        evidence.run.network = (
            "internal Docker network of its own: no egress; the grader reaches the container at its bridge address"
        )
        try:
            with (
                job.slot(),
                docker_service(client, tag, job.facts, job.policy.service, job.run_id, job.environment) as service,
            ):
                evidence.run.isolation = isolation_summary(job.policy.service, service.host_blocked)
                if not service.host_blocked:
                    evidence.run.not_enforced.append(
                        "the container could open connections to the grader's host (no firewall rule could be set)"
                    )
                evidence.run.started = True
                try:
                    return job.probe(service)
                finally:
                    _container_checks(service, job)
        except docker.errors.APIError as exc:
            reasons.append(f"the container could not be started: {exc.explanation or exc}")
            return False


def _container_checks(service: DockerService, job: _Job) -> None:
    evidence = job.evidence
    evidence.run.user_id = service.uid
    evidence.checks.append(
        Check(
            id="run.non_root",
            passed=None if service.uid is None else service.uid != 0,
            detail="the process was never seen running"
            if service.uid is None
            else f"the service runs as uid {service.uid}",
        )
    )
    health = service.docker_health()
    if health is not None:
        evidence.checks.append(
            Check(
                id="run.image_healthcheck",
                passed=None if health == "starting" else health == "healthy",
                detail=f"Docker reports the image's HEALTHCHECK as {health}",
            )
        )
    if not evidence.run.log_tail:
        evidence.run.log_tail = service.log_tail(job.settings.log_tail_chars)


def _run_local(job: _Job) -> bool:
    evidence, reasons, policy, settings = job.evidence, job.reasons, job.policy, job.settings
    evidence.not_verified = list(NOT_VERIFIED_LOCALLY)
    evidence.checks.append(Check(id="build.succeeded", passed=None, detail="local backend: the image was not built"))
    evidence.checks.append(Check(id="run.non_root", passed=None, detail="local backend: the image's user is not used"))
    try:
        venv, notes = job.leases.enter_context(prepare_venv(job.layout, policy, job.workdir / "local-venv.log"))
    except LocalSetupError as exc:
        reasons.append(f"the local backend could not install the requirements: {exc}")
        return False
    evidence.run.notes += notes
    rates = settings.load_rates or policy.probe.rates
    step_s = settings.load_step_s or policy.probe.step_duration_s
    planned_s = (
        policy.service.startup_timeout_s
        + 2 * settings.quality_budget_s
        + len(rates) * (step_s + policy.service.request_timeout_s)
        + 300
    )
    root = Path(tempfile.mkdtemp(prefix=f"{STAGE_PREFIX}{job.run_id}-"))
    try:
        os.chmod(root, 0o755)
        evidence.run.notes += stage_files(job.layout, root)
        with (
            job.slot(),
            local_service(
                job.facts,
                venv,
                root,
                policy.service,
                job.run_id,
                job.environment,
                int(policy.service.cpus * planned_s),
                job.workdir / "service.log",
            ) as service,
        ):
            evidence.run.started = True
            evidence.run.isolation, evidence.run.not_enforced = service.isolation, service.not_enforced
            evidence.run.user_id = service.user_id
            evidence.run.network = next(
                (i for i in service.isolation if "namespace" in i), "host network on 127.0.0.1: egress NOT blocked"
            )
            try:
                return job.probe(service)
            finally:
                if not evidence.run.log_tail:
                    evidence.run.log_tail = service.log_tail(settings.log_tail_chars)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def cleanup_leftovers(client: docker.DockerClient | None = None, run_id: str | None = None) -> dict[str, int]:
    """Remove the containers, networks, images, namespaces and folders serving runs left behind.

    With `run_id`, only that run's (the evidence's `run_id`). Without, every serving
    run's: a janitor for between cohorts, since it also removes a run still going.
    """
    removed = remove_leftovers(run_id)
    try:
        client = client or connect()
    except EngineUnavailable:
        return removed
    return {**removed, **remove_labelled(client, run_id)}

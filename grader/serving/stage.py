"""The serving stage: build, run and probe the candidate's FastAPI service for real.

The sandbox the grading was given builds the Dockerfile and starts what it built
(`grader.sandbox.api`: an image and a container, or a virtualenv and a confined process);
this stage reads the Dockerfile, records what the sandbox did and said, and probes the
service. `run_serving_stage` always returns evidence: a Dockerfile that is missing, an
image that fails to build, a service that never answers or dies under load are all
recorded outcomes, never exceptions. Whatever a run creates is removed before it returns,
also on Ctrl-C. What a grader killed outright (SIGKILL) left is removed by the next
grading, which knows it by its owner labels (`grader.sandbox.owner`);
`grader.sandbox.api.cleanup_leftovers` removes every serving run's objects, a live one's too.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from grader.evidence import Check, Figure, StageOutcome
from grader.sandbox.api import Build, BuildSpec, Sandbox, Service, ServiceSpec, StartFailed
from grader.sandbox.policy import Policy, load_policy
from grader.serving import dockerfile as dockerfile_parser
from grader.serving.dockerfile import ParsedDockerfile
from grader.serving.evidence import DockerfileFacts, RowKey, ServingEvidence
from grader.serving.layout import ImageLayout, plan
from grader.serving.leakprobe import LeakProbe
from grader.serving.practices import dockerfile_checks
from grader.serving.probes import run_probes
from grader.serving.settings import ServingSettings
from grader.submission.discover import Submission, discover


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
    leak: LeakProbe | None = None

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

    def build_spec(self) -> BuildSpec:
        return BuildSpec(
            self.run_id,
            self.dockerfile,
            self.parsed,
            self.layout,
            self.policy,
            self.workdir,
            self.settings.keep_layer_cache,
        )

    def service_spec(self) -> ServiceSpec:
        """The service's start, with how long the probes may use it (the local backend bounds its CPU time so)."""
        policy, settings = self.policy, self.settings
        rates = settings.load_rates or policy.probe.rates
        step_s = settings.load_step_s or policy.probe.step_duration_s
        lifetime_s = (
            policy.service.startup_timeout_s
            + 3 * settings.quality_budget_s  # holdout scoring, determinism, the leak probe
            + len(rates) * (step_s + policy.service.request_timeout_s)
            + 300
        )
        return ServiceSpec(self.run_id, self.facts, self.environment, policy.service, lifetime_s, self.workdir)

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
            self.leak,
        )


def run_serving_stage(
    submission_root: Path,
    dockerfile: Path | None,
    holdout_features: pd.DataFrame,
    holdout_labels: pd.DataFrame,
    expected: dict[RowKey, float] | None,
    sandbox: Sandbox,
    workdir: Path,
    *,
    context: Path | None = None,
    policy: Policy | None = None,
    settings: ServingSettings | None = None,
    discovered: Submission | None = None,
    slot: Callable[[], AbstractContextManager[object]] = nullcontext,
    leak: LeakProbe | None = None,
) -> ServingEvidence:
    """Build, run and probe the submission's service in `sandbox`; evidence of everything it did.

    `dockerfile` None: submission discovery picks the Dockerfile and the build context (the
    grading's own discovery `discovered`, when given, is not run again); given, the build
    context is `context` or else `submission_root`. `expected` holds
    the candidate's logged model's probabilities for holdout rows, keyed by
    (customer_id, snapshot_month): served answers are compared with them.
    `holdout_labels` never leaves this process. `policy` and `settings` default to
    sandbox/policy.toml and ServingSettings(). `slot` is held around the service's run and
    probes, not its build. `leak` (the answer key's leak column and its training values) adds the
    probe that asks whether the served model depends on it.
    """
    started = time.monotonic()
    backend = sandbox.backend
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
                leak,
            )
            workdir.mkdir(parents=True, exist_ok=True)
            completed = _build_and_serve(job, sandbox)
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


def _build_and_serve(job: _Job, sandbox: Sandbox) -> bool:
    """Build in the sandbox, then start and probe what it built; whether every probe ran."""
    evidence, reasons = job.evidence, job.reasons
    with sandbox.build(job.build_spec()) as build:
        _record_build(job, build, sandbox)
        if not build.ready:
            return False
        try:
            with job.slot(), sandbox.service(build, job.service_spec()) as service:
                run = evidence.run
                run.started = True
                run.network, run.isolation, run.not_enforced = service.network, service.isolation, service.not_enforced
                try:
                    return job.probe(service)
                finally:
                    _service_checks(service, build, job)
        except StartFailed as exc:
            reasons.append(str(exc))
            return False


def _record_build(job: _Job, build: Build, sandbox: Sandbox) -> None:
    """What the build did, what it used instead of what was asked, and what this backend cannot verify."""
    evidence, record = job.evidence, build.record
    evidence.build = record
    evidence.outcome.environment = build.environment
    evidence.not_verified += build.not_verified
    evidence.run.notes += build.notes
    figures: dict[str, Figure] = {
        "seconds": record.seconds,
        "image_size_mb": record.image_size_mb,
        "timed_out": record.timed_out,
    }
    evidence.checks.append(
        Check(
            id="build.succeeded",
            passed=build.succeeded,
            detail=build.detail,
            figures=figures if record.attempted else {},
        )
    )
    if not build.image_user:
        evidence.checks.append(
            Check(id="run.non_root", passed=None, detail=f"{sandbox.backend} backend: the image's user is not used")
        )
    job.reasons.extend(build.reasons)
    if build.succeeded is False and job.facts.unsupported:
        job.reasons.append("the Dockerfile uses BuildKit-only syntax: " + "; ".join(job.facts.unsupported))


def _service_checks(service: Service, build: Build, job: _Job) -> None:
    """Who the service ran as, the image's own health verdict, and its log's tail."""
    evidence = job.evidence
    evidence.run.user_id = service.uid
    if build.image_user:
        evidence.checks.append(
            Check(
                id="run.non_root",
                passed=None if service.uid is None else service.uid != 0,
                detail="the process was never seen running"
                if service.uid is None
                else f"the service runs as uid {service.uid}",
            )
        )
    health = service.image_health()
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

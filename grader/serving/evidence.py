"""What the serving stage records: typed evidence, never points.

Every check lands in `ServingEvidence.checks` (ids prefixed by phase: dockerfile.,
build., run., contract., correctness., quality., bad_input., load.); the records next
to them hold the figures and the context a report shows. A check with `passed=None`
could not be verified, and its detail says why.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from grader.engine.standins import StandinChoice
from grader.evidence import Check, StageOutcome
from grader.serving.loadprobe import LoadProfile

SCHEMA_VERSION = "1"
# Every check the serving stage can record, as `serving.<id>` evidence paths name them.
CHECK_IDS: tuple[str, ...] = (
    *(
        f"dockerfile.{c}"
        for c in (
            "present",
            "base_pinned",
            "non_root_user",
            "healthcheck",
            "requirements_pinned",
            "dockerignore",
            "no_baked_data",
            "no_baked_secrets",
            "dependency_layer_cached",
            "supported_syntax",
            "exec_form",
            "exposes_port",
            "listens_all_interfaces",
            "port_consistent",
            "start_command",
        )
    ),
    "build.succeeded",
    *(f"run.{c}" for c in ("healthy", "health_route", "survived", "non_root", "image_healthcheck")),
    *(f"contract.{c}" for c in ("prediction_route", "fields_mapped", "batch_supported", "returns_probabilities")),
    *(f"correctness.{c}" for c in ("probabilities_in_range", "deterministic", "matches_logged_model", "leak_ignored")),
    "quality.holdout_scored",
    "quality.ranks",
    *(f"bad_input.{c}" for c in ("handled", "no_5xx", "still_healthy")),
    "load.no_errors",
)
Backend = Literal["docker", "local"]
# The values of the columns that name a hidden-holdout row across stages: (customer_id, snapshot_month).
RowKey = tuple[str, ...]


class StartCommand(BaseModel):
    """The command the image starts with, as Docker would run it."""

    argv: list[str]
    form: Literal["exec", "shell"]
    line: int | None = None
    server: str | None = None
    # The port the server listens on, and where that number came from.
    port: int | None = None
    port_source: str | None = None
    host: str | None = None
    workers: int | None = None


class DockerfileFacts(BaseModel):
    """What the final stage of the Dockerfile declares."""

    path: str
    base_images: list[str]
    # External images `COPY --from=<image>` copies files out of (stage names and numbers excluded).
    copied_from_images: list[str] = Field(default_factory=list)
    exposed_ports: list[int] = Field(default_factory=list)
    start: StartCommand | None = None
    user: str | None = None
    workdir: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    requirements_files: list[str] = Field(default_factory=list)
    # BuildKit-only syntax the legacy builder here cannot build, in words.
    unsupported: list[str] = Field(default_factory=list)


class BaseImage(BaseModel):
    """An external image the build needs (FROM, COPY --from) and what the engine had under that name."""

    requested: str
    used_by: Literal["FROM", "COPY --from"] = "FROM"
    available: bool
    standin: bool = False
    # The python inside: the stand-in's (full version), or a real image's PYTHON_VERSION.
    python_version: str | None = None
    # For Docker Hub's python image: the stand-in the rule chose, exact or nearest, and why.
    choice: StandinChoice | None = None
    standin_image: str | None = None
    # Set when the stand-in was built for this build, on its first use (seconds it took).
    standin_built_s: float | None = None
    # Why the image cannot be had here and what to do: the grader's environment, not the candidate.
    unavailable: str | None = None


class BuildRecord(BaseModel):
    """How `docker build` went: time, size, and on failure the step and the log's tail."""

    attempted: bool = False
    succeeded: bool = False
    timed_out: bool = False
    seconds: float | None = None
    image_size_mb: float | None = None
    failing_step: str | None = None
    error: str | None = None
    log_tail: str = ""
    log_path: str | None = None
    log_truncated: bool = False
    base_images: list[BaseImage] = Field(default_factory=list)


class RunRecord(BaseModel):
    """The running service: where it answered, how fast, and what confined it."""

    started: bool = False
    base_url: str | None = None
    health_route: str | None = None
    seconds_to_healthy: float | None = None
    healthy: bool = False
    exit_code: int | None = None
    oom_killed: bool = False
    user_id: int | None = None
    # How egress was cut, and the limits applied or not applied by this backend.
    network: str = ""
    isolation: list[str] = Field(default_factory=list)
    not_enforced: list[str] = Field(default_factory=list)
    # What the grader did beyond `docker run` (e.g. set PORT) or, locally, how it set up.
    notes: list[str] = Field(default_factory=list)
    log_tail: str = ""


class PredictionRoute(BaseModel):
    """The route the grader sends predictions to, and how rows map onto its schema."""

    method: str = "POST"
    path: str
    operation_id: str | None = None
    summary: str | None = None
    from_openapi: bool = True
    # record: one object; wrapped_record: {"<key>": {...}}; array: a top-level list;
    # wrapper: {"<key>": [...]}. A Union body gives one route per member.
    shape: Literal["record", "wrapped_record", "array", "wrapper"]
    wrapper_key: str | None = None
    free_form: bool = False
    field_to_column: dict[str, str] = Field(default_factory=dict)
    unmapped_required: list[str] = Field(default_factory=list)
    unmapped_optional: list[str] = Field(default_factory=list)
    columns_not_sent: list[str] = Field(default_factory=list)
    sends_all_columns: bool = False


class ContractRecord(BaseModel):
    """What the OpenAPI document declares and what the prediction route answered."""

    openapi_found: bool = False
    routes_seen: list[str] = Field(default_factory=list)
    route: PredictionRoute | None = None
    batch_route: PredictionRoute | None = None
    batch_supported: bool = False
    # probability: a churn probability per row; label: only 0/1 decisions.
    answer_kind: Literal["probability", "label"] | None = None
    answer_path: str | None = None
    sample_request: str | None = None
    sample_response: str | None = None
    problems: list[str] = Field(default_factory=list)


class QualityRecord(BaseModel):
    """Hidden-holdout metrics of the served answers; labels never leave the grader."""

    rows_total: int
    rows_sent: int = 0
    rows_scored: int = 0
    rows_failed: int = 0
    mode: Literal["batch", "single"] | None = None
    batch_size: int | None = None
    seconds: float | None = None
    # Rows scored per second of that pass (through the batch route when `mode` is batch, one row a request
    # when single): what scoring a month's customers through this API takes.
    rows_per_s: float | None = None
    stopped_early: str | None = None
    metrics: dict[str, float | None] = Field(default_factory=dict)
    oracle_metrics: dict[str, float | None] = Field(default_factory=dict)
    # How the served probabilities vary (None for label answers, or for fewer rows than
    # grader.serving.quality.MIN_SPREAD_ROWS): a service whose answers do not vary serves no model.
    distinct_answers: int | None = None
    top_answer_share: float | None = None
    answers_std: float | None = None


class BadInputCase(BaseModel):
    """One hostile request and the service's answer."""

    name: str
    description: str
    request_excerpt: str
    status: int | None = None
    error: str | None = None
    body_excerpt: str = ""
    seconds: float | None = None
    acceptable: list[str]
    passed: bool | None
    alive_after: bool | None = None


class LoadRecord(BaseModel):
    """The open-loop load profile against the prediction route."""

    url: str
    rates: list[float]
    step_duration_s: float
    warmup_s: float
    bodies: int
    profile: LoadProfile | None = None
    alive_after: bool | None = None
    error: str | None = None


class ServingEvidence(BaseModel):
    """Everything the serving stage saw for one submission."""

    schema_version: str = SCHEMA_VERSION
    backend: Backend
    # The org.churn-grader.run label on everything this run created (image, container, network).
    run_id: str
    outcome: StageOutcome
    dockerfile: DockerfileFacts | None = None
    build: BuildRecord = Field(default_factory=BuildRecord)
    run: RunRecord = Field(default_factory=RunRecord)
    contract: ContractRecord = Field(default_factory=ContractRecord)
    quality: QualityRecord | None = None
    bad_input: list[BadInputCase] = Field(default_factory=list)
    load: LoadRecord | None = None
    checks: list[Check] = Field(default_factory=list)
    # Checks this backend could not verify (the local backend has no image or container).
    not_verified: list[str] = Field(default_factory=list)

    def check(self, check_id: str) -> Check | None:
        """The check with this id, if recorded."""
        return next((c for c in self.checks if c.id == check_id), None)


def excerpt(value: Any, limit: int = 400) -> str:
    """A bounded text view of a body or value for the evidence file."""
    if isinstance(value, bytes):
        text = value.decode("utf-8", "replace")
    else:
        text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… [{len(text) - limit} more characters]"

"""The serving stage's evidence as a candidate may see it: does the service build, start and answer.

Only functional checks are shown (build, health, prediction route, answers to
well-formed and malformed requests, staying up); Dockerfile practices, latency under
load and the quality of the answers are for the grader's report, not the preflight.
"""

from __future__ import annotations

from grader.preflight.findings import PreflightReport
from grader.serving.evidence import ServingEvidence

# check id -> (step, what it means when it fails, what it means when it passes)
SHOWN = {
    "dockerfile.present": ("image", "no Dockerfile: the grader builds your service from one", "Dockerfile found"),
    "build.succeeded": ("image", "the image does not build", "the image builds"),
    "run.healthy": ("service", "the service never became ready", "the service starts"),
    "run.health_route": (
        "service",
        "no health route: GET /health (or /healthz) does not answer 200",
        "GET /health answers",
    ),
    "contract.prediction_route": (
        "service",
        "no prediction route answered a well-formed request built from your data",
        "the prediction route answers a well-formed request",
    ),
    "contract.returns_probabilities": (
        "service",
        "the prediction route does not return a churn probability",
        "it returns churn probabilities",
    ),
    "correctness.probabilities_in_range": (
        "service",
        "some answers are not probabilities in [0, 1]",
        "every answer is a probability in [0, 1]",
    ),
    "correctness.deterministic": (
        "service",
        "the same request gets different answers",
        "the same request gets the same answer",
    ),
    "bad_input.no_5xx": (
        "malformed input",
        ("malformed requests get a server error (5xx) or no answer: validate the request and answer 4xx"),
        "no server error (5xx) on malformed requests",
    ),
    "bad_input.still_healthy": (
        "malformed input",
        "the service is not healthy after malformed requests",
        "still healthy after malformed requests",
    ),
    "run.survived": ("service", "the service stopped while it was being checked", "the service stayed up"),
}
# Failing these is worth a look, not a blocker.
WARNINGS = {"correctness.deterministic"}


def _rows_answered(report: PreflightReport, evidence: ServingEvidence) -> None:
    quality = evidence.quality
    if quality is not None and quality.rows_sent:
        report.add(
            "service",
            "ok" if quality.rows_scored == quality.rows_sent else "problem",
            f"answered {quality.rows_scored} of {quality.rows_sent} rows of your own data sent to it",
        )


def add_serving_findings(report: PreflightReport, evidence: ServingEvidence) -> None:
    """One finding per functional check the serving stage recorded, in plain words."""
    if evidence.backend == "local":
        report.add(
            "image",
            "skipped",
            "no Docker engine here, so the image was not built: the service was started "
            "from the Dockerfile's command instead; the grader builds the image",
        )
    if evidence.outcome.environment:
        report.add("image", "skipped", f"could not be checked on this machine: {evidence.outcome.environment}")
    for base in evidence.build.base_images:
        if base.standin and base.choice and base.choice.match == "nearest":
            report.add(
                "image",
                "warning",
                f"{base.requested} was stood in for by python {base.python_version} "
                f"(no registry here): {base.choice.reason}",
            )
    checks = {check.id: check for check in evidence.checks}
    for check_id, (step, failed, passed) in SHOWN.items():
        check = checks.get(check_id)
        if check is None or check.passed is None:
            continue
        if check.passed:
            report.add(step, "ok", passed)
            continue
        details = [check.detail] if check.detail else []
        if check_id == "build.succeeded" and evidence.build.log_tail:
            details.append("end of the build log:\n" + evidence.build.log_tail[-1500:])
        if check_id in ("run.healthy", "run.survived") and evidence.run.log_tail:
            details.append("end of the service's log:\n" + evidence.run.log_tail[-1500:])
        report.add(step, "warning" if check_id in WARNINGS else "problem", failed, details)
    _rows_answered(report, evidence)
    if not any(f.step in ("image", "service") and f.status == "problem" for f in report.findings):
        for reason in evidence.outcome.reasons:
            if "never became healthy" in reason or "could not" in reason or "died" in reason:
                report.add("service", "problem", reason)

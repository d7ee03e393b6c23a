"""What the preflight tells a candidate when the grader's machine, not their image, stopped the build."""

from __future__ import annotations

from grader.engine.standins import choose_standin
from grader.evidence import StageOutcome
from grader.preflight.findings import PreflightReport
from grader.preflight.serving import add_serving_findings
from grader.serving.evidence import BaseImage, BuildRecord, ServingEvidence


def _findings(evidence: ServingEvidence) -> list[tuple[str, str, str]]:
    report = PreflightReport(submission="s", backend="docker")
    add_serving_findings(report, evidence)
    return [(f.step, f.status, f.message) for f in report.findings]


def test_an_image_this_machine_cannot_get_is_skipped_not_a_problem() -> None:
    environment = "base image ghcr.io/astral-sh/uv:0.4.0 (COPY --from) is not available offline: grade elsewhere"
    evidence = ServingEvidence(
        backend="docker",
        run_id="r1",
        outcome=StageOutcome(status="failed", environment=environment, reasons=[environment]),
    )
    assert _findings(evidence) == [("image", "skipped", f"could not be checked on this machine: {environment}")]


def test_a_nearest_stand_in_is_worth_a_look() -> None:
    choice = choose_standin("python:3.12.5-slim")
    base = BaseImage(
        requested="python:3.12.5-slim", available=True, standin=True, python_version="3.11.2", choice=choice
    )
    exact = BaseImage(
        requested="python:3.11-slim",
        available=True,
        standin=True,
        python_version="3.11.2",
        choice=choose_standin("python:3.11-slim"),
    )
    evidence = ServingEvidence(
        backend="docker", run_id="r2", outcome=StageOutcome(status="ok"), build=BuildRecord(base_images=[base, exact])
    )
    assert _findings(evidence) == [
        (
            "image",
            "warning",
            f"python:3.12.5-slim was stood in for by python 3.11.2 (no registry here): {choice.reason}",
        )
    ]

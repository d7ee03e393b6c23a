"""The candidate's preflight (`grader check`): what is safe to show before submitting.

`run_preflight(submission, data, backend) -> PreflightReport`; `check_command` is the CLI verb.
"""

from grader.preflight.check import run_preflight
from grader.preflight.command import check_command
from grader.preflight.findings import Finding, PreflightReport

__all__ = ["Finding", "PreflightReport", "check_command", "run_preflight"]

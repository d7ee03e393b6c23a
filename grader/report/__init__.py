"""Reports a hiring manager can act on: report.json (a versioned contract), report.md,
a self-contained report.html per candidate, and the cohort leaderboard."""

from grader.report.command import report_command
from grader.report.render import (
    load_evidence,
    render_reports,
    report_evidence,
    rerender,
    write_leaderboard,
)

__all__ = ["load_evidence", "render_reports", "report_command", "report_evidence", "rerender", "write_leaderboard"]

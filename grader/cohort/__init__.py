"""Cohort grading: many submissions in parallel processes, resumable, mergeable across machines.

`find_submissions(folder)` → `CohortRun(cohort, reports, settings, grade, hook).run()` →
`CohortResult`; `merge(report_dirs, out, hook)` → `MergeReport`. `grade` (a `GradeOne`,
default `grade_one`) and `hook` (a `ReportHook`, default `RubricReports`) are the plug
points. CLI verbs: `grade_command`, `merge_command`; `--ci` output in `grader.cohort.ci`.
"""

from grader.cohort.capacity import Capacity, default_timeout_s, machine_capacity
from grader.cohort.command import grade_command, merge_command
from grader.cohort.entries import Cohort, CohortEntry, find_submissions
from grader.cohort.gradeone import GradeJob, GradeOne, ReportHook, RubricReports, grade_one
from grader.cohort.merge import MergeReport, merge
from grader.cohort.results import CohortResult, SubmissionResult
from grader.cohort.run import CohortRun, CohortSettings
from grader.cohort.state import SubmissionState

__all__ = [
    "Capacity",
    "Cohort",
    "CohortEntry",
    "CohortResult",
    "CohortRun",
    "CohortSettings",
    "GradeJob",
    "GradeOne",
    "MergeReport",
    "ReportHook",
    "RubricReports",
    "SubmissionResult",
    "SubmissionState",
    "default_timeout_s",
    "find_submissions",
    "grade_command",
    "grade_one",
    "machine_capacity",
    "merge",
    "merge_command",
]

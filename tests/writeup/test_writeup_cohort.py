"""Cohort originality: every worker gets the cohort's READMEs, and a shared paragraph shows in both reports.

A real cohort run (spawned worker processes, the real report hook); only the grade function
is a stand-in that runs the writeup stage's own `collect_writeup` on what the job hands it.
"""

from __future__ import annotations

from pathlib import Path

from candidate import judging_grade
from conftest import TEST_SECRET

from grader.cohort.entries import find_submissions
from grader.cohort.gradeone import RubricReports
from grader.cohort.run import CohortRun, CohortSettings
from grader.writeup.cohort import cohort_readmes

SHARED = (
    "Every night we compute the population stability index of each input feature against the last "
    "training month and page the on-call engineer when any value exceeds 0.25 for two nights in a row."
)


def submissions(root: Path) -> Path:
    (root / "ada").mkdir(parents=True)
    (root / "ada" / "README.md").write_text(f"# Monitoring\n\n{SHARED}\n\nAda's own closing words on the campaign.\n")
    (root / "bob").mkdir()
    (root / "bob" / "README.md").write_text(
        f"# Plan\n\nBob writes about his tenure buckets first, at length.\n\n{SHARED}\n"
    )
    (root / "cy").mkdir()
    (root / "cy" / "README.md").write_text("# Cy\n\nA README of Cy's own, sharing nothing with anyone else here.\n")
    (root / "dee").mkdir()
    (root / "dee" / "README.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")  # not text: nothing to share
    (root / "eve").mkdir()  # no README at all
    return root


def test_the_parent_reads_each_readme_once(tmp_path: Path) -> None:
    root = submissions(tmp_path / "subs")
    found = cohort_readmes({name: root / name for name in ("ada", "bob", "cy", "dee", "eve")})
    assert sorted(found) == ["ada", "bob", "cy"] and SHARED in found["ada"] and SHARED in found["bob"]


def test_a_shared_paragraph_shows_side_by_side_in_both_reports(tmp_path: Path) -> None:
    root = submissions(tmp_path / "subs")
    reports = tmp_path / "REPORTS"
    settings = CohortSettings(
        spec="churn-v1", rows=600, secret=TEST_SECRET, demo_secret=False, backend="local", jobs=2, timeout_s=120
    )
    result = CohortRun(find_submissions(root), reports, settings, grade=judging_grade, hook=RubricReports()).run()
    assert {r.candidate for r in result.results} == {"ada", "bob", "cy", "dee", "eve"}
    ada = (reports / "ada" / "report.html").read_text()
    bob = (reports / "bob" / "report.html").read_text()
    for page, other, mine, theirs in ((ada, "bob", 3, 5), (bob, "ada", 5, 3)):
        table = page[page.index("Paragraphs shared with other candidates") :]
        table = table[: table.index("</table>")]
        assert f"this README, line {mine}" in table and f"{other}'s README, line {theirs}" in table
        assert table.count("Every night we compute the population stability index") == 2  # theirs and mine
    markdown = (reports / "ada" / "report.md").read_text()
    assert "| this README | shared with | their README |" in markdown and "| bob (100% of its wording) |" in markdown
    cy = (reports / "cy" / "report.html").read_text()
    assert "Paragraphs shared" not in cy and "README judged by heuristic/2." in cy

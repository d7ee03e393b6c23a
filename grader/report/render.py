"""Write a candidate's reports and a cohort's leaderboard; re-render from saved evidence.

Rendering never re-runs a stage: it reads evidence.json, scores it with the rubric (and
any reviewer overrides), and writes REPORTS/<candidate>/report.json|md|html and
REPORTS/leaderboard.csv|html. The same evidence always gives byte-identical report.json.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from grader.errors import BadInput
from grader.fsutil import atomic_output_dir
from grader.report.html import render_html
from grader.report.leaderboard import leaderboard_csv, leaderboard_html
from grader.report.markdown import render_markdown
from grader.report.plots import all_plots
from grader.rubric import Overrides, Rubric, Scorecard, load_rubric, score
from grader.world.seed import check_candidate_id

EVIDENCE_FILE = "evidence.json"
MAX_EVIDENCE_BYTES = 256 * 1024**2


def _document(evidence: Mapping[str, Any] | BaseModel) -> dict:
    return evidence.model_dump(mode="json") if isinstance(evidence, BaseModel) else dict(evidence)


def load_evidence(path: Path) -> dict:
    """The evidence.json document at `path` (a file, or the folder `grader grade --out` wrote)."""
    file = path / EVIDENCE_FILE if path.is_dir() else path
    try:
        if file.stat().st_size > MAX_EVIDENCE_BYTES:
            raise BadInput(f"{file} is over {MAX_EVIDENCE_BYTES // 1024**2} MB: not an evidence file")
        document = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"no {EVIDENCE_FILE} at {path}: give the folder `grader grade --out` wrote") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BadInput(f"{file} is not a readable evidence file: {exc}") from None
    if not isinstance(document, dict) or "candidate" not in document:
        raise BadInput(f"{file} is not an evidence file (no candidate)")
    return document


def evidence_files(paths: list[Path]) -> list[Path]:
    """Each path is an evidence file, a graded folder, or a cohort folder of graded folders."""
    found: list[Path] = []
    for path in paths:
        if path.is_file():
            found.append(path)
        elif (path / EVIDENCE_FILE).is_file():
            found.append(path / EVIDENCE_FILE)
        elif path.is_dir():
            cohort = sorted(child / EVIDENCE_FILE for child in path.iterdir() if (child / EVIDENCE_FILE).is_file())
            if not cohort:
                raise BadInput(f"no {EVIDENCE_FILE} in {path} or its subfolders: give folders `grader grade --out` wrote")
            found += cohort
        else:
            raise BadInput(f"{path} does not exist")
    return found


def render_reports(evidence: Mapping[str, Any] | BaseModel, scorecard: Scorecard, reports_dir: Path) -> Path:
    """Write REPORTS/<candidate>/report.json, report.md and report.html (replacing old ones)."""
    candidate = check_candidate_id(scorecard.candidate)
    document = _document(evidence)
    with atomic_output_dir(reports_dir / candidate, force=True) as staging:
        (staging / "report.json").write_text(scorecard.model_dump_json(indent=2) + "\n", encoding="utf-8")
        (staging / "report.md").write_text(render_markdown(scorecard), encoding="utf-8")
        (staging / "report.html").write_text(render_html(scorecard, all_plots(document)), encoding="utf-8")
    return reports_dir / candidate


def write_leaderboard(scorecards: list[Scorecard], reports_dir: Path) -> list[Path]:
    """REPORTS/leaderboard.csv and leaderboard.html for the cohort."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    written = [reports_dir / "leaderboard.csv", reports_dir / "leaderboard.html"]
    written[0].write_text(leaderboard_csv(scorecards), encoding="utf-8")
    written[1].write_text(leaderboard_html(scorecards), encoding="utf-8")
    return written


def report_evidence(
    evidence: Mapping[str, Any] | BaseModel, reports_dir: Path, rubric: Rubric | None = None,
    overrides: Overrides | None = None,
) -> Scorecard:
    """Score one candidate's evidence and write their reports: what `grader grade` calls at its end."""
    card = score(evidence, rubric or load_rubric(), overrides)
    render_reports(evidence, card, reports_dir)
    return card


def rerender(paths: list[Path], reports_dir: Path, rubric: Rubric, overrides: Overrides | None = None) -> list[Scorecard]:
    """Re-score saved evidence (one candidate or a cohort) and write every report and the leaderboard."""
    documents = [load_evidence(path) for path in evidence_files(paths)]
    candidates = [str(d["candidate"]) for d in documents]
    repeated = sorted({c for c in candidates if candidates.count(c) > 1})
    if repeated:
        raise BadInput(f"several evidence files for {', '.join(repeated)}: their reports would overwrite each other")
    cards = [report_evidence(document, reports_dir, rubric, overrides) for document in documents]
    write_leaderboard(cards, reports_dir)
    return cards

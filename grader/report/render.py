"""Write a candidate's reports and a cohort's leaderboard; re-render from saved evidence.

Rendering never re-runs a stage: it reads evidence.json, scores it with the rubric (and
any reviewer overrides), and writes REPORTS/<candidate>/report.json|md|html and
REPORTS/leaderboard.csv|html. The same evidence always gives byte-identical report.json.

A hiring decision (REPORTS/<candidate>/decision.json, from `grader decide`) survives a
re-render and shows in report.md, report.html and the leaderboard, as "stale" once the
practical report changed after it. A decision.json that cannot be read is warned about
(once, naming it) and left out: it never stops a candidate's grading or the leaderboard.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.markup import escape

from grader.decision import DECISION_FILE, Decision, load_decision
from grader.errors import BadInput
from grader.fsutil import atomic_output_dir, write_atomic
from grader.report import html, markdown
from grader.report.leaderboard import STALE_MARK, leaderboard_csv, leaderboard_html
from grader.report.plots import all_plots
from grader.report.readme import readme_notes
from grader.report.text import json_text, printable
from grader.rubric import REPORT_SCHEMA, Overrides, Rubric, Scorecard, load_rubric, score
from grader.world.seed import check_candidate_id

EVIDENCE_FILE = "evidence.json"
REPORT_FILE = "report.json"
MAX_EVIDENCE_BYTES = 256 * 1024**2
MAX_REPORT_BYTES = 64 * 1024**2
_warnings = Console(stderr=True)
# decision.json files already warned about in this process: one warning each, however often they are read.
_warned: set[Path] = set()


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
                raise BadInput(
                    f"no {EVIDENCE_FILE} in {path} or its subfolders: give folders `grader grade --out` wrote"
                )
            found += cohort
        else:
            raise BadInput(f"{path} does not exist")
    return found


def load_report(path: Path) -> Scorecard:
    """The report.json at `path` (a file, or a candidate's report folder)."""
    file = path / REPORT_FILE if path.is_dir() else path
    try:
        if file.stat().st_size > MAX_REPORT_BYTES:
            raise BadInput(f"{file} is over {MAX_REPORT_BYTES // 1024**2} MB: not a report file")
        card = Scorecard.model_validate_json(file.read_bytes())
    except FileNotFoundError:
        raise BadInput(f"no {REPORT_FILE} at {path}: give the file `grader grade` or `grader report` wrote") from None
    except OSError as exc:
        raise BadInput(f"cannot read {file}: {exc.strerror or exc}") from None
    except ValidationError as exc:
        raise BadInput(
            f"{file} is not a {REPORT_SCHEMA} report ({exc.error_count()} invalid field(s), first: "
            f"{'.'.join(map(str, exc.errors()[0]['loc']))}: {exc.errors()[0]['msg']})"
        ) from None
    if card.schema_version != REPORT_SCHEMA:
        raise BadInput(f"{file} is a {card.schema_version} report; this grader reads {REPORT_SCHEMA}")
    return card


def shown_decision(folder: Path, card: Scorecard) -> Decision | None:
    """The decision.json beside `card` to show; None when there is none or it is unusable (warned once)."""
    try:
        decision = load_decision(folder)
        if decision is not None and decision.candidate != card.candidate:
            raise BadInput(
                f"{folder / DECISION_FILE} is the decision for {decision.candidate}, not for "
                f"{card.candidate}: run `grader decide` again or delete it"
            )
    except BadInput as exc:
        path = (folder / DECISION_FILE).resolve()
        if path not in _warned:
            _warned.add(path)
            _warnings.print(
                f"[yellow]warning: {escape(str(exc))}; the reports show no decision[/yellow]", soft_wrap=True
            )
        return None
    return decision


def render_reports(
    evidence: Mapping[str, Any] | BaseModel, scorecard: Scorecard, reports_dir: Path, rubric: Rubric | None = None
) -> Path:
    """Write REPORTS/<candidate>/report.json, report.md and report.html (replacing old ones, keeping a decision).

    `rubric`, the one `scorecard` was scored with, gives the latency plot its bar (none drawn without it).
    """
    candidate = check_candidate_id(scorecard.candidate)
    document = _document(evidence)
    decision = shown_decision(reports_dir / candidate, scorecard)
    with atomic_output_dir(reports_dir / candidate, force=True) as staging:
        (staging / REPORT_FILE).write_text(json_text(scorecard.model_dump_json(indent=2)) + "\n", encoding="utf-8")
        # Candidate text reaches these pages: no control character of theirs does (report.json escapes them).
        (staging / "report.md").write_text(
            printable(markdown.render_markdown(scorecard, decision, readme_notes(document))), encoding="utf-8"
        )
        (staging / "report.html").write_text(
            printable(html.render_html(scorecard, all_plots(document, rubric), decision, readme_notes(document))),
            encoding="utf-8",
        )
        # Kept even when unusable: it is `grader decide`'s file, to be redone or deleted, not lost here.
        if (reports_dir / candidate / DECISION_FILE).is_file():
            shutil.copy2(reports_dir / candidate / DECISION_FILE, staging / DECISION_FILE)
    return reports_dir / candidate


def _splice(path: Path, slot: str) -> bool:
    """Put `slot` (markers included) in place of the decision slot of a written report; False when it has none."""
    text = path.read_text(encoding="utf-8")
    start, end = text.find(html.DECISION_START), text.find(html.DECISION_END)
    if start < 0 or end < start:
        return False
    write_atomic(path, printable(text[:start] + slot + text[end + len(html.DECISION_END) :]))
    return True


def show_decision(folder: Path) -> list[Path]:
    """Put folder/decision.json into the report.md and report.html already there; the files updated.

    Only the decision slot changes, so the plots (drawn from evidence that may live elsewhere)
    stay as they were; a report rendered before decisions existed has no slot and is skipped.
    """
    card = load_report(folder)
    decision = shown_decision(folder, card)
    slots = {"report.md": markdown.decision_slot(decision, card), "report.html": html.decision_slot(decision, card)}
    return [folder / name for name, slot in slots.items() if (folder / name).is_file() and _splice(folder / name, slot)]


def _decisions(scorecards: list[Scorecard], reports_dir: Path) -> dict[str, str]:
    """Each decided candidate's leaderboard cell: the recommendation, marked stale when the report changed since."""
    cells = {}
    for card in scorecards:
        decision = shown_decision(reports_dir / card.candidate, card)
        if decision is not None:
            stale = decision.stale_against(card) is not None
            cells[card.candidate] = decision.recommendation + (STALE_MARK if stale else "")
    return cells


def write_leaderboard(scorecards: list[Scorecard], reports_dir: Path) -> list[Path]:
    """REPORTS/leaderboard.csv and leaderboard.html for the cohort, with each decision.json's recommendation."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    decisions = _decisions(scorecards, reports_dir)
    written = [reports_dir / "leaderboard.csv", reports_dir / "leaderboard.html"]
    write_atomic(written[0], printable(leaderboard_csv(scorecards, decisions)))
    write_atomic(written[1], printable(leaderboard_html(scorecards, decisions)))
    return written


def refresh_leaderboard(reports_dir: Path) -> list[Path]:
    """Rewrite an existing leaderboard from every REPORTS/<candidate>/report.json; none written when there is none."""
    if not (reports_dir / "leaderboard.csv").is_file():
        return []
    folders = sorted(p for p in reports_dir.iterdir() if (p / REPORT_FILE).is_file())
    return write_leaderboard([load_report(folder) for folder in folders], reports_dir)


def report_evidence(
    evidence: Mapping[str, Any] | BaseModel,
    reports_dir: Path,
    rubric: Rubric | None = None,
    overrides: Overrides | None = None,
) -> Scorecard:
    """Score one candidate's evidence and write their reports: what `grader grade` calls at its end."""
    rubric = rubric or load_rubric()
    card = score(evidence, rubric, overrides)
    render_reports(evidence, card, reports_dir, rubric)
    return card


def rerender(
    paths: list[Path], reports_dir: Path, rubric: Rubric, overrides: Overrides | None = None
) -> list[Scorecard]:
    """Re-score saved evidence (one candidate or a cohort) and write every report and the leaderboard."""
    documents = [load_evidence(path) for path in evidence_files(paths)]
    candidates = [str(d["candidate"]) for d in documents]
    repeated = sorted({c for c in candidates if candidates.count(c) > 1})
    if repeated:
        raise BadInput(f"several evidence files for {', '.join(repeated)}: their reports would overwrite each other")
    cards = [report_evidence(document, reports_dir, rubric, overrides) for document in documents]
    write_leaderboard(cards, reports_dir)
    return cards

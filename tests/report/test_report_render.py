"""Per-candidate reports and the cohort leaderboard, rendered from synthetic evidence."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rubric"))
from synthetic import perfect, set_check, without

from grader.errors import BadInput, GraderError
from grader.metrics import pr_curve_points
from grader.report import load_evidence, render_reports, rerender, write_leaderboard
from grader.report.leaderboard import leaderboard_csv, leaderboard_html
from grader.report.plots import all_plots
from grader.rubric import Scorecard, load_rubric, parse_overrides, score

RUBRIC = load_rubric()
HOSTILE = '<script>alert("x")</script><img src="https://evil.example/x.png">'


def hostile_evidence() -> dict:
    document = perfect("cand-hostile")
    drift = next(c for c in document["writeup"]["checks"] if c["id"] == "covers.data_drift")
    drift["quotes"] = [{"source": "README.md", "line": 3, "text": HOSTILE}]
    return document


def write(document: dict, reports: Path) -> Path:
    return render_reports(document, score(document, RUBRIC), reports)


def test_three_files_per_candidate_and_report_json_is_the_scorecard(tmp_path: Path) -> None:
    folder = write(perfect(), tmp_path / "REPORTS")
    assert folder == tmp_path / "REPORTS" / "cand-1"
    assert sorted(p.name for p in folder.iterdir()) == ["report.html", "report.json", "report.md"]
    payload = json.loads((folder / "report.json").read_text())
    card = Scorecard.model_validate(payload)
    assert payload["schema_version"] == "report/1" and card.total == 100 and payload["bonus"] == 5
    assert payload["passed"] is True and payload["backend"] == "docker"
    assert set(payload["sections"]) == {"audit", "modeling", "serving", "judgment"}
    for section in payload["sections"].values():
        assert {"score", "max", "level"} <= set(section) and section["level"] in (1, 2, 3, 4)
    assert payload["red_flags"] == []


def test_red_flags_are_objects_with_id_and_message(tmp_path: Path) -> None:
    folder = write(set_check(perfect(), "audit.leak_excluded", False), tmp_path)
    flags = json.loads((folder / "report.json").read_text())["red_flags"]
    assert [(f["id"], f["message"]) for f in flags] == [
        ("leak_in_final_model", "The seeded target-leakage column is among the final model's inputs.")
    ]


def test_the_same_evidence_renders_byte_identical_reports(tmp_path: Path) -> None:
    first = write(perfect(), tmp_path / "a")
    second = write(json.loads(json.dumps(perfect())), tmp_path / "b")
    for name in ("report.json", "report.md", "report.html"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_html_is_self_contained_with_four_plots(tmp_path: Path) -> None:
    html = (write(perfect(), tmp_path) / "report.html").read_text()
    images = re.findall(r'<img alt="([^"]*)" src="data:image/svg\+xml;base64,', html)
    assert images == [
        "Calibration on the hidden holdout",
        "PR-AUC on the hidden holdout",
        "Lift by decile on the hidden holdout",
        "Latency against request rate",
    ]
    assert not re.search(r'(src|href)="(?!data:)', html)
    assert "<link" not in html and "@import" not in html
    for criterion in score(perfect(), RUBRIC).sections["audit"].criteria:
        assert criterion.title.replace("'", "&#x27;") in html


def test_plots_without_data_say_why(tmp_path: Path) -> None:
    document = without(perfect(), "serving")
    document["modeling"]["holdout"] = document["modeling"]["holdout"][1:]
    plots = {p.id: p for p in all_plots(document)}
    assert all(p.data_uri is None for p in plots.values())
    assert "serving stage did not run" in plots["latency"].note
    assert "not scored on the holdout" in plots["calibration"].note
    html = (write(document, tmp_path) / "report.html").read_text()
    assert html.count("Not available.") == 4 and "INCOMPLETE" in html


def test_a_pr_curve_is_drawn_when_the_evidence_holds_one() -> None:
    document = perfect()
    rng = np.random.default_rng(0)
    labels = rng.random(2000) < 0.05
    curve = pr_curve_points(labels, labels * 0.5 + rng.random(2000))
    assert len(curve) == 50 and curve[-1][0] == 1.0
    assert all(a[1] >= b[1] for a, b in pairwise(curve))  # interpolated precision never rises with recall
    document["modeling"]["holdout"][0]["pr_curve"] = curve
    plot = next(p for p in all_plots(document) if p.id == "pr")
    assert plot.title == "Precision-recall on the hidden holdout" and plot.data_uri
    assert pr_curve_points(np.zeros(5), np.ones(5)) == []


def test_candidate_text_is_escaped_in_html_and_markdown(tmp_path: Path) -> None:
    folder = write(hostile_evidence(), tmp_path)
    html = (folder / "report.html").read_text()
    assert "<script>alert" not in html and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "https://evil.example" in html and 'src="https://evil' not in html
    markdown = (folder / "report.md").read_text()
    assert "<script>" not in markdown and "&lt;script>" in markdown


def test_markdown_lists_sections_flags_and_evidence(tmp_path: Path) -> None:
    document = set_check(perfect(), "modeling.baseline_run", False)
    markdown = (write(document, tmp_path) / "report.md").read_text()
    assert markdown.startswith("# cand-1: FAIL")
    assert "| Data audit depth | 25 / 25 | 4: covers the rubric and adds nuance" in markdown
    assert "**Ships without a baseline comparison.** (`no_baseline`)" in markdown
    assert "`notebooks/01_audit.ipynb, cell 0`: \u201cfinding: leak_named\u201d" in markdown


def test_overrides_show_original_and_overridden_values(tmp_path: Path) -> None:
    overrides = parse_overrides(
        """
[[override]]
candidate = "cand-1"
criterion = "serving.latency"
points = 2
reason = "the load probe ran on a saturated host"
reviewer = "m.jones"
""",
        RUBRIC,
    )
    folder = render_reports(perfect(), score(perfect(), RUBRIC, overrides), tmp_path)
    latency = next(
        c
        for c in json.loads((folder / "report.json").read_text())["sections"]["serving"]["criteria"]
        if c["id"] == "serving.latency"
    )
    assert latency["points"] == 2 and latency["override"] == {
        "reviewer": "m.jones",
        "reason": "the load probe ran on a saturated host",
        "original": 2.5,
        "value": 2.0,
    }
    assert "overridden by m.jones: 2.5 &rarr; <b>2.0</b>" in (folder / "report.html").read_text()
    assert "**Overridden by m.jones: 2.5 \u2192 2.0.**" in (folder / "report.md").read_text()


def test_leaderboard_csv_and_sortable_html(tmp_path: Path) -> None:
    cards = [
        score(perfect("zed"), RUBRIC),
        score(set_check(perfect("amy"), "modeling.baseline_run", False), RUBRIC),
        score(without(perfect("bob"), "serving"), RUBRIC),
    ]
    written = write_leaderboard(cards, tmp_path)
    assert [p.name for p in written] == ["leaderboard.csv", "leaderboard.html"]
    rows = list(csv.DictReader((tmp_path / "leaderboard.csv").open()))
    assert [r["candidate"] for r in rows] == ["zed", "amy", "bob"]
    assert {"candidate", "total", "passed", "red_flags", "audit", "modeling", "serving", "judgment"} <= set(rows[0])
    assert rows[1]["red_flags"] == "no_baseline" and rows[1]["passed"] == "False"
    assert rows[2]["serving"] == "" and rows[2]["verdict"] == "incomplete"
    html = (tmp_path / "leaderboard.html").read_text()
    assert html.count("<tr>") == 4 and 'href="zed/report.html"' in html
    assert "addEventListener('click'" in html and "<script src" not in html


def test_leaderboard_decisions_stale_ones_neutral() -> None:
    cards = [score(perfect(name), RUBRIC) for name in ("amy", "bob", "cy")]
    decisions = {"amy": "hire", "bob": "no hire (stale)", "cy": "hire (stale)"}
    html = leaderboard_html(cards, decisions)
    assert '<span class="pass">hire</span>' in html and '<span class="stale">no hire (stale)</span>' in html
    assert '<span class="stale">hire (stale)</span>' in html and '"fail">' not in html
    rows = list(csv.DictReader(io.StringIO(leaderboard_csv(cards, decisions))))
    assert [row["decision"] for row in rows] == ["hire", "no hire (stale)", "hire (stale)"]


def test_rerender_reads_saved_evidence_only(tmp_path: Path) -> None:
    cohort = tmp_path / "cohort"
    for name in ("ann", "ben"):
        (cohort / name).mkdir(parents=True)
        (cohort / name / "evidence.json").write_text(json.dumps(perfect(name)))
    cards = rerender([cohort], tmp_path / "REPORTS", RUBRIC)
    assert sorted(c.candidate for c in cards) == ["ann", "ben"]
    assert (tmp_path / "REPORTS" / "ann" / "report.html").is_file()
    assert (tmp_path / "REPORTS" / "leaderboard.csv").is_file()
    with pytest.raises(BadInput, match="several evidence files for ann"):
        rerender([cohort / "ann", cohort / "ann"], tmp_path / "R2", RUBRIC)


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no evidence.json"), ("{", "not a readable evidence file"), ("[1, 2]", "not an evidence file")],
)
def test_unusable_evidence_is_a_clear_error(tmp_path: Path, content: str | None, message: str) -> None:
    if content is not None:
        (tmp_path / "evidence.json").write_text(content)
    with pytest.raises(BadInput, match=message):
        load_evidence(tmp_path)


def test_a_candidate_id_that_is_not_a_folder_name_is_refused(tmp_path: Path) -> None:
    document = perfect("../../etc")
    with pytest.raises(GraderError, match="not allowed"):
        write(document, tmp_path)

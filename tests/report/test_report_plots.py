"""The latency plot draws the bar of the rubric the report is scored with, and none without one."""

from __future__ import annotations

import sys
from pathlib import Path

from grader.report.plots import all_plots, latency_plot
from grader.rubric import load_rubric, parse_rubric
from grader.rubric.model import DEFAULT_RUBRIC

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rubric"))
from synthetic import perfect


def test_the_latency_bar_comes_from_the_rubric() -> None:
    document = perfect()
    shipped = load_rubric()
    stricter = parse_rubric(
        DEFAULT_RUBRIC.read_text().replace(
            "p99_below_ms = 100, full_at_rate = 500", "p99_below_ms = 50, full_at_rate = 250"
        ),
        "stricter.toml",
    )
    with_bar = {p.id: p for p in all_plots(document, shipped)}["latency"]
    assert with_bar.data_uri == latency_plot(document, shipped.latency_bar()).data_uri
    assert with_bar.data_uri != latency_plot(document, stricter.latency_bar()).data_uri
    assert with_bar.data_uri != latency_plot(document, None).data_uri
    # Without a rubric, or with one that has no latency rule, the steps are drawn alone.
    junior = load_rubric(DEFAULT_RUBRIC.with_name("churn-take-home-junior.toml"))
    assert junior.latency_bar() is None
    for rubric in (None, junior):
        assert {p.id: p for p in all_plots(document, rubric)}["latency"].data_uri == latency_plot(document).data_uri

"""Plots for the HTML report, drawn from the evidence alone: SVG, self-contained, deterministic.

Matplotlib's object API (no pyplot state) with the Agg stack; text is drawn as paths so
the page needs no fonts, and the SVG hash salt and date are fixed so the same evidence
gives the same bytes. A plot whose data the evidence lacks says why instead.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from grader.rubric.model import Rubric, Sustained
from grader.rubric.paths import HOLDOUT_WHO

COLORS = {"candidate": "#1f6feb", "reference": "#8250df", "oracle": "#2da44e"}
LABELS = {"candidate": "candidate", "reference": "grader reference", "oracle": "oracle"}
SIZE = (5.2, 3.6)


@dataclass(frozen=True)
class Plot:
    """One figure: an SVG data URI, or the reason there is none."""

    id: str
    title: str
    data_uri: str | None
    note: str = ""


def _render(figure: Figure) -> str:
    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "churn-grader", "svg.fonttype": "path"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure() -> tuple[Figure, Axes]:
    figure = Figure(figsize=SIZE, dpi=100)
    axes = figure.add_subplot(1, 1, 1)
    axes.grid(alpha=0.3)
    return figure, axes


def holdout_entries(document: dict) -> dict[str, dict]:
    """Holdout scores of the candidate, the grader's reference model and the oracle."""
    entries = (document.get("modeling") or {}).get("holdout") or []
    found = {}
    for role, prefix in HOLDOUT_WHO.items():
        match = next((e for e in entries if isinstance(e, dict) and str(e.get("who", "")).startswith(prefix)), None)
        if match is not None:
            found[role] = match
    return found


def calibration_plot(document: dict) -> Plot:
    entries = {role: e for role, e in holdout_entries(document).items() if e.get("calibration_curve")}
    title = "Calibration on the hidden holdout"
    if "candidate" not in entries:
        why = "the candidate's model was not scored on the holdout, or its predictions are not probabilities"
        return Plot("calibration", title, None, why)
    figure, axes = _figure()
    top = 0.0
    for role, entry in entries.items():
        points = [(float(p), float(o)) for p, o in entry["calibration_curve"]]
        top = max(top, *(max(p, o) for p, o in points))
        axes.plot([p for p, _ in points], [o for _, o in points], marker="o", color=COLORS[role], label=LABELS[role])
    top = min(1.0, top * 1.1 or 1.0)
    axes.plot([0, top], [0, top], linestyle="--", color="#888", label="perfect calibration")
    axes.set_xlim(0, top)
    axes.set_ylim(0, top)
    axes.set_xlabel("mean predicted churn probability (decile)")
    axes.set_ylabel("observed churn rate")
    axes.legend(loc="upper left", fontsize=8)
    return Plot("calibration", title, _render(figure))


def pr_plot(document: dict) -> Plot:
    """A PR curve when the evidence holds one (`pr_curve` points), else PR-AUC bars."""
    entries = holdout_entries(document)
    curves = {role: e["pr_curve"] for role, e in entries.items() if e.get("pr_curve")}
    if "candidate" in curves:
        figure, axes = _figure()
        for role, points in curves.items():
            axes.plot([r for r, _ in points], [p for _, p in points], color=COLORS[role], label=LABELS[role])
        axes.set_xlabel("recall")
        axes.set_ylabel("precision")
        axes.legend(fontsize=8)
        return Plot("pr", "Precision-recall on the hidden holdout", _render(figure))
    scored = {role: float(e["pr_auc"]) for role, e in entries.items() if isinstance(e.get("pr_auc"), (int, float))}
    title = "PR-AUC on the hidden holdout"
    if "candidate" not in scored:
        return Plot("pr", title, None, "the candidate's model was not scored on the holdout")
    figure, axes = _figure()
    roles = list(scored)
    bars = axes.bar([LABELS[r] for r in roles], [scored[r] for r in roles], color=[COLORS[r] for r in roles])
    axes.bar_label(bars, labels=[f"{scored[r]:.3f}" for r in roles], fontsize=8)
    curve = entries.get("oracle", {}).get("calibration_curve") or []
    if curve:
        base_rate = sum(float(o) for _, o in curve) / len(curve)
        axes.axhline(base_rate, linestyle="--", color="#888", label=f"base rate {base_rate:.3f} (a random ranking)")
        axes.legend(fontsize=8)
    axes.set_ylabel("PR-AUC (average precision)")
    return Plot("pr", title, _render(figure), "the evidence keeps summary figures only, not a PR curve")


def lift_plot(document: dict) -> Plot:
    entries = {role: e for role, e in holdout_entries(document).items() if e.get("lift_by_decile")}
    title = "Lift by decile on the hidden holdout"
    if "candidate" not in entries:
        return Plot("lift", title, None, "the candidate's model was not scored on the holdout")
    figure, axes = _figure()
    width = 0.8 / len(entries)
    for index, (role, entry) in enumerate(entries.items()):
        lifts = [float(v) for v in entry["lift_by_decile"]]
        positions = [d + 1 + (index - (len(entries) - 1) / 2) * width for d in range(len(lifts))]
        axes.bar(positions, lifts, width=width, color=COLORS[role], label=LABELS[role])
    axes.axhline(1.0, linestyle="--", color="#888")
    axes.set_xticks(range(1, 11))
    axes.set_xlabel("score decile (1 = highest scores)")
    axes.set_ylabel("churn rate / overall rate")
    axes.legend(fontsize=8)
    return Plot("lift", title, _render(figure))


def latency_plot(document: dict, bar: Sustained | None = None) -> Plot:
    """p50, p95 and p99 of each load step; `bar`, the rubric's latency bar, drawn where the rubric has one."""
    title = "Latency against request rate"
    serving = document.get("serving")
    if not isinstance(serving, dict):
        return Plot("latency", title, None, "no serving evidence: the serving stage did not run")
    profile = (serving.get("load") or {}).get("profile") or {}
    steps = [s for s in profile.get("steps") or [] if isinstance(s, dict)]
    if not steps:
        reason = (serving.get("load") or {}).get("error") or "the load probe did not run"
        return Plot("latency", title, None, str(reason)[:200])
    figure, axes = _figure()
    rates = [float(s["rate"]) for s in steps]
    for name, style in (("p50_ms", ":"), ("p95_ms", "--"), ("p99_ms", "-")):
        axes.plot(
            rates,
            [max(float(s[name]), 0.1) for s in steps],
            linestyle=style,
            marker="o",
            color="#1f6feb",
            label=name.removesuffix("_ms"),
        )
    invalid = [s for s in steps if not s.get("valid", True)]
    if invalid:
        axes.scatter(
            [float(s["rate"]) for s in invalid],
            [max(float(s["p99_ms"]), 0.1) for s in invalid],
            s=120,
            facecolors="none",
            edgecolors="#cf222e",
            label="probe fell behind (step not judged)",
        )
    if bar is not None:
        label = f"bar: p99 {bar.p99_below_ms:g} ms at {bar.full_at_rate:g}/s"
        axes.axhline(bar.p99_below_ms, color="#cf222e", linewidth=1, label=label)
        axes.axvline(bar.full_at_rate, color="#cf222e", linewidth=0.6, linestyle=":")
    axes.set_yscale("log")
    axes.set_xlabel("requests per second (open loop)")
    axes.set_ylabel("latency (ms, log scale)")
    axes.legend(fontsize=7)
    return Plot("latency", title, _render(figure))


def all_plots(document: dict, rubric: Rubric | None = None) -> list[Plot]:
    """Every plot of the HTML report; the latency bar is the one of the rubric the report was scored with."""
    bar = rubric.latency_bar() if rubric is not None else None
    return [calibration_plot(document), pr_plot(document), lift_plot(document), latency_plot(document, bar)]

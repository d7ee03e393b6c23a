"""Numbers in a README statement: whether they are specific, and whether they fit the candidate's data.

A digit alone is not specific ("drift is 1 of the things to watch"): a number counts when
it carries a unit or a window (0.25, 30 days, 10 %, 3x), follows a threshold word (above,
under, at, drops by), or the statement names a window or a test (weekly, PSI). Thresholds
and figures are then compared with what this candidate measured (and, where they measured
nothing, with the world's truth): a PSI alert above the PSI their own audit found on the
drifting column would never fire; a PR-AUC floor above their model's PR-AUC fires every
month; a 90-day label delay is not this task's 30-day label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from grader.evidence import Quote
from grader.writeup.grounding import Figure, Measured, Truth, truth_quote

UNIT_NUMBER = re.compile(
    r"(?<![\w.])\d+(?:[.,]\d+)?\s*(%|ms\b|s\b|sec\w*|days?\b|weeks?\b|months?\b|hours?\b|x\b|×|pp\b|points?\b|"
    r"percent|requests?/s|rps\b)",
    re.I,
)
DECIMAL_NUMBER = re.compile(r"(?<![\w.])\d*\.\d+(?![\w.])")
THRESHOLD_NUMBER = re.compile(
    r"(above|below|over|under|exceed\w*|beyond|[<>]=?|\bat|within|outside|drops? by|falls? by|than|reaches|"
    r"=|at least|at most|between|top)\s*-?\d",
    re.I,
)
WINDOW = re.compile(
    r"\b(hourly|daily|weekly|monthly|quarterly|every (day|week|month|quarter|night)|each (day|week|month)|"
    r"per (day|week|month)|once a (month|week)|rolling|two months running|consecutive months|"
    r"full (monthly |weekly )?cycle|month t\b|t ?\+ ?1\b)",
    re.I,
)
NAMED_TEST = re.compile(
    r"\b(psi|ks|kolmogorov|jensen|wasserstein|chi[- ]?squared?|ece|brier|pr-?auc|p99|p95|"
    r"average precision|top-decile|decile|lift)\b",
    re.I,
)
MONTH = re.compile(r"\b20\d\d-(0[1-9]|1[0-2])\b")
PERCENT_NUMBER = re.compile(r"\d+(?:\.\d+)?\s*%")
_VALUE = re.compile(r"(?<![\w.])(\d*\.\d+|\d+)(?![\w.]*-\d)")

Verdict = Literal["fits", "own figure", "contradicts"]


def has_specific_number(text: str) -> bool:
    """A number with a unit, a decimal threshold, or a number after a threshold word."""
    cleaned = MONTH.sub(" ", text)
    return bool(UNIT_NUMBER.search(cleaned) or DECIMAL_NUMBER.search(cleaned) or THRESHOLD_NUMBER.search(cleaned))


def is_specific(text: str) -> bool:
    """Numbers, windows or named tests: what separates a plan from a platitude."""
    return has_specific_number(text) or bool(WINDOW.search(text) or NAMED_TEST.search(text))


@dataclass(frozen=True)
class Comparison:
    """One README number held against the candidate's figure (or the world's truth)."""

    kind: str
    stated: str
    verdict: Verdict
    why: str
    evidence: Quote
    # True when compared with what this candidate measured, False with the truth only.
    measured: bool


def _values_after(text: str, anchor: re.Pattern, span: int = 20) -> list[float]:
    """The number right after each match of `anchor` (which ends with its comparator: 'ECE above')."""
    values = []
    for match in anchor.finditer(text):
        window = MONTH.sub(" ", text[match.end() : match.end() + span])
        if found := _VALUE.search(window):
            values.append(float(found.group(1)))
    return values


_AT = re.compile(
    r"(?:above|over|exceeds?|beyond|>=?|at|under|below|<=?|between|from|to)\s+(\d*\.\d+|\d+)(?![\w.]*-\d)", re.I
)


def _thresholds_after(text: str, anchor: re.Pattern, span: int = 70) -> list[float]:
    """Numbers after a threshold word ('alert at 0.25', 'above 0.2') within `span` characters of `anchor`."""
    values = []
    for match in anchor.finditer(text):
        window = MONTH.sub(" ", text[match.end() : match.end() + span])
        window = re.split(r"[;](?!\d)|\.(?!\d)", window, maxsplit=1)[0]
        values += [float(v) for v in _AT.findall(window)]
    return list(dict.fromkeys(values))


PSI = re.compile(r"\bpsi\b|population stability", re.I)
PR_AUC_FLOOR = re.compile(
    r"(pr-?auc|average precision)\b[^.;]{0,25}?\b(below|under|<|less than|falls? below|drops? below)", re.I
)
LIFT_FLOOR = re.compile(r"\blift\b[^.;]{0,25}?\b(below|under|<|less than|falls? below|drops? below)", re.I)
ECE_CEILING = re.compile(
    r"(\bece\b|expected calibration error|calibration error)[^.;]{0,25}?(above|over|>|exceeds?|beyond|under|<|below)",
    re.I,
)
BRIER_CEILING = re.compile(r"\bbrier\b[^.;]{0,25}?(above|over|>|exceeds?|beyond|under|<|below)", re.I)
LABEL_WINDOW = re.compile(
    r"(?P<first>\d+)[- ]?days?\b[^.;]{0,40}(label|outcome|ground[- ]truth|churn|matur|delay|late|window)|"
    r"(label|outcome|ground[- ]truth|actuals?)s?\b[^.;]{0,50}?(after|within|take|takes|lag|delay\w*|matur\w*|arrive\w*)"
    r"[^.;]{0,15}?(?P<last>\d+)[- ]?days?",
    re.I,
)
CHURN_RATE = re.compile(
    r"(churn rate|base rate|positive rate|churn is|churners? (are|make up)|churn of)[^.;%]{0,25}?"
    r"(?P<after>\d+(?:\.\d+)?)\s*%|(?P<before>\d+(?:\.\d+)?)\s*% of (the )?(rows|customers|snapshots)[^.;]{0,15}churn",
    re.I,
)
NEXT_MONTH = re.compile(
    r"month t\b.{0,80}\bt ?\+ ?1\b|known only (at|after|in) (the )?(next|following) month|a month later",
    re.I,
)
DUPLICATES = re.compile(r"(\d[\d,]*)\s+(exact\s+)?duplicat", re.I)
DRIFT_MONTH = re.compile(r"(drift|shift|step|chang|mov)\w*[^.;]{0,60}?\b(from|since|after|in) (20\d\d-\d\d)", re.I)


def _best(figures: tuple[Figure, ...] | None) -> Figure | None:
    return figures[0] if figures else None


def _psi(text: str, measured: Measured, truth: Truth) -> list[Comparison]:
    found = []
    high = measured.psi_drift
    low = measured.psi_stable
    upper = high or (
        Figure(
            "PSI of the drifting column (answer key)", truth.drift_psi, truth_quote(f"drift PSI {truth.drift_psi:.2f}")
        )
        if truth.drift_psi
        else None
    )
    for value in _thresholds_after(text, PSI):
        if not 0 < value < 10:
            continue
        stated = f"PSI {value:g}"
        if upper is not None and value >= upper.value:
            why = f"an alert at {stated} would not fire on the {upper.what} ({upper.value:.2f})"
            found.append(Comparison("PSI threshold", stated, "contradicts", why, upper.quote, high is not None))
        elif low is not None and value <= low.value:
            why = f"an alert at {stated} fires on the noise of the {low.what} ({low.value:.2f})"
            found.append(Comparison("PSI threshold", stated, "contradicts", why, low.quote, True))
        elif high is not None:
            bounds = f"between the {low.value:.2f} of the stable months and " if low else "under "
            why = f"{stated} sits {bounds}the {high.value:.2f} measured on the drifting column"
            found.append(Comparison("PSI threshold", stated, "fits", why, high.quote, True))
    return found


def _floor(text: str, pattern: re.Pattern, metric: str, label: str, measured: Measured) -> list[Comparison]:
    """A floor ('alert when PR-AUC falls below 0.5') against the model's own figure."""
    figure = _best(measured.metrics.get(metric))
    if figure is None:
        return []
    found = []
    for value in _values_after(text, pattern):
        if metric == "pr_auc" and not 0 < value < 1:
            continue
        stated = f"{label} below {value:g}"
        if value >= figure.value:
            why = f"'{stated}' is already true of the model: its {figure.what} is {figure.value:.3g}"
            found.append(Comparison(f"{label} floor", stated, "contradicts", why, figure.quote, True))
        else:
            why = f"'{stated}' sits under the {figure.what} of {figure.value:.3g}"
            found.append(Comparison(f"{label} floor", stated, "fits", why, figure.quote, True))
    return found


def _ceiling(text: str, pattern: re.Pattern, metric: str, label: str, measured: Measured) -> list[Comparison]:
    """A ceiling ('ECE above 0.02 alerts') against the model's own figure."""
    figure = _best(measured.metrics.get(metric))
    if figure is None:
        return []
    found = []
    for value in _values_after(text, pattern):
        if not 0 < value < 1:
            continue
        stated = f"{label} {value:g}"
        if value <= figure.value:
            why = f"a limit of {value:g} on {label} is already broken: the {figure.what} is {figure.value:.3g}"
            found.append(Comparison(f"{label} limit", stated, "contradicts", why, figure.quote, True))
        else:
            why = f"a limit of {value:g} on {label} sits above the {figure.what} of {figure.value:.3g}"
            found.append(Comparison(f"{label} limit", stated, "fits", why, figure.quote, True))
    return found


def _label_window(text: str, truth: Truth) -> list[Comparison]:
    if truth.label_window_days is None:
        return []
    found = []
    for match in LABEL_WINDOW.finditer(text):
        days = int(match.group("first") or match.group("last"))
        quote = truth_quote(f"{truth.label_column}: the outcome within {truth.label_window_days} days of the snapshot")
        if days == truth.label_window_days:
            why = f"labels mature after the task's {truth.label_window_days}-day window"
            found.append(Comparison("label window", f"{days} days", "fits", why, quote, False))
        elif days not in (7, 14) or "window" in match.group(0).lower():
            why = f"{days} days is not this task's label window ({truth.label_window_days} days)"
            found.append(Comparison("label window", f"{days} days", "contradicts", why, quote, False))
    if not found and 28 <= truth.label_window_days <= 31 and (next_month := NEXT_MONTH.search(text)):
        quote = truth_quote(f"{truth.label_column}: the outcome within {truth.label_window_days} days of the snapshot")
        why = (
            f"a month's outcome is known the next month: the {truth.label_window_days}-day window on monthly snapshots"
        )
        found.append(Comparison("label window", next_month.group(0), "fits", why, quote, False))
    return found


def _churn_rate(text: str, measured: Measured, truth: Truth) -> list[Comparison]:
    figure = measured.churn_rate or (
        Figure("churn rate of the data", truth.churn_rate, truth_quote(f"churn rate {truth.churn_rate:.2%}"))
        if truth.churn_rate is not None
        else None
    )
    if figure is None:
        return []
    found = []
    for match in CHURN_RATE.finditer(text):
        value = float(match.group("after") or match.group("before")) / 100
        stated = f"churn rate {value:.1%}"
        own = measured.churn_rate is not None
        if abs(value - figure.value) <= max(0.01, 0.25 * figure.value):
            verdict: Verdict = "own figure" if own else "fits"
            found.append(
                Comparison("churn rate", stated, verdict, f"matches the {figure.value:.2%}", figure.quote, own)
            )
        else:
            why = f"the {figure.what} is {figure.value:.2%}"
            found.append(Comparison("churn rate", stated, "contradicts", why, figure.quote, own))
    return found


def _duplicates(text: str, measured: Measured, truth: Truth) -> list[Comparison]:
    if truth.duplicates is None:
        return []
    found = []
    for match in DUPLICATES.finditer(text):
        value = int(match.group(1).replace(",", ""))
        figure = measured.duplicates
        quote = figure.quote if figure else truth_quote(f"{truth.duplicates} exact duplicate rows")
        if value in (truth.duplicates, 2 * truth.duplicates):
            verdict: Verdict = "own figure" if figure else "fits"
            why = f"the data holds {truth.duplicates} duplicate rows"
            found.append(Comparison("duplicates", f"{value} duplicates", verdict, why, quote, figure is not None))
        else:
            why = f"the data holds {truth.duplicates} duplicate rows, not {value}"
            found.append(Comparison("duplicates", f"{value} duplicates", "contradicts", why, quote, figure is not None))
    return found


def _month_distance(a: str, b: str) -> int:
    (ya, ma), (yb, mb) = (map(int, a.split("-")), map(int, b.split("-")))
    return abs((ya * 12 + ma) - (yb * 12 + mb))


def _drift_month(text: str, measured: Measured, truth: Truth) -> list[Comparison]:
    if truth.drift_month is None:
        return []
    found = []
    for match in DRIFT_MONTH.finditer(text):
        month = match.group(3)
        quote = measured.drift_month or truth_quote(f"the drifting feature shifts from {truth.drift_month}")
        own = measured.drift_month is not None
        if _month_distance(month, truth.drift_month) <= 1:
            verdict: Verdict = "own figure" if own else "fits"
            found.append(
                Comparison("drift month", month, verdict, f"the shift starts in {truth.drift_month}", quote, own)
            )
        else:
            why = f"the shift starts in {truth.drift_month}, not {month}"
            found.append(Comparison("drift month", month, "contradicts", why, quote, own))
    return found


def _significant(text: str) -> int:
    """Significant digits of a number as written ("0.0075" has 2, "0.2" 1, "4.19" 3)."""
    return len(text.replace(".", "").lstrip("0"))


def _own_metric_values(text: str, measured: Measured) -> list[Comparison]:
    """A README figure equal to one the candidate measured (their PR-AUC 0.243, their lift 4.19).

    Only numbers written with two significant digits or more can be a figure: "0.01" or
    "0.2" are round thresholds any README holds, never a quote of the candidate's own result.
    """
    found = []
    cleaned = PERCENT_NUMBER.sub(" ", MONTH.sub(" ", text))  # percentages are rates, compared above
    written = [v for v in DECIMAL_NUMBER.findall(cleaned) if _significant(v) >= 2]
    for figure in measured.figures():
        if "PSI" in figure.what or figure.what in ("churn rate", "duplicate rows"):
            continue  # compared by their own rules above
        for value in written:
            decimals = len(value.split(".")[1])
            if abs(float(value) - figure.value) <= 0.51 * 10**-decimals:  # the figure, rounded as written
                stated = value
                found.append(Comparison(figure.what, stated, "own figure", f"the {figure.what}", figure.quote, True))
                break
    return found


def compare(text: str, measured: Measured, truth: Truth) -> list[Comparison]:
    """Every comparison of this statement's numbers with the candidate's figures and the truth."""
    found = _psi(text, measured, truth)
    found += _floor(text, PR_AUC_FLOOR, "pr_auc", "PR-AUC", measured)
    found += _floor(text, LIFT_FLOOR, "lift", "lift", measured)
    found += _ceiling(text, ECE_CEILING, "ece", "ECE", measured)
    found += _ceiling(text, BRIER_CEILING, "brier", "Brier", measured)
    found += _label_window(text, truth)
    found += _churn_rate(text, measured, truth)
    found += _duplicates(text, measured, truth)
    found += _drift_month(text, measured, truth)
    found += _own_metric_values(text, measured)
    return found

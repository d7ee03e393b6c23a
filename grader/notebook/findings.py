"""Reading findings from executed notebooks: who says what about which column, with which figures.

A *statement* is a line of markdown or printed output that names at most three feature columns
in a problem's words ("leak", "drift"...). The words may sit on the line or on the heading it
falls under (a markdown heading, or a printed line naming no column above it in the same
paragraph), so a finding laid out as "The drifting features" then "<column>: break at 2025-06,
PSI 5.0" reads as one. Code comments are not statements: a comment never stands for work.

A statement is *negated* when its clause (or its heading) denies the problem: "X is not a leak",
"ruled out", "no drift in X", "missing completely at random". Figures are read from the same
lines: months (2025-06, June 2025, Jun-2025) apart from numbers, so a month is never a count.

Whether a statement's figures agree with the truth is for the audit reader to judge; here are
only the means: `figures`, `months`, `stat_values` (numbers next to a statistic's name) and
`ranked_first` (a printed table in which a column stands out).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from grader.evidence import Quote
from grader.notebook.cells import Cell

MAX_COLUMNS_PER_STATEMENT = 3
PROXIMITY = 60
# A row stands out of a printed table when its figure is at least this many times the next one.
STANDS_OUT = 1.5

_MONTH_NAMES = "|".join(sorted({*calendar.month_name[1:], *calendar.month_abbr[1:], "Sept"}, key=len, reverse=True))
_NUMBER_MONTH = {name.lower(): i for i, name in enumerate(calendar.month_name) if name} | {
    name.lower(): i for i, name in enumerate(calendar.month_abbr) if name
}
_NUMBER_MONTH["sept"] = 9
MONTH = re.compile(
    r"\b(?P<year>20\d\d)[-/](?P<month>0?[1-9]|1[0-2])(?:[-/](?:0?[1-9]|[12]\d|3[01]))?\b|"
    rf"\b(?P<name>{_MONTH_NAMES})\.?[ -]?(?P<year2>20\d\d)\b",
    re.I,
)
# A number, also right after an "x" (a factor: x2.8); never inside an identifier (float64, col_2).
NUMBER = re.compile(r"(?<![A-WYZa-wyz0-9_.])([-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:e[-+]?\d+)?)(\s*%)?", re.I)
FACTOR = re.compile(r"(?:\b[x×]\s?(\d+(?:\.\d+)?)|(\d+(?:\.\d+)?)\s?(?:[x×]|times)(?![A-Za-z0-9_]))", re.I)

# Positive phrases that contain a "not", masked before looking for a denial.
_NOT_NEGATIONS = re.compile(
    r"not (?:be )?(?:known|available|observable|present) (?:at|before|until) (?:the )?\w+|"
    r"not (?:missing )?at random|cannot be known|would not exist",
    re.I,
)
NEGATION = re.compile(
    r"\bno\s+(?:\w+\s+){0,2}?(?:feature|column|sign|evidence|significant|leak\w*|drift\w*|shift\w*|change\w*|"
    r"concept|difference|duplicat\w*|missing\w*|relationship|problem|issue|concern)|"
    r"\bnot\s+(?:a\s+|an\s+)?(?:leak\w*|drift\w*|shift\w*|significant\w*|concern\w*|problem\w*|issue|suspicious|"
    r"informative|predictive|related|changed|different|real)|"
    r"\b(?:is|are|was|were|does|do|did|has|have|had)\s+not\b|\b(?:isn|aren|wasn|weren|doesn|don|didn|hasn|haven)'?t\b|"
    r"\bruled?\s+out\b|\brules\s+out\b|\bnone\s+of\b|\bcleared\b|\bfalse\s+(?:alarm|positive)|\bnothing\s+to\b|"
    r"\bno\s+.{0,20}changed\s+significantly|\bnot\s+significant",
    re.I,
)
_CLAUSES = re.compile(r"[.;!?](?:\s|$)|\s[—–]\s|,\s+(?:but|while|whereas|unlike)\s", re.I)
LABEL_WORDS = re.compile(r"churn|stayer|retain|label|target|positive|negative|class|\by\s*=", re.I)


@dataclass(frozen=True)
class TextLine:
    """A line of markdown or printed output, with what it falls under."""

    cell: Cell
    where: str  # "markdown" or "output"
    text: str
    context: tuple[str, ...] = ()  # the heading it falls under, and the line above when that names no column
    paragraph: int = 0
    block: str = ""  # the whole paragraph (printed) it belongs to
    # Printed lines indented under this one (a finding laid out as a label, then its figures).
    following: str = ""

    def quote(self) -> Quote:
        return self.cell.quote(" / ".join([*self.context[-1:], self.text]) if self.context else self.text)


@dataclass
class Statement:
    """A line that says something about at most three columns in one problem's words."""

    line: TextLine
    columns: frozenset[str]
    negated: bool
    inherited: bool  # the problem's words are on its heading, not on the line
    figures: list[float] = field(default_factory=list)
    months: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join([*self.line.context, self.line.text])


def named(text: str, columns: Iterable[str]) -> list[tuple[str, int, int]]:
    """(column, start, end) for each feature column named as a whole identifier."""
    found = []
    for column in columns:
        for match in re.finditer(rf"(?<![A-Za-z0-9_]){re.escape(column)}(?![A-Za-z0-9_])", text):
            found.append((column, match.start(), match.end()))
    return found


def months_in(text: str) -> list[str]:
    """Months written as 2025-06, 2025/6, June 2025, Jun 2025, Jun-2025, as YYYY-MM."""
    found = []
    for match in MONTH.finditer(text):
        if match.group("year"):
            found.append(f"{match.group('year')}-{int(match.group('month')):02d}")
        elif match.group("year2"):
            found.append(f"{match.group('year2')}-{_NUMBER_MONTH[match.group('name').lower().rstrip('.')]:02d}")
    return found


def figures(text: str) -> list[float]:
    """The numbers on a line, months left out; a percentage as a fraction."""
    values = []
    for whole, percent in NUMBER.findall(MONTH.sub(" ", text)):
        try:
            value = float(whole.replace(",", ""))
        except ValueError:
            continue
        values.append(value / 100 if percent else value)
    return values


def stat_values(text: str, stat: re.Pattern, window: int = 40) -> list[float]:
    """Numbers that follow a statistic's name within `window` characters ("PSI 3.2", "PR-AUC = 0.81")."""
    clean = MONTH.sub(" ", text)
    values = []
    for match in stat.finditer(clean):
        values += figures(clean[match.end() : match.end() + window])[:2]
    return values


def close_to(value: float, target: float, absolute: float, relative: float) -> bool:
    """Within `absolute`, or within `relative` of the target, whichever is wider."""
    return abs(value - target) <= max(absolute, relative * abs(target))


def month_distance(a: str, b: str) -> int:
    ya, ma = (int(x) for x in a.split("-"))
    yb, mb = (int(x) for x in b.split("-"))
    return abs((ya * 12 + ma) - (yb * 12 + mb))


def text_lines(cells: list[Cell], columns: list[str]) -> list[TextLine]:
    """Markdown and output lines that name a column, with their context; code (comments too) is left out."""
    lines: list[TextLine] = []
    paragraph = 0
    for cell in cells:
        where, text = ("markdown", cell.source) if cell.kind == "markdown" else ("output", cell.output)
        heading: str | None = None
        for block in re.split(r"\n\s*\n", text):
            paragraph += 1
            previous: str | None = None
            if where == "output":
                heading = None
            raws = block.splitlines()
            for position, raw in enumerate(raws):
                line = raw.strip()
                if not line:
                    continue
                if where == "markdown" and line.startswith("#"):
                    heading, previous = line.lstrip("#").strip(), None
                    continue
                if not named(line, columns):
                    if heading is None and where == "output":
                        heading = line
                    previous = line
                    continue
                context = tuple(dict.fromkeys(c for c in (heading, previous) if c))
                following = _indented_under(raws, position) if where == "output" else ""
                lines.append(TextLine(cell, where, line, context, paragraph, block.strip()[:5000], following))
                previous = None
    return lines


def _indented(raw: str) -> int:
    return len(raw) - len(raw.lstrip())


def _indented_under(raws: list[str], position: int, limit: int = 6) -> str:
    """The lines right after `raws[position]` indented deeper than it: its figures, printed under it."""
    depth, found = _indented(raws[position]), []
    for raw in raws[position + 1 : position + 1 + limit]:
        if not raw.strip() or _indented(raw) <= depth:
            break
        found.append(raw.strip())
    return " ".join(found)


def factors(text: str) -> list[float]:
    """Multiplicative factors: "x2.8", "2.8x", "3 times"."""
    return [float(a or b) for a, b in FACTOR.findall(MONTH.sub(" ", text))]


def _negated(text: str) -> bool:
    return bool(NEGATION.search(_NOT_NEGATIONS.sub(" ", text)))


def _clause(text: str, start: int) -> str:
    bounds = [0, *[m.end() for m in _CLAUSES.finditer(text)], len(text)]
    begin = max(b for b in bounds if b <= start)
    end = min(b for b in bounds if b > start)
    return text[begin:end]


def statements(
    lines: list[TextLine],
    words: re.Pattern,
    columns: list[str],
    negation: re.Pattern | None = None,
    extra: re.Pattern | None = None,
) -> list[Statement]:
    """Every statement in `words` about one to three columns; `negation` adds to the general one,
    `extra` must also match the line or its context (MNAR: the label)."""
    found = []
    for line in lines:
        context = " ".join(line.context)
        spans = [m.span() for m in words.finditer(line.text)]
        names = named(line.text, columns)
        if spans:
            near = {
                (c, s)
                for c, s, e in names
                if any(s - PROXIMITY <= end and e + PROXIMITY >= start for start, end in spans)
            }
            inherited = False
        elif words.search(context):
            near = {(c, s) for c, s, _ in names}
            inherited = True
        else:
            continue
        about = frozenset(c for c, _ in near)
        if not about or len({c for c, _, _ in names}) > MAX_COLUMNS_PER_STATEMENT:
            continue
        if extra is not None and not (extra.search(line.text) or extra.search(context)):
            continue
        denial = [_clause(line.text, s) for _, s in near] + ([context] if inherited else [])
        negated = any(_negated(t) or (negation is not None and negation.search(t)) for t in denial)
        found.append(
            Statement(
                line=line,
                columns=about,
                negated=negated,
                inherited=inherited,
                figures=figures(line.text),
                months=months_in(" ".join([*line.context, line.text])),
            )
        )
    return found


def claims(found: list[Statement]) -> list[Statement]:
    """Statements that call a column a case of the problem: not negated, and not a row of a long
    printed table under the problem's heading (a measurement of every column) unless it stands out."""
    rows: dict[int, list[Statement]] = {}
    for statement in found:
        if statement.inherited and statement.figures:
            rows.setdefault(statement.line.paragraph, []).append(statement)
    kept = []
    for statement in found:
        if statement.negated:
            continue
        table = rows.get(statement.line.paragraph, [])
        if statement in table and len(table) > MAX_COLUMNS_PER_STATEMENT:
            values = sorted((max(abs(v) for v in s.figures) for s in table), reverse=True)
            mine = max(abs(v) for v in statement.figures)
            if not (mine == values[0] and mine > 0 and mine >= STANDS_OUT * values[1]):
                continue
        kept.append(statement)
    return kept


def ranked_first(
    lines: list[TextLine], column: str, columns: list[str], header: re.Pattern | None = None
) -> TextLine | None:
    """The row of a printed table (at least three rows, one column each) where `column` stands out:
    its largest figure is the table's largest, `STANDS_OUT` times the next row's. `header`, when
    given, must match the table's heading or the line above its rows (what the figures measure)."""
    by_paragraph: dict[int, list[TextLine]] = {}
    for line in lines:
        if line.where == "output":
            by_paragraph.setdefault(line.paragraph, []).append(line)
    for rows in by_paragraph.values():
        named_rows = [(r, named(r.text, columns), figures(r.text)) for r in rows]
        table = [(r, {c for c, _, _ in n}, f) for r, n, f in named_rows if f and len({c for c, _, _ in n}) == 1]
        if len(table) < 3:
            continue
        if header is not None and not any(header.search(" ".join(r.context)) for r, _, _ in table):
            continue
        values = sorted(((max(abs(v) for v in f), next(iter(c)), r) for r, c, f in table), reverse=True)
        (top, name, row), second = values[0], values[1][0]
        if name == column and top > 0 and top >= STANDS_OUT * second:
            return row
    return None

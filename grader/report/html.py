"""The per-candidate HTML page: one self-contained file (inline CSS, SVG plots as data URIs).

Every string that came from a submission (quotes, details, ids) is escaped: a README
holding `<script>` shows as text.
"""

from __future__ import annotations

from html import escape

from grader.decision import STALE, Decision, QuestionScores
from grader.evidence import Quote
from grader.report.plots import Plot
from grader.report.readme import ReadmeNotes
from grader.report.text import (
    NOT_GRADED_HERE,
    REVIEW_HOW,
    criterion_points,
    criterion_reason,
    debrief_about,
    environment_lines,
    graded_at,
    headline_reasons,
    quote_origin,
    review_status,
    section_points,
    section_status,
    stage_reasons,
    stage_stopped_line,
    verdict_label,
    verdict_word,
)
from grader.rubric.scorecard import BonusResult, CriterionScore, Observation, RedFlagResult, Scorecard, SectionScore

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{margin:0 0 4px;font-size:24px} h2{margin:28px 0 8px;font-size:19px} h3{margin:18px 0 6px;font-size:16px}
.card{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:16px;margin:12px 0}
.badge{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600;color:#fff}
.pass{background:#1a7f37}.fail{background:#cf222e}.incomplete{background:#9a6700}.review{background:#8250df}
.muted{color:#59636e}.small{font-size:12px}
table{border-collapse:collapse;width:100%} th,td{text-align:left;vertical-align:top;padding:6px 8px;border-bottom:1px solid #eaeef2}
th{background:#f6f8fa;font-weight:600}
.bar{background:#eaeef2;border-radius:4px;height:10px;width:160px;display:inline-block;vertical-align:middle}
.bar>span{display:block;height:10px;border-radius:4px;background:#1f6feb}
.flag{border-left:4px solid #cf222e;padding:6px 10px;margin:8px 0;background:#fff5f5}
.override{border-left:4px solid #9a6700;padding:4px 8px;background:#fff8c5;margin-top:4px}
blockquote{margin:4px 0;padding:4px 8px;border-left:3px solid #d0d7de;color:#3d444d;white-space:pre-wrap;word-break:break-word}
.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(480px,1fr));gap:12px}
.plots figure{margin:0;background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:8px}
.plots img{width:100%;height:auto;display:block}
.pts{white-space:nowrap;font-variant-numeric:tabular-nums}
.met{color:#1a7f37;font-weight:600}.unmet{color:#cf222e;font-weight:600}.pending{color:#9a6700;font-weight:600}
.stale{background:#6e7781}
.tag{display:inline-block;padding:0 6px;border:1px solid #9a6700;border-radius:8px;color:#9a6700;font-size:12px}
.environment{border-left:4px solid #9a6700;background:#fff8c5}
.item{border-left:4px solid #8250df;padding:6px 10px;margin:8px 0;background:#fbefff}
"""
# report.html and report.md keep the hiring decision between these, so `grader decide` can
# replace it without the evidence the rest of the page was drawn from.
DECISION_START = "<!-- hiring-decision -->"
DECISION_END = "<!-- /hiring-decision -->"


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _quotes(quotes: list[Quote]) -> str:
    return "".join(
        f'<blockquote><span class="muted small">{_e(quote_origin(q))}</span>\n{_e(q.text)}</blockquote>' for q in quotes
    )


def _observations(observations: list[Observation]) -> str:
    """The quotes behind a criterion (its reason already names each test and verdict)."""
    return "".join(_quotes(item.quotes) for item in observations)


def _override(scored: CriterionScore | RedFlagResult | BonusResult) -> str:
    override = scored.override
    if override is None:
        return ""
    return (
        f'<div class="override small">overridden by {_e(override.reviewer)}: {_e(override.original)} &rarr; '
        f"<b>{_e(override.value)}</b>. {_e(override.reason)}</div>"
    )


def _bar(score: float, maximum: float) -> str:
    width = 0 if maximum <= 0 else max(0.0, min(100.0, 100 * score / maximum))
    return f'<span class="bar"><span style="width:{width:.1f}%"></span></span>'


def _section_rows(scorecard: Scorecard) -> str:
    rows = []
    for section in scorecard.sections.values():
        level = f"{section.level} &ndash; {_e(section.level_meaning)}" if section.level else _e(section_status(section))
        rows.append(
            f"<tr><td>{_e(section.title)}</td><td class=pts>{section_points(section)}</td>"
            f"<td>{_bar(section.score, section.max)}</td><td>{level}</td></tr>"
        )
    return "".join(rows)


def _unjudged(scorecard: Scorecard) -> str:
    notes = []
    for why, environment in (("evidence missing", False), ("their stage could not run here", True)):
        ids = [f.id for f in scorecard.red_flags_checked if not f.judged and bool(f.environment) is environment]
        if ids:
            notes.append(f'<p class="muted small">Not judged ({why}): {", ".join(_e(i) for i in ids)}</p>')
    return "".join(notes)


def _flags(scorecard: Scorecard) -> str:
    if not scorecard.red_flags:
        return f"<p>No red flag raised.</p>{_unjudged(scorecard)}"
    return "".join(
        f'<div class="flag"><b>{_e(f.message)}</b> <code class="small">{_e(f.id)}</code>'
        f'<div class="small muted">{_e(f.detail)}</div>{_observations(f.evidence)}{_override(f)}</div>'
        for f in scorecard.red_flags
    )


def _review(scorecard: Scorecard) -> str:
    """README wording that suggests a red flag, each item with its quotes and where it stands."""
    if not scorecard.review:
        return ""
    items = "".join(
        f'<div class="item"><b>{_e(review_status(item))}</b>: resembles <code class="small">{_e(item.flag)}</code> '
        f'({_e(item.message)})<div class="small muted">{_e(item.why)}</div>{_quotes(item.quotes)}</div>'
        for item in scorecard.review
    )
    return (
        f'<div class="card" id="review"><h2>Needs a person: README review items</h2>{items}'
        f'<p class="small muted">{_e(REVIEW_HOW)}.</p></div>'
    )


def _debrief(scorecard: Scorecard) -> str:
    """The interviewer's follow-up questions, each with the evidence it cites."""
    if not scorecard.debrief:
        return ""
    items = "".join(
        f"<li><b>{_e(q.question)}</b><div class='small muted'>about: {_e(debrief_about(q))}"
        + (f" &middot; guide question <code>{_e(q.bank)}</code>" if q.bank else "")
        + f"</div><div class=small>evidence: {_e(q.evidence)}</div>{_quotes(q.quotes)}</li>"
        for q in scorecard.debrief
    )
    return f'<div class="card" id="debrief"><h2>Debrief questions for the interviewer</h2><ol>{items}</ol></div>'


def _criteria(section: SectionScore) -> str:
    rows = []
    for criterion in section.criteria:
        reason = criterion_reason(criterion, section)
        # A criterion that found none of its evidence has no quotes either: only the one line.
        shown = "" if reason != criterion.reason else _observations(criterion.evidence)
        rows.append(
            f"<tr><td><b>{_e(criterion.title)}</b><div class='muted small'><code>{_e(criterion.id)}</code></div></td>"
            f"<td class=pts>{criterion_points(criterion, section)}</td>"
            f"<td><div class=small>{_e(reason)}</div>{shown}"
            f"{_override(criterion)}</td></tr>"
        )
    return (
        "<table><tr><th style='width:28%'>criterion</th><th>points</th><th>why, with the evidence</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _plots(plots: list[Plot]) -> str:
    figures = []
    for plot in plots:
        if plot.data_uri:
            body = f'<img alt="{_e(plot.title)}" src="{plot.data_uri}">'
        else:
            body = '<p class="muted">Not available.</p>'
        note = f'<figcaption class="muted small">{_e(plot.note)}</figcaption>' if plot.note else ""
        figures.append(f'<figure id="plot-{_e(plot.id)}"><h3>{_e(plot.title)}</h3>{body}{note}</figure>')
    return '<div class="plots">' + "".join(figures) + "</div>"


def _scores(scores: dict[str, int]) -> str:
    return ", ".join(f"{_e(who)} <b>{score}</b>" for who, score in scores.items())


def _question_rows(questions: list[QuestionScores]) -> str:
    rows = []
    for q in questions:
        where = '<span class="tag">outside the bank</span>' if q.outside_bank else f"<code>{_e(q.id)}</code>"
        kind = q.category + (f", {q.difficulty}" if q.difficulty else "")
        notes = "".join(
            f'<blockquote><span class="muted small">{_e(who)}</span>\n{_e(note)}</blockquote>'
            for who, note in q.notes.items()
        )
        rows.append(
            f"<tr><td>{_e(q.text)}<div class='muted small'>{where}</div>{notes}</td><td>{_e(kind)}</td>"
            f"<td>{_scores(q.scores)}</td><td class=pts>{q.average.text()}</td></tr>"
        )
    return (
        "<h3>Questions</h3><table><tr><th>question</th><th>category</th><th>scores</th><th>average</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _stale(decision: Decision, stale: str) -> str:
    """An out-of-date decision: a neutral badge and what to do, never the old recommendation's colours."""
    words = _e(STALE).replace("grader decide", "<code>grader decide</code>")
    return f"""<div class="card" id="hiring-decision"><h2>Hiring decision <span class="badge stale">STALE</span></h2>
<p><b>{words}.</b></p><p class="muted small">{_e(stale)}; the out-of-date decision said
{_e(decision.recommendation)} and is not shown.</p></div>"""


def _decision(decision: Decision, scorecard: Scorecard) -> str:
    stale = decision.stale_against(scorecard)
    if stale:
        return _stale(decision, stale)
    reasons = "".join(
        f'<li><span class="{"met" if r.met else "pending" if r.pending else "unmet"}">'
        f"{'met' if r.met else 'pending' if r.pending else 'not met'}</span> {_e(r.detail)}</li>"
        for r in decision.reasons
    )
    weigh = "".join(f'<div class="override small">warning: {_e(w)}</div>' for w in decision.category_warnings)
    categories = "".join(
        f"<tr><td>{_e(name)}</td><td class=pts>{c.questions}</td><td class=pts>"
        f"{'missing' if c.average is None else c.average.text()}</td></tr>"
        for name, c in decision.categories.items()
    )
    overall = "missing a category" if decision.overall is None else decision.overall.text()
    flags = (
        "".join(
            f'<div class="flag"><b>{_e(f.text)}</b> <code class="small">{_e(f.id)}</code>'
            f'<div class="small muted">{_e(f.origin())}{": " + _e(f.note) if f.note else ""}</div></div>'
            for f in decision.red_flags
        )
        or "<p>None of the guide's list raised.</p>"
    )
    uncounted = "".join(
        f"<li><code>{_e(f.id)}</code> {_e(f.message)}</li>" for f in decision.practical_flags_not_counted
    )
    if uncounted:
        flags += (
            f"<p class='small muted'>Raised by the practical report, not on the guide's list (not counted):</p>"
            f"<ul class=small>{uncounted}</ul>"
        )
    extra = ""
    if decision.mix_warnings:
        extra += "<h3>Interview mix</h3><ul class=small>" + "".join(f"<li>{_e(w)}</li>" for w in decision.mix_warnings)
        extra += "</ul>"
    if decision.disagreements:
        extra += (
            "<h3>Interviewers 2+ points apart</h3><table><tr><th>question</th><th>spread</th><th>scores</th></tr>"
            + "".join(
                f"<tr><td>{_e(d.text)}<div class='muted small'><code>{_e(d.key)}</code></div></td>"
                f"<td class=pts>{d.spread}</td><td>{_scores(d.scores)}</td></tr>"
                for d in decision.disagreements
            )
            + "</table>"
        )
    interviewers = ", ".join(f"{_e(i.interviewer)} ({_e(i.date)})" for i in decision.interviewers)
    notes = "".join(
        f'<blockquote><span class="muted small">{_e(i.interviewer)}, overall</span>\n{_e(i.notes)}</blockquote>'
        for i in decision.interviewers
        if i.notes
    )
    return f"""<div class="card" id="hiring-decision"><h2>Hiring decision
<span class="badge {"pass" if decision.hire else "incomplete" if decision.pending else "fail"}">{_e(decision.recommendation.upper())}</span></h2>
<p class="muted small">{_e(decision.role_level)} role &middot; interviewers: {interviewers}</p>
<ul>{reasons}</ul>{weigh}<p class="muted small">Rule: {_e(decision.rule)}.</p>
<table><tr><th>category</th><th>questions</th><th>average (1-4)</th></tr>{categories}
<tr><td><b>overall</b> <span class="muted small">mean of the three</span></td><td></td><td class=pts><b>{overall}</b></td>
</tr></table>{_question_rows(decision.questions)}{notes}<h3>Red flags (interview and practical)</h3>{flags}{extra}</div>"""


def decision_slot(decision: Decision | None, scorecard: Scorecard) -> str:
    """The page's hiring-decision slot: the section when there is a decision, else empty."""
    return f"{DECISION_START}{_decision(decision, scorecard) if decision else ''}{DECISION_END}"


def _readme(notes: ReadmeNotes | None) -> str:
    """Who judged the README, and each paragraph shared with another candidate, side by side with theirs."""
    if notes is None:
        return ""
    pairs = "".join(
        f"<tr><td><blockquote><span class='muted small'>this README, line {p.line}</span>\n{_e(p.text)}</blockquote></td>"
        f"<td><blockquote><span class='muted small'>{_e(p.candidate)}'s README, line {p.their_line} "
        f"({p.overlap:.0%} of this paragraph's wording)</span>\n{_e(p.their_text)}</blockquote></td></tr>"
        for p in notes.shared
    )
    table = (
        f"<h3>Paragraphs shared with other candidates</h3><table><tr><th>this README</th><th>theirs</th></tr>{pairs}</table>"
        if pairs
        else ""
    )
    return f'<p class="small muted" id="readme-judge">{_e(notes.judge_line())}.</p>{table}'


def render_html(
    scorecard: Scorecard, plots: list[Plot], decision: Decision | None = None, readme: ReadmeNotes | None = None
) -> str:
    """The whole page as a string (with the hiring decision, when there is one, and the README's judge)."""
    verdict = scorecard.verdict
    bonus = scorecard.bonus_detail
    bonus_html = ""
    if bonus is not None:
        bonus_html = (
            f'<div class="card"><h2>Bonus: {_e(bonus.title)}</h2><p class=pts><b>{bonus.points:g}</b> of '
            f"{bonus.max:g} (shown apart from the total)</p><div class=small>{_e(bonus.reason)}</div>"
            f"{_observations(bonus.evidence)}{_override(bonus)}</div>"
        )
    sections = "".join(
        f'<div class="card" id="section-{_e(s.id)}"><h2>{_e(s.title)}: {section_points(s)}'
        f"{f' (level {s.level})' if s.level else ' (not graded)'}</h2>"
        f"{f'<p class=muted>{_e(s.reason)}</p>' if s.reason else ''}"
        f"{f'<p><b>{_e(stage_stopped_line(s))}.</b></p>' if s.stage_stopped else ''}{_criteria(s)}"
        f"{_readme(readme) if s.id == 'judgment' else ''}</div>"
        for s in scorecard.sections.values()
    )
    stages = "".join(
        f"<tr><td>{_e(name)}</td><td>{_e(o.status)}</td><td class=small>"
        + (f"<b>not run here (environment):</b> {_e(o.environment)}<br>" if o.environment else "")
        + f"{_e('; '.join(stage_reasons(o)))}</td></tr>"
        for name, o in scorecard.stages.items()
    )
    environment = environment_lines(scorecard)
    environment_card = ""
    if environment:
        items = "".join(f"<li>{_e(line)}</li>" for line in environment)
        environment_card = (
            f'\n<div class="card environment" id="environment"><h2>{_e(NOT_GRADED_HERE)}</h2><ul>{items}</ul></div>'
        )

    warnings = "".join(f"<li>{_e(w)}</li>" for w in scorecard.warnings)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{_e(scorecard.candidate)}: {_e(verdict_label(scorecard))}</title><style>{STYLE}</style></head>
<body><main>
<h1>{_e(scorecard.candidate)} <span class="badge {verdict}">{_e(verdict_word(scorecard).upper())}</span></h1>
<p class="muted">{_e(scorecard.rubric.title)} (rubric {_e(scorecard.rubric.id)} {_e(scorecard.rubric.version)}) &middot;
backend <b>{_e(scorecard.backend)}</b> &middot; graded {_e(graded_at(scorecard))}</p>
<div class="card"><p style="font-size:20px;margin:0"><b>{scorecard.total:g}</b> / {scorecard.max:g}
<span class="muted">+ bonus {scorecard.bonus:g}</span></p>
<p class="small">{_e(headline_reasons(scorecard))}.<br><span class="muted">Pass rule: {_e(scorecard.pass_rule)}.</span></p>
<table><tr><th>section</th><th>score</th><th></th><th>level (1-4)</th></tr>{_section_rows(scorecard)}</table></div>{environment_card}
{decision_slot(decision, scorecard)}
<div class="card"><h2>Red flags</h2>{_flags(scorecard)}</div>{_review(scorecard)}{_debrief(scorecard)}
<h2>The model on the hidden holdout, and the service under load</h2>{_plots(plots)}
{sections}{bonus_html}
<div class="card"><h2>Stages</h2><table><tr><th>stage</th><th>status</th><th>notes</th></tr>{stages}</table>
{f"<h3>Rubric notes</h3><ul class=small>{warnings}</ul>" if warnings else ""}
<p class="muted small">report {_e(scorecard.schema_version)} &middot; rubric sha256 {_e(scorecard.rubric.sha256[:16])}
&middot; {scorecard.overrides_applied} reviewer override(s)</p></div>
</main></body></html>
"""

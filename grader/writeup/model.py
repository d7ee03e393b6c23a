"""A model judge: any OpenAI-compatible chat endpoint reads the README for the concept criteria.

The model is shown the criteria (the rubric's writeup criteria when a rubric is given),
a summary of the candidate's evidence and of the world's truth, and the README, and must
answer JSON: per criterion a strength 0-1, verbatim quotes and why. Nothing it says is
taken on trust: a quote that is not in the README is dropped and the strength falls with
the share of quotes dropped (all of them: nothing), the README's own-data cap applies as
for the heuristic, and every other check (length, own data, consistency, originality,
specificity, the monitoring plan and the observations) stays the heuristic's, because
those are measured. Answers are cached by the hash of the whole request (README,
evidence, criteria, model) under the cache folder, so a regrade asks once; `grader
report` never asks (it re-renders saved evidence). An endpoint that cannot be reached,
answers an HTTP error, times out or answers something that is not the JSON asked for
leaves the heuristic's checks in place, with the reason recorded in the evidence.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import httpx
from pydantic import BaseModel, Field, ValidationError

from grader.evidence import Check, Quote
from grader.fsutil import write_atomic
from grader.sandbox.cache import cache_folder
from grader.writeup.concepts import COVERED, own_data_cap
from grader.writeup.evidence import CONCEPTS, DATA_FREE
from grader.writeup.facts import JudgeContext, own_data_items
from grader.writeup.judge import HeuristicJudge, Verdicts
from grader.writeup.settings import KEY_VARIABLE, JudgeSettings
from grader.writeup.text import Document

NAME = "model/1"
CACHE_VARIABLE = "GRADER_JUDGE_CACHE_DIR"
MIN_QUOTE_CHARS = 12
MAX_README_CHARS = 40_000
MAX_ANSWER_BYTES = 1024 * 1024
_FENCED = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.S)
_MARKUP = re.compile(r"(\*\*|__|\*|`|^\s*[-*+]\s+|^\s*#+\s*|^\s*\d+[.)]\s+)", re.M)

SYSTEM = """You grade the production-judgment README of a machine-learning engineer's churn take-home.
The model ranks customers once a month for a retention campaign: the retention team contacts the
top of the list with an offer. Judge each criterion by what the README makes of it for that use,
never by how many concepts it names. Strength, from 0 to 1, adds up:
- 0.25 the README names the concept in a real sentence;
- +0.25 specific: a threshold, a window or a named test (a bare digit is not specific);
- +0.25 argued for this use case (monthly batch ranking, the campaign, contacted customers, the
  offer budget, labels that arrive a month late) with a reason;
- +0.25 grounded in the candidate's own evidence listed below (their columns, their audit
  findings, thresholds placed against the figures they measured). For the criteria marked
  "no own data", the argument counts +0.5 instead.
A reasoned case against a practice that does not fit a monthly batch (a shadow endpoint, p99
latency alerting) is good judgment: score it as argued. A number that contradicts the candidate's
evidence or the truth costs 0.25. Boilerplate any README could hold is worth at most 0.15.
Every point needs a verbatim quote: copy the README's words exactly, at least 12 characters;
quotes that are not in the README are dropped with their points.
Answer with JSON only, no prose around it:
{"criteria": [{"id": "<criterion id>", "strength": <0..1>, "quotes": ["<verbatim>"], "why": "<one sentence>"}]}"""


class JudgeFailure(Exception):
    """The endpoint could not give a usable answer (the heuristic judges instead)."""


class CriterionAnswer(BaseModel):
    id: str
    strength: float = Field(ge=0, le=1)
    quotes: list[str] = Field(default_factory=list, max_length=10)
    why: str = ""


class ModelAnswer(BaseModel):
    criteria: list[CriterionAnswer]


def _normal(text: str) -> str:
    """Text as quotes are compared: markup, links and spacing aside."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = _MARKUP.sub("", text)
    return re.sub(r"\s+", " ", text).strip()


def _criteria(settings: JudgeSettings) -> list[dict]:
    """The concept criteria as the model sees them, with the rubric's titles and points when given."""
    shown = {}
    if settings.rubric_file is not None:
        from grader.rubric import load_rubric

        for section in load_rubric(settings.rubric_file).sections:
            for criterion in section.criteria:
                for path in criterion.paths():
                    if path.startswith("writeup.covers."):
                        shown[path.split(".")[2]] = f"{criterion.title} ({criterion.points:g} points)"
    return [
        {"id": f"covers.{concept}", "means": description}
        | ({"rubric": shown[concept]} if concept in shown else {})
        | ({"no own data": True} if concept in DATA_FREE else {})
        for concept, description in CONCEPTS.items()
    ]


def _evidence_summary(context: JudgeContext) -> dict:
    """What the candidate measured and what is true of their data, each with where it was shown."""
    measured = context.measured
    figures = [
        {"what": f.what, "value": round(f.value, 4), "shown in": f.quote.source, "as": f.quote.text[:200]}
        for f in measured.figures()
    ]
    truth = context.truth
    return {
        "candidate's evidence": {
            "figures": figures,
            "audit findings confirmed": sorted(k for k, v in context.audit.items() if v is True),
            "modeling checks confirmed": sorted(k for k, v in context.modeling.items() if v is True),
        },
        "truth of their data": {
            "label": f"{truth.label_column}: churn within {truth.label_window_days} days of a monthly snapshot",
            "churn rate": round(truth.churn_rate, 4) if truth.churn_rate is not None else None,
            "seeded columns": truth.seeded_columns,
            "drift starts": truth.drift_month,
            "duplicate rows": truth.duplicates,
            "feature columns": list(truth.feature_columns),
        },
    }


def request_body(document: Document, context: JudgeContext, settings: JudgeSettings) -> dict:
    """The chat request: the rules, then the criteria, the evidence and the README."""
    user = {
        "criteria": _criteria(settings),
        **_evidence_summary(context),
        "README": document.text[:MAX_README_CHARS],
    }
    return {
        "model": settings.model,
        "temperature": 0,
        "response_format": {"type": "json_object"},
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": json.dumps(user, ensure_ascii=False, indent=1)},
        ],
    }


def _endpoint(url: str) -> str:
    url = url.rstrip("/")
    return url if url.endswith("/chat/completions") else f"{url}/chat/completions"


def _ask(body: dict, settings: JudgeSettings) -> str:
    """The answer's content, or JudgeFailure with why in words."""
    headers = {"content-type": "application/json"}
    if key := os.environ.get(KEY_VARIABLE, "").strip():
        headers["authorization"] = f"Bearer {key}"
    url = _endpoint(settings.url or "")
    try:
        response = httpx.post(url, json=body, headers=headers, timeout=settings.timeout_s)
    except httpx.TimeoutException:
        raise JudgeFailure(f"no answer from {url} within {settings.timeout_s:g} s") from None
    except httpx.HTTPError as exc:
        raise JudgeFailure(f"{url} unreachable: {type(exc).__name__}: {str(exc)[:200]}") from None
    if response.status_code >= 400:
        raise JudgeFailure(f"{url} answered HTTP {response.status_code}: {response.text[:200]}")
    if len(response.content) > MAX_ANSWER_BYTES:
        raise JudgeFailure(f"{url} answered {len(response.content)} bytes: not an answer")
    try:
        content = response.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise JudgeFailure(f"{url} did not answer as a chat completion: {response.text[:200]}") from None
    if not isinstance(content, str):
        raise JudgeFailure("the answer has no text content")
    return content


def parse_answer(content: str) -> ModelAnswer:
    """The model's JSON (fenced or bare), or JudgeFailure."""
    if fenced := _FENCED.match(content):
        content = fenced.group(1)
    try:
        return ModelAnswer.model_validate_json(content)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise JudgeFailure(f"malformed JSON in the answer ({where}: {first['msg']})") from None


class ModelJudge:
    """The model reads the concept criteria; everything measured stays the heuristic's."""

    name = NAME

    def __init__(self, settings: JudgeSettings, cache_dir: Path | None = None) -> None:
        self.settings = settings
        self.cache_dir = cache_dir or cache_folder("judge", CACHE_VARIABLE)

    def _cached_answer(self, body: dict) -> tuple[str, bool]:
        """The answer's content and whether it came from the cache."""
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        path = self.cache_dir / f"{digest}.json"
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(saved, dict) and isinstance(saved.get("content"), str):
                return saved["content"], True
        except (OSError, ValueError):
            pass
        content = _ask(body, self.settings)
        parse_answer(content)  # never cache an answer that cannot be used
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            write_atomic(path, json.dumps({"model": self.settings.model, "content": content}))
        except OSError:
            pass  # an unwritable cache costs a second request later, never the grading
        return content, False

    def judge(self, document: Document, context: JudgeContext) -> Verdicts:
        heuristic = HeuristicJudge().judge(document, context)
        model = self.settings.model
        try:
            content, _ = self._cached_answer(request_body(document, context, self.settings))
            answer = parse_answer(content)
        except JudgeFailure as exc:
            note = f"the model judge failed ({exc}); the heuristic judged instead"
            return Verdicts(heuristic, HeuristicJudge.name, model, note)
        checks, notes = merge(heuristic, answer, document)
        return Verdicts(checks, f"{NAME} {model}", model, "; ".join(notes) or None)


def _verify(quote: str, normal_readme: str, lines: list[str]) -> int | None:
    """The README line a verbatim quote starts on; None when the quote is not in the README."""
    normal = _normal(quote)
    if len(normal) < MIN_QUOTE_CHARS or normal not in normal_readme:
        return None
    head = normal[:MIN_QUOTE_CHARS]
    return next((number for number, line in enumerate(lines, start=1) if head in _normal(line)), 1)


def merge(heuristic: list[Check], answer: ModelAnswer, document: Document) -> tuple[list[Check], list[str]]:
    """The model's concept checks in place of the heuristic's, each quote verified; and notes on what was dropped."""
    cap = own_data_cap(own_data_items(next(c for c in heuristic if c.id == "own_data").figures))
    normal_readme = _normal(document.text)
    lines = document.text.splitlines()
    answers = {a.id: a for a in answer.criteria}
    notes, merged = [], []
    for check in heuristic:
        concept = check.id.removeprefix("covers.")
        given = answers.get(check.id)
        if concept == check.id or concept not in CONCEPTS:
            merged.append(check)
            continue
        if given is None:
            notes.append(f"no answer for {check.id}: the heuristic's kept")
            merged.append(check)
            continue
        verified = [(q, line) for q in given.quotes if (line := _verify(q, normal_readme, lines)) is not None]
        dropped = len(given.quotes) - len(verified)
        value = given.strength * (len(verified) / len(given.quotes)) if given.quotes else 0.0
        detail = f"{CONCEPTS[concept]}: {given.why[:300]} (model: {given.strength:g})"
        if dropped:
            notes.append(f"{check.id}: {dropped} of {len(given.quotes)} quotes are not in the README")
            detail += f"; {dropped} of its {len(given.quotes)} quotes are not in the README: their points dropped"
        if given.strength and not given.quotes:
            detail += "; no quote given: no points"
        capped = min(round(value, 3), cap)
        if capped < value:
            detail += f"; capped at {cap:g}: the README names little or nothing of this candidate's data"
        merged.append(
            Check(
                id=check.id,
                passed=capped >= COVERED,
                detail=detail,
                quotes=[Quote(source=document.source, line=line, text=q[:300]) for q, line in verified[:2]],
                figures={
                    **check.figures,
                    "strength": capped,
                    "model_strength": given.strength,
                    "heuristic_strength": check.figures.get("strength"),
                    "quotes_dropped": dropped,
                },
            )
        )
    return merged, notes

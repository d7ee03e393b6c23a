"""Boilerplate: sentences any README could hold, and paragraphs shared across a cohort.

A sentence counts as boilerplate when most of its word 4-grams appear in the corpus
below (generic monitoring prose as found in blog posts and templates), or when it
contains one of the stock platitude phrases. A cohort run passes the other candidates'
READMEs; a paragraph whose 5-grams largely reappear in another README is shared, and is
kept with the other candidate's closest paragraph so both reports can show the two side
by side. Both are scored like platitudes: text that says nothing about this model and data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from grader.writeup.evidence import SharedParagraph
from grader.writeup.text import Document, Sentence, parse

SENTENCE_SHINGLE = 4
COHORT_SHINGLE = 5
BOILERPLATE_OVERLAP = 0.5
SHARED_OVERLAP = 0.6
MIN_SHARED_WORDS = 12
MAX_SHOWN_CHARS = 1200

CORPUS = (
    "After deployment the model needs to be monitored to ensure that it continues to perform as expected.",
    "Model monitoring helps us detect problems before they affect the business.",
    "We should monitor the performance of the model and the quality of the incoming data.",
    "When the performance of the model degrades, the model should be retrained on more recent data.",
    "The model should be retrained periodically on the latest data.",
    "Monitoring is a crucial part of any machine learning system in production.",
    "It is important to monitor both the data and the model to detect any issues early.",
    "Machine learning models can degrade over time due to changes in the underlying data.",
    "We should set up a monitoring dashboard to track the performance of the model over time.",
    "If the performance of the model drops below an acceptable level, we retrain the model.",
    "Data drift occurs when the distribution of the input data changes over time.",
    "Concept drift occurs when the relationship between the input features and the target variable changes.",
    "We can use tools such as Evidently AI or Arize to monitor the model in production.",
    "The model will be continuously monitored to ensure it remains accurate and reliable.",
    "Alerts will be sent to the team if any anomalies are detected.",
    "A robust monitoring strategy is key to the long-term success of the model.",
    "We will follow MLOps best practices for deployment, monitoring and retraining.",
    "Automated retraining pipelines ensure the model stays fresh and relevant.",
    "Model performance should be tracked using appropriate metrics.",
    "We will log all predictions and monitor them for any unusual behaviour.",
    "Regular retraining helps the model adapt to new patterns in the data.",
    "A/B testing can be used to compare the new model with the current model before full rollout.",
    "It is essential to have a rollback strategy in case the new model underperforms.",
    "Monitoring should cover data quality, model performance and system health.",
    "We need to make sure that the model is fair, robust and explainable.",
    "The retraining frequency depends on how quickly the data changes.",
    "We would monitor key metrics such as accuracy, precision, recall and F1 score.",
)
PLATITUDES = re.compile(
    r"keep an eye on|make sure (it|the model) (keeps|is) (performing|working)|(retrain|update)\w* (it |the model )?"
    r"(when|as|if) (needed|necessary|required)|if something (looks|goes) wrong|keeps? (the model )?up to date|"
    r"best practices|stays? (fresh|relevant)|remains? (accurate|reliable)|any (issues|anomalies|problems)|"
    r"crucial|it is (important|essential) to|robust monitoring|continuously monitor|"
    r"(the )?(data|performance|model) changes? (a lot|significantly)|something looks off",
    re.I,
)


def _normal_words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def shingles(text: str, size: int) -> set[tuple[str, ...]]:
    words = _normal_words(text)
    if len(words) < size:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


_CORPUS_SHINGLES = set().union(*(shingles(s, SENTENCE_SHINGLE) for s in CORPUS))


def boilerplate_reason(sentence: Sentence) -> str | None:
    """Why this sentence is boilerplate (a stock phrase, or overlap with the corpus), or None."""
    phrase = PLATITUDES.search(sentence.text)
    if phrase:
        return f"stock phrase '{phrase.group(0)}'"
    own = shingles(sentence.text, SENTENCE_SHINGLE)
    if len(own) >= 3:
        overlap = len(own & _CORPUS_SHINGLES) / len(own)
        if overlap >= BOILERPLATE_OVERLAP:
            return f"{overlap:.0%} of its wording matches known boilerplate"
    return None


def _paragraphs(document: Document) -> list[tuple[int, str]]:
    """(first line, text) of each paragraph: its sentences joined."""
    return [(sentences[0].line, " ".join(s.text for s in sentences)) for sentences in document.paragraphs().values()]


def shared_paragraphs(document: Document, others: Mapping[str, str]) -> list[SharedParagraph]:
    """Paragraphs of `document` whose wording reappears in another README of the cohort, each
    with the other candidate's closest paragraph (one entry per paragraph and candidate)."""
    if not others:
        return []
    theirs = {candidate: _paragraphs(parse(text)) for candidate, text in sorted(others.items())}
    their_shingles = {
        candidate: [(line, text, shingles(text, COHORT_SHINGLE)) for line, text in paragraphs]
        for candidate, paragraphs in theirs.items()
    }
    found = []
    for line, text in _paragraphs(document):
        own = shingles(text, COHORT_SHINGLE)
        if len(_normal_words(text)) < MIN_SHARED_WORDS or not own:
            continue
        for candidate, paragraphs in their_shingles.items():
            everything = set().union(*(grams for _, _, grams in paragraphs)) if paragraphs else set()
            overlap = len(own & everything) / len(own)
            if overlap < SHARED_OVERLAP:
                continue
            their_line, their_text, _ = max(paragraphs, key=lambda p: (len(own & p[2]), -p[0]))
            found.append(
                SharedParagraph(
                    line=line,
                    text=text[:MAX_SHOWN_CHARS],
                    candidate=candidate,
                    their_line=their_line,
                    their_text=their_text[:MAX_SHOWN_CHARS],
                    overlap=round(overlap, 3),
                )
            )
    return found


def shared_lines(paragraphs: Iterable[SharedParagraph], document: Document) -> set[int]:
    """Paragraph numbers of the shared paragraphs (their sentences score like boilerplate)."""
    starts = {p.line for p in paragraphs}
    return {number for number, sentences in document.paragraphs().items() if sentences[0].line in starts}

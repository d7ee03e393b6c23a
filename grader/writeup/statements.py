"""Statements: the units a README's judgment is read in, as its structure says.

A sentence is one statement; a list item continues its lead-in line ("Refit early when:"
and "- lift under 3x for two months" state one trigger) or, without one, its heading; and
two consecutive sentences of a paragraph state one finding together ("delayed ground-truth
labels." followed by "Month T's outcome is known only at T+1."). Concepts may come from
any part of a statement; its specifics from any part too. Crowding (one sentence listing
five concepts) is counted on the sentence itself, never on its lead or its neighbour.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from grader.evidence import Quote
from grader.writeup.text import FUNCTION_WORDS, MIN_FUNCTION_WORDS, MIN_REAL_WORDS, WORD, Document, Sentence

QUOTE_CHARS = 300


@dataclass(frozen=True)
class Statement:
    """One sentence, with the lead-in or heading it continues, or two consecutive sentences."""

    sentences: tuple[Sentence, ...]
    # A lead-in line ("Refit early when:") and its line, or the heading of a list item (line 0).
    lead: str = ""
    lead_line: int = 0

    @cached_property
    def text(self) -> str:
        body = " ".join(s.text for s in self.sentences)
        return f"{self.lead} {body}" if self.lead else body

    @property
    def anchor(self) -> Sentence:
        return self.sentences[0]

    @property
    def line(self) -> int:
        return self.anchor.line

    @property
    def heading(self) -> str:
        return self.anchor.heading

    @cached_property
    def real(self) -> bool:
        """Every sentence stated is real, or (a list item) real once read with its lead-in."""
        if all(s.real for s in self.sentences):
            return True
        if len(self.sentences) > 1 or not self.lead:
            return False
        words = WORD.findall(self.text)
        small = sum(w.lower() in FUNCTION_WORDS for w in words)
        own_words = len(self.anchor.words)
        return own_words >= 3 and len(words) >= MIN_REAL_WORDS and small >= MIN_FUNCTION_WORDS

    @property
    def code(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(span for s in self.sentences for span in s.code))

    def quotes(self, source: str) -> list[Quote]:
        """The statement as the candidate wrote it, line by line: its lead-in line first, if any."""
        body = Quote(source=source, line=self.line, text=" ".join(s.text for s in self.sentences)[:QUOTE_CHARS])
        if self.lead_line:
            return [Quote(source=source, line=self.lead_line, text=self.lead[:QUOTE_CHARS]), body]
        return [body]


def sentence_quote(document: Document, sentence: Sentence) -> Quote:
    """One sentence as the candidate wrote it, at its line."""
    return Quote(source=document.source, line=sentence.line, text=sentence.text[:QUOTE_CHARS])


def statements(document: Document) -> list[Statement]:
    """Every statement of the README: each sentence (with its lead-in), and each pair within a paragraph."""
    body = [s for s in document.sentences if s.kind != "heading"]
    found: list[Statement] = []
    for index, sentence in enumerate(body):
        if sentence.lead:
            found.append(Statement((sentence,), sentence.lead, sentence.lead_line))
        else:
            found.append(Statement((sentence,), sentence.heading if sentence.kind in ("item", "table") else ""))
        following = body[index + 1] if index + 1 < len(body) else None
        if (
            following is not None
            and sentence.kind == following.kind == "prose"
            and sentence.paragraph == following.paragraph
        ):
            found.append(Statement((sentence, following)))
    return found

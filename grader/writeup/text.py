"""A README as sentences with line numbers, read as hostile input.

Code blocks and HTML comments are dropped (commands and hidden text are not prose);
headings are kept apart and give each sentence its section context; list items and
table rows are sentences of their own, and an item under a lead-in line ("Refit early
when:") keeps that line as its `lead`. Inline code spans are kept apart too (`code`): a
column counts as named only as an identifier. A sentence is *real* when it has enough
words and the small words a sentence needs ("the", "at", "when"...): a keyword list has none.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from grader.submission.text import decode_text

README_CAP = 2 * 1024 * 1024
MAX_SENTENCE_CHARS = 600
QUOTE_CHARS = 300
MIN_REAL_WORDS = 6
MIN_FUNCTION_WORDS = 2

FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "with",
        "by",
        "from",
        "and",
        "or",
        "but",
        "if",
        "when",
        "then",
        "than",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "will",
        "would",
        "should",
        "can",
        "could",
        "may",
        "might",
        "must",
        "we",
        "i",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "our",
        "their",
        "they",
        "as",
        "per",
        "each",
        "every",
        "after",
        "before",
        "once",
        "until",
        "above",
        "below",
        "over",
        "under",
        "into",
        "out",
        "not",
        "no",
        "so",
        "do",
        "does",
        "did",
        "has",
        "have",
        "had",
        "there",
        "which",
        "who",
        "whose",
        "what",
        "how",
        "why",
        "while",
        "during",
        "between",
        "within",
        "without",
        "against",
        "because",
        "same",
        "any",
        "all",
        "both",
        "also",
        "only",
        "more",
        "most",
        "less",
        "least",
    ]
)

_FENCE = re.compile(r"^\s*(```|~~~)")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+(.*)$")
_TABLE_RULE = re.compile(r"^\s*\|?[\s:|-]+\|[\s:|-]*$")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__|\*|`)")
_CODE_SPAN = re.compile(r"`([^`\n]{1,80})`")
_HTML_TAG = re.compile(r"<[^>]{1,200}>")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'*])")
WORD = re.compile(r"[A-Za-z][A-Za-z'/-]*|\d+(?:[.,]\d+)*%?")

Kind = Literal["prose", "item", "table", "heading"]


@dataclass(frozen=True)
class Sentence:
    """One sentence (or list item, table row, heading) of the README."""

    text: str
    line: int
    kind: Kind
    heading: str
    paragraph: int
    words: tuple[str, ...] = field(repr=False)
    # The lead-in line a list item continues ("Refit early when:"), else "", and its line.
    lead: str = ""
    lead_line: int = 0
    # Inline code spans in the sentence (`plan`, `tenure_months`), as written.
    code: tuple[str, ...] = ()

    @property
    def real(self) -> bool:
        """Enough words, and the small words only real sentences have."""
        small = sum(w.lower() in FUNCTION_WORDS for w in self.words)
        return self.kind != "heading" and len(self.words) >= MIN_REAL_WORDS and small >= MIN_FUNCTION_WORDS


@dataclass(frozen=True)
class Document:
    """A README read for judging; `problem` says why it could not be (then it has no text)."""

    source: str
    text: str
    sentences: tuple[Sentence, ...]
    problem: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def words(self) -> int:
        return len(WORD.findall(self.text))

    def paragraphs(self) -> dict[int, list[Sentence]]:
        grouped: dict[int, list[Sentence]] = {}
        for sentence in self.sentences:
            if sentence.kind != "heading":
                grouped.setdefault(sentence.paragraph, []).append(sentence)
        return grouped


def _inline(text: str) -> str:
    text = _LINK.sub(r"\1", text)
    text = _HTML_TAG.sub(" ", text)
    text = _EMPHASIS.sub("", text)
    return re.sub(r"\s+", " ", text).strip()


def _split(text: str) -> list[str]:
    return [part.strip() for part in _SENTENCE_END.split(text) if part.strip()]


def _is_lead(text: str) -> bool:
    """A line that introduces a list: "Refit early when:", "**Alerts**:"."""
    return text.rstrip().endswith(":")


def parse(text: str, source: str = "README.md") -> Document:
    """Sentences of a markdown text, each with its first line number, heading, lead-in and code spans."""
    text = _COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    sentences: list[Sentence] = []
    heading, paragraph, in_fence = "", 0, False
    block: list[tuple[int, str]] = []
    # The lead-in line items continue: the last prose sentence before a list when it ends with
    # a colon, or an item ending with one (its sub-items); any other prose or a heading ends it.
    lead: tuple[str, int] = ("", 0)

    def add(lines: list[tuple[int, str]], kind: Kind, item_lead: tuple[str, int] = ("", 0)) -> list[Sentence]:
        """Sentences of consecutive lines, each numbered by the line it starts on."""
        starts, parts, spans = [], [], []
        offset = 0
        for number, raw_line in lines:
            spans += [span.strip() for span in _CODE_SPAN.findall(raw_line) if span.strip()]
            cleaned = _inline(raw_line)
            starts.append((offset, number))
            parts.append(cleaned)
            offset += len(cleaned) + 1
        body = " ".join(parts)
        cursor = 0
        made = []
        for part in _split(body) if kind in ("prose", "item") else [body]:
            found = body.find(part, cursor)
            cursor = found if found >= 0 else cursor
            first = max((number for start, number in starts if start <= cursor), default=lines[0][0])
            clipped = part[:MAX_SENTENCE_CHARS]
            code = tuple(dict.fromkeys(span for span in spans if span in clipped))
            made.append(
                Sentence(
                    clipped,
                    first,
                    kind,
                    heading,
                    paragraph,
                    tuple(WORD.findall(clipped)),
                    lead=item_lead[0],
                    lead_line=item_lead[1],
                    code=code,
                )
            )
        sentences.extend(made)
        return made

    # What the open block is: a prose paragraph, or a list item with its continuation lines
    # (indented, or lazily continued on the next line, as Markdown reads them).
    kind: Kind = "prose"
    item_lead: tuple[str, int] = ("", 0)
    in_list = False

    def flush() -> None:
        nonlocal block, paragraph, lead
        if block and kind == "item":
            made = add(block, "item", item_lead)
            if made and _is_lead(made[-1].text):
                lead = (made[-1].text, made[-1].line)
        elif block:
            made = add(block, "prose")
            paragraph += 1
            lead = (made[-1].text, made[-1].line) if made and _is_lead(made[-1].text) else ("", 0)
        block = []

    for number, raw in enumerate(text.splitlines(), start=1):
        if _FENCE.match(raw):
            flush()
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        if not raw.strip():
            flush()
            continue
        if match := _HEADING.match(raw):
            flush()
            lead, in_list = ("", 0), False
            heading = _inline(match.group(1))
            sentences.append(Sentence(heading, number, "heading", heading, paragraph, tuple(WORD.findall(heading))))
            continue
        if match := _ITEM.match(raw):
            flush()
            kind, item_lead, in_list = "item", lead, True
            block = [(number, match.group(1))]
            continue
        if raw.lstrip().startswith("|"):
            flush()
            in_list = False
            if not _TABLE_RULE.match(raw):
                add([(number, " ".join(cell.strip() for cell in raw.strip().strip("|").split("|")))], "table")
            continue
        continues_item = in_list and (bool(block) or raw[:1].isspace())
        if not continues_item and (kind == "item" or in_list):
            flush()
            kind, in_list = "prose", False
        block.append((number, raw.strip()))
    flush()
    return Document(source=source, text=text, sentences=tuple(sentences))


def read_document(path: Path | None, source: str | None = None) -> Document:
    """Read a README file (capped, never trusted) into a Document; problems are recorded."""
    shown = source or (path.name if path else "README")
    if path is None:
        return Document(shown, "", (), problem="no README in the submission")
    try:
        # Never follow a link or open a FIFO or device: the submission is hostile input.
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return Document(shown, "", (), problem="the README is not a regular file (a link, folder or device)")
        with open(path, "rb") as handle:
            raw = handle.read(README_CAP + 1)
    except OSError as exc:
        return Document(shown, "", (), problem=f"README unreadable: {exc.strerror or exc}")
    return parse_bytes(raw, shown)


def parse_bytes(raw: bytes, source: str = "README.md") -> Document:
    """A README from raw bytes, decoded as its editor wrote it (BOM, UTF-16, a Windows code page);
    binary content is a problem, not text."""
    truncated = len(raw) > README_CAP
    decoded = decode_text(raw[:README_CAP])
    if decoded.binary:
        return Document(source, "", (), problem="the README is binary, not text")
    if not decoded.text.strip():
        return Document(source, "", (), problem="the README is empty")
    document = parse(decoded.text, source)
    notes = [f"README read as {decoded.described}"] if decoded.encoding != "utf-8" else []
    if truncated:
        notes.append(f"README over {README_CAP // 1024**2} MB: only the first part was read")
    return Document(source, document.text, document.sentences, notes=tuple(notes)) if notes else document

"""Reading a README: sentences, their lines and headings, and what counts as a real sentence."""

from __future__ import annotations

from grader.writeup import parse, parse_bytes

README = """# Churn

Intro line one continues
on a second line. A second sentence starts here on line four? Yes it does, on line four.

## Retraining
- Retrain monthly on the latest labelled month.
- PSI, KS, drift
| metric | alert at |
|---|---|
| PSI | 0.25 |
"""


def test_sentences_carry_their_line_heading_and_kind() -> None:
    document = parse(README)
    by_text = {s.text: s for s in document.sentences}
    assert by_text["Intro line one continues on a second line."].line == 3
    assert by_text["A second sentence starts here on line four?"].line == 4
    item = by_text["Retrain monthly on the latest labelled month."]
    assert (item.kind, item.heading, item.line) == ("item", "Retraining", 7)
    assert by_text["PSI 0.25"].kind == "table" and by_text["PSI 0.25"].line == 11
    assert "|---|---|" not in " ".join(by_text)


def test_real_sentences_need_words_and_small_words() -> None:
    by_text = {s.text: s for s in parse(README).sentences}
    assert by_text["Retrain monthly on the latest labelled month."].real
    assert not by_text["PSI, KS, drift"].real
    assert not by_text["Retraining"].real  # a heading


def test_bytes_are_decoded_defensively() -> None:
    assert parse_bytes(b"# Title\n\nWe retrain the model every month on the newest labels.\n").problem is None
    assert parse_bytes(b"\x00\x01").problem == "the README is binary, not text"
    latin = "Caf\xe9 au lait: we retrain the model monthly on the new data.".encode("latin-1")
    assert parse_bytes(latin).problem is None  # one bad byte is tolerated, not a reason to fail

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


STRUCTURED = """## Retraining

Refit early when:

- PSI above 0.25 on a top-10 feature
  for two months, once the cause is real behaviour
- lift under 3x for two months running

Otherwise monthly, on `tenure_months` and the `plan` column.
"""


def test_a_list_item_keeps_its_lead_in_line_and_its_continuation_lines() -> None:
    by_text = {s.text: s for s in parse(STRUCTURED).sentences}
    first = by_text["PSI above 0.25 on a top-10 feature for two months, once the cause is real behaviour"]
    assert (first.kind, first.line, first.lead, first.lead_line) == ("item", 5, "Refit early when:", 3)
    assert by_text["lift under 3x for two months running"].lead == "Refit early when:"
    after = by_text["Otherwise monthly, on tenure_months and the plan column."]
    assert after.kind == "prose" and after.lead == ""


def test_code_spans_are_kept_as_written() -> None:
    (sentence,) = [s for s in parse(STRUCTURED).sentences if s.text.startswith("Otherwise")]
    assert sentence.code == ("tenure_months", "plan")


def test_statements_join_a_lead_in_with_its_item_and_two_sentences_of_a_paragraph() -> None:
    from grader.writeup.statements import statements

    text = STRUCTURED + "\nWe rely on delayed ground-truth labels. Month T's outcome is known only at T+1.\n"
    found = {unit.text for unit in statements(parse(text))}
    assert "Refit early when: lift under 3x for two months running" in found
    assert "We rely on delayed ground-truth labels. Month T's outcome is known only at T+1." in found

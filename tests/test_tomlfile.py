"""The one TOML helper: every problem names the file, the line and the entry, on one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from grader.errors import BadInput, GraderError
from grader.tomlfile import MAX_PROBLEMS, TomlModel, load_toml, parse_toml, read_toml, validate


class Rule(TomlModel):
    id: str
    points: float = Field(gt=0)
    scale: dict[str, float] | None = None


class Part(TomlModel):
    id: str
    weight: float = Field(gt=0)
    rules: list[Rule] = Field(default_factory=list, alias="rule")


class Limits(TomlModel):
    memory_mb: int = Field(gt=0)
    cpus: float = Field(gt=0)


class Document(TomlModel):
    title: str
    notes: str = ""
    limits: Limits
    parts: list[Part] = Field(alias="part")


TEXT = '''title = "example"
notes = """
[limits]
not a header: inside a multi-line string
"""

[limits]
memory_mb = 512
cpus = 1.5

[[part]]
id = "first"
weight = 10

[[part.rule]]
id = "a"
points = 5

[[part]]
id = "second"
weight = 20

[[part.rule]]
id = "b"
points = 5

[[part.rule]]
id = "c"
points = 5
scale = { zero_at = 0.0, full_at = 1.0 }
'''


def refused(text: str, model: type[BaseModel] = Document) -> str:
    with pytest.raises(BadInput) as caught:
        validate(model, parse_toml(text, "x.toml", what="example"))
    return str(caught.value)


def line(text: str, content: str, occurrence: int = 0) -> int:
    return [n for n, shown in enumerate(text.splitlines(), 1) if shown == content][occurrence]


def test_a_valid_file_validates_and_keeps_its_text(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text(TEXT)
    source = read_toml(path)
    assert source.text == TEXT and source.data["title"] == "example"
    loaded = load_toml(Document, path)
    assert [rule.id for part in loaded.parts for rule in part.rules] == ["a", "b", "c"]
    path.write_text(TEXT.replace("notes", "titel"))
    with pytest.raises(BadInput, match=r"x\.toml:2: unknown field `titel` \(did you mean `title`\?\)"):
        load_toml(Document, path)


def test_a_bad_value_in_a_nested_array_of_tables_points_at_its_own_line() -> None:
    text = TEXT.replace('id = "c"\npoints = 5', 'id = "c"\npoints = -5')
    message = refused(text)
    assert message.startswith(f"example x.toml:{line(text, 'points = -5')}: part[second].rule[c].points: ")
    assert "greater than 0" in message and "\n" not in message


def test_a_key_of_a_plain_table_and_an_inline_table() -> None:
    text = TEXT.replace("cpus = 1.5", "cpus = -1")
    assert refused(text).startswith(f"example x.toml:{line(text, 'cpus = -1')}: limits.cpus: ")
    text = TEXT.replace("full_at = 1.0", 'full_at = "one"')
    assert refused(text).startswith(f"example x.toml:{line(text, text.splitlines()[-1])}: part[second].rule[c].scale")


def test_a_missing_key_points_at_its_table_and_a_missing_top_level_key_at_line_1() -> None:
    text = TEXT.replace('id = "b"\npoints = 5\n', 'id = "b"\n')
    assert f"x.toml:{line(text, '[[part.rule]]', 1)}: missing `points` in part[second].rule[b]" in refused(text)
    text = TEXT.replace('title = "example"\n', "")
    assert "x.toml:1: missing `title`" in refused(text)


def test_a_header_inside_a_multi_line_string_is_not_a_table() -> None:
    text = TEXT.replace("memory_mb = 512", "memory_mb = 0")
    assert refused(text).startswith(f"example x.toml:{line(text, 'memory_mb = 0')}: limits.memory_mb")


def test_an_unknown_field_suggests_the_closest_or_lists_the_known_ones() -> None:
    text = TEXT.replace("weight = 20", "wieght = 20\nweight = 20")
    assert f"x.toml:{line(text, 'wieght = 20')}: unknown field `wieght` in part[second] (did you mean `weight`?)" in (
        refused(text)
    )
    text = TEXT.replace("cpus = 1.5", "cpus = 1.5\ncolour = 2")
    assert "unknown field `colour` in limits (known: memory_mb, cpus)" in refused(text)


def test_syntax_errors_name_their_line_and_many_problems_are_counted() -> None:
    with pytest.raises(BadInput, match=r"^example x\.toml:3: not valid TOML: "):
        parse_toml("a = 1\nb = 2\nc = = 3\n", "x.toml", what="example")
    many = TEXT + "".join(f'\n[[part]]\nid = "p{n}"\nweight = -1\n' for n in range(MAX_PROBLEMS + 3))
    message = refused(many)
    assert message.count("greater than 0") == MAX_PROBLEMS and message.endswith("; and 3 more")


def test_the_callers_error_class_and_defaults_for_missing_tables(tmp_path: Path) -> None:
    class SpecError(GraderError):
        pass

    path = tmp_path / "limits.toml"
    path.write_text('title = "t"\npart = []\n')
    with pytest.raises(SpecError, match=r"^spec .*limits\.toml:1: missing `limits`$"):
        load_toml(Document, path, what="spec", error=SpecError)
    loaded = load_toml(Document, path, defaults={"limits": {"memory_mb": 1, "cpus": 1.0}})
    assert loaded.limits.memory_mb == 1
    path.write_text('title = "t"\npart = []\n[limits]\nmemory_mb = 2\ncpus = 2.0\n')
    assert load_toml(Document, path, defaults={"limits": {"memory_mb": 1, "cpus": 1.0}}).limits.memory_mb == 2


def test_unreadable_oversized_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match=r"absent\.toml: cannot read it"):
        read_toml(tmp_path / "absent.toml")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00x = 1")
    with pytest.raises(BadInput, match=r"binary\.toml:1: not UTF-8 text"):
        read_toml(binary)
    big = tmp_path / "big.toml"
    big.write_text("#" * 3000)
    with pytest.raises(BadInput, match=r"big\.toml: 2 KB, over the 1 KB a note may be: is it the right file\?"):
        read_toml(big, max_bytes=1024, kind="a note")

"""Decode a candidate's text file the way their tools read it.

A requirements.txt saved by Windows PowerShell is UTF-16 with a byte-order mark, which pip
reads; Notepad writes UTF-8 with a BOM, which pip, Docker and Python skip; an older editor
writes the Windows code page. Read as plain UTF-8, the first leaves NUL characters in every
line (and so in the report), the second hides `FROM` behind U+FEFF, the third turns accents
into replacement characters. One decoder serves every reader of candidate text.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

# Longest marks first: UTF-32-LE's BOM starts with UTF-16-LE's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# How much of a file the NUL pattern of BOM-less UTF-16 is judged on.
_SNIFF_BYTES = 4096
# Text without a BOM is taken for UTF-16 when most of one byte column is NUL and almost none of the other.
_UTF16_NUL_SHARE, _OTHER_NUL_SHARE = 0.4, 0.05
# Control characters no text file holds (tab, newlines and form feed apart), C1 included: a
# Windows code page never decodes to them, only bytes that are no text in any encoding do.
_CONTROL = {code: None for code in (*range(32), *range(0x7F, 0xA0)) if chr(code) not in "\t\n\r\f"}
# More than this share of control characters after decoding: binary, not text.
_BINARY_SHARE = 0.01


@dataclass(frozen=True)
class DecodedText:
    """A candidate's file as text, the encoding it was read with, and whether it is text at all.

    `text` never holds a NUL: any left after decoding became U+FFFD. `bom` says whether the
    encoding came from a byte-order mark.
    """

    text: str
    encoding: str
    bom: bool = False
    binary: bool = False

    @property
    def described(self) -> str:
        """The encoding in a report's words, e.g. 'utf-16-le (byte-order mark)'."""
        return f"{self.encoding} (byte-order mark)" if self.bom else self.encoding


def _utf16_without_bom(raw: bytes) -> str | None:
    sample = raw[: _SNIFF_BYTES - _SNIFF_BYTES % 2]
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    even = sample[0::2].count(0) / pairs
    odd = sample[1::2].count(0) / pairs
    if odd >= _UTF16_NUL_SHARE and even <= _OTHER_NUL_SHARE:
        return "utf-16-le"
    if even >= _UTF16_NUL_SHARE and odd <= _OTHER_NUL_SHARE:
        return "utf-16-be"
    return None


def _finish(text: str, encoding: str, bom: bool) -> DecodedText:
    controls = len(text) - len(text.translate(_CONTROL))
    binary = "\x00" in text or controls > max(1, len(text) * _BINARY_SHARE)
    return DecodedText(text.replace("\x00", "\ufffd"), encoding, bom, binary)


def decode_text(raw: bytes) -> DecodedText:
    """The bytes as text: a BOM's encoding, else BOM-less UTF-16, UTF-8, Windows-1252, Latin-1.

    Never raises: a code unit cut off by a read cap, or a byte no encoding fits, becomes U+FFFD.
    """
    for mark, encoding in _BOMS:
        if raw.startswith(mark):
            return _finish(raw[len(mark) :].decode(encoding, "replace"), encoding, True)
    utf16 = _utf16_without_bom(raw)
    if utf16 is not None:
        return _finish(raw.decode(utf16, "replace"), utf16, False)
    try:
        return _finish(raw.decode("utf-8"), "utf-8", False)
    except UnicodeDecodeError as exc:
        # A file cut by a read cap mid-character is still UTF-8.
        if exc.start >= len(raw) - 3 and exc.reason == "unexpected end of data":
            return _finish(raw.decode("utf-8", "replace"), "utf-8", False)
    try:
        # What Windows tools (pip, Python's open()) read with there; five bytes it leaves undefined.
        return _finish(raw.decode("cp1252"), "cp1252", False)
    except UnicodeDecodeError:
        return _finish(raw.decode("latin-1"), "latin-1", False)


def read_file_text(path: Path) -> str:
    """A candidate's file (already found safe to read) decoded by `decode_text`."""
    return decode_text(path.read_bytes()).text

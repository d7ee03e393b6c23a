"""Candidate text read the way their tools read it: BOMs, UTF-16, a Windows code page (issue #13).

A submission saved on Windows is discovered and its README judged like any other, and no
NUL character from a UTF-16 file reaches the evidence.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from submission_layouts import AUDIT_CELLS, FASTAPI_MAIN, write_notebook

from grader.submission import discover
from grader.submission.text import decode_text
from grader.writeup import collect_writeup
from grader.writeup.text import read_document

REQUIREMENTS = "# pins for the service — für Windows\nfastapi==0.115.0\nuvicorn==0.30.6\npandas\n"
DOCKERFILE = """\
FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY app/ app/
EXPOSE 8080
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8080"]
"""
README = """# Churn model — monitoring

We retrain the model every month on the newest labelled month, café-style: small and often.
Drift in the tenure feature is checked weekly with a PSI threshold of 0.2, and an alert
goes to the on-call owner when the precision at the top decile falls below its baseline.
"""


@pytest.mark.parametrize(
    ("raw", "encoding", "bom"),
    [
        (REQUIREMENTS.encode("utf-16"), "utf-16-le", True),  # PowerShell 5's `>`: UTF-16-LE with a BOM
        (codecs.BOM_UTF16_BE + REQUIREMENTS.encode("utf-16-be"), "utf-16-be", True),
        (REQUIREMENTS.encode("utf-32"), "utf-32-le", True),
        (REQUIREMENTS.encode("utf-8-sig"), "utf-8", True),  # Notepad's "UTF-8 with BOM"
        (REQUIREMENTS.encode("utf-16-le"), "utf-16-le", False),
        (REQUIREMENTS.encode("utf-16-be"), "utf-16-be", False),
        (REQUIREMENTS.encode("utf-8"), "utf-8", False),
        (REQUIREMENTS.encode("cp1252"), "cp1252", False),
    ],
)
def test_text_is_decoded_by_its_bom_its_nul_pattern_or_a_windows_code_page(
    raw: bytes, encoding: str, bom: bool
) -> None:
    decoded = decode_text(raw)
    assert (decoded.text, decoded.encoding, decoded.bom, decoded.binary) == (REQUIREMENTS, encoding, bom, False)


def test_what_no_encoding_reads_is_binary_and_decoding_never_raises() -> None:
    assert decode_text("café".encode("latin-1") + b" \x81").encoding == "latin-1"  # 0x81: undefined in cp1252
    cut = decode_text("naïve".encode()[:3])  # a read cap splitting "ï": still UTF-8
    assert (cut.encoding, cut.text) == ("utf-8", "na\ufffd")
    for raw in (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 8,
        bytes(range(128, 256)) * 8,
        b"\x00\x01",
    ):
        decoded = decode_text(raw)
        assert decoded.binary and "\x00" not in decoded.text
    assert decode_text(b"").text == "" and not decode_text(b"").binary


def _windows_submission(root: Path) -> Path:
    notebook = write_notebook(root, "notebooks/01_audit.ipynb", AUDIT_CELLS)
    notebook.write_bytes(codecs.BOM_UTF8 + notebook.read_bytes())  # VS Code's "UTF-8 with BOM"
    (root / "requirements.txt").write_bytes(REQUIREMENTS.encode("utf-16"))
    (root / "Dockerfile").write_bytes(DOCKERFILE.encode("utf-8-sig"))
    (root / "README.md").write_bytes(README.encode("cp1252"))
    (root / "app").mkdir()
    (root / "app" / "main.py").write_bytes(FASTAPI_MAIN.encode("utf-8-sig"))
    return root


def test_a_submission_saved_on_windows_is_discovered_like_any_other(tmp_path: Path) -> None:
    found = discover(_windows_submission(tmp_path))
    assert [(n.path, n.valid, n.kind) for n in found.notebooks] == [("notebooks/01_audit.ipynb", True, "audit")]
    requirements = {r.path: r for r in found.requirements}["requirements.txt"]
    assert (requirements.requirements, requirements.pinned, requirements.problem) == (3, 2, None)
    assert requirements.encoding == "utf-16-le (byte-order mark)"
    # A UTF-8 BOM no longer hides the FROM (Docker skips it too).
    dockerfile = found.dockerfiles[0]
    assert dockerfile.base_images == ["python:3.11-slim"] and dockerfile.exposed_ports == [8080]
    assert found.port == 8080 and "uvicorn app.main:app" in (found.start_command or "")
    assert found.service is not None and found.service.path == "app/main.py"
    assert found.readme is not None and found.readme.words == len(README.split())
    evidence = found.model_dump_json()
    assert "\\u0000" not in evidence and "\x00" not in evidence and "\\ufffd" not in evidence


@pytest.mark.parametrize(
    ("encoded", "described"),
    [
        (README.encode("utf-16"), "utf-16-le (byte-order mark)"),
        (README.encode("cp1252"), "cp1252"),
        (README.encode("utf-8-sig"), None),
    ],
)
def test_the_writeup_reader_reads_a_readme_saved_on_windows(
    tmp_path: Path, encoded: bytes, described: str | None
) -> None:
    readme = tmp_path / "README.md"
    readme.write_bytes(encoded)
    document = read_document(readme)
    assert document.problem is None and document.text == README
    writeup = collect_writeup(readme)
    assert writeup.outcome.status == "ok"
    assert writeup.outcome.reasons == ([f"README read as {described}"] if described else [])
    assert writeup.words == document.words > 40
    evidence = writeup.model_dump_json()
    assert "\\u0000" not in evidence and "\x00" not in evidence and "\\ufeff" not in evidence

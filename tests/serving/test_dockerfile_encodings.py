"""The serving stage reads a Dockerfile, its requirements and .dockerignore saved on Windows
(a BOM, UTF-16, a code page) as Docker and pip do, and quotes them without NUL characters (#13)."""

from __future__ import annotations

from pathlib import Path

from grader.serving.dockerfile import facts, parse
from grader.serving.layout import plan
from grader.serving.practices import dockerfile_checks

DOCKERFILE = """\
FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt base.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY app/ app/
USER 10001
EXPOSE 8000
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000"]
"""


def test_windows_encodings_are_read_as_docker_and_pip_read_them(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_bytes(DOCKERFILE.encode("utf-8-sig"))
    # PowerShell's `pip freeze > requirements.txt`: UTF-16-LE with a BOM; an include in the code page.
    (tmp_path / "requirements.txt").write_bytes("-r base.txt\nfastapi==0.115.0\nuvicorn\n".encode("utf-16"))
    (tmp_path / "base.txt").write_bytes("# Abhängigkeiten\npandas==2.2.3\nscikit-learn\n".encode("cp1252"))
    (tmp_path / ".dockerignore").write_bytes("data/\n*.parquet\n".encode("utf-16"))
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text("from fastapi import FastAPI\napp = FastAPI()\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "churn.parquet").write_bytes(b"PAR1")
    parsed = parse(tmp_path / "Dockerfile")
    layout = plan(parsed, tmp_path)
    found = facts(parsed, "Dockerfile", layout.requirement_files())
    checks = {check.id: check for check in dockerfile_checks(parsed, found, layout)}
    assert parsed.stages and found.exposed_ports == [8000]
    pinned = checks["dockerfile.requirements_pinned"]
    assert not pinned.passed and pinned.detail == "unpinned: scikit-learn, uvicorn"
    assert pinned.figures["requirement_files"] == "requirements.txt"
    assert "data/churn.parquet" not in layout.included  # the UTF-16 .dockerignore was applied
    assert checks["dockerfile.dockerignore"].quotes[0].text == "data/\n*.parquet\n"
    for check in checks.values():
        dumped = check.model_dump_json()
        assert "\\u0000" not in dumped and "\x00" not in dumped and "\\ufeff" not in dumped, check.id

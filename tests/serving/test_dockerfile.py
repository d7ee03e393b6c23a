"""Dockerfile reading and practice checks: pure parsing, no Docker."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.serving.dockerfile import candidate_ports, facts, needs_port_env, parse
from grader.serving.evidence import DockerfileFacts
from grader.serving.layout import plan
from grader.serving.practices import dockerfile_checks

REPO = Path(__file__).resolve().parents[2]


def analyse(context: Path, dockerfile: str, files: dict[str, str] | None = None) -> tuple[DockerfileFacts, dict]:
    context.mkdir(parents=True, exist_ok=True)
    (context / "Dockerfile").write_text(dockerfile)
    for name, text in (files or {}).items():
        (context / name).parent.mkdir(parents=True, exist_ok=True)
        (context / name).write_text(text)
    parsed = parse(context / "Dockerfile")
    layout = plan(parsed, context)
    found = facts(parsed, "Dockerfile", layout.requirement_files())
    checks = {c.id: c for c in dockerfile_checks(parsed, found, layout)}
    return found, checks


GOOD = """\
FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY app/ app/
USER 10001
EXPOSE 8000
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health')"
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000"]
"""


def test_a_careful_dockerfile_passes_every_practice(tmp_path: Path) -> None:
    found, checks = analyse(
        tmp_path,
        GOOD,
        {
            "requirements.txt": "fastapi==0.165.0\nuvicorn==0.54.0\n",
            "app/main.py": "",
            ".dockerignore": "data/\n",
            "data/churn.parquet": "",
        },
    )
    assert {k: c.passed for k, c in checks.items() if not c.passed} == {}
    assert found.start.server == "uvicorn" and found.start.port == 8000 and found.start.form == "exec"
    assert found.exposed_ports == [8000] and found.user == "10001" and found.workdir == "/app"
    assert found.requirements_files == ["requirements.txt"]
    # Each practice quotes the line it judged.
    assert checks["dockerfile.non_root_user"].quotes[0].line == 6
    assert checks["dockerfile.non_root_user"].quotes[0].text == "USER 10001"


def test_shell_form_with_port_default_and_root_and_baked_data(tmp_path: Path) -> None:
    dockerfile = """\
FROM python:latest
WORKDIR /srv
COPY . .
RUN pip install -r requirements.txt fastapi
CMD uvicorn main:app --host 0.0.0.0 --port ${PORT:-9000}
"""
    found, checks = analyse(
        tmp_path,
        dockerfile,
        {
            "requirements.txt": "pandas>=2\nuvicorn==0.54.0\n",
            "main.py": "",
            "data/churn.csv": "a\n1\n",
            ".env": "MLFLOW_TOKEN=abc\n",
        },
    )
    assert found.start.form == "shell" and found.start.argv[:2] == ["/bin/sh", "-c"]
    assert found.start.port == 9000 and "default" in found.start.port_source
    assert candidate_ports(found)[0] == 9000
    assert not needs_port_env(found)
    failed = {k for k, c in checks.items() if c.passed is False}
    assert failed >= {
        "dockerfile.base_pinned",
        "dockerfile.exec_form",
        "dockerfile.non_root_user",
        "dockerfile.healthcheck",
        "dockerfile.requirements_pinned",
        "dockerfile.dockerignore",
        "dockerfile.no_baked_data",
        "dockerfile.no_baked_secrets",
        "dockerfile.dependency_layer_cached",
        "dockerfile.exposes_port",
    }
    assert (
        "pandas>=2" in checks["dockerfile.requirements_pinned"].detail
        and "fastapi" in checks["dockerfile.requirements_pinned"].detail
    )
    assert "data/churn.csv" in checks["dockerfile.no_baked_data"].detail
    assert ".env" in checks["dockerfile.no_baked_secrets"].detail
    assert checks["dockerfile.dependency_layer_cached"].quotes[0].text == "COPY . ."


def test_dockerignore_keeps_data_out_of_copy_everything(tmp_path: Path) -> None:
    dockerfile = 'FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\nCMD ["python", "serve.py"]\n'
    _, checks = analyse(
        tmp_path,
        dockerfile,
        {".dockerignore": "data/\n*.csv\n.env\n", "data/churn.parquet": "", "x.csv": "", ".env": "", "serve.py": ""},
    )
    assert checks["dockerfile.no_baked_data"].passed is True
    assert checks["dockerfile.no_baked_secrets"].passed is True


def test_entrypoint_combines_with_cmd_and_gunicorn_bind(tmp_path: Path) -> None:
    dockerfile = """\
FROM python:3.11-slim AS base
ENV PORT=7000
FROM base
ENTRYPOINT ["gunicorn", "-k", "uvicorn.workers.UvicornWorker"]
CMD ["--bind", "0.0.0.0:7000", "--workers", "3", "app:app"]
"""
    found, checks = analyse(tmp_path, dockerfile)
    assert found.start.argv == [
        "gunicorn",
        "-k",
        "uvicorn.workers.UvicornWorker",
        "--bind",
        "0.0.0.0:7000",
        "--workers",
        "3",
        "app:app",
    ]
    assert found.start.server == "gunicorn" and found.start.port == 7000 and found.start.workers == 3
    assert found.env == {"PORT": "7000"}  # inherited from the named stage
    assert checks["dockerfile.listens_all_interfaces"].passed is True


def test_entrypoint_in_a_later_stage_drops_an_inherited_cmd(tmp_path: Path) -> None:
    dockerfile = 'FROM python:3.11-slim AS base\nCMD ["python", "-V"]\nFROM base\nENTRYPOINT ["uvicorn", "app:app", "--host", "0.0.0.0"]\n'
    found, _ = analyse(tmp_path, dockerfile)
    assert found.start.argv == ["uvicorn", "app:app", "--host", "0.0.0.0"]
    assert found.start.port == 8000 and found.start.port_source == "uvicorn's default"


def test_default_host_is_loopback_and_unreachable(tmp_path: Path) -> None:
    found, checks = analyse(tmp_path, 'FROM python:3.11-slim\nCMD ["uvicorn", "app:app"]\n')
    assert found.start.host.startswith("127.0.0.1")
    assert checks["dockerfile.listens_all_interfaces"].passed is False


def test_exec_form_does_not_expand_variables(tmp_path: Path) -> None:
    found, checks = analyse(
        tmp_path, 'FROM python:3.11-slim\nCMD ["uvicorn", "app:app", "--host", "0.0.0.0", "--port", "${PORT}"]\n'
    )
    assert found.start.port is None
    assert "exec form does not expand" in found.start.port_source
    assert checks["dockerfile.start_command"].passed is False


def test_port_from_env_and_port_env_needed(tmp_path: Path) -> None:
    found, _ = analyse(tmp_path, "FROM python:3.11-slim\nCMD uvicorn app:app --host 0.0.0.0 --port $PORT\n")
    assert found.start.port is None and needs_port_env(found)
    found, _ = analyse(
        tmp_path / "b", 'FROM python:3.11-slim\nENV PORT 8080\nCMD exec uvicorn app:app --host 0.0.0.0 --port "$PORT"\n'
    )
    assert found.start.port == 8080 and found.start.port_source == "ENV PORT" and not needs_port_env(found)


def test_continuations_comments_and_arg_in_from(tmp_path: Path) -> None:
    dockerfile = """\
ARG PYTHON=3.11
FROM python:${PYTHON}-slim
# dependencies
RUN pip install \\
    # the web stack
    fastapi==0.165.0 \\
    uvicorn==0.54.0
CMD ["uvicorn", "app:app", "--host", "0.0.0.0"]
"""
    found, checks = analyse(tmp_path, dockerfile)
    assert found.base_images == ["python:3.11-slim"]
    assert checks["dockerfile.requirements_pinned"].passed is True
    assert checks["dockerfile.requirements_pinned"].quotes[0].line == 4


def test_external_images_are_from_bases_and_copy_from_images_not_stages(tmp_path: Path) -> None:
    dockerfile = """\
ARG PY=3.12.5
FROM python:${PY}-slim AS Builder
COPY --from=ghcr.io/astral-sh/uv:0.4.0 /uv /bin/uv
RUN uv pip install --system fastapi==0.165.0
FROM builder AS tested
FROM scratch AS empty
FROM docker.io/library/python:3.12.5-slim
COPY --from=builder /usr/local /usr/local
COPY --from=BUILDER /app /app
COPY --from=0 /etc/hostname /tmp/first
COPY --from="ghcr.io/astral-sh/uv:0.4.0" /uvx /bin/uvx
COPY --from=python:3.13-slim /usr/local/bin/python3.13 /opt/
COPY --chown=10001 app.py /app/
CMD ["python", "app.py"]
"""
    found, _ = analyse(tmp_path, dockerfile, {"app.py": ""})
    parsed = parse(tmp_path / "Dockerfile")
    external = [(e.reference, e.used_by, e.line) for e in parsed.external_images()]
    assert external == [
        ("python:3.12.5-slim", "FROM", 2),
        ("ghcr.io/astral-sh/uv:0.4.0", "COPY --from", 3),
        ("docker.io/library/python:3.12.5-slim", "FROM", 7),
        ("python:3.13-slim", "COPY --from", 12),
    ]
    assert found.copied_from_images == ["ghcr.io/astral-sh/uv:0.4.0", "python:3.13-slim"]
    assert found.base_images == ["python:3.12.5-slim", "builder", "scratch", "docker.io/library/python:3.12.5-slim"]


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("RUN --mount=type=cache,target=/root/.cache pip install fastapi==0.165.0", "RUN --mount"),
        ("COPY --link app.py .", "COPY --link"),
        ("RUN <<EOF\npip install fastapi==0.165.0\nEOF", "heredoc"),
    ],
)
def test_buildkit_only_syntax_is_a_clear_reason(tmp_path: Path, line: str, needle: str) -> None:
    found, checks = analyse(tmp_path, f'FROM python:3.11-slim\n{line}\nCMD ["python", "app.py"]\n', {"app.py": ""})
    assert checks["dockerfile.supported_syntax"].passed is False
    assert needle in checks["dockerfile.supported_syntax"].detail
    assert any("BuildKit" in reason for reason in found.unsupported)


def test_syntax_directive_alone_is_noted_but_builds(tmp_path: Path) -> None:
    _found, checks = analyse(tmp_path, '# syntax=docker/dockerfile:1\nFROM python:3.11-slim\nCMD ["python", "-V"]\n')
    assert checks["dockerfile.supported_syntax"].passed is True
    assert "ignores it" in checks["dockerfile.supported_syntax"].detail


def test_secret_in_env(tmp_path: Path) -> None:
    _, checks = analyse(
        tmp_path, 'FROM python:3.11-slim\nENV API_KEY=sk-live-123 LOG_LEVEL=info\nCMD ["python", "-V"]\n'
    )
    assert checks["dockerfile.no_baked_secrets"].passed is False
    assert "API_KEY" in checks["dockerfile.no_baked_secrets"].detail


def test_no_start_command(tmp_path: Path) -> None:
    found, checks = analyse(tmp_path, "FROM python:3.11-slim\nRUN pip install fastapi==0.165.0\n")
    assert found.start is None
    assert checks["dockerfile.start_command"].passed is False


@pytest.mark.parametrize("variant", ["leaky", "minimal", "strong", "broken-serving"])
def test_reference_dockerfiles_parse(variant: str) -> None:
    context = REPO / "reference" / variant
    if not (context / "Dockerfile").is_file():
        pytest.skip(f"reference/{variant} has no Dockerfile yet")
    parsed = parse(context / "Dockerfile")
    layout = plan(parsed, context)
    found = facts(parsed, "Dockerfile", layout.requirement_files())
    checks = {c.id: c for c in dockerfile_checks(parsed, found, layout)}
    assert found.start is not None and found.start.server is not None
    assert checks["dockerfile.supported_syntax"].passed is True
    if variant == "strong":
        assert all(c.passed for c in checks.values()), {k: c.detail for k, c in checks.items() if not c.passed}
    if variant == "minimal":
        assert checks["dockerfile.requirements_pinned"].passed is False
        assert checks["dockerfile.dependency_layer_cached"].passed is False


def test_copy_targets_stay_in_the_image_and_symlinks_out_of_the_context_are_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "host-secret.txt"
    outside.write_text("uvicorn\n")
    context = tmp_path / "context"
    context.mkdir()
    (context / "requirements.txt").symlink_to(outside)
    (context / "app.py").write_text("")
    dockerfile = (
        "FROM python:3.11-slim\nWORKDIR /app/../../srv\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n"
        'COPY app.py ../../../etc/app.py\nCMD ["python", "app.py"]\n'
    )
    (context / "Dockerfile").write_text(dockerfile)
    parsed = parse(context / "Dockerfile")
    layout = plan(parsed, context)
    assert dict(layout.files()) == {"requirements.txt": "/srv/requirements.txt", "app.py": "/etc/app.py"}
    assert layout.requirement_file(layout.pip_installs[0], "requirements.txt") is None
    checks = {c.id: c for c in dockerfile_checks(parsed, facts(parsed, "Dockerfile", []), layout)}
    assert "not found in the build context" in checks["dockerfile.requirements_pinned"].detail

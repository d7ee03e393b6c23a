"""The one Dockerfile reader: discovery and the serving stage read a Dockerfile the same way.

Each case is one where discovery's own reader used to disagree with the serving stage's:
a multi-stage file whose last stage serves, an escape directive, a CMD split over
continuation lines (a comment and a blank line inside), ports from ARG and ENV.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from submission_layouts import FASTAPI_MAIN, write

from grader.serving.dockerfile import facts
from grader.submission import discover
from grader.submission.docker import parse_dockerfile
from grader.submission.dockerfile import copies, exposed_ports, image_env, image_workdir, parse, parse_text, walk

MULTI_STAGE = """\
FROM python:3.11 AS builder
WORKDIR /build
COPY requirements.txt .
RUN pip wheel -r requirements.txt -w /wheels
EXPOSE 5000
CMD ["python", "train.py"]

FROM python:3.11-slim
WORKDIR /srv
COPY --from=builder /wheels /wheels
COPY app/ app/
EXPOSE 8000
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000"]
"""
ESCAPE = """\
# escape=`
FROM python:3.11-slim
WORKDIR /app
RUN dir C:\\
COPY app/ app/
EXPOSE 8080
CMD ["uvicorn", "app.main:app", `
     "--host", "0.0.0.0", `
     "--port", "8080"]
"""
CONTINUED = """\
FROM python:3.11-slim
WORKDIR /app
COPY . .
CMD uvicorn app.main:app \\
    # the port the grader probes
    --host 0.0.0.0 \\

    --port 8000
"""
ARG_AND_ENV = """\
ARG BASE=python:3.11-slim
ARG PORT=7000
FROM ${BASE}
ARG PORT
ARG APP_HOME=/srv
ENV APP_PORT=${PORT} HOME_DIR=${APP_HOME}
WORKDIR ${APP_HOME}
COPY app/ ${APP_HOME}/app/
EXPOSE ${APP_PORT}
CMD uvicorn app.main:app --host 0.0.0.0 --port ${APP_PORT}
"""
CASES = {
    "multi-stage": (MULTI_STAGE, [8000], "uvicorn app.main:app --host 0.0.0.0 --port 8000"),
    "escape": (ESCAPE, [8080], "uvicorn app.main:app --host 0.0.0.0 --port 8080"),
    "continued": (CONTINUED, [], "uvicorn app.main:app --host 0.0.0.0 --port 8000"),
    "arg-and-env": (ARG_AND_ENV, [7000], "uvicorn app.main:app --host 0.0.0.0 --port ${APP_PORT}"),
}


@pytest.mark.parametrize("case", CASES)
def test_discovery_reads_what_the_final_image_starts_and_exposes(tmp_path: Path, case: str) -> None:
    text, ports, command = CASES[case]
    write(tmp_path, "Dockerfile", text)
    write(tmp_path, "app/main.py", FASTAPI_MAIN)
    found = discover(tmp_path)
    assert found.dockerfile is not None and found.dockerfile.problem is None
    assert found.dockerfile.exposed_ports == ports
    assert found.port == (ports[0] if ports else None)
    assert " ".join((found.start_command or "").split()) == command and found.dockerfile.serves
    assert found.service is not None and found.service.path == "app/main.py"


@pytest.mark.parametrize("case", CASES)
def test_discovery_and_the_serving_stage_agree(tmp_path: Path, case: str) -> None:
    text = CASES[case][0]
    write(tmp_path, "Dockerfile", text)
    found = discover(tmp_path).dockerfile
    recorded = facts(parse(tmp_path / "Dockerfile"), "Dockerfile", [])
    assert found is not None and recorded.start is not None
    assert found.exposed_ports == recorded.exposed_ports
    assert found.base_images == recorded.base_images
    assert found.env == recorded.env
    argv = recorded.start.argv
    assert found.start_command == (argv[2] if recorded.start.form == "shell" else " ".join(argv))


def test_only_the_final_stages_lineage_counts() -> None:
    parsed = parse_text(MULTI_STAGE, Path("Dockerfile"))
    assert [stage.alias for stage in parsed.lineage()] == [None]
    assert exposed_ports(parsed) == [8000] and image_workdir(parsed) == "/srv"
    # A COPY --from another stage brings nothing from the build context.
    assert copies(parsed) == [("app/", "/srv/app")]
    # A final stage built FROM an earlier one inherits its EXPOSE, WORKDIR, ENV and CMD.
    inherited = parse_text(
        'FROM python:3.11-slim AS base\nENV A=1\nWORKDIR /app\nEXPOSE 9000\nCMD ["uvicorn", "m:app"]\n'
        "FROM base\nENV B=${A}2\nWORKDIR sub\nRUN true\n",
        Path("Dockerfile"),
    )
    assert exposed_ports(inherited) == [9000] and image_workdir(inherited) == "/app/sub"
    assert image_env(inherited) == {"A": "1", "B": "12"}
    # A server in a first stage does not make a file whose final stage trains serve.
    trains = (
        'FROM python:3.11 AS api\nEXPOSE 8000\nCMD ["uvicorn", "m:app"]\nFROM python:3.11\nCMD ["python", "train.py"]\n'
    )
    assert exposed_ports(parse_text(trains, Path("D"))) == []
    info = parse_dockerfile("D", trains)
    assert not info.serves and info.start_command == "python train.py" and info.base_images == ["python:3.11"] * 2


def test_build_variables_follow_docker_scoping() -> None:
    parsed = parse_text(ARG_AND_ENV, Path("Dockerfile"))
    assert [stage.base for stage in parsed.stages] == ["python:3.11-slim"]
    assert image_env(parsed) == {"APP_PORT": "7000", "HOME_DIR": "/srv"}
    assert image_workdir(parsed) == "/srv" and copies(parsed) == [("app/", "/srv/app")]
    # A global ARG reaches a stage only where the stage declares it again.
    undeclared = parse_text("ARG PORT=7000\nFROM python:3.11-slim\nEXPOSE ${PORT:-8000} $PORT\n", Path("D"))
    assert exposed_ports(undeclared) == [8000]
    # ENV wins over an ARG of the same name; an ARG does not outlive its stage.
    scoped = parse_text(
        "FROM python:3.11-slim AS base\nARG PORT=1000\nENV PORT=2000\nARG PORT=3000\nEXPOSE $PORT\n"
        "FROM base\nARG OTHER=4000\nEXPOSE ${OTHER}\n",
        Path("D"),
    )
    assert exposed_ports(scoped) == [2000, 4000]
    steps = walk(scoped).steps
    assert steps[-1].variables == {"PORT": "2000", "OTHER": "4000"}


def test_a_line_continuation_keeps_the_lines_of_its_instruction() -> None:
    parsed = parse_text(CONTINUED, Path("Dockerfile"))
    cmd = parsed.inherited("CMD")
    assert cmd is not None and cmd.line == 4 and "--port 8000" in cmd.args
    assert [i.keyword for i in parsed.instructions] == ["FROM", "WORKDIR", "COPY", "CMD"]
    escaped = parse_text(ESCAPE, Path("Dockerfile"))
    assert [i.keyword for i in escaped.instructions] == ["FROM", "WORKDIR", "RUN", "COPY", "EXPOSE", "CMD"]
    # A backslash ends the line as it is: with this escape, only ` continues one.
    assert escaped.instructions[2].args == "dir C:\\"

"""Which Dockerfile serves, from which build context, and what it starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from submission_layouts import FASTAPI_MAIN, dockerfile, write

from grader.submission import discover
from grader.submission.docker import image_to_context, parse_dockerfile

TRAINING_DOCKERFILE = 'FROM python:3.11\nCOPY . /work\nCMD ["python", "train.py"]\n'


@pytest.mark.parametrize(
    "name", ["Dockerfile", "dockerfile", "Dockerfile.api", "docker/api.Dockerfile", "Containerfile"]
)
def test_single_dockerfile_under_any_usual_name(tmp_path: Path, name: str) -> None:
    write(tmp_path, name, dockerfile(port=8080))
    found = discover(tmp_path)
    assert found.dockerfile and found.dockerfile.path == name
    assert found.dockerfile_reason == "the only Dockerfile"
    assert (found.port, found.dockerfile.serves, found.dockerfile.base_images) == (8080, True, ["python:3.11-slim"])
    assert found.build_context == ("docker" if name.startswith("docker/") else "")


def test_name_preference_among_several_dockerfiles(tmp_path: Path) -> None:
    for name in ("docker/api.Dockerfile", "Dockerfile.api", "dockerfile.dev", "Dockerfile"):
        write(tmp_path, name, dockerfile())
    found = discover(tmp_path)
    assert found.dockerfile and found.dockerfile.path == "Dockerfile"
    assert found.dockerfile_reason == "preferred by name among 4 Dockerfiles"
    assert sorted(d.path for d in found.dockerfiles) == [
        "Dockerfile",
        "Dockerfile.api",
        "docker/api.Dockerfile",
        "dockerfile.dev",
    ]
    (tmp_path / "Dockerfile").unlink()
    assert discover(tmp_path).dockerfile.path == "Dockerfile.api"
    (tmp_path / "Dockerfile.api").unlink()
    assert discover(tmp_path).dockerfile.path == "docker/api.Dockerfile"


def test_a_serving_dockerfile_beats_a_training_one_named_first(tmp_path: Path) -> None:
    write(tmp_path, "Dockerfile", TRAINING_DOCKERFILE)
    write(tmp_path, "Dockerfile.api", dockerfile())
    found = discover(tmp_path)
    assert found.dockerfile and found.dockerfile.path == "Dockerfile.api"
    assert found.dockerfile_reason == "the one that starts a server or exposes a port, among 2 Dockerfiles"


def test_compose_says_which_of_several_dockerfiles_serves(tmp_path: Path) -> None:
    write(tmp_path, "Dockerfile", dockerfile(port=5000))
    write(tmp_path, "docker/train.Dockerfile", TRAINING_DOCKERFILE)
    write(tmp_path, "docker/serve.Dockerfile", dockerfile(port=8000, command="uvicorn service.api:app --port 8000"))
    write(tmp_path, "service/api.py", FASTAPI_MAIN)
    write(
        tmp_path,
        "docker-compose.yml",
        """\
        services:
          mlflow:
            image: ghcr.io/mlflow/mlflow:v2.12.1
            ports: ["5000:5000"]
          trainer:
            build:
              context: .
              dockerfile: docker/train.Dockerfile
          churn-api:
            build:
              context: .
              dockerfile: docker/serve.Dockerfile
            ports:
              - "9000:8000"
            environment:
              MODEL_URI: models:/churn/Production
            command: uvicorn service.api:app --host 0.0.0.0 --port 8000
        """,
    )
    found = discover(tmp_path)
    assert found.compose_file == "docker-compose.yml" and found.compose_service == "churn-api"
    assert found.dockerfile and found.dockerfile.path == "docker/serve.Dockerfile"
    assert (
        found.dockerfile_reason
        == "docker-compose.yml: service 'churn-api' publishes a port and is named like a service"
    )
    assert (found.build_context, found.build_context_reason) == (
        "",
        "build.context of service 'churn-api' in docker-compose.yml",
    )
    assert (found.port, found.port_source) == (8000, "ports of service 'churn-api' in docker-compose.yml")
    assert found.start_command_origin == "the command of service 'churn-api' in docker-compose.yml"
    assert found.service and found.service.path == "service/api.py"
    assert found.model_loading.source == "registry"
    assert found.model_loading.remote_refs[0].source == "docker-compose.yml"


def test_compose_with_a_string_build_in_a_subfolder(tmp_path: Path) -> None:
    write(tmp_path, "api/Dockerfile", dockerfile(copy="main.py /app/main.py", command="uvicorn main:app"))
    write(tmp_path, "api/main.py", FASTAPI_MAIN)
    write(tmp_path, "Dockerfile", TRAINING_DOCKERFILE)
    write(tmp_path, "compose.yaml", "services:\n  web:\n    build: ./api\n")
    found = discover(tmp_path)
    assert found.dockerfile and found.dockerfile.path == "api/Dockerfile" and found.build_context == "api"
    assert found.dockerfile_reason == "compose.yaml: service 'web' is named like a service"
    assert found.service and found.service.path == "api/main.py" and found.service.import_name == "main"


def test_compose_naming_a_missing_dockerfile_or_broken_yaml_falls_back(tmp_path: Path) -> None:
    write(tmp_path, "Dockerfile", dockerfile())
    write(tmp_path, "docker-compose.yaml", "services:\n  api:\n    build:\n      context: ..\n      dockerfile: x\n")
    found = discover(tmp_path)
    assert found.dockerfile and found.dockerfile.path == "Dockerfile"
    assert "docker-compose.yaml: service 'api' builds from outside the submission; ignored" in found.problems
    write(tmp_path, "docker-compose.yaml", "services:\n  api:\n    build: [unclosed\n")
    found = discover(tmp_path)
    assert found.dockerfile and found.dockerfile.path == "Dockerfile"
    assert any(p.startswith("docker-compose.yaml cannot be read as YAML") for p in found.problems)
    write(tmp_path, "docker-compose.yaml", "services:\n  api:\n    build: {context: ., dockerfile: Dockerfile.gone}\n")
    found = discover(tmp_path)
    assert (
        "docker-compose.yaml: service 'api' builds 'Dockerfile.gone', which is not in the submission" in found.problems
    )


def test_build_context_is_the_root_when_copy_sources_live_there(tmp_path: Path) -> None:
    write(
        tmp_path,
        "docker/api.Dockerfile",
        "FROM python:3.11\nCOPY requirements.txt .\nCOPY src/ /app/src/\nCMD uvicorn src.api:app\n",
    )
    write(tmp_path, "requirements.txt", "fastapi==0.110\n")
    write(tmp_path, "src/api.py", FASTAPI_MAIN)
    found = discover(tmp_path)
    assert found.build_context == ""
    assert found.build_context_reason == "the root: 2 of 2 COPY sources exist there, 0 in 'docker'"


def test_dockerfile_parsing_details() -> None:
    info = parse_dockerfile(
        "Dockerfile",
        """\
        # syntax=docker/dockerfile:1
        FROM --platform=linux/amd64 python:3.11-slim AS base
        ARG MODEL_VERSION=3
        ENV MODEL_PATH=/opt/models/model.joblib \\
            PORT=8080
        ENV LEGACY value with spaces
        WORKDIR /opt
        COPY --from=base /usr/lib /usr/lib
        COPY models ./models
        ADD https://example.com/x.tar.gz /tmp/
        EXPOSE 8080/tcp $PORT
        ENTRYPOINT ["gunicorn", "-k", "uvicorn.workers.UvicornWorker"]
        CMD ["app.main:app"]
        """.replace("        ", ""),
    )
    assert info.base_images == ["python:3.11-slim"]
    # The image's environment when it runs: an ARG is the build's, not the container's.
    assert info.env == {
        "MODEL_PATH": "/opt/models/model.joblib",
        "PORT": "8080",
        "LEGACY": "value with spaces",
    }
    assert info.copies == [("models", "/opt/models")]
    assert info.exposed_ports == [8080]
    assert info.start_command == "gunicorn -k uvicorn.workers.UvicornWorker app.main:app" and info.serves
    assert image_to_context(info, "/opt/models/model.joblib") == ["models/model.joblib", "model.joblib"]
    assert parse_dockerfile("Dockerfile", "RUN echo hi\n").problem == "no FROM instruction"


def test_unreadable_dockerfile_is_recorded(tmp_path: Path) -> None:
    with open(tmp_path / "Dockerfile", "wb") as handle:
        handle.truncate(2 * 1024 * 1024)
    found = discover(tmp_path)
    assert found.dockerfile and found.dockerfile.problem and "over the 1.0 MB cap" in found.dockerfile.problem
    assert found.dockerfile.problem in found.problems

"""Discovery over whole layouts: the standard one, an empty one, hostile ones, manifests."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from submission_layouts import (
    AUDIT_CELLS,
    FASTAPI_MAIN,
    MODELING_CELLS,
    dockerfile,
    standard_submission,
    write,
    write_notebook,
)

from grader.errors import BadInput
from grader.submission import Manifest, Submission, discover, parse_manifest


def test_standard_layout_finds_every_deliverable(tmp_path: Path) -> None:
    found = discover(standard_submission(tmp_path))
    assert [nb.path for nb in found.notebooks] == ["notebooks/01_audit.ipynb", "notebooks/02_modeling.ipynb"]
    assert found.dockerfile and found.dockerfile.path == "Dockerfile"
    assert found.build_context == ""
    assert found.port == 8000 and found.port_source == "EXPOSE in Dockerfile"
    assert found.service and found.service.path == "app/main.py"
    assert (found.service.framework, found.service.app_object, found.service.import_name) == (
        "fastapi",
        "app",
        "app.main",
    )
    assert found.readme and found.readme.path == "README.md" and found.readme.words == 502
    assert [(r.path, r.pinned_fraction) for r in found.requirements] == [("requirements.txt", 1.0)]
    assert [(m.path, m.format) for m in found.model_files] == [("models/model.joblib", "joblib")]
    assert found.model_loading.source == "committed"
    assert found.missing == [] and found.problems == []
    assert found.path("app/main.py").is_file()


def test_empty_folder_has_everything_missing(tmp_path: Path) -> None:
    found = discover(tmp_path)
    assert found.notebooks == [] and found.dockerfile is None and found.service is None and found.readme is None
    missing = "\n".join(found.missing)
    for deliverable in ("notebook", "Dockerfile", "service module", "README", "requirements file", "trained model"):
        assert deliverable in missing, (deliverable, found.missing)
    assert found.problems == []


def test_missing_root_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="does not exist"):
        discover(tmp_path / "nope")


def test_submission_round_trips_through_json(tmp_path: Path) -> None:
    found = discover(standard_submission(tmp_path))
    again = Submission.model_validate(json.loads(found.model_dump_json()))
    assert again == found


def test_committed_virtualenv_with_thousands_of_files_is_skipped_quickly(tmp_path: Path) -> None:
    standard_submission(tmp_path)
    site = tmp_path / ".venv" / "lib" / "python3.11" / "site-packages"
    module = write(tmp_path, ".venv/template.py", "from fastapi import FastAPI\napp = FastAPI()\n")
    for package in range(60):
        folder = site / f"pkg{package}"
        folder.mkdir(parents=True)
        for number in range(50):
            os.link(module, folder / f"m{number}.py")  # 3000 real files, without 3000 writes
    (tmp_path / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    write_notebook(tmp_path, ".venv/share/jupyter/example.ipynb", AUDIT_CELLS)
    # A virtualenv under any name is recognised by its pyvenv.cfg.
    write(tmp_path, "myenv/pyvenv.cfg", "home = /usr/bin\n")
    write(tmp_path, "myenv/lib/site.py", "from flask import Flask\napp = Flask(__name__)\n")
    for name in (
        "__pycache__",
        "notebooks/.ipynb_checkpoints",
        "node_modules",
        ".mypy_cache",
        "checkpoints",
        "lightning_logs",
        "wandb",
    ):
        write_notebook(tmp_path, f"{name}/copy.ipynb", AUDIT_CELLS)
    started = time.perf_counter()
    found = discover(tmp_path)
    elapsed = time.perf_counter() - started
    assert elapsed < 1.0, elapsed
    assert [nb.path for nb in found.notebooks] == ["notebooks/01_audit.ipynb", "notebooks/02_modeling.ipynb"]
    assert found.service_candidates == ["app/main.py"]
    assert found.skipped[".venv"] == 1 and found.skipped["virtualenv"] == 1
    for name in (
        "__pycache__",
        ".ipynb_checkpoints",
        "node_modules",
        ".mypy_cache",
        "checkpoints",
        "lightning_logs",
        "wandb",
    ):
        assert found.skipped[name] == 1, name
    assert ".venv" in found.skipped_paths and "myenv" in found.skipped_paths


def test_symlinks_leaving_the_root_are_recorded_and_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write_notebook(outside, "secret.ipynb", AUDIT_CELLS)
    write(outside, "app.py", FASTAPI_MAIN)
    root = standard_submission(tmp_path / "submission")
    (root / "README.md").unlink()
    os.symlink("/etc/passwd", root / "README.md")
    os.symlink(outside, root / "linked")
    os.symlink("../outside/secret.ipynb", root / "notebooks" / "00_linked.ipynb")
    os.symlink("missing-target", root / "dangling.txt")
    found = discover(root)
    links = {link.path: link for link in found.symlinks}
    assert set(links) == {"README.md", "linked", "notebooks/00_linked.ipynb", "dangling.txt"}
    assert not any(link.followed for link in links.values())
    assert links["README.md"].target == "/etc/passwd" and not links["README.md"].inside_root
    assert found.readme is None and "no README found" in found.missing
    assert [nb.path for nb in found.notebooks] == ["notebooks/01_audit.ipynb", "notebooks/02_modeling.ipynb"]
    assert found.service_candidates == ["app/main.py"]
    problems = "\n".join(found.problems)
    assert "symlink 'README.md' -> '/etc/passwd' leads outside the submission; not followed" in problems
    assert "symlink 'linked'" in problems and "'dangling.txt'" in problems


def test_symlink_to_a_file_inside_the_root_is_used(tmp_path: Path) -> None:
    root = standard_submission(tmp_path)
    (root / "README.md").rename(root / "WRITEUP.md")
    os.symlink("WRITEUP.md", root / "README.md")
    found = discover(root)
    assert found.readme and found.readme.path == "README.md" and found.readme.words == 502
    assert found.symlinks[0].inside_root and found.symlinks[0].followed


def test_manifest_overrides_discovery(tmp_path: Path) -> None:
    write_notebook(tmp_path, "work/b_model.ipynb", MODELING_CELLS)
    write_notebook(tmp_path, "work/a_audit.ipynb", AUDIT_CELLS)
    write_notebook(tmp_path, "scratch.ipynb", AUDIT_CELLS)
    write(tmp_path, "deploy/serving.containerfile", dockerfile(port=9000, command='["python", "-m", "churn.http"]'))
    write(tmp_path, "Dockerfile", "FROM python:3.11\nCMD python train.py\n")
    write(tmp_path, "src/churn/__init__.py")
    write(tmp_path, "src/churn/http.py", FASTAPI_MAIN.replace("app = FastAPI", "api = FastAPI"))
    write(tmp_path, "src/churn/other.py", FASTAPI_MAIN)
    write(tmp_path, "docs/WRITEUP.md", "monitoring " * 40)
    write(tmp_path, "README.md", "short")
    write(tmp_path, "deps/prod.txt", "fastapi==0.110\nnumpy\n")
    write(
        tmp_path,
        "takehome.toml",
        """\
        notebooks = ["work/b_model.ipynb", "work/a_audit.ipynb"]
        dockerfile = "deploy/serving.containerfile"
        build_context = "."
        service = "src/churn/http.py"
        readme = "docs/WRITEUP.md"
        requirements = ["deps/prod.txt"]
        port = 8080
        predict_route = "/v1/predict"
        """,
    )
    found = discover(tmp_path)
    assert found.manifest == Manifest(
        notebooks=["work/b_model.ipynb", "work/a_audit.ipynb"],
        dockerfile="deploy/serving.containerfile",
        build_context=".",
        service="src/churn/http.py",
        readme="docs/WRITEUP.md",
        requirements=["deps/prod.txt"],
        port=8080,
        predict_route="/v1/predict",
    )
    assert [nb.path for nb in found.notebooks] == ["work/b_model.ipynb", "work/a_audit.ipynb"]
    assert found.dockerfile and found.dockerfile.path == "deploy/serving.containerfile"
    assert found.dockerfile_reason == "named by takehome.toml" and found.build_context == ""
    assert found.service and found.service.path == "src/churn/http.py" and found.service.app_object == "api"
    assert found.readme and found.readme.path == "docs/WRITEUP.md" and found.readme.words == 40
    assert [(r.path, r.pinned_fraction) for r in found.requirements] == [("deps/prod.txt", 0.5)]
    assert (found.port, found.port_source, found.predict_route) == (8080, "takehome.toml", "/v1/predict")
    assert found.problems == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "dockerfile = 'Dockerfile'\nimage = 'x'\n",
            "takehome.toml:2: unknown field `image` (known: notebooks, dockerfile",
        ),
        ("port = '8080'\n", "takehome.toml:1: port: Input should be a valid integer"),
        ("port = 70000\n", "port: Input should be less than or equal to 65535"),
        ("notebooks = 'a.ipynb'\n", "notebooks: Input should be a valid list"),
        ("service = '/etc/passwd'\n", "service: '/etc/passwd' is absolute"),
        ("readme = '../other/README.md'\n", "readme: '../other/README.md' climbs out of the repository"),
        ("notebooks = ['ok.ipynb', '../x.ipynb']\n", "takehome.toml:1: notebooks: '../x.ipynb' climbs out"),
        ("predict_route = 'predict'\n", "predict_route: 'predict' must start with '/'"),
        ("dockerfile = \n", "takehome.toml:1: not valid TOML"),
    ],
)
def test_invalid_manifest_names_the_bad_key(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        parse_manifest(text)


def test_invalid_manifest_is_recorded_and_discovery_goes_on(tmp_path: Path) -> None:
    standard_submission(tmp_path)
    write(tmp_path, "takehome.toml", "dockerfile = 'nope/Dockerfile'\nimage = 'x'\n")
    found = discover(tmp_path)
    assert found.manifest is None
    assert found.dockerfile and found.dockerfile.path == "Dockerfile" and found.service and found.readme
    assert len(found.problems) == 1
    assert (
        found.problems[0].startswith("takehome.toml is invalid and was ignored")
        and "takehome.toml:2: unknown field `image`" in found.problems[0]
    )


def test_manifest_paths_that_escape_or_do_not_exist_fall_back_per_key(tmp_path: Path) -> None:
    standard_submission(tmp_path / "submission")
    root = tmp_path / "submission"
    write(tmp_path, "elsewhere/README.md", "outside " * 10)
    os.symlink(tmp_path / "elsewhere", root / "docs")
    write(
        root, "takehome.toml", 'readme = "docs/README.md"\ndockerfile = "docker/Dockerfile"\nservice = "app/main.py"\n'
    )
    found = discover(root)
    assert found.manifest is not None
    assert found.readme and found.readme.path == "README.md"
    assert found.dockerfile and found.dockerfile.path == "Dockerfile"
    assert (
        found.service
        and found.service.path == "app/main.py"
        and found.service.evidence == ["named by takehome.toml", found.service.evidence[1]]
    )
    problems = "\n".join(found.problems)
    assert "takehome.toml: readme: 'docs/README.md' leads outside the submission through a symlink" in problems
    assert "takehome.toml: dockerfile: 'docker/Dockerfile' does not exist in the submission" in problems


def test_readme_preference_and_several_readmes(tmp_path: Path) -> None:
    write(tmp_path, "readme.md", "lower")
    write(tmp_path, "README.rst", "restructured text")
    write(tmp_path, "app/README.md", "service notes")
    found = discover(tmp_path)
    assert found.readme and found.readme.path == "README.rst"
    assert found.other_readmes == ["readme.md", "app/README.md"]
    assert any("several READMEs at the root (README.rst, readme.md)" in p for p in found.problems)


def test_readme_only_in_a_subfolder_and_an_oversized_one(tmp_path: Path) -> None:
    write(tmp_path, "docs/README.md", "deep down")
    found = discover(tmp_path)
    assert found.readme and found.readme.path == "docs/README.md"
    assert "no README at the root; graded docs/README.md" in found.problems
    with open(tmp_path / "README.md", "wb") as handle:
        handle.truncate(3 * 1024 * 1024)  # sparse: big on paper, nothing written
    found = discover(tmp_path)
    assert found.readme and found.readme.path == "README.md" and found.readme.words is None
    assert any("'README.md' is 3.1 MB, over the 2.1 MB cap; not read" in p for p in found.problems)


def test_requirements_files_and_pinning(tmp_path: Path) -> None:
    write(
        tmp_path,
        "requirements.txt",
        "# pinned\nfastapi==0.110.0\nnumpy>=1.26\n-r requirements-dev.txt\npandas  # latest\n\n",
    )
    write(tmp_path, "requirements-dev.txt", "pytest==8.2.0\n")
    write(
        tmp_path,
        "pyproject.toml",
        """\
        [project]
        name = "churn"
        dependencies = ["lightgbm==4.3.0", "mlflow>=2"]
        [tool.poetry.dependencies]
        python = "^3.11"
        fastapi = "0.110.0"
        uvicorn = {version = "^0.29"}
        """,
    )
    write(tmp_path, "environment.yml", "dependencies:\n  - python=3.11\n  - numpy\n  - pip:\n    - shap==0.45.0\n")
    write(tmp_path, "Pipfile", '[packages]\nrequests = "*"\nflask = "==3.0.0"\n')
    write(tmp_path, "poetry.lock", "")
    write(tmp_path, "app/requirements.txt", "fastapi\n")
    found = discover(tmp_path)
    summary = {r.path: (r.kind, r.requirements, r.pinned) for r in found.requirements}
    assert summary == {
        "Pipfile": ("pipenv", 2, 1),
        "environment.yml": ("conda", 3, 2),
        "pyproject.toml": ("pyproject", 4, 2),
        "requirements-dev.txt": ("pip", 1, 1),
        "requirements.txt": ("pip", 3, 1),
        "app/requirements.txt": ("pip", 1, 0),
    }
    assert found.lock_files == ["poetry.lock"]
    assert not any("requirements" in line for line in found.missing)


def test_pipes_unprintable_names_and_deep_nesting_are_recorded(tmp_path: Path) -> None:
    standard_submission(tmp_path)
    os.mkfifo(tmp_path / "notebooks" / "03_pipe.ipynb")  # reading it would block forever
    (tmp_path / "bad\nname.ipynb").write_text("{}")
    os.mkdir(os.path.join(os.fsencode(tmp_path), b"note\xffbooks"))
    deep = tmp_path.joinpath(*["d"] * 30)
    deep.mkdir(parents=True)
    write_notebook(deep, "lost.ipynb", AUDIT_CELLS)
    found = discover(tmp_path)
    assert [nb.path for nb in found.notebooks] == ["notebooks/01_audit.ipynb", "notebooks/02_modeling.ipynb"]
    assert "'notebooks/03_pipe.ipynb' is not a regular file (device, socket or pipe); ignored" in found.problems
    assert "'bad\\nname.ipynb': the name is not printable UTF-8; ignored" in found.problems
    assert "'note\\xffbooks': the name is not printable UTF-8; ignored" in found.problems
    assert any("is nested deeper than 24 folders; not walked" in p for p in found.problems)
    json.loads(found.model_dump_json())

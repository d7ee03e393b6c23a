"""The service module and its model: found by parsing candidate code, never importing it."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest
from submission_layouts import FASTAPI_MAIN, FLASK_APP, dockerfile, write

from grader.submission import discover
from grader.submission.service import find_app_sites, launch_targets

FACTORY_APP = """\
import fastapi as fa


def build_app(settings=None):
    application = fa.FastAPI()
    return application


service = build_app()
"""


def test_service_in_app_main(tmp_path: Path) -> None:
    write(tmp_path, "app/__init__.py")
    write(tmp_path, "app/main.py", FASTAPI_MAIN)
    service = discover(tmp_path).service
    assert service and (service.path, service.framework, service.app_object, service.line) == (
        "app/main.py",
        "fastapi",
        "app",
        4,
    )
    assert service.evidence == ["creates a fastapi app at line 4", "app/main.py:4 instantiates fastapi, bound to 'app'"]


def test_service_in_src_api(tmp_path: Path) -> None:
    write(
        tmp_path,
        "src/api.py",
        FASTAPI_MAIN.replace("from fastapi import FastAPI", "from fastapi import FastAPI as Api").replace(
            "FastAPI(", "Api("
        ),
    )
    write(tmp_path, "src/features.py", "import pandas as pd\n")
    service = discover(tmp_path).service
    assert service and (service.path, service.framework, service.import_name) == ("src/api.py", "fastapi", "api")


def test_service_deep_in_a_src_package(tmp_path: Path) -> None:
    for folder in ("src/churn", "src/churn/serving", "src/churn/serving/api"):
        write(tmp_path, f"{folder}/__init__.py")
    write(tmp_path, "src/churn/serving/api/main.py", FACTORY_APP)
    write(tmp_path, "src/churn/training/train.py", "import lightgbm\n")
    write(
        tmp_path,
        "Dockerfile",
        dockerfile(command='["uvicorn", "--factory", "churn.serving.api.main:build_app"]', copy="src/ /app/"),
    )
    found = discover(tmp_path)
    service = found.service
    assert service and service.path == "src/churn/serving/api/main.py"
    assert (service.framework, service.app_factory, service.app_object) == ("fastapi", "build_app", "service")
    assert service.import_name == "churn.serving.api.main"
    assert service.evidence[0].startswith(
        "the CMD of Dockerfile runs `uvicorn --factory churn.serving.api.main:build_app`"
    )


def test_root_predict_script_without_a_framework(tmp_path: Path) -> None:
    write(
        tmp_path,
        "predict.py",
        "import sys, joblib\nmodel = joblib.load('model.pkl')\nprint(model.predict(sys.stdin))\n",
    )
    write(tmp_path, "model.pkl", "not really a pickle")
    found = discover(tmp_path)
    service = found.service
    assert service and (service.path, service.framework, service.app_object) == ("predict.py", "unknown", None)
    assert service.evidence == [
        "no FastAPI or Flask app found; 'predict.py' at the root is the likeliest entry point",
        "predict.py creates no FastAPI or Flask app",
    ]
    assert found.model_loading.source == "committed"


def test_root_predict_py_started_by_the_dockerfile(tmp_path: Path) -> None:
    write(
        tmp_path,
        "predict.py",
        FASTAPI_MAIN + "\nif __name__ == '__main__':\n    import uvicorn\n    uvicorn.run(app)\n",
    )
    write(tmp_path, "tests/test_api.py", "from fastapi import FastAPI\nfake = FastAPI()\n")
    write(tmp_path, "Dockerfile", dockerfile(command='["python", "-u", "predict.py"]'))
    found = discover(tmp_path)
    assert found.service and found.service.path == "predict.py" and found.service.framework == "fastapi"
    assert found.service_candidates == ["predict.py", "tests/test_api.py"]


def test_flask_app(tmp_path: Path) -> None:
    write(tmp_path, "server.py", FLASK_APP)
    write(tmp_path, "Dockerfile", dockerfile(command='gunicorn --bind 0.0.0.0:8000 "server:server"'))
    service = discover(tmp_path).service
    assert service and (service.path, service.framework, service.app_object) == ("server.py", "flask", "server")


def test_string_grep_is_not_enough(tmp_path: Path) -> None:
    write(tmp_path, "notes.py", '"""We could use FastAPI() here, or Flask(__name__)."""\n# app = FastAPI()\n')
    write(tmp_path, "web/routes.py", "from fastapi import APIRouter\nrouter = APIRouter()\n")
    write(
        tmp_path,
        "web/entry.py",
        "from web.routes import router\nfrom fastapi import FastAPI\napi = FastAPI()\napi.include_router(router)\n",
    )
    found = discover(tmp_path)
    assert found.service_candidates == ["web/entry.py"]
    assert found.service and found.service.app_object == "api"


def test_start_command_naming_a_module_that_is_absent_is_a_problem(tmp_path: Path) -> None:
    write(tmp_path, "Dockerfile", dockerfile(command="uvicorn api.server:app"))
    write(tmp_path, "main.py", FASTAPI_MAIN)
    found = discover(tmp_path)
    assert found.service and found.service.path == "main.py"
    assert "the CMD of Dockerfile runs 'api.server', which is not a module in the submission" in found.problems


def test_candidate_code_is_never_executed_or_imported(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    write(tmp_path, "app/main.py", f"open({str(marker)!r}, 'w').write('x')\n" + FASTAPI_MAIN)
    write(tmp_path, "setup.py", f"open({str(marker)!r}, 'w').write('x')\n")
    found = discover(tmp_path)
    assert found.service and found.service.path == "app/main.py"
    assert not marker.exists()
    assert not any(name == "app" or name.startswith("app.") for name in sys.modules)


def test_unparseable_python_is_recorded(tmp_path: Path) -> None:
    write(tmp_path, "app.py", "from fastapi import FastAPI\napp = FastAPI(\n")
    write(tmp_path, "deep.py", "import flask\nx = " + "(" * 300 + ")" * 300 + "\n")
    write(tmp_path, "long.py", "import flask\nx = " + "+".join(["a"] * 2000) + "\napp = flask.Flask(__name__)\n")
    write(tmp_path, "longer.py", "import flask\nx = " + "+".join(["a"] * 20000) + "\n")
    found = discover(tmp_path)
    assert "'long.py' is nested too deeply to scan for a web app" in found.problems
    assert any(p.startswith("'longer.py' is not parseable Python: RecursionError") for p in found.problems)
    assert any(p.startswith("'app.py' is not parseable Python: SyntaxError") for p in found.problems)
    assert found.service and found.service.path == "app.py" and found.service.framework == "unknown"


@pytest.mark.parametrize(
    ("command", "targets"),
    [
        ("uvicorn app.main:app --host 0.0.0.0 --port 8000", [("app.main", "app")]),
        ("python -m uvicorn src.api:app", [("src.api", "app")]),
        (
            "gunicorn -w 2 -k uvicorn.workers.UvicornWorker -b 0.0.0.0:80 'pkg.web:create_app()'",
            [("pkg.web", "create_app")],
        ),
        ("fastapi run app/main.py --port 80", [("app/main.py", None)]),
        ("flask --app serve:server run", [("serve", "server")]),
        ('sh -c "uvicorn service:app --port $PORT"', [("service", "app")]),
        ("python3.11 -u predict.py", [("predict.py", None)]),
        ("python -m churn.serve", [("churn.serve", None)]),
        ("mlflow models serve -m models:/churn/1", []),
    ],
)
def test_launch_targets(command: str, targets: list[tuple[str, str | None]]) -> None:
    assert list(launch_targets(command)) == targets


def test_app_sites_cover_aliases_annotations_and_factories() -> None:
    source = """\
import flask
from fastapi import FastAPI as F

app: F = F()
legacy = flask.Flask(__name__)

def make():
    return F()
"""
    sites = find_app_sites("m.py", ast.parse(source))
    assert [(s.framework, s.app_object, s.app_factory, s.line) for s in sites] == [
        ("fastapi", "app", None, 4),
        ("flask", "legacy", None, 5),
        ("fastapi", None, "make", 8),
    ]


def test_model_loaded_from_a_registry_at_start_up(tmp_path: Path) -> None:
    write(
        tmp_path,
        "app/main.py",
        """\
        import os
        import mlflow
        from fastapi import FastAPI

        # models:/in-a-comment/1 is not a reference
        app = FastAPI(description="docs at https://example.com/churn")
        MODEL_URI = os.environ.get("MODEL_URI", f"models:/churn/{os.environ.get('STAGE', 'Production')}")
        model = mlflow.pyfunc.load_model(MODEL_URI)
        """,
    )
    found = discover(tmp_path)
    loading = found.model_loading
    assert loading.source == "registry"
    assert [(q.source, q.line) for q in loading.remote_refs] == [("app/main.py", 7)]
    assert loading.remote_refs[0].text.startswith('MODEL_URI = os.environ.get("MODEL_URI", f"models:/churn/')
    assert not any("model" in line for line in found.missing)


@pytest.mark.parametrize(
    ("statement", "remote"),
    [
        ('model = mlflow.pyfunc.load_model("runs:/abc123/model")', True),
        ('model = joblib.load(download("s3://bucket/churn/model.joblib"))', True),
        ('mlflow.set_tracking_uri("http://mlflow:5000")', True),
        ('urllib.request.urlretrieve("https://example.com/model.onnx", "m.onnx")', True),
        ('LINK = "https://fastapi.tiangolo.com"', False),
    ],
)
def test_remote_model_references(tmp_path: Path, statement: str, remote: bool) -> None:
    write(
        tmp_path,
        "api.py",
        f"import joblib, mlflow, urllib\nfrom fastapi import FastAPI\napp = FastAPI()\n{statement}\n",
    )
    assert (discover(tmp_path).model_loading.source == "registry") is remote


def test_model_committed_missing_or_copied_into_the_image(tmp_path: Path) -> None:
    write(tmp_path, "app/main.py", FASTAPI_MAIN)
    found = discover(tmp_path)
    assert found.model_loading.source == "missing"
    assert found.model_loading.missing_refs == ["models/model.joblib"]
    assert "no committed model where the service loads one: models/model.joblib" in found.missing
    write(tmp_path, "models/model.joblib", "x")
    assert discover(tmp_path).model_loading.source == "committed"
    # An absolute path inside the image maps back through the Dockerfile's COPY.
    write(tmp_path, "app/main.py", FASTAPI_MAIN.replace("models/model.joblib", "/srv/artifacts/model.joblib"))
    write(tmp_path, "Dockerfile", dockerfile(copy="models/ /srv/artifacts/"))
    found = discover(tmp_path)
    assert found.model_loading.source == "committed", found.model_loading
    (tmp_path / "models" / "model.joblib").unlink()
    found = discover(tmp_path)
    assert found.model_loading.missing_refs == ["/srv/artifacts/model.joblib (copied from 'models/model.joblib')"]


def test_model_files_of_every_kind(tmp_path: Path) -> None:
    artifacts = {
        "models/lgbm.txt": "tree\nversion=v4\nnum_class=1\n",
        "models/notes.txt": "tree-based models are nice\n",
        "models/xgb.json": '{"learner": {"gradient_booster": {}}, "version": [2, 0, 3]}',
        "models/config.json": '{"threshold": 0.3}',
        "models/xgb.ubj": "{",
        "models/model.onnx": "onnx",
        "models/pipe.pkl": "p",
        "models/pipe.pickle": "p",
        "models/cat.cbm": "c",
        "export/churn_model/MLmodel": "flavors:\n  python_function: {}\n",
        "export/churn_model/model.pkl": "x" * 100,
    }
    for rel, text in artifacts.items():
        write(tmp_path, rel, text)
    size = {rel: len(text) for rel, text in artifacts.items()}
    found = discover(tmp_path)
    assert [(m.path, m.format, m.size_bytes) for m in found.model_files] == [
        ("export/churn_model", "mlflow_model", size["export/churn_model/MLmodel"] + 100),
        ("models/cat.cbm", "catboost", 1),
        ("models/lgbm.txt", "lightgbm_text", size["models/lgbm.txt"]),
        ("models/model.onnx", "onnx", 4),
        ("models/pipe.pickle", "pickle", 1),
        ("models/pipe.pkl", "pickle", 1),
        ("models/xgb.json", "xgboost_json", size["models/xgb.json"]),
        ("models/xgb.ubj", "xgboost_ubj", 1),
    ]
    assert found.model_loading.source == "unknown"
    assert found.model_loading.evidence == ["8 model artifact(s) committed; the service names none of them"]


def test_registry_reference_in_a_module_the_service_imports(tmp_path: Path) -> None:
    write(tmp_path, "app/__init__.py")
    write(
        tmp_path,
        "app/main.py",
        "from fastapi import FastAPI\nfrom .loader import load\n\napp = FastAPI()\nmodel = load()\n",
    )
    write(
        tmp_path,
        "app/loader.py",
        "import mlflow\nfrom app import settings\n\ndef load():\n    return mlflow.pyfunc.load_model(settings.URI)\n",
    )
    write(tmp_path, "app/settings.py", 'URI = "models:/churn@champion"\n')
    # Training code the service never imports may name the registry without counting.
    write(tmp_path, "training/register.py", 'import mlflow\nmlflow.register_model("runs:/abc/model", "churn")\n')
    found = discover(tmp_path)
    assert found.model_loading.source == "registry"
    assert [(q.source, q.line, q.text) for q in found.model_loading.remote_refs] == [
        ("app/settings.py", 1, 'URI = "models:/churn@champion"')
    ]


def test_model_location_known_only_at_run_time(tmp_path: Path) -> None:
    write(
        tmp_path,
        "main.py",
        "import os, mlflow\nfrom fastapi import FastAPI\napp = FastAPI()\nm = mlflow.pyfunc.load_model(os.environ['MODEL_URI'])\n",
    )
    loading = discover(tmp_path).model_loading
    assert loading.source == "unknown"
    assert (
        loading.evidence[-1]
        == "loads a model from a value known only at run time (main.py:4: m = mlflow.pyfunc.load_model(os.environ['MODEL_URI']))"
    )

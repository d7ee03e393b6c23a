"""The notebook sandbox for real: nbclient in a runner container and in a limited process."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from conftest import docker_client_or_skip

from grader.notebook.cells import read_cells
from grader.notebook.execute import execute_notebooks, grading_folder
from grader.notebook.mlflow_store import read_store
from grader.sandbox.docker import DockerSandbox
from grader.sandbox.local import LocalSandbox
from grader.sandbox.policy import load_policy

BACKENDS = ["local", pytest.param("docker", marks=pytest.mark.docker)]


@pytest.fixture(scope="module")
def docker_client():
    from grader.sandbox.docker.runner_image import ensure_runner_image

    client = docker_client_or_skip(need_base_images=True)
    ensure_runner_image(client)
    return client


@pytest.fixture()
def listener():
    """A TCP listener on the host's loopback that records whether anything connected."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    reached = threading.Event()
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
                reached.set()
                connection.close()
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], reached
    stop.set()
    thread.join()
    server.close()


def _notebook(path: Path, sources: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# audit")] + [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(notebook, path)


@pytest.fixture()
def folder():
    with grading_folder() as made:
        yield made


def _sandbox(backend: str, request):
    """The sandbox of `backend`: the docker one on the module's engine (with the runner image built)."""
    return DockerSandbox(request.getfixturevalue("docker_client")) if backend == "docker" else LocalSandbox()


def _run(tmp_path: Path, sandbox, sources: list[str], policy=None, folder=None):
    submission, data = tmp_path / "submission", tmp_path / "data"
    _notebook(submission / "notebooks" / "01_audit.ipynb", sources)
    (submission / "outside-link").symlink_to("/etc")
    data.mkdir()
    pd.DataFrame({"customer_id": ["a", "b", "a"], "x": [1.0, 2.0, 1.0]}).to_parquet(data / "churn.parquet")
    run = execute_notebooks(
        submission,
        ["notebooks/01_audit.ipynb"],
        data,
        folder,
        policy or load_policy(),
        sandbox,
    )
    cells, problem = read_cells(Path(run.notebooks[0].executed_path), "notebooks/01_audit.ipynb")
    assert problem is None
    return run, {c.index: c for c in cells}, folder


@pytest.mark.parametrize("backend", BACKENDS)
def test_errors_do_not_stop_later_cells_and_data_is_read_only(tmp_path, backend, request, listener, folder) -> None:
    port, reached = listener
    run, cells, folder = _run(
        tmp_path,
        _sandbox(backend, request),
        folder=folder,
        sources=[
            "import pandas as pd\nframe = pd.read_parquet('../data/churn.parquet')\nprint('rows', len(frame))",
            "raise ValueError('boom in cell 2')",
            "print('after the error', frame.duplicated().sum())",
            "try:\n    open('../data/churn.parquet', 'ab').write(b'x')\n    print('DATA WRITABLE')\n"
            "except OSError as exc:\n    print('data read-only', type(exc).__name__)",
            f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n    print('NETWORK REACHED')\n"
            "except OSError as exc:\n    print('network blocked', type(exc).__name__)",
            "import os\nprint('symlink copied' if os.path.lexists('../outside-link') else 'no symlink')",
            "print('x' * 200_000)",
        ],
    )
    assert run.outcome.status == "partial"
    assert any("boom in cell 2" in reason for reason in run.outcome.reasons)
    assert "rows 3" in cells[1].output
    assert cells[2].error and "boom" in cells[2].error
    assert "after the error 1" in cells[3].output
    assert "data read-only" in cells[4].output
    assert "network blocked" in cells[5].output and not reached.is_set()
    assert "no symlink" in cells[6].output
    limit = load_policy().notebook.max_output_chars_per_cell
    assert "output truncated" in cells[7].output and len(cells[7].output) < limit + 200
    assert any("symlink not copied" in note for note in run.notes)
    assert run.sandbox.backend == backend and run.sandbox.pids_limit
    # The runner's record of the notebooks: kept from the kernel where the backend can, else said so.
    if backend == "docker":
        assert any("cannot alter the runner's record" in item for item in run.sandbox.isolation)
    else:
        assert any("the kernel can alter the runner's record" in item for item in run.sandbox.not_enforced)


@pytest.mark.parametrize("backend", BACKENDS)
def test_mlflow_runs_land_in_a_fresh_store(tmp_path, backend, request, folder) -> None:
    run, _cells, folder = _run(
        tmp_path,
        _sandbox(backend, request),
        folder=folder,
        sources=[
            "import mlflow, os\nprint(os.environ['MLFLOW_TRACKING_URI'])\n"
            "with mlflow.start_run(run_name='baseline-logreg'):\n"
            "    mlflow.log_param('C', 1.0)\n    mlflow.log_metric('pr_auc', 0.21)\n    mlflow.log_metric('brier', 0.04)",
        ],
    )
    assert run.outcome.status == "ok", run.outcome.reasons
    store = read_store(folder.tracking_uri, "fresh")
    assert store.error is None
    assert [(r.name, r.metrics, r.params) for r in store.runs] == [
        ("baseline-logreg", {"pr_auc": 0.21, "brier": 0.04}, {"C": "1.0"})
    ]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_cell_that_never_ends_is_stopped_and_earlier_cells_kept(tmp_path, backend, request, folder) -> None:
    policy = load_policy().model_copy(deep=True)
    policy.notebook.cell_timeout_s = 5
    policy.notebook.total_timeout_s = 60
    run, cells, folder = _run(
        tmp_path,
        _sandbox(backend, request),
        folder=folder,
        sources=[
            "print('first cell ran')",
            "import time\nwhile True:\n    time.sleep(1)",
            "print('never reached?')",
        ],
        policy=policy,
    )
    assert "first cell ran" in cells[1].output
    assert run.outcome.status in ("partial", "failed")
    assert run.sandbox.seconds < 60
    assert (
        "notebooks/01_audit.ipynb: cell 2 ran past the 5 s cell limit; the cells after it did not run"
        in run.outcome.reasons
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_notebook_saved_with_a_byte_order_mark_runs(tmp_path, backend, request, folder) -> None:
    submission, data = tmp_path / "submission", tmp_path / "data"
    (submission / "notebooks").mkdir(parents=True)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('ran, BOM and all')")])
    # Windows editors' "UTF-8 with BOM", which nbformat.read refuses as JSON (#13).
    (submission / "notebooks" / "01_audit.ipynb").write_bytes(nbformat.writes(notebook).encode("utf-8-sig"))
    data.mkdir()
    pd.DataFrame({"x": [1.0]}).to_parquet(data / "churn.parquet")
    sandbox = _sandbox(backend, request)
    run = execute_notebooks(submission, ["notebooks/01_audit.ipynb"], data, folder, load_policy(), sandbox)
    assert run.outcome.status == "ok", run.outcome.reasons
    cells, problem = read_cells(Path(run.notebooks[0].executed_path), "notebooks/01_audit.ipynb")
    assert problem is None and "ran, BOM and all" in cells[0].output

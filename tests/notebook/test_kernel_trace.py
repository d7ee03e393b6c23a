"""The record of what ran (sandbox/runner/kernel_site/kernel_trace.py), for real: notebooks executed
by nbclient in the sandbox on both backends, the runner's trace.json read back by grader.notebook.trace."""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from conftest import docker_client_or_skip

from grader.notebook.cells import read_cells
from grader.notebook.execute import execute_notebooks, grading_folder
from grader.notebook.trace import Executed, load_executed
from grader.sandbox.docker import DockerSandbox
from grader.sandbox.local import LocalSandbox
from grader.sandbox.policy import load_policy

BACKENDS = ["local", pytest.param("docker", marks=pytest.mark.docker)]
MONTHS = [f"2025-{m:02d}" for m in range(1, 13)]


@pytest.fixture(scope="module")
def docker_client():
    from grader.sandbox.docker.runner_image import ensure_runner_image

    client = docker_client_or_skip(need_base_images=True)
    ensure_runner_image(client)
    return client


def _sandbox(backend: str, request):
    return DockerSandbox(request.getfixturevalue("docker_client")) if backend == "docker" else LocalSandbox()


def _data(folder: Path) -> pd.DataFrame:
    """100 rows a month for 12 months, 300 customers repeating, a label at about 10 %."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i % 300}" for i in range(1200)],
            "snapshot_month": [MONTHS[i // 100] for i in range(1200)],
            "usage": rng.normal(size=1200),
            "churned": (rng.random(1200) < 0.1).astype(int),
        }
    )
    folder.mkdir(parents=True)
    frame.to_parquet(folder / "churn.parquet")
    return frame


def _execute(tmp_path: Path, sandbox, sources: list[str], requirements: str | None = None) -> tuple[Executed, dict]:
    submission = tmp_path / "submission"
    (submission / "notebooks").mkdir(parents=True)
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# audit")] + [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(notebook, submission / "notebooks" / "01_audit.ipynb")
    if requirements:
        (submission / "requirements.txt").write_text(requirements)
    frame = _data(tmp_path / "data")
    with grading_folder() as folder:
        run = execute_notebooks(
            submission, ["notebooks/01_audit.ipynb"], tmp_path / "data", folder, load_policy(), sandbox
        )
        assert run.notebooks[0].executed_path, run.outcome.reasons
        executed, problem = load_executed(folder.executed)
        assert problem is None
        cells, _ = read_cells(Path(run.notebooks[0].executed_path), "notebooks/01_audit.ipynb")
        return executed, {"frame": frame, "run": run, "printed": "\n".join(c.output for c in cells)}


@pytest.mark.parametrize("backend", BACKENDS)
def test_what_ran_is_recorded_by_cell_and_words_are_not(tmp_path, backend, request) -> None:
    executed, found = _execute(
        tmp_path,
        _sandbox(backend, request),
        [
            # cell 1: words only
            "# df.duplicated() ks_2samp GroupKFold TimeSeriesSplit CalibratedClassifierCV GridSearchCV\n"
            "print('groupby(\"snapshot_month\") average_precision_score')",
            # cell 2
            "import pandas as pd\nfrom scipy import stats\nfrom sklearn.linear_model import LogisticRegression\n"
            "from sklearn.model_selection import GridSearchCV\n"
            "from sklearn.metrics import average_precision_score\n"
            "df = pd.read_parquet('../data/churn.parquet')\nprint(df.duplicated().sum())",
            # cell 3: a helper, only defined
            "def shift(a, b):\n    return stats.ks_2samp(a, b).statistic",
            # cell 4: the helper called; a crosstab (its own groupby inside pandas is not the candidate's)
            "print(shift(df.usage[:600], df.usage[600:]))\nprint(pd.crosstab(df.usage.isna(), df.churned == 1))",
            # cell 5: a hand-written month split, a fit, a metric on the later months
            "train = df[df['snapshot_month'] < '2025-10']\ntest = df[df['snapshot_month'] >= '2025-10']\n"
            "model = LogisticRegression().fit(train[['usage']], train['churned'])\n"
            "print(average_precision_score(test['churned'], model.predict_proba(test[['usage']])[:, 1]))",
            # cell 6: an error stops nothing
            "raise ValueError('boom')",
            # cell 7: a search: one fit recorded, not the search's own inner fits
            "GridSearchCV(LogisticRegression(), {'C': [0.1, 1.0]}, cv=3).fit(df[['usage']], df['churned'])",
            # cell 8: a child Python records nothing (and is not broken by the record)
            "import subprocess, sys\nprint(subprocess.run([sys.executable, '-c', 'import pandas as pd; "
            'print(pd.DataFrame({"a": [1, 1]}).duplicated().sum())\'], capture_output=True, text=True).stdout)',
        ],
    )
    assert executed.available
    frame = found["frame"]
    by_cell = {cell: {r.call: r for r in executed._ran if r.cell == cell} for _, cell in executed.cells()}
    assert 1 not in by_cell and 3 not in by_cell and 6 not in by_cell and 8 not in by_cell
    assert set(by_cell[2]) == {"pandas.DataFrame.duplicated"}
    assert by_cell[2]["pandas.DataFrame.duplicated"].described[0]["rows"] == len(frame)
    assert set(by_cell[4]) == {"scipy.stats.ks_2samp", "pandas.crosstab", "pandas.Series.isna", "pandas.Series.__eq__"}
    assert by_cell[4]["scipy.stats.ks_2samp"].described[0]["sizes"] == [600, 600]
    assert by_cell[4]["pandas.crosstab"].described[0]["by"] == ["usage", "churned"]
    split = by_cell[5]
    assert {d["value"][0] for c in ("pandas.Series.__lt__", "pandas.Series.__ge__") for d in split[c].described} == {
        "2025-10"
    }
    assert split["pandas.Series.__lt__"].described[0]["name"] == ["snapshot_month"]
    fit = split["sklearn.fit"].described[0]
    earlier = frame[frame["snapshot_month"] < "2025-10"]
    later = frame[frame["snapshot_month"] >= "2025-10"]
    assert (fit["estimator"], fit["y_rows"], fit["y_pos"]) == (
        "LogisticRegression",
        len(earlier),
        earlier.churned.sum(),
    )
    metric = split["sklearn.metrics.average_precision_score"].described[0]
    assert (metric["y_rows"], metric["y_pos"]) == (len(later), later.churned.sum())
    search = by_cell[7]["sklearn.fit"]
    assert search.count == 1 and search.described[0]["estimator"] == "GridSearchCV"
    assert search.described[0]["cv"] == "3"
    assert found["run"].outcome.status == "partial"


@pytest.mark.docker
def test_the_kernel_cannot_reach_the_runners_record(tmp_path, request) -> None:
    """In the Docker sandbox the kernel holds only a descriptor to append to: the file behind it, its
    folder and the trace.json the runner writes are the runner's, and no variable names them."""
    executed, found = _execute(
        tmp_path,
        _sandbox("docker", request),
        [
            "import glob, os\nprint('variables', sorted(k for k in os.environ if k.startswith('GRADER_TRACE')))\n"
            "for folder in glob.glob('/tmp/runner-trace-*'):\n"
            "    try:\n        print('LISTED', os.listdir(folder))\n"
            "    except OSError as exc:\n        print('folder refused', type(exc).__name__)",
            "try:\n    open('../../executed/trace.json', 'w').write('{}')\n    print('TRACE.JSON WRITTEN')\n"
            "except OSError as exc:\n    print('trace.json refused', type(exc).__name__)",
        ],
    )
    assert executed.available
    printed = found["printed"]
    assert "variables []" in printed
    assert "folder refused PermissionError" in printed and "LISTED" not in printed
    assert "trace.json refused" in printed and "WRITTEN" not in printed


@pytest.mark.docker
@pytest.mark.slow
def test_polars_calls_are_recorded(tmp_path, request) -> None:
    """A candidate's own polars (installed from their requirements) is traced like pandas."""
    executed, _found = _execute(
        tmp_path,
        _sandbox("docker", request),
        [
            "import polars as pl\ndf = pl.read_parquet('../data/churn.parquet')\n"
            "print(df.is_duplicated().sum())\n"
            "print(df.group_by('snapshot_month').agg(pl.col('churned').mean()).sort('snapshot_month'))\n"
            "train = df.filter(pl.col('snapshot_month') < '2025-10')\nprint(train.height)",
        ],
        requirements="polars\n",
    )
    calls = {r.call: r for r in executed.calls("polars.")}
    assert calls["polars.DataFrame.is_duplicated"].described[0]["rows"] == 1200
    assert ["snapshot_month"] in [d.get("by") for d in calls["polars.DataFrame.group_by"].described]
    compared = calls["polars.Expr.__lt__"].described[0]
    assert compared["name"] == ["snapshot_month"] and compared["value"] == ["2025-10"]

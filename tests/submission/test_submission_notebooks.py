"""Notebook discovery: where they live, what they are for, and broken or empty ones."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from nbformat.v3 import new_code_cell as v3_code_cell
from nbformat.v3 import new_notebook as v3_notebook
from nbformat.v3 import new_worksheet
from submission_layouts import AUDIT_CELLS, EVALUATION_CELLS, MODELING_CELLS, write, write_notebook

from grader.submission import discover
from grader.submission.notebooks import guess_kind


def _paths_and_kinds(root: Path) -> list[tuple[str, str]]:
    return [(nb.path, nb.kind) for nb in discover(root).notebooks]


def test_notebooks_at_the_root(tmp_path: Path) -> None:
    write_notebook(tmp_path, "audit.ipynb", AUDIT_CELLS)
    write_notebook(tmp_path, "model.ipynb", MODELING_CELLS)
    assert _paths_and_kinds(tmp_path) == [("audit.ipynb", "audit"), ("model.ipynb", "modeling")]


def test_notebooks_in_lower_and_capitalised_folders(tmp_path: Path) -> None:
    write_notebook(tmp_path, "notebooks/eda.ipynb", AUDIT_CELLS)
    write_notebook(tmp_path, "Notebooks/Training.ipynb", MODELING_CELLS)
    assert _paths_and_kinds(tmp_path) == [("Notebooks/Training.ipynb", "modeling"), ("notebooks/eda.ipynb", "audit")]


def test_numbered_notebooks_split_one_per_model_keep_their_order(tmp_path: Path) -> None:
    contents = {
        "01_data_audit.ipynb": AUDIT_CELLS,
        "02_baseline_logreg.ipynb": MODELING_CELLS,
        "03_lightgbm.ipynb": MODELING_CELLS,
        "04_xgboost_tuning.ipynb": MODELING_CELLS,
        "05_model_evaluation.ipynb": EVALUATION_CELLS,
        "10_scratch.ipynb": MODELING_CELLS,
    }
    for name, cells in reversed(contents.items()):
        write_notebook(tmp_path, f"notebooks/{name}", cells)
    found = discover(tmp_path).notebooks
    assert [nb.path.removeprefix("notebooks/") for nb in found] == list(contents)
    assert [nb.kind for nb in found] == ["audit", "modeling", "modeling", "modeling", "evaluation", "modeling"]
    assert found[-1].kind_reason.startswith("content:")


def test_kind_from_content_when_the_name_says_nothing() -> None:
    assert guess_kind("Untitled.ipynb", "\n".join(AUDIT_CELLS))[0] == "audit"
    assert guess_kind("Untitled1.ipynb", "\n".join(EVALUATION_CELLS))[0] == "evaluation"
    assert guess_kind("work.ipynb", "print('hello')") == (
        "other",
        "name 'work.ipynb' names no kind; content too thin to tell",
    )
    # Substrings are not tokens: "profit" is not "fit", "predator" is not "eda".
    assert guess_kind("profit_predator.ipynb", "")[0] == "other"
    # A name that fits two kinds is settled by the content.
    assert guess_kind("eda_and_modeling.ipynb", "\n".join(MODELING_CELLS))[0] == "modeling"


def test_invalid_json_notebook_is_recorded_not_fatal(tmp_path: Path) -> None:
    write_notebook(tmp_path, "notebooks/01_audit.ipynb", AUDIT_CELLS)
    write(tmp_path, "notebooks/02_model.ipynb", '{"cells": [{"cell_type": "code", "source": "x = 1"}, ')
    write(tmp_path, "notebooks/03_eval.ipynb", json.dumps({"cells": []}))
    (tmp_path / "notebooks" / "04_binary.ipynb").write_bytes(b"\xff\xfe\x00garbage")
    found = discover(tmp_path)
    by_path = {nb.path: nb for nb in found.notebooks}
    assert by_path["notebooks/01_audit.ipynb"].valid
    broken = by_path["notebooks/02_model.ipynb"]
    assert not broken.valid and broken.kind == "modeling"
    assert broken.problem and broken.problem.startswith("not a valid notebook: invalid JSON: Expecting value at line 1")
    assert by_path["notebooks/03_eval.ipynb"].problem == "not a valid notebook: JSON without an 'nbformat' version"
    assert by_path["notebooks/04_binary.ipynb"].problem.startswith("not a valid notebook: invalid JSON")
    assert any(p.startswith("notebooks/02_model.ipynb: not a valid notebook") for p in found.problems)
    assert not any(line.startswith(("no notebook", "no readable notebook")) for line in found.missing)


def test_only_invalid_notebooks_count_as_missing(tmp_path: Path) -> None:
    write(tmp_path, "analysis.ipynb", "not json at all")
    found = discover(tmp_path)
    assert "no readable notebook: all 1 found are invalid or too large" in found.missing


def test_stub_notebooks_are_flagged(tmp_path: Path) -> None:
    write_notebook(tmp_path, "one_cell.ipynb", ["import pandas as pd"], ["# TODO"])
    write_notebook(tmp_path, "empty_cells.ipynb", ["", "   "], [""])
    write_notebook(tmp_path, "no_cells.ipynb")
    write_notebook(tmp_path, "real.ipynb", AUDIT_CELLS)
    by_path = {nb.path: nb for nb in discover(tmp_path).notebooks}
    assert (by_path["one_cell.ipynb"].stub, by_path["one_cell.ipynb"].problem) == (True, "stub: 1 code cell(s)")
    assert (by_path["empty_cells.ipynb"].stub, by_path["empty_cells.ipynb"].problem) == (
        True,
        "stub: every cell is empty",
    )
    assert (by_path["no_cells.ipynb"].stub, by_path["no_cells.ipynb"].problem) == (True, "stub: no cells")
    real = by_path["real.ipynb"]
    assert (real.stub, real.valid, real.cells, real.code_cells, real.executed) == (False, True, 4, 4, False)


def test_executed_notebook_and_old_format_notebook(tmp_path: Path) -> None:
    path = write_notebook(tmp_path, "executed.ipynb", AUDIT_CELLS)
    node = nbformat.read(path, as_version=4)
    node.cells[0].execution_count = 1
    node.cells[0].outputs = [nbformat.v4.new_output("stream", text="ok\n")]
    nbformat.write(node, path)
    old = v3_notebook(worksheets=[new_worksheet(cells=[v3_code_cell(input=src) for src in AUDIT_CELLS])])
    (tmp_path / "old_v3.ipynb").write_text(json.dumps(old))
    by_path = {nb.path: nb for nb in discover(tmp_path).notebooks}
    assert by_path["executed.ipynb"].executed
    assert by_path["old_v3.ipynb"].valid and by_path["old_v3.ipynb"].code_cells == 4


def test_schema_violation_is_noted_but_the_notebook_stays_valid(tmp_path: Path) -> None:
    path = write_notebook(tmp_path, "odd.ipynb", AUDIT_CELLS)
    data = json.loads(path.read_text())
    data["cells"][0]["unexpected"] = True
    path.write_text(json.dumps(data))
    notebook = discover(tmp_path).notebooks[0]
    assert notebook.valid and not notebook.stub
    assert notebook.problem and notebook.problem.startswith("does not match the notebook schema")


def test_oversized_notebook_is_not_read(tmp_path: Path) -> None:
    with open(tmp_path / "huge.ipynb", "wb") as handle:
        handle.truncate(51 * 1024 * 1024)  # sparse: nothing is written, nothing may be read
    notebook = discover(tmp_path).notebooks[0]
    assert not notebook.valid and notebook.size_bytes == 51 * 1024 * 1024
    assert notebook.problem == "'huge.ipynb' is 53.5 MB, over the 52.4 MB cap; not read"


def test_notebooks_inside_mlflow_stores_are_not_counted(tmp_path: Path) -> None:
    write_notebook(tmp_path, "audit.ipynb", AUDIT_CELLS)
    write_notebook(tmp_path, "mlruns/1/abc/artifacts/audit.ipynb", AUDIT_CELLS)
    write(tmp_path, "mlruns/1/meta.yaml", "experiment_id: '1'\nname: churn\n")
    found = discover(tmp_path)
    assert [nb.path for nb in found.notebooks] == ["audit.ipynb"]
    assert found.skipped == {"mlruns": 1}

"""The stages' declarations: unique names, who takes the exclusive slot, and the registry of paths.

A rubric may read only what some stage records; the registry is built from the stages'
declarations, so these tests hold the declarations to what the code really emits.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from grader.notebook.audit import CHECK_IDS as AUDIT_CHECK_IDS
from grader.notebook.audit import collect_audit
from grader.notebook.modeling import CHECK_IDS as MODELING_CHECK_IDS
from grader.notebook.modeling import collect_modeling
from grader.rubric import load_rubric
from grader.serving.evidence import CHECK_IDS as SERVING_CHECK_IDS
from grader.stages.base import StageName
from grader.stages.pipelines import CHECK, GRADE
from grader.stages.registry import closest, declared_paths, is_known

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "notebook"))
from reader_kit import code, markdown, model, run, store

REPO = Path(__file__).resolve().parents[2]
RUBRICS = sorted((REPO / "rubrics").glob("*.toml"))


def test_each_pipeline_names_each_stage_once_and_only_serving_takes_the_slot() -> None:
    for pipeline in (GRADE, CHECK):
        names = [stage.name for stage in pipeline]
        assert len(names) == len(set(names))
    assert [stage.name for stage in GRADE if stage.exclusive] == [StageName.SERVING]
    assert [stage.name for stage in GRADE] == [
        StageName.NOTEBOOKS,
        StageName.MLFLOW,
        StageName.HOLDOUT,
        StageName.SERVING,
        StageName.AUDIT,
        StageName.WRITEUP,
    ]


def test_the_audit_and_modeling_readers_emit_exactly_their_declared_checks(make_world) -> None:
    key = make_world("registry", rows=600).key
    cells = [markdown("# Audit"), code("df.duplicated().sum()", "12")]
    emitted = [check.id for check in collect_audit(cells, key, None).checks]
    assert sorted(emitted) == sorted(AUDIT_CHECK_IDS)
    runs = store(run("r1", "baseline", metrics={"pr_auc": 0.2}), models=[model(run_id="r1")])
    emitted = [check.id for check in collect_modeling(cells, [runs]).checks]
    assert sorted(emitted) == sorted(MODELING_CHECK_IDS)


def test_every_serving_check_id_in_the_code_is_declared_and_every_declared_one_is_emitted() -> None:
    source = "\n".join(path.read_text() for path in (REPO / "grader" / "serving").glob("*.py"))
    literal = set(
        re.findall(r'"((?:dockerfile|build|run|contract|correctness|quality|bad_input|load)\.[a-z_0-9]+)"', source)
    )
    literal = {name for name in literal if not re.search(r"\.(log|json|txt|toml|ya?ml)$", name)}  # file names
    assert literal - set(SERVING_CHECK_IDS) == set(), "checks the serving stage emits but does not declare"
    assert set(SERVING_CHECK_IDS) - literal == set(), "declared checks no serving code emits"


@pytest.mark.parametrize("rubric", RUBRICS, ids=lambda p: p.name)
def test_every_path_the_shipped_rubrics_read_is_recorded_by_a_stage(rubric: Path) -> None:
    loaded = load_rubric(rubric)
    paths = [p for s in loaded.sections for c in s.criteria for p in c.paths()]
    paths += [c.evidence for f in loaded.red_flags for c in f.all or f.any or []]
    assert paths and all(is_known(path) for path in paths)


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("audit.leak_nmed", "audit.leak_named"),
        ("modeling.holdout.orcle.pr_auc", "modeling.holdout.oracle.pr_auc"),
        ("serving.load.no_eror", "serving.load.no_errors"),
        ("writeup.covers.rolback", "writeup.covers.rollback"),
        ("submission.readme.word", "submission.readme.words"),
    ],
)
def test_a_misspelt_path_is_unknown_and_the_closest_known_one_is_offered(typo: str, meant: str) -> None:
    assert not is_known(typo)
    assert closest(typo) == meant


def test_what_follows_a_check_is_its_detail_quotes_or_a_figure_and_typed_fields_walk_the_evidence() -> None:
    for path in (
        "audit.leak_named.detail",
        "audit.leak_named.quotes",
        "modeling.claim_matches_holdout.ratio",
        "modeling.holdout.candidate.top_decile_lift",
        "stages.serving.status",
        "claimed_pr_auc",
        "serving.quality.rows_scored",
    ):
        assert is_known(path), path
    # A structural field is not a check: nothing may hang below a number.
    assert not is_known("claimed_pr_auc.extra")
    assert not is_known("modeling.holdout.everyone.pr_auc")
    assert all(
        "." not in path or path.split(".")[0] in {"audit", "modeling", "serving", "writeup"}
        for path in declared_paths()
    )

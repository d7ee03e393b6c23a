"""`grader grade` end to end on the reference submissions, in the Docker sandbox, on fresh seeds."""

from __future__ import annotations

import tomllib
from pathlib import Path

import nbformat
import pytest
from conftest import TEST_SECRET, docker_client_or_skip

from grader.grade import Evidence, grade_submission
from grader.rubric import load_rubric, score
from grader.sandbox.api import DockerSandbox
from grader.serving.settings import ServingSettings

pytestmark = [pytest.mark.slow, pytest.mark.docker]
REFERENCE = Path(__file__).resolve().parents[2] / "reference"
ROWS = 24_000
# Shorter load steps than real grading (the policy's 10 s); the rates, and so the bar, are the same.
QUICK_SERVING = ServingSettings(load_step_s=4.0, load_warmup_s=1.0)


@pytest.fixture(scope="module")
def client():
    return docker_client_or_skip(need_base_images=True)


@pytest.fixture(scope="module")
def graded(client, make_world, tmp_path_factory):
    """Grade a variant once per module: graded(variant) -> Evidence."""
    done: dict[str, Evidence] = {}

    def _grade(variant: str, submission: Path | None = None) -> Evidence:
        if variant not in done:
            seeded = make_world(f"ref-{variant}", rows=ROWS, secret=TEST_SECRET)
            out = tmp_path_factory.mktemp(f"graded-{variant}")
            done[variant] = grade_submission(
                submission or REFERENCE / variant,
                seeded,
                out / "report",
                DockerSandbox(client),
                serving_settings=QUICK_SERVING,
            )
        return done[variant]

    return _grade


def _checks(section) -> dict[str, bool | None]:
    return {check.id: check.passed for check in section.checks}


def _holdout(evidence: Evidence, who: str):
    return next(score for score in evidence.modeling.holdout if score.who.startswith(who))


def test_strong_finds_every_seeded_problem_and_excludes_the_leak(graded, make_world) -> None:
    evidence = graded("strong")
    assert evidence.stages["notebooks"].status == "ok", evidence.stages["notebooks"].reasons
    audit = _checks(evidence.audit)
    for finding in (
        "leak_named",
        "leak_excluded",
        "drift_named",
        "drift_month",
        "mnar_named",
        "duplicates_found",
        "duplicates_count",
        "churn_rate_reported",
        "label_window_checked",
        "grouping_noted",
    ):
        assert audit[finding] is True, (finding, evidence.audit.check(finding).detail)
    modeling = _checks(evidence.modeling)
    for item in (
        "baseline_run",
        "tuned_run",
        "model_logged",
        "model_signature",
        "pr_auc_used",
        "brier_logged",
        "calibration_metric_logged",
        "time_split",
        "calibrated_model",
        "calibration_plot",
        "pr_curve",
        "lift_table",
        "claim_matches_holdout",
    ):
        assert modeling[item] is True, (item, evidence.modeling.check(item).detail)
    assert modeling["roc_auc_only"] is False
    candidate, oracle = _holdout(evidence, "candidate"), _holdout(evidence, "oracle")
    assert candidate.pr_auc > 2 * make_world("ref-strong", rows=ROWS, secret=TEST_SECRET).key.oracle.base_rate
    assert candidate.pr_auc <= oracle.pr_auc + 0.02
    assert candidate.brier is not None and candidate.expected_calibration_error < 0.05


def test_leaky_uses_the_leak_and_collapses_on_the_holdout(graded) -> None:
    leaky, strong = graded("leaky"), graded("strong")
    audit, modeling = _checks(leaky.audit), _checks(leaky.modeling)
    assert audit["leak_excluded"] is False
    assert audit["leak_named"] is False
    assert modeling["roc_auc_only"] is True
    assert modeling["random_split"] is True and modeling["time_split"] is False and modeling["group_split"] is False
    assert _holdout(leaky, "candidate").pr_auc < 0.75 * _holdout(strong, "candidate").pr_auc


def test_minimal_has_its_missing_pieces_recorded(graded) -> None:
    minimal = graded("minimal")
    modeling = _checks(minimal.modeling)
    assert modeling["baseline_run"] is True
    assert modeling["tuned_run"] is False
    assert modeling["calibration_plot"] is False and modeling["lift_table"] is False
    audit = _checks(minimal.audit)
    assert audit["leak_named"] is False and audit["drift_named"] is False


def test_a_notebook_that_raises_in_cell_3_still_yields_evidence_from_later_cells(graded, tmp_path) -> None:
    submission = tmp_path / "broken"
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("import pandas as pd\ndf = pd.read_parquet('data/churn.parquet')"),
        nbformat.v4.new_code_cell("rate = df['churned_next_30d'].mean()"),
        nbformat.v4.new_code_cell("raise RuntimeError('cell 3 fails')"),
        nbformat.v4.new_code_cell(
            "print(f'Duplicates: {int(df.duplicated().sum())} exact duplicate rows')\n"
            "print(f'Churn rate: {rate:.2%} overall')"
        ),
    ]
    submission.mkdir()
    nbformat.write(notebook, submission / "audit.ipynb")
    evidence = graded("broken-notebook", submission)
    assert evidence.stages["notebooks"].status == "partial"
    assert any("cell 3 fails" in reason for reason in evidence.stages["notebooks"].reasons)
    audit = _checks(evidence.audit)
    assert audit["duplicates_count"] is True and audit["churn_rate_reported"] is True
    assert evidence.stages["holdout"].status == "failed"
    assert (Path(evidence.executed_notebooks[0]).name).endswith("audit.ipynb")


EXPECTED = tomllib.loads((REFERENCE / "EXPECTED.toml").read_text())
VARIANTS = [name for name, value in EXPECTED.items() if isinstance(value, dict) and "total" in value]


@pytest.mark.parametrize("variant", VARIANTS)
def test_expected_bands_hold_on_a_fresh_seed(graded, variant: str) -> None:
    expected = EXPECTED[variant]
    card = score(graded(variant), load_rubric())
    low, high = expected["total"]
    assert low <= card.total <= high, (variant, card.total, {k: s.score for k, s in card.sections.items()})
    for section, (low, high) in expected["sections"].items():
        assert low <= card.sections[section].score <= high, (variant, section, card.sections[section])
    assert (card.verdict == "pass") is expected["passed"], (variant, card.verdict)
    assert (card.bonus > 0) is expected["leak_bonus"]
    raised = {flag.id for flag in card.red_flags}
    assert set(expected["must_raise"]) <= raised, (variant, raised)
    assert not set(expected["must_not_raise"]) & raised, (variant, raised)


def test_strong_ranks_first_and_broken_serving_loses_mostly_serving(graded) -> None:
    cards = {variant: score(graded(variant), load_rubric()) for variant in VARIANTS}
    assert max(cards, key=lambda v: cards[v].total) == "strong"
    strong, broken = cards["strong"], cards["broken-serving"]
    serving_loss = strong.sections["serving"].score - broken.sections["serving"].score
    other_loss = sum(strong.sections[s].score - broken.sections[s].score for s in ("audit", "modeling", "judgment"))
    assert serving_loss >= 8 and abs(other_loss) <= 3, (serving_loss, other_loss)

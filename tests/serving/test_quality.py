"""holdout_quality on synthetic served answers: the pass's rows per second, and whether the answers vary.

No service: a `Scored` is what scoring the holdout through an API left (answers by row, time taken),
so the figures the rubric reads (`serving.quality.rows_per_s`, `top_answer_share`, `answers_std`)
are checked on known answers in milliseconds.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pytest

from grader.evidence import Check
from grader.serving.evidence import QualityRecord
from grader.serving.quality import MIN_SPREAD_ROWS, Scored, holdout_quality, ranking_check

ROWS = 2000
LABELS = (np.arange(ROWS) % 25 == 0).astype(np.int64)  # a 4 % churn rate


def served(values: np.ndarray, seconds: float = 0.5) -> Scored:
    return Scored(values=dict(enumerate(values.tolist())), sent=len(values), seconds=seconds)


def quality(
    scored: Scored, kind: str = "probability", mode: Literal["batch", "single"] = "batch"
) -> tuple[QualityRecord, Check]:
    return holdout_quality(scored, LABELS, None, ROWS, kind, mode, 256 if mode == "batch" else None)


def test_rows_per_second_of_a_batch_pass() -> None:
    ranking = np.where(LABELS == 1, 0.3, 0.02) + np.linspace(0, 0.01, ROWS)
    record, check = quality(served(ranking, seconds=0.5))
    assert (record.rows_per_s, record.mode, record.batch_size) == (4000.0, "batch", 256)
    assert "4,000 rows/s, batches of 256" in check.detail
    single, check = quality(served(ranking[:200], seconds=2.0), mode="single")
    assert (single.rows_per_s, single.mode) == (100.0, "single")
    assert "one row a request" in check.detail


def test_no_row_scored_has_no_rate() -> None:
    record, _ = quality(Scored(sent=10, failed=10, seconds=1.0))
    assert record.rows_per_s is None and record.top_answer_share is None


def test_a_model_that_ranks_varies() -> None:
    rng = np.random.default_rng(7)
    record, check = quality(served(0.05 + 0.2 * LABELS + rng.uniform(0, 0.03, ROWS)))
    assert record.distinct_answers == ROWS and record.top_answer_share == 1 / ROWS
    assert (record.answers_std or 0) > 0.01 and "of the answers are one value" not in check.detail


def test_a_constant_answer_is_recorded_as_one_value() -> None:
    record, check = quality(served(np.full(ROWS, 0.5)))
    assert (record.distinct_answers, record.top_answer_share, record.answers_std) == (1, 1.0, 0.0)
    assert "every answer is 0.5" in check.detail
    assert record.metrics["pr_auc"] == pytest.approx(LABELS.mean())  # ranks nothing: the base rate


def test_a_constant_with_noise_has_no_spread() -> None:
    record, _ = quality(served(0.5 + 1e-9 * np.arange(ROWS)))
    assert record.top_answer_share == 1 / ROWS and record.answers_std == pytest.approx(0, abs=0.001)  # the flag's bar


def test_a_coarse_model_is_not_a_constant() -> None:
    deciles = np.repeat(np.linspace(0.01, 0.2, 10), ROWS // 10)
    record, check = quality(served(deciles))
    assert record.distinct_answers == 10 and record.top_answer_share == 0.1 and (record.answers_std or 0) > 0.05
    assert "one value" not in check.detail and "every answer" not in check.detail


def test_too_few_rows_or_label_answers_say_nothing_about_spread() -> None:
    few, _ = quality(served(np.full(MIN_SPREAD_ROWS - 1, 0.5)))
    assert few.distinct_answers is few.top_answer_share is few.answers_std is None
    labels, _ = quality(served(np.zeros(ROWS)), kind="label")
    assert labels.top_answer_share is None and labels.answers_std is None


def _ranking(answers: np.ndarray, logged: np.ndarray) -> Check:
    keys = [(f"cus_{i}", "2026-01") for i in range(ROWS)]
    return ranking_check(served(answers), LABELS, keys, dict(zip(keys, logged.tolist(), strict=True)))


def test_a_service_that_does_not_rank_where_its_logged_model_does_fails() -> None:
    rng = np.random.default_rng(5)
    model = np.clip(0.02 + 0.5 * LABELS + rng.normal(0, 0.05, ROWS), 0, 1)  # ranks churners first
    noise = rng.random(ROWS)  # varies, ranks nothing: passes the spread figures, not this
    check = _ranking(noise, model)
    assert check.passed is False and check.figures["served_lift"] < 1.2 <= 2 <= check.figures["logged_lift"]
    assert "does not serve a model that ranks" in check.detail
    assert _ranking(model, model).passed is True


def test_ranking_is_not_judged_where_the_logged_model_does_not_rank_or_nothing_was_logged() -> None:
    rng = np.random.default_rng(6)
    assert _ranking(rng.random(ROWS), rng.random(ROWS)).passed is None
    keys = [(f"cus_{i}", "2026-01") for i in range(ROWS)]
    assert ranking_check(served(rng.random(ROWS)), LABELS, keys, None).passed is None

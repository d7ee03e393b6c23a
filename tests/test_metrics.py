"""The shared metrics agree with scikit-learn's reference implementations."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, brier_score_loss

from grader import metrics


@pytest.mark.parametrize("seed", range(5))
def test_average_precision_matches_sklearn_with_ties_and_missing(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.random(4000) < 0.08
    tied = rng.integers(0, 15, 4000).astype(float)
    continuous = rng.normal(size=4000) + labels
    assert metrics.average_precision(labels, tied) == pytest.approx(average_precision_score(labels, tied))
    assert metrics.average_precision(labels, continuous) == pytest.approx(average_precision_score(labels, continuous))
    best = max(average_precision_score(labels, tied), average_precision_score(labels, -tied))
    assert metrics.single_feature_pr_auc(labels, tied) == pytest.approx(best)
    with_missing = continuous.copy()
    with_missing[:200] = np.nan
    as_lowest = np.nan_to_num(with_missing, nan=-1e9)
    assert metrics.single_feature_pr_auc(labels, with_missing) == pytest.approx(
        max(
            average_precision_score(labels, as_lowest),
            average_precision_score(labels, np.where(np.isnan(with_missing), -1e9, -with_missing)),
        )
    )


def test_brier_ece_lift_psi_on_known_cases() -> None:
    rng = np.random.default_rng(1)
    p = rng.random(20000)
    labels = rng.random(20000) < p
    assert metrics.brier(labels, p) == pytest.approx(brier_score_loss(labels, p))
    assert metrics.expected_calibration_error(labels, p) < 0.02
    assert metrics.expected_calibration_error(labels, np.clip(p + 0.2, 0, 1)) > 0.15
    lift = metrics.lift_by_decile(labels, p)
    assert len(lift) == 10 and lift[0] > 1.7 and lift[-1] < 0.2
    same = rng.normal(size=20000)
    assert metrics.psi(same[:10000], same[10000:]) < 0.01
    assert metrics.psi(same[:10000], same[10000:] + 1.0) > 0.25

"""The generated world is real: every seeded problem is measurable in the data itself.

These run on the default spec (churn-v2), whose column names are drawn per seed: columns are
found through the world's choices, never by a fixed name."""

from __future__ import annotations

import re

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from conftest import TEST_SECRET

from grader import metrics
from grader.world.choices import draw_choices, rng_for
from grader.world.packet import SeededWorld
from grader.world.seed import candidate_seed
from grader.world.spec import load_spec


def _split(seeded: SeededWorld):
    world = seeded.world
    spec = world.spec
    train = world.train
    label = train[spec.label_column].to_numpy()
    return world, spec, train, label


def test_shape_and_plausible_values(full_world: SeededWorld) -> None:
    world, spec, train, _label = _split(full_world)
    assert 195_000 <= len(train) <= 205_000
    assert len(world.feature_columns) == 40
    assert list(train.columns[:2]) == [spec.id_column, spec.time_column]
    assert train.columns[-1] == spec.label_column
    assert sorted(train[spec.time_column].unique()) == world.months
    assert all(re.fullmatch(r"\d{4}-\d{2}", m) for m in world.months)
    assert train[spec.id_column].duplicated().any(), "customers must repeat across months"
    delivered = {column: spec.feature(feature) for feature, column in world.choices.columns.items()}
    assert (train[world.choices.columns["tenure_months"]] >= 0).all()
    money = [column for column, feature in delivered.items() if feature.kind == "money"]
    assert money
    for column in money:
        cents = train[column].dropna().to_numpy() * 100
        assert np.allclose(cents, np.round(cents)), f"{column} must be in cents"
        assert (train[column].dropna() > 0).all()
    assert {feature.kind for feature in delivered.values()} == {"int", "float", "money", "category", "bool"}
    for column, feature in delivered.items():
        if feature.kind == "category":
            assert train[column].dtype == object
        if feature.kind == "bool":
            assert train[column].dtype == bool
        if feature.kind == "int" and not train[column].isna().any():
            assert train[column].dtype == np.int64, column
    monthly = train.groupby(spec.time_column)[spec.label_column].mean()
    assert monthly.between(0.03, 0.06).all(), monthly.to_dict()


def test_leak_ranks_churners_far_better_than_any_honest_column(full_world: SeededWorld) -> None:
    world, spec, train, label = _split(full_world)
    scores = {
        column: metrics.single_feature_pr_auc(label, train[column].to_numpy(dtype=float))
        for column in world.feature_columns
        if train[column].dtype.kind in "fib"
    }
    leak = scores.pop(world.choices.leak_column)
    best_honest = max(scores.values())
    assert leak > 0.6
    assert leak > 4 * best_honest, (leak, best_honest)
    # The leak is not yet known at prediction time: in the holdout it carries no signal.
    holdout_label = world.holdout_labels[spec.label_column].to_numpy()
    holdout_leak = world.holdout_features[world.choices.leak_column].to_numpy(dtype=float)
    assert metrics.single_feature_pr_auc(holdout_label, holdout_leak) < 2 * holdout_label.mean()


def test_without_labels_the_leak_looks_like_the_operational_counts_it_hides_among(full_world: SeededWorld) -> None:
    """churn-v2's leak borrows the name of an operational count; its values are shaped like theirs too."""
    world, spec, train, _label = _split(full_world)
    peers = [world.choices.columns[f] for f in spec.leak.takes_names_of if f in world.choices.columns]
    assert len(peers) == len(spec.leak.takes_names_of) - 1
    shapes = {}
    for column in [*peers, world.choices.leak_column]:
        values = train[column].to_numpy()
        assert train[column].dtype == np.int64 and values.min() == 0
        shapes[column] = ((values > 0).mean(), values[values > 0].mean())
    leak_share, leak_mean = shapes[world.choices.leak_column]
    shares, means = sorted(s for s, _ in shapes.values()), sorted(m for _, m in shapes.values())
    assert shares[0] < leak_share < shares[-1], shapes
    assert means[0] < leak_mean < means[-1], shapes


def test_covariate_drift_crosses_psi_threshold_and_stable_features_do_not(full_world: SeededWorld) -> None:
    world, spec, train, _label = _split(full_world)
    first = train[train[spec.time_column] == world.months[0]]
    last = train[train[spec.time_column] == world.months[-1]]
    drift_column = world.choices.drift_column
    numeric = [c for c in world.feature_columns if train[c].dtype.kind in "fi"]
    psi = {c: metrics.psi(first[c].to_numpy(float), last[c].to_numpy(float)) for c in numeric}
    assert psi[drift_column] >= 0.25
    stable = {c: v for c, v in psi.items() if c not in {drift_column, world.choices.leak_column}}
    assert max(stable.values()) < 0.1, sorted(stable.items(), key=lambda kv: -kv[1])[:3]
    # And the shift starts at the seeded month, not before.
    start = world.choices.drift_from_index
    before = train[train[spec.time_column] == world.months[start - 1]][drift_column]
    assert metrics.psi(first[drift_column].to_numpy(float), before.to_numpy(float)) < 0.1


def _top_decile_gap(train: pd.DataFrame, label_column: str, column: str, rows: pd.Series) -> float:
    """Churn rate of the column's top decile minus the rest's, over `rows`: its effect, roughly."""
    high = train[column] > train[column].quantile(0.9)
    churn = train[label_column]
    return churn[rows & high].mean() - churn[rows & ~high].mean()


def test_concept_drift_changes_the_effect_of_its_feature(full_world: SeededWorld) -> None:
    world, spec, train, _label = _split(full_world)
    column = world.choices.concept_column
    after = train[spec.time_column] >= world.months[world.choices.concept_from_index]
    before_gap = _top_decile_gap(train, spec.label_column, column, ~after)
    after_gap = _top_decile_gap(train, spec.label_column, column, after)
    assert after_gap > 1.5 * before_gap, (before_gap, after_gap)


def test_missingness_mnar_and_mcar(full_world: SeededWorld) -> None:
    world, _spec, train, label = _split(full_world)
    mnar = train[world.choices.mnar_column].isna().to_numpy()
    assert mnar[label == 1].mean() >= 2 * mnar[label == 0].mean()
    mcar = train[world.choices.mcar_column].isna().to_numpy()
    assert 0.03 < mcar.mean() < 0.1
    assert abs(mcar[label == 1].mean() - mcar[label == 0].mean()) < 0.02


def test_duplicates_found_by_pandas_match_the_key(full_world: SeededWorld) -> None:
    _world, _spec, train, _label = _split(full_world)
    found = int(train.duplicated().sum())
    assert found == full_world.key.duplicates.count
    assert 0.004 < found / len(train) < 0.006


def _lightgbm_pr_auc(world, columns: list[str]) -> float:
    spec = world.spec
    train = world.train.drop_duplicates()
    x_train = train[columns].copy()
    x_holdout = world.holdout_features[columns].copy()
    for column in columns:
        if x_train[column].dtype == object:
            categories = sorted(x_train[column].unique())
            x_train[column] = pd.Categorical(x_train[column], categories=categories)
            x_holdout[column] = pd.Categorical(x_holdout[column], categories=categories)
    model = lgb.LGBMClassifier(n_estimators=200, learning_rate=0.05, num_leaves=31, verbose=-1, n_jobs=2)
    model.fit(x_train, train[spec.label_column])
    scores = model.predict_proba(x_holdout)[:, 1]
    return metrics.average_precision(world.holdout_labels[spec.label_column].to_numpy(), scores)


def test_honest_model_lands_between_base_rate_and_oracle_and_leaky_model_collapses(
    full_world: SeededWorld,
) -> None:
    world = full_world.world
    oracle = full_world.key.oracle
    honest_columns = [c for c in world.feature_columns if c != world.choices.leak_column]
    honest = _lightgbm_pr_auc(world, honest_columns)
    leaky = _lightgbm_pr_auc(world, world.feature_columns)
    assert oracle.base_rate < honest < oracle.pr_auc, (oracle.base_rate, honest, oracle.pr_auc)
    assert honest > 2 * oracle.base_rate
    assert leaky < 0.75 * honest, (leaky, honest)


def test_holdout_is_the_next_months_and_never_in_the_packet(full_world: SeededWorld) -> None:
    world = full_world.world
    spec = world.spec
    assert world.holdout_month_names == ["2026-01", "2026-02"]
    assert set(world.holdout_features[spec.time_column]) == set(world.holdout_month_names)
    assert not set(world.train[spec.time_column]) & set(world.holdout_month_names)
    assert spec.label_column not in world.holdout_features.columns
    assert list(world.holdout_labels.columns) == [
        spec.id_column,
        spec.time_column,
        spec.label_column,
        "true_probability",
    ]


def test_key_states_the_seeded_truth(full_world: SeededWorld) -> None:
    world, key = full_world.world, full_world.key
    assert key.leak.column == world.choices.leak_column
    assert world.feature_columns[key.leak.position] == key.leak.column
    assert key.covariate_drift[0].from_month == world.months[world.choices.drift_from_index]
    assert key.grouping.group_column == "customer_id"
    assert set(key.churn_rate_by_month) == set(world.months)
    assert key.oracle.base_rate < key.oracle.pr_auc < 1


@pytest.mark.parametrize("count", [12])
def test_candidates_get_different_worlds(make_world, count: int) -> None:
    choices = [make_world(f"cand-{i}", rows=3_000).world.choices for i in range(count)]
    assert len({c.leak_column for c in choices}) >= 3
    assert len({c.leak_position for c in choices}) >= 6
    assert len({(c.drift_column, c.drift_from_index) for c in choices}) >= 4
    assert len({c.mnar_column for c in choices}) >= 2


def _worlds_covering_every_role_candidate(spec) -> list[str]:
    """Candidate ids whose worlds, together, draw every covariate-drift, concept-drift and MNAR
    candidate of the spec (found from the choices alone, before simulating)."""
    wanted = {
        (role, candidate)
        for role in ("covariate_drift", "concept_drift", "missing_not_at_random")
        for candidate in spec.role_pools[role]
    }
    chosen = []
    for i in range(500):
        choices = draw_choices(spec, rng_for(candidate_seed(TEST_SECRET, f"roles-{i}")))
        drawn = {
            ("covariate_drift", choices.feature_of(choices.drift_column)),
            ("concept_drift", choices.feature_of(choices.concept_column)),
            ("missing_not_at_random", choices.feature_of(choices.mnar_column)),
        }
        if drawn & wanted:
            chosen.append(f"roles-{i}")
            wanted -= drawn
        if not wanted:
            return chosen
    raise AssertionError(f"no seed draws {sorted(wanted)}")


@pytest.mark.slow
def test_every_role_candidate_is_measurable_where_it_is_drawn(make_world) -> None:
    """The pools are larger in churn-v2: each candidate, where drawn, is as measurable as v1's were,
    on full-size worlds (a few seeds chosen to draw every candidate at least once)."""
    spec = load_spec()
    for candidate in _worlds_covering_every_role_candidate(spec):
        world = make_world(candidate, rows=spec.default_rows).world
        choices, train = world.choices, world.train
        label = train[spec.label_column].to_numpy()
        month = train[spec.time_column]
        first, last = train[month == world.months[0]], train[month == world.months[-1]]
        numeric = [c for c in world.feature_columns if train[c].dtype.kind in "fi"]
        psi = {c: metrics.psi(first[c].to_numpy(float), last[c].to_numpy(float)) for c in numeric}
        stable = max(v for c, v in psi.items() if c not in {choices.drift_column, choices.leak_column})
        after = month >= world.months[choices.concept_from_index]
        gaps = [_top_decile_gap(train, spec.label_column, choices.concept_column, rows) for rows in (~after, after)]
        mnar = train[choices.mnar_column].isna().to_numpy()
        figures = {
            "drift": (choices.drift_column, round(psi[choices.drift_column], 2), round(stable, 3)),
            "concept": (choices.concept_column, *(round(float(gap), 4) for gap in gaps)),
            "mnar": (choices.mnar_column, round(float(mnar[label == 1].mean() / mnar[label == 0].mean()), 2)),
        }
        print(f"[figures] {candidate}: {figures}")
        assert psi[choices.drift_column] >= 0.5 and stable < 0.05, figures
        assert gaps[1] > 1.5 * gaps[0], figures
        assert mnar[label == 1].mean() >= 2 * mnar[label == 0].mean(), figures
        assert train.groupby(spec.time_column)[spec.label_column].mean().between(0.03, 0.06).all()

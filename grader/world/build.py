"""Build one candidate's world: simulate, seed the problems, split train from holdout."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from grader.world.choices import SeededChoices, draw_choices, rng_for
from grader.world.simulate import churn_logit, new_customers, observe, sigmoid
from grader.world.spec import WorldSpec


@dataclass(frozen=True)
class World:
    """Everything generated for one seed. `train` is what the candidate receives."""

    spec: WorldSpec
    choices: SeededChoices
    months: list[str]
    holdout_month_names: list[str]
    train: pd.DataFrame
    train_probability: np.ndarray
    train_is_duplicate: np.ndarray
    holdout_features: pd.DataFrame
    holdout_labels: pd.DataFrame
    intercept: float

    @property
    def feature_columns(self) -> list[str]:
        return [c for c in self.train.columns if c not in self.non_feature_columns]

    @property
    def non_feature_columns(self) -> tuple[str, str, str]:
        return (self.spec.id_column, self.spec.time_column, self.spec.label_column)


def month_names(start: str, count: int) -> list[str]:
    year, month = (int(part) for part in start.split("-"))
    names = []
    for offset in range(count):
        y, m = divmod(month - 1 + offset, 12)
        names.append(f"{year + y:04d}-{m + 1:02d}")
    return names


def _solve_intercept(logit: np.ndarray, target: float, start: float) -> float:
    """Intercept that makes the mean churn probability equal `target` (Newton steps)."""
    intercept = start
    for _ in range(8):
        p = sigmoid(intercept + logit)
        intercept -= (p.mean() - target) / max((p * (1 - p)).mean(), 1e-9)
    return float(intercept)


def _simulate(spec: WorldSpec, choices: SeededChoices, rng: np.random.Generator, customers: int):
    """Run burn-in, train and holdout months; return the recorded months stacked.

    Columns are keyed by the spec's feature names; `build_world` gives them their names."""
    wanted = set(choices.columns)
    pop = new_customers(customers, rng, wanted, tenure=np.minimum(rng.geometric(1 / 24, customers) - 1, 120))
    ids = np.arange(customers, dtype=np.int64)
    next_id = customers
    intercept = float(np.log(spec.target_monthly_churn / (1 - spec.target_monthly_churn)))
    months: list[dict] = []
    total = spec.burn_in_months + spec.train_months + spec.holdout_months
    for step in range(total):
        month_index = step - spec.burn_in_months
        features, latent = observe(pop, rng, wanted)
        effects = dict(spec.concept_drift.effects)
        if month_index >= choices.concept_from_index:
            effects[choices.feature_of(choices.concept_column)] *= spec.concept_drift.effect_multiplier
        logit = churn_logit(features, latent, pop, effects)
        if month_index <= 0:
            # Steer during burn-in, then freeze: later churn rates move only with the world.
            intercept = _solve_intercept(logit, spec.target_monthly_churn, intercept)
        probability = sigmoid(intercept + logit)
        churned = rng.random(len(probability)) < probability
        if month_index >= 0:
            features.update(
                _month=np.full(len(ids), month_index), _customer=ids, _probability=probability, _label=churned
            )
            months.append(features)
        stay = ~churned
        arrivals = int(churned.sum())
        newcomers = new_customers(arrivals, rng, wanted)
        pop = {k: np.concatenate([v[stay], newcomers[k]]) for k, v in pop.items()}
        pop["tenure"][: int(stay.sum())] += 1
        ids = np.concatenate([ids[stay], np.arange(next_id, next_id + arrivals)])
        next_id += arrivals
    # Stack column by column, dropping each month's copy as we go, to keep the peak low.
    stacked = {name: np.concatenate([month.pop(name) for month in months]) for name in list(months[0])}
    return stacked, intercept


def _seed_problems(
    spec: WorldSpec,
    choices: SeededChoices,
    rng: np.random.Generator,
    month_index: np.ndarray,
    columns: dict,
    probability: np.ndarray,
    label: np.ndarray,
) -> None:
    """Apply drift, missingness and the leak to the stacked columns (keyed by feature), in place."""
    drifted = month_index >= choices.drift_from_index
    feature = choices.feature_of(choices.drift_column)
    factor = spec.covariate_drift.factor[feature]
    decimals = spec.covariate_drift.decimals[feature]
    values = columns[feature].astype(np.float64)
    values[drifted] = (values[drifted] * factor).round(decimals)
    columns[feature] = values if decimals else values.astype(np.int64)

    # Customers about to churn skip surveys and go quiet: missingness follows the hazard.
    mnar = rng.random(len(label)) < np.clip(0.03 + 3.0 * probability, 0, 0.85)
    feature = choices.feature_of(choices.mnar_column)
    columns[feature] = np.where(mnar, np.nan, columns[feature].astype(float))
    mcar = rng.random(len(label)) < spec.mcar_missing_share
    feature = choices.feature_of(choices.mcar_column)
    columns[feature] = np.where(mcar, np.nan, columns[feature].astype(float))

    # The leak is filled in by the cancellation process: for training months it reflects
    # the outcome; in holdout months it is what production sees before any outcome.
    known = month_index < spec.train_months
    churner = label & known
    flag_share = np.where(churner, spec.leak.share_churners_flagged, spec.leak.share_stayers_flagged)
    flagged = rng.random(len(label)) < flag_share
    counts = 1 + rng.poisson(np.where(churner, 1.3, 0.2))
    columns[choices.leak_column] = np.where(flagged, counts, 0).astype(np.int64)

    for name in choices.columns:
        if spec.feature(name).kind == "int" and not np.isnan(np.asarray(columns[name], dtype=float)).any():
            columns[name] = np.asarray(columns[name]).astype(np.int64)


def _shared_strings(values: list[str], codes: np.ndarray) -> np.ndarray:
    """An object array whose cells point at one string per value (8 bytes a row)."""
    return np.array(values, dtype=object)[codes]


def _duplicated_order(spec: WorldSpec, rng: np.random.Generator, month_index: np.ndarray):
    """Row order of the delivered training file: ETL-replay copies added, rows shuffled
    within each month as an extract would be. Returns source row per output row and which
    output rows are the replayed copies."""
    n = len(month_index)
    replayed = rng.choice(n, size=round(spec.duplicate_share * n), replace=False)
    source = np.concatenate([np.arange(n), np.sort(replayed)])
    is_copy = np.r_[np.zeros(n, dtype=bool), np.ones(len(replayed), dtype=bool)]
    order = np.lexsort((rng.random(len(source)), month_index[source]))
    return source[order], is_copy[order]


def build_world(spec: WorldSpec, seed: bytes, rows: int | None = None) -> World:
    """Generate the whole world for one seed; same spec, seed and rows give the same world."""
    rows = rows or spec.default_rows
    rng = rng_for(seed)
    choices = draw_choices(spec, rng)
    customers = max(50, round(rows / (spec.train_months * (1 + spec.duplicate_share))))
    columns, intercept = _simulate(spec, choices, rng, customers)
    month_index = columns.pop("_month")
    customer = columns.pop("_customer")
    probability = columns.pop("_probability")
    label = columns.pop("_label")
    _seed_problems(spec, choices, rng, month_index, columns, probability, label)

    names = month_names(spec.start_month, spec.train_months + spec.holdout_months)
    # (key in the simulated columns, delivered name), in file order.
    order = list(choices.columns.items())
    order.insert(choices.leak_position, (choices.leak_column, choices.leak_column))
    id_names = [f"cus_{i:07d}" for i in range(int(customer.max()) + 1)]
    in_train = np.flatnonzero(month_index < spec.train_months)
    in_holdout = np.flatnonzero(month_index >= spec.train_months)
    train_rows, train_is_copy = _duplicated_order(spec, rng, month_index[in_train])
    train_rows = in_train[train_rows]

    def frame(rows_: np.ndarray, take: Callable[[str], np.ndarray]) -> pd.DataFrame:
        data = {
            spec.id_column: _shared_strings(id_names, customer[rows_]),
            spec.time_column: _shared_strings(names, month_index[rows_]),
        }
        data.update((name, take(feature)[rows_]) for feature, name in order)
        # copy=False keeps one array per column instead of consolidating them into blocks:
        # half the peak memory at 200K rows, and zero-copy into Arrow when writing.
        return pd.DataFrame(data, copy=False)

    holdout = frame(in_holdout, columns.__getitem__)
    # Popping frees each simulated column as soon as its training copy exists.
    train = frame(train_rows, columns.pop)
    train[spec.label_column] = label[train_rows].astype(np.int64)
    holdout_labels = holdout[[spec.id_column, spec.time_column]].copy()
    holdout_labels[spec.label_column] = label[in_holdout].astype(np.int64)
    holdout_labels["true_probability"] = probability[in_holdout]
    return World(
        spec=spec,
        choices=choices,
        months=names[: spec.train_months],
        holdout_month_names=names[spec.train_months :],
        train=train,
        train_probability=probability[train_rows],
        train_is_duplicate=train_is_copy,
        holdout_features=holdout,
        holdout_labels=holdout_labels,
        intercept=intercept,
    )

"""The answer key: what a perfect audit finds and how good a model can be, for one seed.

Every figure here is computed from the generated data itself (not copied from the spec),
so the key states what is true of the files the candidate actually received.

Schema `answer-key/1`. Fields added since it was first written, all optional with a default so
that older keys still load: `feature_concepts` and `leak.namesake` (with churn-v2, whose
column names are drawn per seed).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from grader import metrics
from grader.world.build import World

ANSWER_KEY_SCHEMA = "answer-key/1"


class LeakTruth(BaseModel):
    column: str
    position: int = Field(description="0-based index among the feature columns")
    why: str
    single_feature_pr_auc: float
    best_honest_column: str
    best_honest_pr_auc: float
    namesake: str | None = Field(
        None, description="the spec feature whose name and description the leak took (absent from this world)"
    )


class CovariateDriftTruth(BaseModel):
    column: str
    from_month: str
    cause: str
    psi_first_vs_last: float


class ConceptDriftTruth(BaseModel):
    column: str
    from_month: str
    effect_multiplier: float


class MissingTruth(BaseModel):
    column: str
    mechanism: str
    missing_rate: float
    missing_rate_churners: float
    missing_rate_stayers: float


class DuplicateTruth(BaseModel):
    count: int
    share: float
    cause: str = "ETL replay: some rows were loaded twice"


class GroupingTruth(BaseModel):
    group_column: str
    time_column: str
    customers: int
    mean_rows_per_customer: float
    why: str = (
        "customers repeat across monthly snapshots: a random row split puts the same "
        "customer in train and validation, and future months in training"
    )


class OracleMetrics(BaseModel):
    """Scores of the true probabilities on the hidden holdout: the ceiling."""

    rows: int
    base_rate: float
    pr_auc: float
    brier: float
    expected_calibration_error: float
    top_decile_lift: float


class AnswerKey(BaseModel):
    schema_version: str = ANSWER_KEY_SCHEMA
    spec_version: str
    candidate_id: str
    seed_fingerprint: str
    demo_secret: bool
    rows: int
    feature_columns: list[str]
    feature_concepts: dict[str, str] = Field(
        default_factory=dict,
        description="each honest column -> the spec feature it delivers, to compare worlds whose names differ",
    )
    stable_features: list[str] = Field(description="honest numeric features with no seeded drift; their PSI stays low")
    label_column: str
    label_window_days: int
    months: list[str]
    holdout_months: list[str]
    churn_rate_by_month: dict[str, float]
    true_probability_mean_by_month: dict[str, float]
    leak: LeakTruth
    covariate_drift: list[CovariateDriftTruth]
    concept_drift: ConceptDriftTruth
    missing_not_at_random: MissingTruth
    missing_completely_at_random: MissingTruth
    duplicates: DuplicateTruth
    grouping: GroupingTruth
    oracle: OracleMetrics


def _missing(frame: pd.DataFrame, column: str, label: np.ndarray, mechanism: str) -> MissingTruth:
    missing = frame[column].isna().to_numpy()
    return MissingTruth(
        column=column,
        mechanism=mechanism,
        missing_rate=float(missing.mean()),
        missing_rate_churners=float(missing[label == 1].mean()),
        missing_rate_stayers=float(missing[label == 0].mean()),
    )


def oracle_metrics(labels: np.ndarray, probability: np.ndarray) -> OracleMetrics:
    return OracleMetrics(
        rows=len(labels),
        base_rate=float(np.mean(labels)),
        pr_auc=metrics.average_precision(labels, probability),
        brier=metrics.brier(labels, probability),
        expected_calibration_error=metrics.expected_calibration_error(labels, probability),
        top_decile_lift=metrics.lift_by_decile(labels, probability)[0],
    )


def build_key(world: World, candidate_id: str, fingerprint: str, demo_secret: bool) -> AnswerKey:
    """Measure every seeded problem on the generated files."""
    spec, choices, train = world.spec, world.choices, world.train
    label = train[spec.label_column].to_numpy()
    features = world.feature_columns
    seeded = {choices.leak_column, choices.drift_column}
    numeric = [c for c in features if train[c].dtype.kind in "fi"]
    honest_scores = {
        c: metrics.single_feature_pr_auc(label, train[c].to_numpy(dtype=float))
        for c in numeric
        if c != choices.leak_column
    }
    best_honest = max(honest_scores, key=honest_scores.__getitem__)
    month = train[spec.time_column].to_numpy()
    first, last = month == world.months[0], month == world.months[-1]
    drift_values = train[choices.drift_column].to_numpy(dtype=float)
    unique_rows = ~world.train_is_duplicate
    by_month = pd.DataFrame({"month": month, "label": label, "p": world.train_probability})[unique_rows]
    holdout_label = world.holdout_labels[spec.label_column].to_numpy()
    customers = train[spec.id_column].nunique()
    return AnswerKey(
        spec_version=spec.version,
        candidate_id=candidate_id,
        seed_fingerprint=fingerprint,
        demo_secret=demo_secret,
        rows=len(train),
        feature_columns=features,
        feature_concepts={name: feature for feature, name in choices.columns.items()},
        stable_features=[c for c in numeric if c not in seeded],
        label_column=spec.label_column,
        label_window_days=spec.label_window_days,
        months=world.months,
        holdout_months=world.holdout_month_names,
        churn_rate_by_month=by_month.groupby("month")["label"].mean().round(6).to_dict(),
        true_probability_mean_by_month=by_month.groupby("month")["p"].mean().round(6).to_dict(),
        leak=LeakTruth(
            column=choices.leak_column,
            position=features.index(choices.leak_column),
            why=spec.leak.why,
            single_feature_pr_auc=metrics.single_feature_pr_auc(
                label, train[choices.leak_column].to_numpy(dtype=float)
            ),
            best_honest_column=best_honest,
            best_honest_pr_auc=honest_scores[best_honest],
            namesake=choices.leak_namesake,
        ),
        covariate_drift=[
            CovariateDriftTruth(
                column=choices.drift_column,
                from_month=world.months[choices.drift_from_index],
                cause=spec.covariate_drift.cause[choices.feature_of(choices.drift_column)],
                psi_first_vs_last=metrics.psi(drift_values[first], drift_values[last]),
            )
        ],
        concept_drift=ConceptDriftTruth(
            column=choices.concept_column,
            from_month=world.months[choices.concept_from_index],
            effect_multiplier=spec.concept_drift.effect_multiplier,
        ),
        missing_not_at_random=_missing(
            train, choices.mnar_column, label, "missing far more often for customers about to churn"
        ),
        missing_completely_at_random=_missing(train, choices.mcar_column, label, "missing completely at random"),
        duplicates=DuplicateTruth(
            count=int(world.train_is_duplicate.sum()),
            share=float(world.train_is_duplicate.mean()),
        ),
        grouping=GroupingTruth(
            group_column=spec.id_column,
            time_column=spec.time_column,
            customers=int(customers),
            mean_rows_per_customer=float(len(train) / customers),
        ),
        oracle=oracle_metrics(holdout_label, world.holdout_labels["true_probability"].to_numpy()),
    )

"""A readable summary of an answer key, for the hiring side only."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from grader.world.key import AnswerKey


def print_key_summary(key: AnswerKey, console: Console) -> None:
    """Print what was seeded for one candidate."""
    table = Table(title=f"seeded for {key.candidate_id} ({key.spec_version}, {key.rows:,} rows)")
    table.add_column("problem")
    table.add_column("truth")
    leak = key.leak
    disguise = f", named and described as {leak.namesake}" if leak.namesake else ""
    table.add_row(
        "target leakage",
        f"{leak.column} (feature #{leak.position}{disguise}): single-feature PR-AUC {leak.single_feature_pr_auc:.3f} "
        f"vs best honest {leak.best_honest_column} {leak.best_honest_pr_auc:.3f}",
    )
    for drift in key.covariate_drift:
        table.add_row(
            "covariate drift",
            f"{drift.column} from {drift.from_month}, PSI first vs last {drift.psi_first_vs_last:.2f} ({drift.cause})",
        )
    concept = key.concept_drift
    table.add_row("concept drift", f"{concept.column}: effect x{concept.effect_multiplier:g} from {concept.from_month}")
    for missing in (key.missing_not_at_random, key.missing_completely_at_random):
        table.add_row(
            missing.mechanism,
            f"{missing.column}: {missing.missing_rate:.1%} missing "
            f"(churners {missing.missing_rate_churners:.1%}, stayers {missing.missing_rate_stayers:.1%})",
        )
    table.add_row("duplicate rows", f"{key.duplicates.count} ({key.duplicates.share:.2%}), {key.duplicates.cause}")
    grouping = key.grouping
    table.add_row(
        "grouping",
        f"{grouping.group_column} over {grouping.time_column}: {grouping.customers:,} customers, {grouping.mean_rows_per_customer:.1f} rows each",
    )
    rates = list(key.churn_rate_by_month.values())
    table.add_row(
        "churn rate", f"{min(rates):.1%} to {max(rates):.1%} a month; label window {key.label_window_days} days"
    )
    oracle = key.oracle
    table.add_row(
        "holdout oracle",
        f"{', '.join(key.holdout_months)}: PR-AUC {oracle.pr_auc:.3f}, Brier {oracle.brier:.4f}, "
        f"ECE {oracle.expected_calibration_error:.4f}, top-decile lift {oracle.top_decile_lift:.2f} (base rate {oracle.base_rate:.1%})",
    )
    console.print(table)

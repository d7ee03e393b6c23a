"""Simulate the churn world month by month, vectorised over customers.

Every customer has static latent traits (engagement, price sensitivity, happiness, tech
trouble) and plan attributes; each month their observable features are drawn from those
traits plus noise, a known hazard model gives the true probability of churning within
the label window, and the label is drawn from it. Churners leave and as many new
customers arrive, so the population is steady after the burn-in months.

The seeded problems are applied here: the covariate-drift measurement change, the
concept-drift change of one effect, the missing-not-at-random and missing-at-random
columns, and the leak. Duplicate rows are added by `grader.world.build`.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel

from grader.world.spec import WorldSpec

PLANS = np.array(["basic", "standard", "premium", "enterprise"], dtype=object)
CONTRACTS = np.array(["monthly", "annual", "two_year"], dtype=object)
PAYMENTS = np.array(["card", "bank_transfer", "paypal", "invoice"], dtype=object)
REGIONS = np.array(["north", "south", "east", "west", "central"], dtype=object)
CHANNELS = np.array(["organic", "paid_search", "referral", "partner", "social"], dtype=object)
DEVICES = np.array(["ios", "android", "web", "desktop"], dtype=object)
LIST_PRICE = np.array([9.99, 19.99, 39.99, 14.50])  # enterprise is per seat

# Linear effects on the churn log-odds of the features that may carry concept drift.
BASE_EFFECTS = {
    "support_calls_30d": 0.22,
    "price_increase_pct": 0.045,
    "app_crashes_30d": 0.12,
    "late_payments_12m": 0.18,
}


class SeededChoices(BaseModel):
    """What the seed decided about this candidate's world."""

    leak_column: str
    leak_position: int
    drift_column: str
    drift_from_index: int
    concept_column: str
    concept_from_index: int
    mnar_column: str
    mcar_column: str


def draw_choices(spec: WorldSpec, rng: np.random.Generator) -> SeededChoices:
    """Pick the leak name and position, the drifting features and months, the missing columns."""
    drift_column = str(rng.choice(spec.covariate_drift.candidates))
    concept_column = str(rng.choice(spec.concept_drift.candidates))
    taken = {drift_column, concept_column}
    mnar_pool = [c for c in spec.missing_not_at_random.candidates if c not in taken]
    mnar_column = str(rng.choice(mnar_pool))
    taken.add(mnar_column)
    mcar_pool = [c for c in spec.missing_completely_at_random.candidates if c not in taken]
    lo, hi = spec.covariate_drift.from_month_index
    clo, chi = spec.concept_drift.from_month_index
    return SeededChoices(
        leak_column=str(rng.choice(spec.leak.names)),
        # Never first: a leak in column 0 would be the first thing anyone looks at.
        leak_position=int(rng.integers(3, len(spec.features) + 1)),
        drift_column=drift_column,
        drift_from_index=int(rng.integers(lo, hi + 1)),
        concept_column=concept_column,
        concept_from_index=int(rng.integers(clo, chi + 1)),
        mnar_column=mnar_column,
        mcar_column=str(rng.choice(mcar_pool)),
    )


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def new_customers(n: int, rng: np.random.Generator, tenure: np.ndarray | None = None) -> dict:
    """Static traits of `n` customers (tenure 0 unless given)."""
    plan = rng.choice(4, size=n, p=[0.38, 0.34, 0.19, 0.09])
    contract = rng.choice(3, size=n, p=[0.55, 0.30, 0.15])
    seats = np.ones(n, dtype=np.int64)
    seats[plan == 1] = rng.integers(1, 4, size=(plan == 1).sum())
    seats[plan == 2] = rng.integers(1, 6, size=(plan == 2).sum())
    seats[plan == 3] = rng.integers(5, 51, size=(plan == 3).sum())
    return {
        "engagement": rng.normal(size=n),
        "price_sensitivity": rng.normal(size=n),
        "happiness": rng.normal(size=n),
        "tech_trouble": rng.normal(size=n),
        "age": np.clip(rng.normal(42, 13, size=n).round(), 18, 85).astype(np.int64),
        "plan": plan,
        "contract": contract,
        "seats": seats,
        "discount": rng.choice([0.0, 5.0, 10.0, 15.0, 20.0], size=n, p=[0.6, 0.15, 0.12, 0.08, 0.05]),
        "payment": rng.choice(4, size=n, p=[0.5, 0.2, 0.2, 0.1]),
        "region": rng.choice(5, size=n, p=[0.22, 0.2, 0.2, 0.2, 0.18]),
        "channel": rng.choice(5, size=n, p=[0.35, 0.25, 0.15, 0.1, 0.15]),
        "device": rng.choice(4, size=n, p=[0.3, 0.3, 0.25, 0.15]),
        "auto_renew": rng.random(n) < np.where(contract == 0, 0.55, 0.85),
        "paperless": rng.random(n) < 0.7,
        "family": rng.random(n) < 0.2,
        "sms": rng.random(n) < 0.4,
        "promo_months": np.where(rng.random(n) < 0.45, 3, 0),
        "late_rate": np.exp(-1.7 + 0.5 * rng.normal(size=n)),
        "referral_rate": np.exp(-2.0 + 0.5 * rng.normal(size=n)),
        "tenure": np.zeros(n, dtype=np.int64) if tenure is None else tenure,
    }


def observe(pop: dict, rng: np.random.Generator) -> tuple[dict, dict]:
    """One month of observable features, and the latent values the hazard reads."""
    n = len(pop["tenure"])
    e, s, h, t = pop["engagement"], pop["price_sensitivity"], pop["happiness"], pop["tech_trouble"]
    tenure = pop["tenure"]
    plan, contract = pop["plan"], pop["contract"]
    months_left = np.where(contract == 1, 11 - tenure % 12, np.where(contract == 2, 23 - tenure % 24, 0))
    price = np.where(plan == 3, LIST_PRICE[3] * pop["seats"], LIST_PRICE[plan])
    promo = tenure < pop["promo_months"]
    monthly = price * (1 - pop["discount"] / 100) * np.where(promo, 0.5, 1.0)
    monthly = monthly * rng.uniform(0.98, 1.04, size=n)
    price_increase = np.where(rng.random(n) < 0.12, rng.uniform(3, 15, size=n).round(1), 0.0)
    late = rng.poisson(pop["late_rate"] * np.where(pop["payment"] == 3, 1.6, 1.0) * np.exp(0.3 * s))
    adoption = sigmoid(0.9 * e + 0.3 * rng.normal(size=n))
    active_days = rng.binomial(30, sigmoid(0.4 + 1.0 * e + 0.3 * rng.normal(size=n)))
    last_login = np.minimum(rng.geometric(sigmoid(0.3 + 1.3 * e)) - 1, 60)
    crashes = rng.poisson(np.exp(-1.0 + 0.7 * t))
    calls = rng.poisson(np.exp(-1.6 + 0.5 * t - 0.35 * h))
    satisfaction = 6.5 + 1.5 * h - 0.5 * t + rng.normal(size=n)
    addons = rng.binomial(5, sigmoid(-1.0 + 0.6 * e))
    device = np.where(rng.random(n) < 0.1, rng.integers(0, 4, size=n), pop["device"])
    features = {
        "tenure_months": tenure.copy(),
        "customer_age": pop["age"].astype(np.float64),
        "plan": PLANS[plan],
        "contract_type": CONTRACTS[contract],
        "contract_months_remaining": months_left,
        "num_seats": pop["seats"].copy(),
        "monthly_charges": monthly.round(2),
        "total_charges": (monthly * (tenure + 1) * rng.uniform(0.96, 1.0, size=n)).round(2),
        "discount_pct": pop["discount"].copy(),
        "price_increase_pct": price_increase,
        "late_payments_12m": late,
        "billing_disputes_12m": rng.poisson(np.exp(-3.0 + 0.6 * s)),
        "payment_method": PAYMENTS[pop["payment"]],
        "auto_renew": pop["auto_renew"].copy(),
        "is_paperless": pop["paperless"].copy(),
        "promo_active": promo,
        "region": REGIONS[pop["region"]],
        "acquisition_channel": CHANNELS[pop["channel"]],
        "device_type": DEVICES[device],
        "has_family_plan": pop["family"].copy(),
        "opted_into_sms": pop["sms"].copy(),
        "sessions_last_30d": rng.poisson(np.exp(2.7 + 0.5 * e)),
        "avg_session_minutes": np.exp(2.9 + 0.35 * e + 0.25 * rng.normal(size=n)).round(1),
        "active_days_last_30d": active_days,
        "logins_last_7d": rng.poisson(np.exp(1.1 + 0.6 * e)),
        "days_since_last_login": last_login,
        "data_usage_gb": rng.gamma(2.0, np.exp(0.8 + 0.4 * e)).round(2),
        "feature_adoption_score": adoption.round(3),
        "addon_count": addons.astype(np.float64),
        "app_crashes_30d": crashes,
        "page_load_ms": np.exp(np.log(850) + 0.15 * t + 0.25 * rng.normal(size=n)).round(0),
        "support_tickets_90d": rng.poisson(np.exp(-0.6 + 0.6 * t - 0.2 * h)),
        "support_calls_30d": calls,
        "avg_ticket_resolution_hours": rng.gamma(2.0, 11.0 * np.exp(0.25 * t)).round(1),
        "satisfaction_score": np.clip(satisfaction.round(), 1, 10),
        "nps_response": np.clip((7.0 + 1.7 * h + 1.2 * rng.normal(size=n)).round(), 0, 10),
        "email_open_rate": sigmoid(-0.8 + 0.6 * e + 0.4 * rng.normal(size=n)).round(3),
        "marketing_emails_30d": rng.poisson(6.0, size=n),
        "referrals_made": rng.poisson(pop["referral_rate"] * (1 + tenure / 12)).astype(np.float64),
    }
    latent = {"satisfaction": satisfaction, "months_left": months_left}
    return features, latent


def churn_logit(features: dict, latent: dict, pop: dict, effects: dict[str, float]) -> np.ndarray:
    """The known hazard model, without its intercept: nonlinear, with interactions."""
    contract = pop["contract"]
    basic = pop["plan"] == 0
    return (
        np.array([0.8, -0.3, -0.9])[contract]
        + 1.1 * ((contract != 0) & (latent["months_left"] == 0))
        - 0.35 * np.log1p(features["tenure_months"])
        - 0.28 * (latent["satisfaction"] - 6.5)
        + effects["support_calls_30d"] * features["support_calls_30d"] * np.where(basic, 1.6, 1.0)
        + 0.55 * np.sqrt(features["days_since_last_login"] / 7.0)
        - 1.3 * (features["feature_adoption_score"] - 0.5)
        + effects["price_increase_pct"]
        * features["price_increase_pct"]
        * (1 + 0.6 * np.maximum(pop["price_sensitivity"], 0))
        + effects["late_payments_12m"] * features["late_payments_12m"]
        - 0.45 * pop["auto_renew"]
        + np.array([0.0, -0.1, 0.05, 0.25])[pop["payment"]]
        - 0.025 * (features["active_days_last_30d"] - 15)
        + effects["app_crashes_30d"] * features["app_crashes_30d"]
        - 0.15 * features["addon_count"]
    )

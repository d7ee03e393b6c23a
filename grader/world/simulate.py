"""Simulate the churn world month by month, vectorised over customers.

Every customer has static latent traits (engagement, price sensitivity, happiness, tech
trouble) and plan attributes; each month their observable features are drawn from those
traits plus noise, a known hazard model gives the true probability of churning within
the label window, and the label is drawn from it. Churners leave and as many new
customers arrive, so the population is steady after the burn-in months.

Only the features a world delivers are drawn (`wanted`), in one fixed order, so that
churn-v1, which delivers all of its features, draws exactly what it always drew. The
seeded problems are applied by `grader.world.build`, on the stacked months.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import numpy as np

PLANS = np.array(["basic", "standard", "premium", "enterprise"], dtype=object)
CONTRACTS = np.array(["monthly", "annual", "two_year"], dtype=object)
PAYMENTS = np.array(["card", "bank_transfer", "paypal", "invoice"], dtype=object)
REGIONS = np.array(["north", "south", "east", "west", "central"], dtype=object)
CHANNELS = np.array(["organic", "paid_search", "referral", "partner", "social"], dtype=object)
DEVICES = np.array(["ios", "android", "web", "desktop"], dtype=object)
LANGUAGES = np.array(["en", "es", "de", "fr", "pt"], dtype=object)
LIST_PRICE = np.array([9.99, 19.99, 39.99, 14.50])  # enterprise is per seat

# Features the hazard reads in every month, besides the spec's concept-drift effects.
HAZARD_FEATURES = (
    "tenure_months",
    "days_since_last_login",
    "feature_adoption_score",
    "active_days_last_30d",
    "addon_count",
)
# Effects the hazard shapes itself (interactions); any other effect in the spec is linear.
_SHAPED_EFFECTS = ("support_calls_30d", "price_increase_pct", "app_crashes_30d", "late_payments_12m")


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


# Static traits that only later specs' features read: drawn only for worlds that deliver them.
_EXTRA_TRAITS: dict[str, tuple[str, Callable[[np.random.Generator, int], np.ndarray]]] = {
    "preferred_language": ("language", lambda rng, n: rng.choice(5, size=n, p=[0.55, 0.15, 0.12, 0.1, 0.08])),
    "has_mobile_app": ("mobile_app", lambda rng, n: rng.random(n) < 0.55),
    "billing_cycle_day": ("billing_day", lambda rng, n: rng.integers(1, 29, size=n)),
}


def new_customers(n: int, rng: np.random.Generator, wanted: Collection[str], tenure: np.ndarray | None = None) -> dict:
    """Static traits of `n` customers (tenure 0 unless given)."""
    plan = rng.choice(4, size=n, p=[0.38, 0.34, 0.19, 0.09])
    contract = rng.choice(3, size=n, p=[0.55, 0.30, 0.15])
    seats = np.ones(n, dtype=np.int64)
    seats[plan == 1] = rng.integers(1, 4, size=(plan == 1).sum())
    seats[plan == 2] = rng.integers(1, 6, size=(plan == 2).sum())
    seats[plan == 3] = rng.integers(5, 51, size=(plan == 3).sum())
    customers = {
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
    for feature, (trait, draw) in _EXTRA_TRAITS.items():
        if feature in wanted:
            customers[trait] = draw(rng, n)
    return customers


@dataclass
class _Month:
    """One month's shared inputs: the population, its traits and the intermediate values."""

    pop: dict
    rng: np.random.Generator
    values: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        pop = self.pop
        self.n = len(pop["tenure"])
        self.e, self.s = pop["engagement"], pop["price_sensitivity"]
        self.h, self.t = pop["happiness"], pop["tech_trouble"]
        self.tenure, self.plan, self.contract = pop["tenure"], pop["plan"], pop["contract"]
        tenure, contract = self.tenure, self.contract
        self.months_left = np.where(contract == 1, 11 - tenure % 12, np.where(contract == 2, 23 - tenure % 24, 0))
        self.promo = tenure < pop["promo_months"]
        # Renewal points of annual and two-year contracts: when outreach and questions cluster.
        self.renewal_due = (contract != 0) & (self.months_left <= 1)

    def normal(self) -> np.ndarray:
        return self.rng.normal(size=self.n)

    def poisson(self, rate) -> np.ndarray:
        return self.rng.poisson(rate, size=self.n)

    def events(self, share, extra: float) -> np.ndarray:
        """Counts that are 0 for most customers and 1 + Poisson(extra) for a `share` of them:
        shaped like the leak's, so that its values do not single it out."""
        return np.where(self.rng.random(self.n) < share, 1 + self.rng.poisson(extra, size=self.n), 0)


def _monthly_charges(m: _Month) -> np.ndarray:
    price = np.where(m.plan == 3, LIST_PRICE[3] * m.pop["seats"], LIST_PRICE[m.plan])
    monthly = price * (1 - m.pop["discount"] / 100) * np.where(m.promo, 0.5, 1.0)
    return monthly * m.rng.uniform(0.98, 1.04, size=m.n)


def _price_increase(m: _Month) -> np.ndarray:
    return np.where(m.rng.random(m.n) < 0.12, m.rng.uniform(3, 15, size=m.n).round(1), 0.0)


def _device(m: _Month) -> np.ndarray:
    return DEVICES[np.where(m.rng.random(m.n) < 0.1, m.rng.integers(0, 4, size=m.n), m.pop["device"])]


# How each feature is observed, in the order the draws happen. A name starting with "_" is
# an intermediate value (kept in `values`) that is drawn in every world at that point.
_OBSERVE: tuple[tuple[str, Callable[[_Month], np.ndarray]], ...] = (
    ("_monthly", _monthly_charges),
    ("price_increase_pct", _price_increase),
    (
        "late_payments_12m",
        lambda m: m.rng.poisson(m.pop["late_rate"] * np.where(m.pop["payment"] == 3, 1.6, 1.0) * np.exp(0.3 * m.s)),
    ),
    ("feature_adoption_score", lambda m: sigmoid(0.9 * m.e + 0.3 * m.normal()).round(3)),
    ("active_days_last_30d", lambda m: m.rng.binomial(30, sigmoid(0.4 + 1.0 * m.e + 0.3 * m.normal()))),
    ("days_since_last_login", lambda m: np.minimum(m.rng.geometric(sigmoid(0.3 + 1.3 * m.e)) - 1, 60)),
    ("app_crashes_30d", lambda m: m.rng.poisson(np.exp(-1.0 + 0.7 * m.t))),
    ("support_calls_30d", lambda m: m.rng.poisson(np.exp(-1.6 + 0.5 * m.t - 0.35 * m.h))),
    ("_satisfaction", lambda m: 6.5 + 1.5 * m.h - 0.5 * m.t + m.normal()),
    ("addon_count", lambda m: m.rng.binomial(5, sigmoid(-1.0 + 0.6 * m.e)).astype(np.float64)),
    ("device_type", _device),
    ("tenure_months", lambda m: m.tenure.copy()),
    ("customer_age", lambda m: m.pop["age"].astype(np.float64)),
    ("plan", lambda m: PLANS[m.plan]),
    ("contract_type", lambda m: CONTRACTS[m.contract]),
    ("contract_months_remaining", lambda m: m.months_left),
    ("num_seats", lambda m: m.pop["seats"].copy()),
    ("monthly_charges", lambda m: m.values["monthly"].round(2)),
    ("total_charges", lambda m: (m.values["monthly"] * (m.tenure + 1) * m.rng.uniform(0.96, 1.0, size=m.n)).round(2)),
    ("discount_pct", lambda m: m.pop["discount"].copy()),
    ("billing_disputes_12m", lambda m: m.rng.poisson(np.exp(-3.0 + 0.6 * m.s))),
    ("payment_method", lambda m: PAYMENTS[m.pop["payment"]]),
    ("auto_renew", lambda m: m.pop["auto_renew"].copy()),
    ("is_paperless", lambda m: m.pop["paperless"].copy()),
    ("promo_active", lambda m: m.promo),
    ("region", lambda m: REGIONS[m.pop["region"]]),
    ("acquisition_channel", lambda m: CHANNELS[m.pop["channel"]]),
    ("has_family_plan", lambda m: m.pop["family"].copy()),
    ("opted_into_sms", lambda m: m.pop["sms"].copy()),
    ("sessions_last_30d", lambda m: m.rng.poisson(np.exp(2.7 + 0.5 * m.e))),
    ("avg_session_minutes", lambda m: np.exp(2.9 + 0.35 * m.e + 0.25 * m.normal()).round(1)),
    ("logins_last_7d", lambda m: m.rng.poisson(np.exp(1.1 + 0.6 * m.e))),
    ("data_usage_gb", lambda m: m.rng.gamma(2.0, np.exp(0.8 + 0.4 * m.e)).round(2)),
    ("page_load_ms", lambda m: np.exp(np.log(850) + 0.15 * m.t + 0.25 * m.normal()).round(0)),
    ("support_tickets_90d", lambda m: m.rng.poisson(np.exp(-0.6 + 0.6 * m.t - 0.2 * m.h))),
    ("avg_ticket_resolution_hours", lambda m: m.rng.gamma(2.0, 11.0 * np.exp(0.25 * m.t)).round(1)),
    ("satisfaction_score", lambda m: np.clip(m.values["satisfaction"].round(), 1, 10)),
    ("nps_response", lambda m: np.clip((7.0 + 1.7 * m.h + 1.2 * m.normal()).round(), 0, 10)),
    ("email_open_rate", lambda m: sigmoid(-0.8 + 0.6 * m.e + 0.4 * m.normal()).round(3)),
    ("marketing_emails_30d", lambda m: m.rng.poisson(6.0, size=m.n)),
    ("referrals_made", lambda m: m.rng.poisson(m.pop["referral_rate"] * (1 + m.tenure / 12)).astype(np.float64)),
    # From churn-v2 on: more behaviour, and operational counts (mostly zero) logged by staff
    # and internal systems. They are honest: drawn before the outcome, from the traits.
    ("csat_last_ticket", lambda m: np.clip((3.6 + 0.7 * m.h - 0.3 * m.t + 0.8 * m.normal()).round(), 1, 5)),
    ("in_app_rating", lambda m: np.clip((3.8 + 0.6 * m.h + 0.3 * m.e + 0.8 * m.normal()).round(), 1, 5)),
    ("api_calls_30d", lambda m: m.poisson(np.exp(2.5 + 0.6 * m.e + 0.5 * (m.plan >= 2)))),
    ("team_invites_90d", lambda m: m.poisson(np.exp(-1.2 + 0.5 * m.e + 0.3 * np.log(m.pop["seats"])))),
    ("preferred_language", lambda m: LANGUAGES[m.pop["language"]]),
    ("has_mobile_app", lambda m: m.pop["mobile_app"].copy()),
    ("billing_cycle_day", lambda m: m.pop["billing_day"].copy()),
    ("account_reviews", lambda m: m.events(np.where(m.plan == 3, 0.18, 0.04), 0.6)),
    ("retention_contacts", lambda m: m.events(0.03 + 0.25 * m.renewal_due, 0.9)),
    ("csm_cases", lambda m: m.events(np.where(m.plan >= 2, 0.1, 0.03) * np.exp(0.3 * m.t), 0.8)),
    ("service_adjustments", lambda m: m.events(0.045 * np.exp(0.4 * m.t), 0.7)),
    ("billing_reviews", lambda m: m.events(0.03 * np.exp(0.5 * m.s) * np.where(m.pop["payment"] == 3, 2.5, 1.0), 0.6)),
    ("account_flags", lambda m: m.events(np.minimum(0.5 * m.pop["late_rate"], 0.5), 1.0)),
    ("care_escalations", lambda m: m.events(0.03 * np.exp(0.6 * m.t - 0.3 * m.h), 0.8)),
    ("account_notes", lambda m: m.events(0.12 * np.exp(0.3 * m.t), 1.2)),
    ("plan_change_requests", lambda m: m.events(0.04 * np.exp(0.3 * m.e), 0.5)),
    ("courtesy_credits", lambda m: m.events(0.035 * np.exp(0.5 * m.t), 0.7)),
    ("callback_requests", lambda m: m.events(0.04 * np.exp(0.4 * m.t - 0.3 * m.h), 1.0)),
    ("contract_inquiries", lambda m: m.events(0.02 + 0.22 * m.renewal_due, 0.6)),
)
OBSERVABLE = frozenset(name for name, _ in _OBSERVE if not name.startswith("_"))


def observe(pop: dict, rng: np.random.Generator, wanted: Collection[str]) -> tuple[dict, dict]:
    """One month of the wanted observable features, and the latent values the hazard reads."""
    month = _Month(pop, rng)
    features = {}
    for name, draw in _OBSERVE:
        if name.startswith("_"):
            month.values[name[1:]] = draw(month)
        elif name in wanted:
            features[name] = draw(month)
    return features, {"satisfaction": month.values["satisfaction"], "months_left": month.months_left}


def churn_logit(features: dict, latent: dict, pop: dict, effects: dict[str, float]) -> np.ndarray:
    """The known hazard model, without its intercept: nonlinear, with interactions."""
    contract = pop["contract"]
    basic = pop["plan"] == 0
    logit = (
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
    for name in effects:
        if name not in _SHAPED_EFFECTS:
            logit = logit + effects[name] * features[name]
    return logit

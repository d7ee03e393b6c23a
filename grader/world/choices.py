"""What the seed decides before anything is simulated: the world's columns and its problems.

Cheap on purpose (no simulation): tests draw the choices of hundreds of seeds to show that
names alone do not give the leak away.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field

from grader.world.spec import WorldSpec


class SeededChoices(BaseModel):
    """What the seed decided about this candidate's world. Columns by their delivered names."""

    columns: dict[str, str] = Field(description="honest feature (as the spec names it) -> its column, in file order")
    leak_column: str
    leak_position: int
    leak_namesake: str | None = Field(None, description="the absent feature whose name and description the leak took")
    drift_column: str
    drift_from_index: int
    concept_column: str
    concept_from_index: int
    mnar_column: str
    mcar_column: str

    def feature_of(self, column: str) -> str:
        """The spec's feature behind an honest column of this world."""
        return next(feature for feature, name in self.columns.items() if name == column)


def rng_for(seed: bytes) -> np.random.Generator:
    """The one random stream a world is drawn from."""
    return np.random.default_rng(np.frombuffer(seed, dtype=np.uint32))


def draw_choices(spec: WorldSpec, rng: np.random.Generator) -> SeededChoices:
    """Pick the roles, the leak's name and position, the honest features and their names.

    The draws keep churn-v1's order, so its worlds are unchanged: roles, leak name, leak
    position (v1 only), months, then (later specs) features and names.
    """
    drift = str(rng.choice(spec.covariate_drift.candidates))
    concept = str(rng.choice(spec.concept_drift.candidates))
    taken = {drift, concept}
    mnar = str(rng.choice([c for c in spec.missing_not_at_random.candidates if c not in taken]))
    taken.add(mnar)
    mcar_pool = [c for c in spec.missing_completely_at_random.candidates if c not in taken]
    leak = str(rng.choice(spec.leak_names))
    namesake = next((f for f in spec.leak.takes_names_of if leak in spec.feature(f).names), None)
    if namesake is None:
        # churn-v1: a drawn position, never first (a leak in column 0 is the first thing anyone sees).
        drawn_position = int(rng.integers(3, len(spec.features) + 1))
    lo, hi = spec.covariate_drift.from_month_index
    drift_from = int(rng.integers(lo, hi + 1))
    clo, chi = spec.concept_drift.from_month_index
    concept_from = int(rng.integers(clo, chi + 1))
    mcar = str(rng.choice(mcar_pool))
    present = _honest_features(spec, rng, {drift, concept, mnar, mcar}, namesake)
    columns = {}
    for feature in present:
        names = spec.feature(feature).names
        columns[feature] = names[int(rng.integers(len(names)))] if len(names) > 1 else names[0]
    if namesake is None:
        position = drawn_position
    else:
        # The leak sits where its namesake would: the column order says nothing.
        order = [f.name for f in spec.features]
        position = sum(order.index(f) < order.index(namesake) for f in present)
    return SeededChoices(
        columns=columns,
        leak_column=leak,
        leak_position=position,
        leak_namesake=namesake,
        drift_column=columns[drift],
        drift_from_index=drift_from,
        concept_column=columns[concept],
        concept_from_index=concept_from,
        mnar_column=columns[mnar],
        mcar_column=columns[mcar],
    )


def _honest_features(spec: WorldSpec, rng: np.random.Generator, roles: set[str], namesake: str | None) -> list[str]:
    """The always-present features but the leak's namesake, the roles, then optional ones drawn to
    fill the count; in spec order."""
    chosen = ({f.name for f in spec.features if f.presence == "always"} | roles) - {namesake}
    if spec.honest_features is not None:
        pool = [f.name for f in spec.features if f.name not in chosen and f.name != namesake]
        picks = rng.choice(len(pool), size=spec.honest_features - len(chosen), replace=False)
        chosen.update(pool[i] for i in picks)
    return [f.name for f in spec.features if f.name in chosen]

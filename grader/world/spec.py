"""World specs: the versioned TOML files in datasets/, loaded as typed models.

A spec lists the honest features the simulator knows (`[[features]]`, each by the name the
simulator uses for it). churn-v1 delivers every one of them under that name. Later specs
draw per seed which optional features a world has (`honest_features` of them in all) and
which of each feature's `names` it goes by, and give the leak the name and description of
an honest feature that is absent from that world, so that packets cannot be diffed.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from grader.errors import UnknownSpec
from grader.tomlfile import load_toml
from grader.world.simulate import HAZARD_FEATURES, OBSERVABLE

DATASETS_DIR = Path(__file__).resolve().parents[2] / "datasets"
DEFAULT_SPEC = "churn-v2"

FeatureKind = Literal["int", "float", "money", "category", "bool"]


class FeatureSpec(BaseModel):
    name: str = Field(description="the feature as the simulator knows it; churn-v1 delivers it under this name")
    kind: FeatureKind
    description: str
    names: list[str] = Field(default_factory=list, description="what a packet may call it; one is drawn per seed")
    presence: Literal["always", "optional"] = "always"

    @model_validator(mode="after")
    def _named_at_least_once(self) -> FeatureSpec:
        if not self.names:
            self.names = [self.name]
        return self


class LeakSpec(BaseModel):
    names: list[str] = Field(default_factory=list, description="churn-v1: names of the leak's own")
    takes_names_of: list[str] = Field(
        default_factory=list,
        description="integer features whose name and description the leak may take (the feature then stays out)",
    )
    description: str | None = Field(None, description="with `names` only: the leak's dictionary entry")
    why: str
    share_churners_flagged: float = Field(gt=0, lt=1)
    share_stayers_flagged: float = Field(gt=0, lt=1)

    @model_validator(mode="after")
    def _one_way_of_naming(self) -> LeakSpec:
        if bool(self.names) == bool(self.takes_names_of):
            raise ValueError("[leak] needs exactly one of `names` and `takes_names_of`")
        if bool(self.names) != (self.description is not None):
            raise ValueError("[leak] `description` goes with `names` (a borrowed name brings its own)")
        return self


class CovariateDriftSpec(BaseModel):
    candidates: list[str] = Field(min_length=1)
    from_month_index: tuple[int, int]
    factor: dict[str, float]
    cause: dict[str, str]
    decimals: dict[str, int] = Field(description="recorded precision of the rescaled values; 0 makes them integers")


class ConceptDriftSpec(BaseModel):
    candidates: list[str] = Field(min_length=1)
    from_month_index: tuple[int, int]
    effect_multiplier: float
    effects: dict[str, float] = Field(description="effect on the churn log-odds of each feature that may drift")


class CandidatePool(BaseModel):
    candidates: list[str] = Field(min_length=1)


def normalised(name: str) -> str:
    """A name as a service's field mapping compares it: case and separators ignored."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


class WorldSpec(BaseModel):
    version: str
    start_month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    train_months: int = Field(ge=6)
    holdout_months: int = Field(ge=1)
    burn_in_months: int = Field(ge=0)
    default_rows: int = Field(gt=0)
    target_monthly_churn: float = Field(gt=0, lt=0.5)
    label_column: str
    label_window_days: int
    id_column: str
    time_column: str
    duplicate_share: float = Field(ge=0, lt=0.1)
    mcar_missing_share: float = Field(gt=0, lt=0.5)
    honest_features: int | None = Field(None, description="honest columns per world; unset: every feature")
    leak: LeakSpec
    covariate_drift: CovariateDriftSpec
    concept_drift: ConceptDriftSpec
    missing_not_at_random: CandidatePool
    missing_completely_at_random: CandidatePool
    features: list[FeatureSpec]

    @property
    def role_pools(self) -> dict[str, list[str]]:
        return {
            "covariate_drift": self.covariate_drift.candidates,
            "concept_drift": self.concept_drift.candidates,
            "missing_not_at_random": self.missing_not_at_random.candidates,
            "missing_completely_at_random": self.missing_completely_at_random.candidates,
        }

    @property
    def leak_names(self) -> list[str]:
        """Every name the leak may go by."""
        if self.leak.names:
            return list(self.leak.names)
        return [name for feature in self.leak.takes_names_of for name in self.feature(feature).names]

    @model_validator(mode="after")
    def _consistent(self) -> WorldSpec:
        known = {f.name: f for f in self.features}
        if len(known) != len(self.features):
            raise ValueError("[[features]] repeat a name")
        unobservable = sorted(set(known) - OBSERVABLE)
        if unobservable:
            raise ValueError(f"[[features]] the simulator cannot observe: {unobservable}")
        for pool, members in self.role_pools.items():
            unknown = sorted(set(members) - set(known))
            if unknown:
                raise ValueError(f"[{pool}] names unknown features: {unknown}")
        for table, keyed in (
            ("covariate_drift.factor", self.covariate_drift.factor),
            ("covariate_drift.cause", self.covariate_drift.cause),
            ("covariate_drift.decimals", self.covariate_drift.decimals),
            ("concept_drift.effects", self.concept_drift.effects),
        ):
            missing = sorted(set(self.role_pools[table.split(".")[0]]) - set(keyed))
            if missing:
                raise ValueError(f"[{table}] lacks {missing}")
        # The hazard reads these in every month: a world without one could not be simulated.
        read = [*HAZARD_FEATURES, *self.concept_drift.effects]
        not_always = sorted(f for f in read if f not in known or known[f].presence != "always")
        if not_always:
            raise ValueError(f"the hazard reads features that are not always present: {not_always}")
        self._check_names(known)
        self._check_leak(known, read)
        if self.honest_features is None:
            if any(f.presence == "optional" for f in self.features):
                raise ValueError("optional features need `honest_features`, the number each world delivers")
        else:
            always = sum(f.presence == "always" for f in self.features)
            if not always + len(self.role_pools) <= self.honest_features < len(self.features) - 1:
                raise ValueError(f"honest_features must leave room for the roles and the optional features: {always=}")
        return self

    def _check_names(self, known: dict[str, FeatureSpec]) -> None:
        """Every delivered name is unique, even as a service's field mapping compares names."""
        reserved = [self.id_column, self.time_column, self.label_column]
        owners = Counter(normalised(n) for f in self.features for n in f.names)
        owners.update(normalised(n) for n in [*reserved, *self.leak.names])
        repeated = sorted(n for n, count in owners.items() if count > 1)
        if repeated:
            raise ValueError(f"names repeat (ignoring case and separators): {repeated}")
        for feature in self.features:
            # The simulator keys columns by feature: a name of another feature must not collide.
            taken = [f.name for f in self.features if f is not feature and feature.name in f.names]
            if taken:
                raise ValueError(f"feature {feature.name!r} is also a name of {taken}")

    def _check_leak(self, known: dict[str, FeatureSpec], hazard_reads: list[str]) -> None:
        unknown = sorted(set(self.leak.takes_names_of) - set(known))
        if unknown:
            raise ValueError(f"[leak] takes_names_of unknown features: {unknown}")
        # Its namesake stays out of the world: nothing may depend on it.
        roles = {member for members in self.role_pools.values() for member in members}
        for name in self.leak.takes_names_of:
            if known[name].kind != "int" or name in roles or name in hazard_reads:
                raise ValueError(f"[leak] can only take the names of integer features with no role: {name}")

    def feature(self, name: str) -> FeatureSpec:
        return next(f for f in self.features if f.name == name)


def available_specs() -> list[str]:
    """Versions shipped in datasets/."""
    return sorted(p.stem for p in DATASETS_DIR.glob("*.toml"))


def load_spec(version: str = DEFAULT_SPEC) -> WorldSpec:
    """Load a shipped spec by version; a clear error for unknown or invalid ones."""
    path = DATASETS_DIR / f"{version}.toml"
    if "/" in version or not path.is_file():
        raise UnknownSpec(f"unknown world spec {version!r}; shipped specs: {', '.join(available_specs())}")
    spec = load_toml(WorldSpec, path, what="world spec", error=UnknownSpec)
    if spec.version != version:
        raise UnknownSpec(f"world spec {path} says version {spec.version!r}, expected {version!r}")
    return spec

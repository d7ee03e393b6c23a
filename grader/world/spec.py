"""World specs: the versioned TOML files in datasets/, loaded as typed models."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

from grader.errors import UnknownSpec

DATASETS_DIR = Path(__file__).resolve().parents[2] / "datasets"
DEFAULT_SPEC = "churn-v1"

FeatureKind = Literal["int", "float", "money", "category", "bool"]


class FeatureSpec(BaseModel):
    name: str
    kind: FeatureKind
    description: str


class LeakSpec(BaseModel):
    names: list[str] = Field(min_length=1)
    description: str
    why: str
    share_churners_flagged: float = Field(gt=0, lt=1)
    share_stayers_flagged: float = Field(gt=0, lt=1)


class CovariateDriftSpec(BaseModel):
    candidates: list[str] = Field(min_length=1)
    from_month_index: tuple[int, int]
    factor: dict[str, float]
    cause: dict[str, str]


class ConceptDriftSpec(BaseModel):
    candidates: list[str] = Field(min_length=1)
    from_month_index: tuple[int, int]
    effect_multiplier: float


class CandidatePool(BaseModel):
    candidates: list[str] = Field(min_length=1)


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
    leak: LeakSpec
    covariate_drift: CovariateDriftSpec
    concept_drift: ConceptDriftSpec
    missing_not_at_random: CandidatePool
    missing_completely_at_random: CandidatePool
    features: list[FeatureSpec]

    @model_validator(mode="after")
    def _pools_name_real_features(self) -> WorldSpec:
        names = {f.name for f in self.features}
        pools = {
            "covariate_drift": self.covariate_drift.candidates,
            "concept_drift": self.concept_drift.candidates,
            "missing_not_at_random": self.missing_not_at_random.candidates,
            "missing_completely_at_random": self.missing_completely_at_random.candidates,
        }
        for pool, members in pools.items():
            unknown = sorted(set(members) - names)
            if unknown:
                raise ValueError(f"[{pool}] names unknown features: {unknown}")
        clash = sorted(set(self.leak.names) & names)
        if clash:
            raise ValueError(f"[leak] names clash with honest features: {clash}")
        return self

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
    try:
        spec = WorldSpec.model_validate(tomllib.loads(path.read_text()))
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise UnknownSpec(f"world spec {path} is invalid: {exc}") from exc
    if spec.version != version:
        raise UnknownSpec(f"world spec {path} says version {spec.version!r}, expected {version!r}")
    return spec

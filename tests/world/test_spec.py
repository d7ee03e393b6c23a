"""World specs: the shipped ones load; a broken one is a one-line error naming file, line and entry."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError

from grader.errors import UnknownSpec
from grader.world import spec as spec_module
from grader.world.spec import DEFAULT_SPEC, WorldSpec, load_spec


def test_a_bad_value_names_the_spec_file_its_line_and_the_entry(tmp_path: Path, monkeypatch) -> None:
    shipped = (spec_module.DATASETS_DIR / f"{DEFAULT_SPEC}.toml").read_text()
    assert load_spec().version == DEFAULT_SPEC
    broken = shipped.replace("train_months = ", "train_months = -", 1)
    (tmp_path / f"{DEFAULT_SPEC}.toml").write_text(broken)
    monkeypatch.setattr(spec_module, "DATASETS_DIR", tmp_path)
    line = next(n for n, text in enumerate(broken.splitlines(), 1) if text.startswith("train_months = -"))
    with pytest.raises(UnknownSpec, match=rf"^world spec .*{DEFAULT_SPEC}\.toml:{line}: train_months: Input should be"):
        load_spec()


def _shipped(version: str = "churn-v2") -> dict:
    return tomllib.loads((spec_module.DATASETS_DIR / f"{version}.toml").read_text())


def _feature(data: dict, name: str) -> dict:
    return next(f for f in data["features"] if f["name"] == name)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        # Its namesake stays out of the world: a role or the hazard could not do without it.
        (lambda d: d["leak"]["takes_names_of"].append("page_load_ms"), "can only take the names of integer features"),
        (lambda d: d["leak"]["takes_names_of"].append("support_calls_30d"), "can only take the names of integer"),
        # Two features one name, even only as a service's field mapping compares names.
        (lambda d: _feature(d, "num_seats")["names"].append("Seat-Count"), "names repeat"),
        (lambda d: _feature(d, "num_seats")["names"].append("account_reviews"), "is also a name of"),
        (lambda d: _feature(d, "tenure_months").update(presence="optional"), "the hazard reads features that are not"),
        (lambda d: d.pop("honest_features"), "optional features need `honest_features`"),
        (lambda d: d["leak"].update(names=["x_30d"]), "exactly one of `names` and `takes_names_of`"),
        (lambda d: d["covariate_drift"]["decimals"].pop("api_calls_30d"), "covariate_drift.decimals"),
        (lambda d: d["features"].append({**_feature(d, "plan"), "name": "zodiac"}), "cannot observe"),
    ],
)
def test_a_spec_that_could_not_hide_the_leak_or_be_simulated_is_refused(change, message) -> None:
    data = _shipped()
    WorldSpec.model_validate(data)
    change(data)
    with pytest.raises(ValidationError, match=message):
        WorldSpec.model_validate(data)


def test_churn_v1_is_still_shipped_and_loads() -> None:
    v1 = load_spec("churn-v1")
    assert v1.honest_features is None and len(v1.features) == 39
    assert all(f.names == [f.name] for f in v1.features)

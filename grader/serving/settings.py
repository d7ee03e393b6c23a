"""How hard the serving stage probes: sizes and time budgets, apart from the resource policy.

Resource limits (memory, CPUs, pids, start-up and request timeouts, build limits, load
steps) come from sandbox/policy.toml; these are the probe's own sizes. Tests shrink
both; real grading uses the defaults.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ServingSettings(BaseModel):
    # A misspelt setting in a --serving-settings file is an error, never a silent default.
    model_config = ConfigDict(extra="forbid")

    # Holdout scoring through the API.
    batch_size: int = Field(default=256, gt=0)
    quality_budget_s: float = Field(default=180.0, gt=0)
    single_max_rows: int = Field(default=2000, gt=0)
    determinism_rows: int = Field(default=32, gt=0)
    # |served - logged model| at or under this counts as agreeing (rounding to 4 places is fine).
    agreement_tolerance: float = Field(default=1e-3, ge=0)
    # The bad-input battery.
    oversized_batch_rows: int = Field(default=10_000, gt=0)
    long_string_chars: int = Field(default=100_000, gt=0)
    # Requests that carry many rows (holdout batches, the oversized batch) wait this long.
    batch_timeout_s: float = Field(default=30.0, gt=0)
    # Load probe: None takes the policy's [probe] values.
    load_rates: list[float] | None = None
    load_step_s: float | None = None
    load_warmup_s: float | None = None
    load_bodies: int = Field(default=200, gt=0)
    # Start-up polling and what the evidence keeps.
    health_poll_s: float = Field(default=0.2, gt=0)
    # A service that answers HTTP but no health-like route with 2xx counts as up after this.
    no_health_route_grace_s: float = Field(default=5.0, ge=0)
    max_response_bytes: int = Field(default=16 * 1024 * 1024, gt=0)
    log_tail_chars: int = Field(default=4000, gt=0)
    # Remove the built image without its untagged parent layers (keeps the layer cache).
    keep_layer_cache: bool = False

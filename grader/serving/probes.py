"""The probes a running service goes through, in order, the same for every backend.

health → contract → holdout scoring and correctness → bad-input battery → load. The
service's state is checked after each: one that died stops the sequence with the
phase it died in recorded.
"""

from __future__ import annotations

import pandas as pd

from grader.evidence import Check
from grader.sandbox.policy import Policy
from grader.serving import loadprobe
from grader.serving.badinput import battery_checks, run_battery
from grader.serving.contract import Contract, discover
from grader.serving.evidence import LoadRecord, RowKey, ServingEvidence
from grader.serving.leakprobe import LeakProbe, leak_check
from grader.serving.quality import (
    correctness_checks,
    holdout_order,
    holdout_quality,
    key_columns,
    ranking_check,
    row_keys,
    score_rows,
)
from grader.serving.service import HEALTH_ROUTES, Calls, Service, wait_until_healthy
from grader.serving.settings import ServingSettings


class ServiceDied(Exception):
    """The service stopped during a phase; the evidence already says so."""


def _alive_or_stop(service: Service, evidence: ServingEvidence, phase: str, settings: ServingSettings) -> None:
    state = service.state()
    if state.alive:
        return
    evidence.run.exit_code = state.exit_code
    evidence.run.oom_killed = state.oom_killed
    evidence.run.log_tail = service.log_tail(settings.log_tail_chars)
    evidence.checks.append(
        Check(
            id="run.survived",
            passed=False,
            detail=f"died during {phase}: {state.detail}",
            figures={"phase": phase, "exit_code": state.exit_code},
        )
    )
    evidence.outcome.reasons.append(f"the service died during {phase}: {state.detail}")
    raise ServiceDied(phase)


def wait_for_health(service: Service, evidence: ServingEvidence, policy: Policy, settings: ServingSettings) -> bool:
    """Time the start-up; record why a service never became healthy."""
    health = wait_until_healthy(
        service,
        policy.service.startup_timeout_s,
        settings.health_poll_s,
        settings.no_health_route_grace_s,
        settings.max_response_bytes,
    )
    run = evidence.run
    run.healthy, run.base_url, run.health_route, run.seconds_to_healthy = (
        health.healthy,
        health.base_url,
        health.route,
        health.seconds,
    )
    figures = {"seconds_to_healthy": health.seconds, "route": health.route, "base_url": health.base_url}
    evidence.checks.append(
        Check(
            id="run.healthy",
            passed=health.healthy,
            detail=health.reason or f"healthy at {health.route} after {health.seconds} s",
            figures=figures,
        )
    )
    if not health.healthy:
        state = service.state()
        run.exit_code, run.oom_killed = state.exit_code, state.oom_killed
        run.log_tail = service.log_tail(settings.log_tail_chars)
        if state.alive:
            evidence.outcome.reasons.append(f"the service never became healthy: {health.reason}")
        else:
            evidence.outcome.reasons.append(f"the service exited before it was healthy: {state.detail}")
        start = evidence.dockerfile.start if evidence.dockerfile else None
        if state.alive and start and start.host and start.host.startswith(("127.", "localhost")):
            evidence.outcome.reasons.append(f"its start command listens on {start.host}: unreachable from outside")
        return False
    evidence.checks.append(
        Check(
            id="run.health_route",
            passed=health.route in HEALTH_ROUTES,
            detail=f"health answered at {health.route}"
            if health.route in HEALTH_ROUTES
            else f"no health route; ready only by {health.route or 'any HTTP answer'}",
            figures={"statuses": ", ".join(f"{k} {v}" for k, v in health.statuses.items())},
        )
    )
    return True


def _contract_checks(evidence: ServingEvidence, contract: Contract | None) -> list[Check]:
    record = evidence.contract
    if contract is None:
        return [
            Check(
                id="contract.prediction_route",
                passed=False,
                detail="; ".join(record.problems[-4:]) or "no POST route found",
                figures={"openapi": record.openapi_found},
            )
        ]
    route = contract.single.route
    return [
        Check(
            id="contract.prediction_route",
            passed=True,
            detail=f"POST {route.path} ({route.shape}{', from OpenAPI' if route.from_openapi else ', guessed'})",
            figures={"path": route.path, "openapi": record.openapi_found},
        ),
        Check(
            id="contract.fields_mapped",
            passed=not route.unmapped_required,
            detail=(
                f"required fields with no dataset column: {', '.join(route.unmapped_required)}"
                if route.unmapped_required
                else "free-form record: dataset columns sent as they are"
                if route.free_form
                else f"{len(route.field_to_column)} fields mapped to dataset columns"
            ),
            figures={
                "mapped": len(route.field_to_column),
                "unmapped_required": len(route.unmapped_required),
                "unmapped_optional": len(route.unmapped_optional),
            },
        ),
        Check(
            id="contract.returns_probabilities",
            passed=contract.kind == "probability",
            detail=f"answers {record.answer_kind} at {record.answer_path}",
        ),
        Check(
            id="contract.batch_supported",
            passed=contract.batch is not None,
            detail=f"batches at POST {contract.batch.route.path}" if contract.batch else "one record per request only",
        ),
    ]


def _load(
    calls: Calls,
    contract: Contract,
    order: list[int],
    evidence: ServingEvidence,
    policy: Policy,
    settings: ServingSettings,
) -> None:
    rates = settings.load_rates or policy.probe.rates
    step_s = settings.load_step_s or policy.probe.step_duration_s
    warmup_s = settings.load_warmup_s if settings.load_warmup_s is not None else policy.probe.warmup_s
    bodies = [contract.single.body([p]) for p in order[: settings.load_bodies]]
    url = calls.base_url + contract.single.route.path
    record = LoadRecord(url=url, rates=list(rates), step_duration_s=step_s, warmup_s=warmup_s, bodies=len(bodies))
    evidence.load = record
    record.profile = loadprobe.probe(
        url, rates, step_s, bodies=bodies, warmup_s=warmup_s, timeout_s=policy.service.request_timeout_s
    )
    errors = sum(s.errors for s in record.profile.steps)
    measured = sum(s.measured for s in record.profile.steps)
    # The steps' rates and latencies are the record; whether they meet a bar is the rubric's to say.
    evidence.checks.append(
        Check(
            id="load.no_errors",
            passed=errors == 0,
            detail=f"{errors} errors in {measured} measured requests",
            figures={"errors": errors, "measured": measured},
        )
    )


def _aligned(holdout_features: pd.DataFrame, holdout_labels: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The labels in the features' row order (they usually are already)."""
    if len(holdout_labels) == len(holdout_features) and holdout_labels[keys].reset_index(drop=True).equals(
        holdout_features[keys].reset_index(drop=True)
    ):
        return holdout_labels.reset_index(drop=True)
    return holdout_features[keys].merge(holdout_labels, on=keys, how="left", validate="one_to_one")


def run_probes(
    service: Service,
    evidence: ServingEvidence,
    holdout_features: pd.DataFrame,
    holdout_labels: pd.DataFrame,
    feature_columns: list[str],
    expected: dict[RowKey, float] | None,
    policy: Policy,
    settings: ServingSettings,
    leak: LeakProbe | None = None,
) -> bool:
    """Every probe against a started service; False when the sequence stopped early. `leak`, when
    given, has the scored rows sent again with the leak replaced (grader/serving/leakprobe.py)."""
    if not wait_for_health(service, evidence, policy, settings):
        return False
    assert evidence.run.base_url is not None
    with Calls(evidence.run.base_url, policy.service.request_timeout_s, settings.max_response_bytes) as calls:
        try:
            contract = discover(calls, holdout_features, feature_columns, evidence.contract)
            evidence.checks += _contract_checks(evidence, contract)
            _alive_or_stop(service, evidence, "the contract probe", settings)
            if contract is None:
                evidence.outcome.reasons.append("no prediction route answered a request built from a holdout row")
                return False
            order = holdout_order(len(holdout_features))
            keys = key_columns(holdout_features, holdout_labels)
            labels = _aligned(holdout_features, holdout_labels, keys)
            label_column = next(c for c in labels.columns if c not in keys and c != "true_probability")
            scored = score_rows(calls, contract, order, settings, settings.quality_budget_s)
            truth = labels["true_probability"].to_numpy() if "true_probability" in labels else None
            evidence.quality, check = holdout_quality(
                scored,
                labels[label_column].to_numpy(),
                truth,
                len(holdout_features),
                contract.kind,
                "batch" if contract.batch else "single",
                settings.batch_size if contract.batch else None,
            )
            evidence.checks.append(check)
            evidence.checks.append(
                ranking_check(scored, labels[label_column].to_numpy(), row_keys(holdout_features, keys), expected)
            )
            _alive_or_stop(service, evidence, "holdout scoring", settings)
            evidence.checks += correctness_checks(
                calls, contract, scored, order, row_keys(holdout_features, keys), expected, settings
            )
            _alive_or_stop(service, evidence, "the determinism check", settings)
            if leak is not None:
                evidence.checks.append(leak_check(calls, contract, holdout_features, order, scored, leak, settings))
                _alive_or_stop(service, evidence, "the leak probe", settings)
            evidence.bad_input = run_battery(calls, contract, service, settings)

            def healthy_after() -> tuple[bool, str]:
                if not service.state().alive:
                    return False, "the service is not running"
                answer = calls.get(evidence.run.health_route or "/openapi.json")
                return (
                    answer.ok or evidence.run.health_route is None,
                    f"GET {evidence.run.health_route}: {answer.describe()}",
                )

            evidence.checks += battery_checks(evidence.bad_input, healthy_after)
            _alive_or_stop(service, evidence, "the bad-input battery", settings)
            _load(calls, contract, order, evidence, policy, settings)
            _alive_or_stop(service, evidence, "the load probe", settings)
        except ServiceDied:
            return False
    evidence.checks.append(Check(id="run.survived", passed=True, detail="running after every probe"))
    return True

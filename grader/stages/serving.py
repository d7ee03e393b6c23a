"""The serving stage: the candidate's image built, run and probed (contract, quality, bad input, load)."""

from __future__ import annotations

from typing import ClassVar

from grader.evidence import StageOutcome
from grader.serving.evidence import CHECK_IDS as SERVING_CHECK_IDS
from grader.serving.evidence import RowKey
from grader.stages.base import Stage, StageName
from grader.stages.context import GradingContext


class ServingStage(Stage):
    """Builds the discovered Dockerfile from the submission as the notebooks left it, then probes the service."""

    name = StageName.SERVING
    # The load probe measures latency: two at once would each measure the other's load. The
    # slot is taken once the image is built, for the service's run and probes only.
    exclusive = True
    records: ClassVar[frozenset[str]] = frozenset({"serving", *(f"serving.{check}" for check in SERVING_CHECK_IDS)})

    def run(self, context: GradingContext) -> StageOutcome:
        from grader.serving.leakprobe import LeakProbe
        from grader.serving.stage import run_serving_stage

        rows = context.serving_rows
        assert rows is not None, "the serving stage needs rows to ask the service about"
        expected: dict[RowKey, float] | None = None
        if context.predictions is not None and context.seeded is not None:
            spec = context.seeded.world.spec
            keys = zip(rows.features[spec.id_column], rows.features[spec.time_column])
            expected = dict(zip(keys, context.predictions.tolist()))
        leak = None
        if context.seeded is not None:
            column = context.seeded.key.leak.column
            if column in context.seeded.world.train.columns:
                leak = LeakProbe(column, context.seeded.world.train[column].to_numpy())
        serving = run_serving_stage(
            context.folder.submission,
            None,
            rows.features,
            rows.labels,
            expected,
            context.sandbox,
            context.folder.root / "serving",
            policy=context.policy,
            settings=context.serving_settings,
            discovered=context.submission,
            slot=context.exclusive,
            leak=leak,
        )
        context.evidence.serving = serving
        return serving.outcome

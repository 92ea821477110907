"""The batch job as a chain of pure stages: systems in, estimates out.

Each stage adds the columns it publishes and the working columns the later stages read; a
working column's name starts with an underscore (a user's column that would is read as
`input_<name>`), and all of them are left out once, when the published columns are selected
(`schemas.estimates.output_columns`)."""

from __future__ import annotations

import polars as pl

from pipeline.estimate.annotate import finish_annotations, start_annotations
from pipeline.estimate.bases import add_base_models
from pipeline.estimate.hardware_time import chips_without_name, hardware_method
from pipeline.estimate.ops import ops_method
from pipeline.estimate.reconcile import reconcile
from pipeline.estimate.uncertainty import confidence
from pipeline.frames import collect
from pipeline.settings import DEFAULT_SETTINGS, Settings
from schemas.estimates import EstimatesSchema, output_columns
from schemas.systems import ARCHITECTURE_COLUMNS

ONE_PLAN_ROWS = 50_000


def estimate(
    systems: pl.DataFrame,
    hardware: pl.DataFrame,
    settings: Settings = DEFAULT_SETTINGS,
    priors: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Both methods, reconciled, with 90% intervals, one row per system, sorted by `system`.
    `priors` are the utilization priors (None: the seed's fixed values)."""

    # A large sheet runs as one lazy plan, which polars evaluates in one pass, sharing the
    # formatted numbers of notes and summaries; a small one is collected stage by stage,
    # because planning the whole chain as one query costs more than running it.
    def stage(frame: pl.LazyFrame) -> pl.LazyFrame:
        return frame if systems.height >= ONE_PLAN_ROWS else collect(frame).lazy()

    frame = start_annotations(systems.lazy())
    shape = [c for c, kind in ARCHITECTURE_COLUMNS.items() if kind == "count"]
    described = systems.select(pl.any_horizontal(pl.col(shape).is_not_null()).any()).item()
    # Chips and time without a chip name bound the count of operations (see reconcile).
    bounded = systems.select(chips_without_name().any()).item()
    frame = stage(ops_method(frame, settings, transformers=described))
    frame = stage(hardware_method(frame, hardware, settings, priors, bound_unnamed=bounded))
    frame = reconcile(frame, settings, bound_unnamed=bounded)
    if systems["base_model"].is_not_null().any():
        # Chains of fine-tunes resolve over the collected rows (pointer jumping, stages.py).
        frame = add_base_models(collect(frame)).lazy()
    else:
        frame = frame.with_columns(pl.col("method_estimate_flop").alias("stage_flop"))
    frame = frame.with_columns(
        confidence(
            pl.col("estimate_flop"),
            pl.col("estimate_low_flop"),
            pl.col("estimate_high_flop"),
            settings,
        ).alias("confidence")
    )
    frame = finish_annotations(frame)
    columns = output_columns(frame.collect_schema().names())
    # Names are unique after validation; a stable sort keeps input order for any tie.
    result = collect(frame.select(columns).sort("system", maintain_order=True))
    return EstimatesSchema.validate(result)

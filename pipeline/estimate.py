"""The batch job as a chain of pure stages: systems in, estimates out."""

from __future__ import annotations

import polars as pl

from pipeline.annotate import finish_annotations, start_annotations
from pipeline.estimators import hardware_method, ops_method
from pipeline.reconcile import reconcile
from pipeline.settings import DEFAULT_SETTINGS, Settings
from pipeline.stages import add_base_models
from pipeline.uncertainty import confidence
from schemas.estimates import EstimatesSchema, output_columns


def estimate(
    systems: pl.DataFrame,
    hardware: pl.DataFrame,
    settings: Settings = DEFAULT_SETTINGS,
    priors: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Both methods, reconciled, with 90% intervals, one row per system, sorted by `system`.
    `priors` are the utilization priors (None: the seed's fixed values)."""
    # Each stage is one lazy plan, collected at its end: within a stage polars evaluates shared
    # sub-expressions (the formatted numbers of notes) once, and planning a stage at a time
    # costs far less than planning the whole chain as one query.
    frame = start_annotations(systems.lazy())
    described = systems.select(pl.col("n_layers").is_not_null().any()).item()
    frame = ops_method(frame, settings, transformers=described).collect().lazy()
    frame = hardware_method(frame, hardware, settings, priors).collect().lazy()
    frame = reconcile(frame, settings)
    if systems["base_model"].is_not_null().any():
        # Chains of fine-tunes resolve by repeated lookups over the collected rows.
        frame = add_base_models(frame.collect()).lazy()
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
    result = frame.select(columns).sort("system", "source_file", "source_row").collect()
    return EstimatesSchema.validate(result)

"""The batch job as a chain of pure stages: systems in, estimates out.

Each stage adds the columns it publishes and the working columns the later stages read; a
working column's name starts with an underscore (a user's column that would is read as
`input_<name>`), and all of them are left out once, when the published columns are selected
(`schemas.estimates.output_columns`)."""

from __future__ import annotations

import polars as pl

from pipeline.estimate.annotate import annotate, finish_annotations, start_annotations
from pipeline.estimate.bases import add_base_models
from pipeline.estimate.hardware_time import chips_without_name, hardware_method
from pipeline.estimate.ops import ops_method
from pipeline.estimate.predictive import METHOD_SOURCES, PREDICTIVE_COLUMNS
from pipeline.estimate.priors import Learned
from pipeline.estimate.reconcile import reconcile
from pipeline.estimate.stages import fold_stages, has_stages, no_stages, with_sheet_order
from pipeline.estimate.thresholds import add_rule_totals
from pipeline.estimate.uncertainty import confidence
from pipeline.frames import collect
from pipeline.settings import DEFAULT_SETTINGS, Settings
from schemas.estimates import EstimatesSchema, in_published_order, output_columns
from schemas.systems import ARCHITECTURE_COLUMNS, stage_or_default
from schemas.validation import validate_filled


def estimate(
    systems: pl.DataFrame,
    hardware: pl.DataFrame,
    settings: Settings = DEFAULT_SETTINGS,
    learned: Learned = Learned(),
    catalogue: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Both methods, reconciled, with 90% intervals, one row per system (its training stages
    folded into it), with its compute under each accounting rule, sorted by `system`.
    `learned` is what the run takes from data (priors.py: the utilization priors, predictive
    spreads, forward cost per parameter and spread of assumed epochs; by default the seed's
    priors and nothing learned); `catalogue` the estimated foundation models that bases not in
    the sheet are looked up in (catalogue.py; None: not looked up)."""

    # Each method is collected before the next reads it, at every size: planned as one query,
    # the chain re-plans every later expression over the earlier ones' and costs more than it
    # shares (on polars 2.1's in-memory engine, 1M rows: about 13 s as one plan, 10 s staged).
    def stage(frame: pl.LazyFrame) -> pl.LazyFrame:
        return collect(frame).lazy()

    systems = in_estimate_order(systems)
    shape = [c for c, kind in ARCHITECTURE_COLUMNS.items() if kind == "count"]
    described = systems.select(pl.any_horizontal(pl.col(shape).is_not_null()).any()).item()
    # Chips and time without a chip name bound the count of operations (see reconcile).
    bounded = systems.select(chips_without_name().any()).item()
    staged = has_stages(systems)
    fine_tuned = systems["base_model"].is_not_null().any()
    frame = start_annotations(systems.lazy())
    if "_lower_bounds" in systems.columns:  # cells such as "15T+", read by validation
        bounds = pl.col("_lower_bounds")
        read_as = pl.concat_str([pl.lit("read as lower bounds: "), bounds])
        frame = frame.with_columns(
            annotate({"value_is_lower_bound": (bounds.is_not_null(), read_as)})
        )
    frame = stage(ops_method(frame, settings, learned, transformers=described))
    frame = stage(hardware_method(frame, hardware, settings, learned.priors, bound_unnamed=bounded))
    frame = reconcile(frame, settings, bound_unnamed=bounded, spreads=learned.spreads)
    if staged:
        frame = fold_stages(collect(frame), settings).lazy()
    else:
        frame = no_stages(frame).with_columns(stage_or_default(pl.col("stage")).alias("_stage"))
    frame = frame.with_columns(
        pl.col("estimate_low_flop").alias("_stage_low"),
        pl.col("estimate_high_flop").alias("_stage_high"),
    )
    if fine_tuned:
        # Chains of fine-tunes resolve over the collected rows (pointer jumping, bases.py).
        frame = add_base_models(collect(frame), catalogue).lazy()
    else:
        frame = frame.with_columns(pl.col("method_estimate_flop").alias("stage_flop"))
    frame = add_rule_totals(collect(frame)).lazy()
    # A sum of stages or a base added is no longer one method's estimate: its distribution is
    # not the one learned, and only its interval is published.
    one_method = pl.col("estimate_source").is_in(METHOD_SOURCES)
    frame = (
        frame.with_columns(
            pl.when(one_method).then(pl.col(name)).alias(name) for name in PREDICTIVE_COLUMNS
        )
        .with_columns(
            confidence(
                pl.col("estimate_flop"),
                pl.col("estimate_low_flop"),
                pl.col("estimate_high_flop"),
                settings,
            ).alias("confidence")
        )
        .with_columns(
            # A forward cost per parameter stands for an architecture nobody described: however
            # narrow the other method makes the interval, the row is never Confident.
            pl.when(
                (pl.col("confidence") == "Confident")
                & (pl.col("ops_rule") == "parameters")
                & (pl.col("estimate_source") != "reported")
            )
            .then(pl.lit("Likely"))
            .otherwise(pl.col("confidence"))
            .alias("confidence")
        )
    )
    frame = finish_annotations(frame)
    columns = output_columns(frame.collect_schema().names())
    result = collect(frame.select(columns))
    if not result["system"].is_sorted():  # a stage that reorders rows
        result = in_published_order(result)
    return validate_filled(EstimatesSchema, result)


def in_estimate_order(systems: pl.DataFrame) -> pl.DataFrame:
    """The systems as the estimate reads them: each with its place in the sheets, which
    decides between the rows of one system (`stages.SHEET_ORDER`), and in the published
    order, which every stage keeps, so the estimates need no sort at the end (sorting the
    systems' columns costs less than sorting the estimates'). Free on systems in that form
    already: a caller that holds the systems in the sheets' order puts them in it and lets
    those go (run_in_memory), or the chain would hold a sorted copy beside the caller's."""
    return in_published_order(with_sheet_order(systems))

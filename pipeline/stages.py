"""Training stages: a fine-tuned system's total includes the model it started from.

The methods estimate the stage a row's fields describe (`stage_flop`). When the row names a
`base_model`, its `estimate_flop` is that stage plus the base model's total, taken from
`base_model_compute_flop` or else from the base model's own row in the same run; chains
(a fine-tune of a fine-tune) resolve by repeating the lookup. A reported figure is already a
total and stands.

What is unknown makes a lower bound (no upper bound), never a dropped term: a base whose
compute is unknown leaves the stage alone; a stage with no estimate of its own leaves the
base's total; a base whose own total is a lower bound makes the sum one too. Base models that
name each other in a cycle have no total to find: each row of the cycle keeps its stage alone,
flagged.
"""

from __future__ import annotations

import polars as pl

from pipeline.annotate import add_flags, add_notes
from pipeline.formatting import sci
from pipeline.uncertainty import interval, rounding_sigma

MAX_CHAIN = 16

# Running totals of each row (its own figure, or stage + base) and its base's, with bounds. A
# null high bound is a lower bound.
_TOTAL = ("_total", "_total_low", "_total_high")
_BASE = ("_base_total", "_base_low", "_base_high")


def base_model_cycles(frame: pl.DataFrame) -> pl.Series:
    """Whether each row's chain of base models leads back to itself."""
    links = frame.select("system", "base_model").filter(pl.col("base_model").is_not_null())
    ancestor = frame.select("system", pl.col("base_model").alias("_ancestor"))
    in_cycle = pl.Series([False] * frame.height)
    for _ in range(MAX_CHAIN):
        in_cycle = in_cycle | (ancestor["_ancestor"] == ancestor["system"]).fill_null(False)
        ancestor = ancestor.join(
            links.rename({"system": "_ancestor", "base_model": "_next"}),
            on="_ancestor", how="left", maintain_order="left",
        ).select("system", pl.col("_next").alias("_ancestor"))  # fmt: skip
        if ancestor["_ancestor"].null_count() == ancestor.height:
            break
    return in_cycle


def add_base_models(frame: pl.DataFrame) -> pl.DataFrame:
    stage = pl.col("method_estimate_flop")
    reported = pl.col("reported_compute_flop").is_not_null()
    frame = frame.with_columns(base_model_cycles(frame).alias("_base_cycle"))
    # A base in a cycle is no base to look up; a base's given total still counts.
    linked = pl.col("base_model").is_not_null() & ~pl.col("_base_cycle")
    # The base's interval adds to the stage's: sums of the bounds, which is conservative.
    given_low, given_high = interval(
        pl.col("base_model_compute_flop"), rounding_sigma(pl.col("base_model_compute_flop"))
    )
    frame = frame.with_columns(
        stage.alias("stage_flop"),
        pl.col("estimate_low_flop").alias("_stage_low"),
        pl.col("estimate_high_flop").alias("_stage_high"),
        given_low.alias("_given_low"),
        given_high.alias("_given_high"),
        *(pl.lit(None, pl.Float64).alias(c) for c in _BASE),
    )
    own = ~linked | reported
    # A stage in a cycle is its own total, but only a lower bound of the whole.
    cycle_bound = pl.col("_base_cycle") & ~reported
    frame = frame.with_columns(
        pl.col("estimate_flop").alias("_total"),
        pl.col("estimate_low_flop").alias("_total_low"),
        pl.when(~cycle_bound).then(pl.col("estimate_high_flop")).alias("_total_high"),
    ).with_columns(pl.when(own).then(pl.col(total)).alias(total) for total in _TOTAL)
    if frame.filter(linked).height == 0:
        return _finish(frame)
    for _ in range(MAX_CHAIN):
        totals = frame.select(
            pl.col("system").alias("base_model"),
            *(pl.col(total).alias(f"{total}_looked_up") for total in _TOTAL),
        ).unique("base_model")
        step = frame.drop(*_BASE).join(totals, on="base_model", how="left", maintain_order="left")
        given = pl.col("base_model_compute_flop").is_not_null()
        step = step.with_columns(
            pl.when(given).then(pl.col(given_column))
            .when(linked).then(pl.col(f"{total}_looked_up"))
            .alias(base)
            for base, total, given_column in zip(
                _BASE, _TOTAL, ("base_model_compute_flop", "_given_low", "_given_high"), strict=True
            )
        ).drop(*(f"{total}_looked_up" for total in _TOTAL))  # fmt: skip
        step = step.with_columns(_summed(own))
        settled = all(step[c].equals(frame[c]) for c in (*_TOTAL, *_BASE))
        frame = step
        if settled:
            break
    return _finish(frame)


def _summed(own: pl.Expr) -> list[pl.Expr]:
    """A staged row's total: stage + base, either alone when the other is unknown. The high
    bound exists only when both parts are known and bounded."""
    stage, base = pl.col("stage_flop"), pl.col("_base_total")
    either = stage.is_not_null() | base.is_not_null()
    bounded = (
        stage.is_not_null() & pl.col("_stage_high").is_not_null()
        & base.is_not_null() & pl.col("_base_high").is_not_null()
    )  # fmt: skip
    return [
        pl.when(own).then(pl.col("_total"))
        .when(either).then(stage.fill_null(0) + base.fill_null(0)).alias("_total"),
        pl.when(own).then(pl.col("_total_low"))
        .when(either).then(pl.col("_stage_low").fill_null(0) + pl.col("_base_low").fill_null(0))
        .alias("_total_low"),
        pl.when(own).then(pl.col("_total_high"))
        .when(bounded).then(pl.col("_stage_high") + pl.col("_base_high")).alias("_total_high"),
    ]  # fmt: skip


def _finish(frame: pl.DataFrame) -> pl.DataFrame:
    has_base = pl.col("base_model").is_not_null()
    reported = pl.col("reported_compute_flop").is_not_null()
    stage, base_total = pl.col("stage_flop"), pl.col("_base_total")
    staged = has_base & ~reported
    combined = staged & stage.is_not_null() & base_total.is_not_null()
    base_unknown = staged & stage.is_not_null() & base_total.is_null()
    stage_unknown = staged & stage.is_null() & base_total.is_not_null()
    base_lower_bound = (combined | stage_unknown) & pl.col("_base_high").is_null()
    cycle = staged & pl.col("_base_cycle")
    uses_total = combined | stage_unknown
    return frame.with_columns(
        pl.when(uses_total).then(pl.col(total)).otherwise(pl.col(column)).alias(column)
        for total, column in zip(
            _TOTAL, ("estimate_flop", "estimate_low_flop", "estimate_high_flop"), strict=True
        )
    ).with_columns(
        pl.when(base_unknown).then(None).otherwise(pl.col("estimate_high_flop"))
        .alias("estimate_high_flop"),
        pl.when(stage_unknown).then(pl.lit("base_model"))
        .otherwise(pl.col("estimate_source")).alias("estimate_source"),
    ).with_columns(
        add_flags(
            {
                "includes_base_model": uses_total,
                "base_compute_unknown": base_unknown,
                "stage_compute_unknown": stage_unknown,
                "base_lower_bound": base_lower_bound,
                "base_model_cycle": cycle,
            }
        ),
        add_notes(
            pl.when(cycle).then(pl.concat_str([
                pl.lit("base models form a cycle through '"), pl.col("base_model"),
                pl.lit("': no base total can be found"),
            ])),
            pl.when(combined).then(pl.concat_str([
                pl.lit("stage "), sci(stage), pl.lit(" FLOP + base model '"), pl.col("base_model"),
                pl.lit("' "), sci(base_total), pl.lit(" FLOP = "), sci(pl.col("estimate_flop")), pl.lit(" FLOP"),
            ])),
            pl.when(base_unknown).then(pl.concat_str([
                pl.lit("base model '"), pl.col("base_model"),
                pl.lit("' has no known compute: the stage alone, a lower bound"),
            ])),
            pl.when(stage_unknown).then(pl.concat_str([
                pl.lit("no estimate of this stage: base model '"), pl.col("base_model"),
                pl.lit("' total "), sci(base_total), pl.lit(" FLOP, a lower bound"),
            ])),
            pl.when(base_lower_bound).then(pl.concat_str([
                pl.lit("the base model's total is itself a lower bound, so this is one too"),
            ])),
        ),
    ).drop(*_TOTAL, *_BASE, "_stage_low", "_stage_high", "_given_low", "_given_high", "_base_cycle")  # fmt: skip

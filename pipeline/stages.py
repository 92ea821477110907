"""Training stages: a fine-tuned system's total includes the model it started from.

The methods estimate the stage a row's fields describe (`stage_flop`). When the row names a
`base_model`, its `estimate_flop` is that stage plus the base model's total, taken from
`base_model_compute_flop` or else from the base model's own row in the same run; chains
(a fine-tune of a fine-tune) resolve by repeating the lookup. A reported figure is already a
total and stands. A base whose compute is unknown leaves the stage alone, flagged as a lower
bound; a stage with no estimate of its own leaves the base's total, flagged the same way.
"""

from __future__ import annotations

import polars as pl

from pipeline.annotate import add_flags, add_notes
from pipeline.formatting import sci
from pipeline.uncertainty import interval, rounding_sigma

MAX_CHAIN = 16


def add_base_models(frame: pl.DataFrame) -> pl.DataFrame:
    stage = pl.col("method_estimate_flop")
    has_base = pl.col("base_model").is_not_null()
    reported = pl.col("reported_compute_flop").is_not_null()
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
    own = ~has_base | reported
    frame = frame.with_columns(
        pl.when(own).then(pl.col(source)).alias(total) for total, source in _OWN.items()
    )
    if frame.filter(has_base).height == 0:
        return _finish(frame)
    for _ in range(MAX_CHAIN):
        totals = frame.select(
            pl.col("system").alias("base_model"),
            *(pl.col(total).alias(f"{total}_looked_up") for total in _OWN),
        ).unique("base_model")
        step = frame.drop(*_BASE).join(totals, on="base_model", how="left", maintain_order="left")
        given = pl.col("base_model_compute_flop").is_not_null()
        step = step.with_columns(
            pl.when(given).then(pl.col(given_column)).otherwise(pl.col(f"{total}_looked_up"))
            .alias(base)
            for base, total, given_column in zip(
                _BASE, _OWN, ("base_model_compute_flop", "_given_low", "_given_high"), strict=True
            )
        ).drop(*(f"{total}_looked_up" for total in _OWN))  # fmt: skip
        known = pl.col("_base_total").is_not_null() & stage.is_not_null()
        step = step.with_columns(
            pl.when(own).then(pl.col(source)).when(known).then(pl.col(part) + pl.col(base))
            .alias(total)
            for (total, source), part, base in zip(
                _OWN.items(), ("stage_flop", "_stage_low", "_stage_high"), _BASE, strict=True
            )
        )  # fmt: skip
        settled = all(step[c].equals(frame[c]) for c in (*_OWN, *_BASE))
        frame = step
        if settled:
            break
    return _finish(frame)


# Running totals (a row's own figure or stage + base) and the base's, with their bounds.
_OWN = {"_total": "estimate_flop", "_total_low": "estimate_low_flop",
        "_total_high": "estimate_high_flop"}  # fmt: skip
_BASE = ("_base_total", "_base_low", "_base_high")


def _finish(frame: pl.DataFrame) -> pl.DataFrame:
    has_base = pl.col("base_model").is_not_null()
    reported = pl.col("reported_compute_flop").is_not_null()
    stage, base_total = pl.col("stage_flop"), pl.col("_base_total")
    combined = has_base & ~reported & stage.is_not_null() & base_total.is_not_null()
    base_unknown = has_base & ~reported & stage.is_not_null() & base_total.is_null()
    stage_unknown = has_base & ~reported & stage.is_null() & base_total.is_not_null()
    no_upper_bound = pl.lit(None, pl.Float64)
    return frame.with_columns(
        pl.when(combined).then(pl.col("_total"))
        .when(stage_unknown).then(base_total)
        .otherwise(pl.col("estimate_flop")).alias("estimate_flop"),
        pl.when(combined).then(pl.col("_total_low"))
        .when(stage_unknown).then(pl.col("_base_low"))
        .otherwise(pl.col("estimate_low_flop")).alias("estimate_low_flop"),
        pl.when(combined).then(pl.col("_total_high"))
        .when(stage_unknown | base_unknown).then(no_upper_bound)
        .otherwise(pl.col("estimate_high_flop")).alias("estimate_high_flop"),
        pl.when(stage_unknown).then(pl.lit("base_model"))
        .otherwise(pl.col("estimate_source")).alias("estimate_source"),
    ).with_columns(
        add_flags(
            {
                "includes_base_model": combined | stage_unknown,
                "base_compute_unknown": base_unknown,
                "stage_compute_unknown": stage_unknown,
            }
        ),
        add_notes(
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
        ),
    ).drop(*_OWN, *_BASE, "_stage_low", "_stage_high", "_given_low", "_given_high")  # fmt: skip

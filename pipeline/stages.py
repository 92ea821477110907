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

MAX_CHAIN = 16


def add_base_models(frame: pl.DataFrame) -> pl.DataFrame:
    stage = pl.col("method_estimate_flop")
    has_base = pl.col("base_model").is_not_null()
    reported = pl.col("reported_compute_flop").is_not_null()
    frame = frame.with_columns(
        stage.alias("stage_flop"), pl.lit(None, pl.Float64).alias("_base_total")
    )
    own_total = pl.when(~has_base | reported).then(pl.col("estimate_flop"))
    frame = frame.with_columns(own_total.alias("_total"))
    if frame.filter(has_base).height == 0:
        return _finish(frame)
    for _ in range(MAX_CHAIN):
        totals = frame.select(
            pl.col("system").alias("base_model"), pl.col("_total").alias("_looked_up")
        ).unique("base_model")
        step = frame.drop("_base_total").join(
            totals, on="base_model", how="left", maintain_order="left"
        )
        step = step.with_columns(
            pl.coalesce("base_model_compute_flop", "_looked_up").alias("_base_total")
        ).drop("_looked_up")
        step = step.with_columns(
            pl.when(~has_base | reported)
            .then(pl.col("estimate_flop"))
            .when(pl.col("_base_total").is_not_null() & stage.is_not_null())
            .then(stage + pl.col("_base_total"))
            .alias("_total")
        )
        settled = step["_total"].equals(frame["_total"]) and step["_base_total"].equals(
            frame["_base_total"]
        )
        frame = step
        if settled:
            break
    return _finish(frame)


def _finish(frame: pl.DataFrame) -> pl.DataFrame:
    has_base = pl.col("base_model").is_not_null()
    reported = pl.col("reported_compute_flop").is_not_null()
    stage, base_total = pl.col("stage_flop"), pl.col("_base_total")
    combined = has_base & ~reported & stage.is_not_null() & base_total.is_not_null()
    base_unknown = has_base & ~reported & stage.is_not_null() & base_total.is_null()
    stage_unknown = has_base & ~reported & stage.is_null() & base_total.is_not_null()
    return frame.with_columns(
        pl.when(combined).then(pl.col("_total"))
        .when(stage_unknown).then(base_total)
        .otherwise(pl.col("estimate_flop")).alias("estimate_flop"),
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
    ).drop("_total", "_base_total")  # fmt: skip

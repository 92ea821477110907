"""The `compute_by_rule` table: per system, accounting rule and threshold, the rule's
compute, its 90% interval, the probability of being above the threshold (thresholds.py) and
the stages the rule counted; six rows or more a system, so it is also made in parts."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import polars as pl

from pipeline.estimate.rules import EU_MODIFICATION_BARS, MODIFICATION_RULE, RULES
from pipeline.estimate.stages import stages_column
from pipeline.estimate.thresholds import (
    MODIFICATION_BAR,
    MODIFICATION_COLUMNS,
    MODIFICATION_PROBABILITY,
    probability_above,
    rule_columns,
)
from pipeline.frames import collect
from schemas.estimates import in_published_order
from schemas.systems import stage_or_default

COMPUTE_BY_RULE_COLUMNS = (
    "system", "rule", "estimate_flop", "low_flop", "high_flop", "threshold_flop",
    "probability_above", "stages_counted",
)  # fmt: skip


def compute_by_rule(estimates: pl.DataFrame) -> pl.DataFrame:
    """The `compute_by_rule` table: per system, rule and threshold, the rule's estimate, its
    90% interval, the probability of being above the threshold and the stages counted; sorted
    by system, rule, threshold."""
    # A system of one row: its own stage (a row naming its base model describes a fine-tune),
    # and its base model where its total includes one.
    with_base = pl.col("flags").list.contains("includes_base_model")
    stage = (
        pl.when(pl.col("stage").is_null() & pl.col("base_model").is_not_null())
        .then(pl.lit("fine-tuning"))
        .otherwise(stage_or_default(pl.col("stage")))
    )
    own = pl.concat_str(
        [stage, pl.when(with_base).then(pl.lit("base model"))], separator=", ", ignore_nulls=True
    )
    staged = pl.concat_str([pl.lit(""), pl.when(with_base).then(pl.lit(", base model"))], ignore_nulls=True)  # fmt: skip
    # Systems are unique, so a row's place is (the system's place in the sorted estimates,
    # the slot of its rule and threshold in sorted order): one integer to sort by, in place
    # of comparing millions of names. A system has either the modification test against its
    # original's compute or the fall-back bars, never both, so the first shares the first slot.
    slots = sorted([(name, t) for name, rule in RULES.items() for t in rule.thresholds]
                   + [(MODIFICATION_RULE, t) for t in EU_MODIFICATION_BARS])  # fmt: skip
    slots.insert(slots.index((MODIFICATION_RULE, min(EU_MODIFICATION_BARS))), (MODIFICATION_RULE, None))  # fmt: skip

    def place(name: str, threshold: float | None) -> pl.Expr:
        return (pl.col("_order") + slots.index((name, threshold))).alias("_place")

    # Lazy: the sort carries only the columns the plan reads (projection pushdown).
    estimates = in_published_order(estimates.lazy()).with_columns(
        (pl.int_range(pl.len(), dtype=pl.Int64) * len(slots)).alias("_order")
    )
    frames = []
    for name, rule in RULES.items():
        flop, low, high = (pl.col(c) for c in rule_columns(name))
        counted = estimates.select(
            "_order", "system", pl.lit(name).alias("rule"), flop.alias("estimate_flop"), low.alias("low_flop"),
            high.alias("high_flop"), pl.coalesce(pl.col(stages_column(name)) + staged, own).alias("stages_counted"),
        )  # fmt: skip
        rule_figures = pl.col("estimate_flop"), pl.col("low_flop"), pl.col("high_flop")
        for threshold in rule.thresholds:
            frames.append(counted.with_columns(
                pl.lit(threshold).alias("threshold_flop"),
                probability_above(*rule_figures, threshold).alias("probability_above"),
                place(name, threshold),
            ))  # fmt: skip
    frames += _modification_rows(estimates, place)
    # One lazy plan: polars shares the sub-expressions of each probability and runs the
    # frames in parallel.
    return collect(pl.concat(frames, how="diagonal").sort("_place").select(COMPUTE_BY_RULE_COLUMNS))


# Systems per part of `compute_by_rule_parts`: six rows each, so a part is 1.5M rows.
PART_SYSTEMS = 250_000


def compute_by_rule_parts(
    estimates: pl.DataFrame, systems_per_part: int = PART_SYSTEMS
) -> Iterator[pl.DataFrame]:
    """`compute_by_rule(estimates)` in consecutive parts of `systems_per_part` systems: the
    same rows in the same order, for a writer that stores one part before the next is made
    (1M systems make 5.9M rows, about 0.4 GB at once and as much again while computed). An
    empty `estimates` gives one empty part, which carries the table's columns."""
    estimates = in_published_order(estimates)  # each part is a run of the sorted systems
    for offset in range(0, max(estimates.height, 1), systems_per_part):
        yield compute_by_rule(estimates.slice(offset, systems_per_part))


def _modification_rows(
    estimates: pl.LazyFrame, place: Callable[[str, float | None], pl.Expr]
) -> list[pl.LazyFrame]:
    """Rule `eu-modification`, on fine-tunes of another developer's model: their own compute
    against a third of the original's or, when that is unknown, against each fall-back bar."""
    flop, low, high = (pl.col(c) for c in MODIFICATION_COLUMNS)
    bar = pl.col(MODIFICATION_BAR)
    tested = estimates.filter(flop.is_not_null())
    columns = ["system", pl.lit(MODIFICATION_RULE).alias("rule"), flop.alias("estimate_flop"),
               low.alias("low_flop"), high.alias("high_flop")]  # fmt: skip
    stages = pl.lit("the fine-tune's own stages").alias("stages_counted")
    known = tested.filter(bar.is_not_null()).select(
        *columns, bar.alias("threshold_flop"),
        pl.col(MODIFICATION_PROBABILITY).alias("probability_above"), stages,
        place(MODIFICATION_RULE, None),
    )  # fmt: skip
    unknown = tested.filter(bar.is_null())
    fallback = [
        unknown.select(*columns, pl.lit(threshold).alias("threshold_flop"),
                       probability_above(flop, low, high, threshold).alias("probability_above"), stages,
                       place(MODIFICATION_RULE, threshold))
        for threshold in EU_MODIFICATION_BARS
    ]  # fmt: skip
    return [known, *fallback]

"""Training stages: a fine-tuned system's total includes the model it started from.

The methods estimate the stage a row's fields describe (`stage_flop`). When the row names a
`base_model`, its `estimate_flop` is that stage plus the base model's total, taken from
`base_model_compute_flop` or else from the base model's own row in the same run; chains
(a fine-tune of a fine-tune) resolve to any length. A reported figure is already a total: it
stands, and ends the chain there.

What is unknown makes a lower bound (no upper bound), never a dropped term: a base whose
compute is unknown leaves the stage alone; a stage with no estimate of its own leaves the
base's total; a base whose own total is a lower bound makes the sum one too. Base models that
name each other in a cycle have no total to find: each row of the cycle keeps its stage alone,
flagged.

Totals add up along the chains by pointer jumping: each round adds to every row the running
sum of the row its pointer reaches, then doubles how far the pointer reaches, so a chain of
length L takes about log2(L) rounds of whole-column operations.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from pipeline.estimate.annotate import add_flags, add_notes, withdraw
from pipeline.estimate.catalogue import CATALOGUE_COLUMNS, name_key
from pipeline.estimate.formatting import sci
from pipeline.estimate.reconcile import NO_INPUTS_NOTE
from pipeline.estimate.uncertainty import interval, rounding_sigma

_SUMS = ("_sum", "_sum_low", "_sum_high")


def in_cycles(pointer: pl.Series) -> pl.Series:
    """Whether each row lies on a cycle of `pointer` (row -> row index; null ends a chain).
    Followed far enough, every row reaches a cycle or the end of its chain, and the rows so
    reached are exactly the rows on cycles."""
    far = pointer
    for _ in range(max(pointer.len(), 1).bit_length()):
        far = far.gather(far)  # twice as far each round
    rows = pl.int_range(pointer.len(), eager=True, dtype=pointer.dtype)
    return rows.is_in(far.drop_nulls().unique().implode())


def chain_sums(
    parts: pl.DataFrame,
    pointer: pl.Series,
    sums: Sequence[str] = _SUMS,
    any_of: Sequence[str] = ("_unbounded", "_known"),
) -> pl.DataFrame:
    """Each row's part plus the parts of every row along its pointers (an acyclic `pointer`):
    the numbers of `sums` add, and the booleans of `any_of` hold if they hold anywhere."""
    total = parts
    while pointer.null_count() < pointer.len():
        ahead = total.select(pl.all().gather(pointer))  # a null pointer gives a null row
        total = total.with_columns(
            *(pl.col(c) + ahead[c].fill_null(0) for c in sums),
            *(pl.col(c) | ahead[c].fill_null(False) for c in any_of),
        )
        pointer = pointer.gather(pointer)
    return total


def add_base_models(frame: pl.DataFrame, catalogue: pl.DataFrame | None = None) -> pl.DataFrame:
    """Each row's total with its chain of bases; a base not in the sheet is looked up in
    `catalogue` (catalogue.py's `catalogue_bases`; None: not looked up)."""
    reported = pl.col("reported_compute_flop").is_not_null()
    staged = pl.col("base_model").is_not_null() & ~reported
    names = frame.select(
        pl.col("system").alias("base_model"), pl.int_range(pl.len(), dtype=pl.UInt32).alias("_base_row")
    )  # fmt: skip
    frame = frame.join(names, on="base_model", how="left", maintain_order="left")
    if catalogue is None:
        catalogue = pl.DataFrame(schema={"_key": pl.String, **dict.fromkeys(CATALOGUE_COLUMNS[1:], pl.Float64),
                                         CATALOGUE_COLUMNS[0]: pl.String})  # fmt: skip
    frame = (
        frame.with_columns(name_key(pl.col("base_model")).alias("_key"))
        .join(catalogue, on="_key", how="left", maintain_order="left")
        .drop("_key")
    )
    # A base the sheet does not hold, and whose compute the row does not give, is taken from the
    # catalogue: its total counts as given.
    catalogued = (
        staged & pl.col("base_model_compute_flop").is_null() & pl.col("_base_row").is_null()
        & pl.col("_catalogue_flop").is_not_null()
    )  # fmt: skip
    frame = frame.with_columns(catalogued.alias("_base_from_catalogue"))
    from_catalogue = pl.col("_base_from_catalogue")
    given = pl.col("base_model_compute_flop").is_not_null() | from_catalogue
    # A row follows its base's row unless its total is reported or its base's is given.
    links = frame.select(pl.when(staged & ~given).then(pl.col("_base_row"))).to_series()
    frame = frame.with_columns(in_cycles(links).alias("_base_cycle"))
    follows = staged & ~given & pl.col("_base_row").is_not_null() & ~pl.col("_base_cycle")
    frame = frame.with_columns(_restates(frame, follows).alias("_base_restated"))
    restated = pl.col("_base_restated")

    stage = pl.col("method_estimate_flop")
    stage_low, stage_high = pl.col("estimate_low_flop"), pl.col("estimate_high_flop")
    given_flop = pl.col("base_model_compute_flop")
    given_low, given_high = interval(given_flop, rounding_sigma(given_flop))
    given_flop = pl.when(from_catalogue).then(pl.col("_catalogue_flop")).otherwise(given_flop)
    given_low = pl.when(from_catalogue).then(pl.col("_catalogue_low")).otherwise(given_low)
    given_high = pl.when(from_catalogue).then(pl.col("_catalogue_high")).otherwise(given_high)
    # Each row's own part of its chain: its whole figure where the chain starts nothing (no
    # base, or a reported total); its stage plus a given base total; or its stage alone.
    parts = frame.select(
        *(
            pl.when(~staged).then(pl.col(whole))
            .when(given).then(part.fill_null(0) + base)
            .when(restated).then(pl.lit(0.0))
            .otherwise(part).fill_null(0).alias(name)
            for name, whole, part, base in zip(
                _SUMS, ("estimate_flop", "estimate_low_flop", "estimate_high_flop"),
                (stage, stage_low, stage_high), (given_flop, given_low, given_high), strict=True,
            )
        ),
        # No upper bound where a part has none, or where a base is named but not found.
        (
            pl.when(~staged).then(pl.col("estimate_high_flop").is_null())
            .otherwise(
                (stage_high.is_null() & ~restated) | (~given & ~follows)
                | (given & given_high.is_null())
            )
        ).alias("_unbounded"),
        (pl.when(~staged).then(pl.col("estimate_flop").is_not_null())
         .otherwise(stage.is_not_null() | given)).alias("_known"),
    )  # fmt: skip
    base_row = frame.select(pl.when(follows).then(pl.col("_base_row"))).to_series()
    sums = chain_sums(parts, base_row)
    known, bounded = sums["_known"], sums["_known"] & ~sums["_unbounded"]
    totals = sums.select(
        pl.when(known).then(pl.col("_sum")).alias("_total"),
        pl.when(known).then(pl.col("_sum_low")).alias("_total_low"),
        pl.when(bounded).then(pl.col("_sum_high")).alias("_total_high"),
    )
    # The base's total: given, or its row's chain total.
    ahead = totals.select(pl.all().gather(base_row))
    frame = pl.concat([frame, totals], how="horizontal").with_columns(
        stage.alias("stage_flop"),
        pl.Series("_chain_row", base_row),
        pl.when(given).then(given_flop).otherwise(ahead["_total"]).alias("_base_total"),
        pl.when(given).then(given_high).otherwise(ahead["_total_high"]).alias("_base_high"),
    )
    return _finish(frame)


# The inputs that, equal to the base's own, say a row restates its base's run rather than
# describing a stage of its own: the parameters with the dataset (or the training tokens), or
# the chips with the training time (or the chip-hours).
_RESTATED_BY = (
    ("parameters", "dataset_size"), ("parameters", "training_tokens"),
    ("hardware", "hardware_quantity", "training_time_hours"), ("hardware", "chip_hours"),
)  # fmt: skip


def _restates(frame: pl.DataFrame, follows: pl.Expr) -> pl.Series:
    """Whether each row that follows its base's row gives the same inputs as that row."""
    base_row = frame.select(pl.when(follows).then(pl.col("_base_row"))).to_series()
    same = pl.lit(False)
    for columns in _RESTATED_BY:
        present = [c for c in columns if c in frame.columns]
        if len(present) < len(columns):
            continue
        ahead = frame.select(pl.col(present).gather(base_row).name.prefix("_base_input_"))
        frame = frame.with_columns(ahead)
        same = same | pl.all_horizontal(
            (pl.col(c) == pl.col(f"_base_input_{c}")).fill_null(False) for c in present
        )
    return frame.select((follows & same).fill_null(False)).to_series()


def _finish(frame: pl.DataFrame) -> pl.DataFrame:
    has_base = pl.col("base_model").is_not_null()
    reported = pl.col("reported_compute_flop").is_not_null()
    stage, base_total = pl.col("stage_flop"), pl.col("_base_total")
    staged = has_base & ~reported
    restated = pl.col("_base_restated")
    combined = staged & (stage.is_not_null() | restated) & base_total.is_not_null()
    base_unknown = staged & stage.is_not_null() & base_total.is_null()
    stage_unknown = staged & stage.is_null() & base_total.is_not_null() & ~restated
    base_lower_bound = (combined | stage_unknown) & pl.col("_base_high").is_null()
    cycle = staged & pl.col("_base_cycle")
    uses_total = combined | stage_unknown
    # A stage without inputs of its own now has an estimate: its base's total, a lower bound.
    frame = frame.with_columns(withdraw("insufficient_inputs", NO_INPUTS_NOTE, stage_unknown))
    base_name = pl.concat_str([pl.lit("'"), pl.col("base_model"), pl.lit("'")])
    summary = (
        pl.when(combined & restated).then(pl.concat_str([
            pl.col("summary"), pl.lit(" It restates its base model "), base_name,
            pl.lit("'s run, so the total is the base's, "), sci(pl.col("_total")), pl.lit(" FLOP."),
        ], ignore_nulls=True).str.strip_chars_start())
        .when(combined).then(pl.concat_str([
            pl.col("summary"), pl.lit(" With its base model "), base_name, pl.lit(" ("),
            sci(base_total), pl.lit(" FLOP), the total is "), sci(pl.col("_total")), pl.lit(" FLOP."),
        ]))
        .when(stage_unknown).then(pl.concat_str([
            pl.lit("Our model builds on "), base_name, pl.lit(" ("), sci(base_total),
            pl.lit(" FLOP); its own training stage has no estimate, so that is a lower bound."),
        ]))
        .when(base_unknown).then(pl.concat_str([
            pl.col("summary"), pl.lit(" Its base model "), base_name,
            pl.lit(" has no known compute, so the total is at least that."),
        ]))
        .otherwise(pl.col("summary"))
    )  # fmt: skip
    frame = frame.with_columns(summary.alias("summary"))
    # A row restating its base's run has no stage of its own to count (or to test as a
    # modification of the base).
    frame = frame.with_columns(
        pl.when(combined & restated).then(None).otherwise(pl.col(c)).alias(c)
        for c in ("stage_flop", "_stage_low", "_stage_high")
    )
    return (
        frame.with_columns(
            pl.when(uses_total).then(pl.col(total)).otherwise(pl.col(column)).alias(column)
            for total, column in (
                ("_total", "estimate_flop"),
                ("_total_low", "estimate_low_flop"),
                ("_total_high", "estimate_high_flop"),
            )
        )
        .with_columns(
            pl.when(base_unknown)
            .then(None)
            .otherwise(pl.col("estimate_high_flop"))
            .alias("estimate_high_flop"),
            pl.when(stage_unknown)
            .then(pl.lit("base_model"))
            .otherwise(pl.col("estimate_source"))
            .alias("estimate_source"),
        )
        .with_columns(
            add_flags(
                {
                    "includes_base_model": uses_total,
                    "base_compute_unknown": base_unknown,
                    "stage_compute_unknown": stage_unknown,
                    "base_lower_bound": base_lower_bound,
                    "base_model_cycle": cycle,
                    "base_from_catalogue": pl.col("_base_from_catalogue"),
                    "base_restated": combined & restated,
                }
            ),
            add_notes(
                pl.when(cycle).then(
                    pl.concat_str(
                        [
                            pl.lit("base models form a cycle through '"),
                            pl.col("base_model"),
                            pl.lit("': no base total can be found"),
                        ]
                    )
                ),
                pl.when(combined & restated).then(
                    pl.concat_str(
                        [
                            pl.lit("the row gives the inputs of its base model '"),
                            pl.col("base_model"),
                            pl.lit("': it restates that run, counted once, "),
                            sci(pl.col("estimate_flop")),
                            pl.lit(" FLOP"),
                        ]
                    )
                ),  # fmt: skip
                pl.when(combined & ~restated).then(
                    pl.concat_str(
                        [
                            pl.lit("stage "),
                            sci(stage),
                            pl.lit(" FLOP + base model '"),
                            pl.col("base_model"),
                            pl.lit("' "),
                            sci(base_total),
                            pl.lit(" FLOP = "),
                            sci(pl.col("estimate_flop")),
                            pl.lit(" FLOP"),
                        ]
                    )
                ),
                pl.when(base_unknown).then(
                    pl.concat_str(
                        [
                            pl.lit("base model '"),
                            pl.col("base_model"),
                            pl.lit("' has no known compute: the stage alone, a lower bound"),
                        ]
                    )
                ),
                pl.when(stage_unknown).then(
                    pl.concat_str(
                        [
                            pl.lit("no estimate of this stage: base model '"),
                            pl.col("base_model"),
                            pl.lit("' total "),
                            sci(base_total),
                            pl.lit(" FLOP, a lower bound"),
                        ]
                    )
                ),
                pl.when(pl.col("_base_from_catalogue")).then(
                    pl.concat_str(
                        [
                            pl.lit("base model '"),
                            pl.col("base_model"),
                            pl.lit("' from flopsheet's catalogue of foundation models ('"),
                            pl.col("_catalogue_system"),
                            pl.lit("', estimated from its published inputs)"),
                        ]
                    )
                ),  # fmt: skip
                pl.when(base_lower_bound).then(
                    pl.lit("the base model's total is itself a lower bound, so this is one too")
                ),
            ),
        )
    )

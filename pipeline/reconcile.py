"""Reconciliation: one `estimate_flop` per row from the reported figure and the two methods."""

from __future__ import annotations

import polars as pl

from pipeline.annotate import add_flags, add_notes
from pipeline.formatting import duration, sci, short
from pipeline.settings import Settings


def _fold_apart(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """How many times apart two positive figures are (>= 1)."""
    ratio = a / b
    return pl.max_horizontal(ratio, 1 / ratio)


def reconcile(frame: pl.LazyFrame, settings: Settings) -> pl.LazyFrame:
    ops, hw = pl.col("ops_flop"), pl.col("hardware_flop")
    reported = pl.col("reported_compute_flop")
    both = ops.is_not_null() & hw.is_not_null()
    apart = _fold_apart(ops, hw)
    agree = both & (apart <= settings.agreement_factor)
    geometric_mean = (ops * hw).sqrt()
    implied = ops / (pl.col("chip_seconds") * pl.col("peak_flop_per_second_used"))
    # An implied utilization no real run achieves means the two methods describe different
    # things; the count of operations is then the usual culprit (epochs or units assumed, total
    # instead of active parameters), while chips x time x peak is what the paper measured.
    implausible = both & (
        (implied < settings.implied_utilization_low) | (implied > settings.implied_utilization_high)
    )
    combine = both & ~implausible

    frame = frame.with_columns(
        implied.alias("implied_utilization"),
        (ops / hw).alias("ops_hardware_ratio"),
        pl.when(combine)
        .then(geometric_mean)
        .when(implausible)
        .then(hw)
        .otherwise(pl.coalesce(ops, hw))
        .alias("method_estimate_flop"),
    )
    method = pl.col("method_estimate_flop")
    source = (
        pl.when(reported.is_not_null())
        .then(pl.lit("reported"))
        .when(combine)
        .then(pl.lit("geometric_mean"))
        .when(implausible)
        .then(pl.lit("hardware"))
        .when(ops.is_not_null())
        .then(pl.lit("ops"))
        .when(hw.is_not_null())
        .then(pl.lit("hardware"))
    )
    frame = frame.with_columns(
        pl.coalesce(reported, method).alias("estimate_flop"), source.alias("estimate_source")
    )
    implied = pl.col("implied_utilization")
    reported_disagrees = (
        reported.is_not_null()
        & method.is_not_null()
        & (_fold_apart(reported, method) > settings.agreement_factor)
    )
    methods_disagree = both & ~agree
    frame = frame.with_columns(
        add_flags(
            {
                "reported_disagrees": reported_disagrees,
                "methods_disagree": methods_disagree,
                "implied_utilization_impossible": implied > settings.implied_utilization_high,
                "implied_utilization_low": implied < settings.implied_utilization_low,
                "insufficient_inputs": pl.col("estimate_flop").is_null(),
            }
        ),
        add_notes(
            pl.when(reported.is_not_null()).then(
                pl.concat_str([pl.lit("reported "), sci(reported), pl.lit(" FLOP used")])
            ),
            pl.when(reported_disagrees).then(
                pl.concat_str(
                    [pl.lit("methods give "), sci(method), pl.lit(", "),
                     short(_fold_apart(reported, method)), pl.lit("x from the reported figure")]
                )
            ),
            pl.when(combine).then(
                pl.concat_str(
                    [pl.lit("methods "), pl.when(agree).then(pl.lit("agree within ")).otherwise(
                        pl.lit("disagree by ")), short(apart),
                     pl.lit("x: geometric mean "), sci(geometric_mean), pl.lit(" FLOP")]
                )
            ),
            pl.when(implausible).then(
                pl.concat_str(
                    [pl.lit("methods disagree by "), short(apart),
                     pl.lit("x and the implied utilization is implausible: hardware time preferred")]
                )
            ),
            pl.when(implied.is_not_null()).then(
                pl.concat_str([pl.lit("implied utilization "), short(implied)])
            ),
            pl.when(pl.col("estimate_flop").is_null()).then(
                pl.lit("insufficient inputs for either method")
            ),
        ),
    )  # fmt: skip
    return frame.with_columns(summary_sentence().alias("summary"))


def ops_sentence(total: pl.Expr) -> pl.Expr:
    """Epoch's counting-operations calculator sentence."""
    epochs = pl.col("epochs_used")
    for_epochs = (
        pl.when(epochs != 1)
        .then(pl.concat_str([pl.lit(" for "), short(epochs), pl.lit(" epochs")]))
        .otherwise(pl.lit(""))
    )
    trained_on = pl.concat_str([pl.lit(", was trained on "), sci(pl.col("dataset_size"))])
    unit = pl.coalesce(pl.col("dataset_unit"), pl.lit("tokens"))
    ending = pl.concat_str(
        [for_epochs, pl.lit(" and used "), sci(total), pl.lit(" FLOP during training.")]
    )
    rule = pl.col("ops_rule")
    active = (
        pl.when(pl.col("active_parameters").is_not_null())
        .then(pl.lit(" active"))
        .otherwise(pl.lit(""))
    )
    return (
        pl.when(rule == "forward_flop")
        .then(pl.concat_str([
            pl.lit("Our model uses "), sci(pl.col("forward_flop_per_example")),
            pl.lit(" FLOP on each forward pass"), trained_on, pl.lit(" datapoints"), ending,
        ]))
        .when(rule == "connections")
        .then(pl.concat_str([
            pl.lit("Our model has "), sci(pl.col("connections")), pl.lit(" connections"),
            trained_on, pl.lit(" datapoints"), ending,
        ]))
        .when(rule == "6ND")
        .then(pl.concat_str([
            pl.lit("Our model has "), sci(pl.coalesce("active_parameters", "parameters")), active,
            pl.lit(" parameters"), trained_on, pl.lit(" "), unit, ending,
        ]))
    )  # fmt: skip


def hardware_sentence(total: pl.Expr) -> pl.Expr:
    """Epoch's hardware calculator sentence."""
    chip = pl.coalesce("hardware_matched", "hardware", pl.lit("chips"))
    ending = pl.concat_str(
        [pl.lit(", and in total used "), sci(total), pl.lit(" FLOP during training.")]
    )
    return (
        pl.when(pl.col("chip_hours").is_not_null())
        .then(pl.concat_str([
            pl.lit("Our model was trained for "), sci(pl.col("chip_hours")),
            pl.lit(" chip-hours on "), chip, ending,
        ]))
        .otherwise(pl.concat_str([
            pl.lit("Our model was trained on "), short(pl.col("hardware_quantity").cast(pl.Float64)),
            pl.lit(" "), chip, pl.lit(" for "), duration(pl.col("training_time_hours")), ending,
        ]))
    )  # fmt: skip


def summary_sentence() -> pl.Expr:
    """The calculator sentence of the method(s) behind the estimate. A method's own figure is
    the estimate when it stands alone, so each sentence is built once, from that figure."""
    source, estimate = pl.col("estimate_source"), pl.col("estimate_flop")
    ops = ops_sentence(pl.col("ops_flop"))
    hardware = hardware_sentence(pl.col("hardware_flop"))
    return (
        pl.when(source == "reported")
        .then(pl.concat_str([pl.lit("The authors report "), sci(estimate),
                             pl.lit(" FLOP of training compute.")]))
        .when(source == "ops")
        .then(ops)
        .when(source == "hardware")
        .then(hardware)
        .when(source == "geometric_mean")
        .then(pl.concat_str([
            ops, pl.lit(" "), hardware,
            pl.lit(" The two estimates combine to "), sci(estimate), pl.lit(" FLOP."),
        ]))
    )  # fmt: skip

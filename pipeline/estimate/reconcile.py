"""Reconciliation: one `estimate_flop` per row from the reported figure and the two methods."""

from __future__ import annotations

from itertools import product

import polars as pl

from pipeline.estimate.annotate import add_flags, by_partition, with_notes
from pipeline.estimate.formatting import as_given, duration, fixed, sci, short
from pipeline.estimate.hardware_time import figures_form
from pipeline.estimate.predictive import (
    EXACT_RESIDUAL,
    PREDICTIVE_COLUMNS,
    predictive_columns,
    spread_source,
)
from pipeline.estimate.uncertainty import MIN_WEIGHT_SIGMA, Z90, interval, rounding_sigma
from pipeline.settings import Settings

NO_INPUTS_NOTE = "insufficient inputs for either method"


def _fold_apart(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """How many times apart two positive figures are (>= 1)."""
    ratio = a / b
    return pl.max_horizontal(ratio, 1 / ratio)


def reconcile(
    frame: pl.LazyFrame,
    settings: Settings,
    bound_unnamed: bool = True,
    spreads: pl.DataFrame | None = None,
) -> pl.LazyFrame:
    """The method estimate: a precision-weighted mean of the two methods in log space, each
    weighted by 1/sigma^2 (equal spreads give the geometric mean); one method alone where only
    one applies. A reported figure comes first. Adds the methods' and the estimate's spreads
    and 90% intervals: with `spreads` (predictive.py), the estimate's interval is its learned
    predictive distribution's; without, the log-normal of its assumptions."""
    # A count of operations beyond what the reported chips could do in the reported time,
    # even at the fastest peak of the year, describes another run: it is not used.
    beyond = (pl.col("ops_flop") > pl.col("_capacity_flop")).fill_null(False)
    frame = frame.with_columns(
        beyond.alias("_ops_beyond_capacity"),
        pl.when(beyond).then(pl.col("ops_flop")).alias("_ops_unused"),
        pl.when(~beyond).then(pl.col("ops_flop")).alias("ops_flop"),
        pl.when(~beyond).then(pl.col("ops_rule")).alias("ops_rule"),
        pl.when(~beyond).then(pl.col("_ops_sigma")).alias("_ops_sigma"),
    )
    ops, hw = pl.col("ops_flop"), pl.col("hardware_flop")
    reported = pl.col("reported_compute_flop")
    both = ops.is_not_null() & hw.is_not_null()
    apart = _fold_apart(ops, hw)
    agree = both & (apart <= settings.agreement_factor)
    at_peak = pl.col("chip_seconds") * pl.col("peak_flop_per_second_used")
    implied = ops / at_peak
    # A count of operations that implies a utilization no real run achieves describes another
    # run than the hardware (epochs or units assumed, total instead of active parameters): it
    # is pulled to the nearest plausible utilization before it is weighed, so that the mean
    # stays between the two methods and never rests on an impossible figure.
    used = pl.col("utilization_used")
    lowest = pl.min_horizontal(pl.lit(settings.implied_utilization_low), used) * at_peak
    highest = pl.max_horizontal(pl.lit(settings.implied_utilization_high), used) * at_peak
    ops_weighed = pl.when(both).then(ops.clip(lowest, highest)).otherwise(ops)
    frame = frame.with_columns(
        implied.alias("implied_utilization"),
        (ops / hw).alias("ops_hardware_ratio"),
        ops_weighed.alias("_ops_weighed"),
        pl.max_horizontal("_ops_sigma", pl.lit(MIN_WEIGHT_SIGMA)).alias("_ops_weight_sigma"),
        pl.max_horizontal("_hardware_sigma", pl.lit(MIN_WEIGHT_SIGMA)).alias(
            "_hardware_weight_sigma"
        ),
    )
    so, sh = pl.col("_ops_weight_sigma"), pl.col("_hardware_weight_sigma")
    weight_ops, weight_hw = 1 / so**2, 1 / sh**2
    log_mean = (weight_ops * pl.col("_ops_weighed").log() + weight_hw * hw.log()) / (
        weight_ops + weight_hw
    )
    combined_sigma = (so**2 + sh**2).sqrt()
    # Methods further apart than their spreads allow widen the combined interval by the ratio
    # of their distance to those spreads (Birge's ratio), measured on the figures as computed:
    # pulling ops to a plausible utilization decides the estimate, not how sure it is.
    birge = pl.max_horizontal(pl.lit(1.0), (ops / hw).log().abs() / combined_sigma)
    inconsistent = both & ((ops / hw).log().abs() > Z90 * combined_sigma)
    clamped = both & (pl.col("_ops_weighed") != ops)
    frame = frame.with_columns(
        pl.when(both)
        .then(log_mean.exp())
        .otherwise(pl.coalesce(ops, hw))
        .alias("method_estimate_flop"),
        pl.when(both)
        .then(birge / (weight_ops + weight_hw).sqrt())
        .otherwise(pl.coalesce("_ops_sigma", "_hardware_sigma"))
        .alias("_method_sigma"),
    )
    method = pl.col("method_estimate_flop")
    source = (
        pl.when(reported.is_not_null())
        .then(pl.lit("reported"))
        .when(both)
        .then(pl.lit("weighted_mean"))
        .when(ops.is_not_null())
        .then(pl.lit("ops"))
        .when(hw.is_not_null())
        .then(pl.lit("hardware"))
    )
    estimate_sigma = (
        pl.when(reported.is_not_null()).then(rounding_sigma(reported)).otherwise("_method_sigma")
    )
    frame = frame.with_columns(
        pl.coalesce(reported, method).alias("estimate_flop"),
        source.alias("estimate_source"),
        estimate_sigma.alias("_estimate_sigma"),
    )
    ops_low, ops_high = interval(ops, pl.col("_ops_sigma"))
    hw_low, hw_high = interval(hw, pl.col("_hardware_sigma"))
    estimate = pl.col("estimate_flop")
    # Two methods' estimate is never surer than their disagreement: its interval spans both.
    combined = both & reported.is_null()
    span = pl.max_horizontal((ops / estimate).log().abs(), (hw / estimate).log().abs())
    frame = frame.with_columns(pl.col("_estimate_sigma").alias("assumption_sigma"))
    if spreads is None:
        estimate_low, estimate_high = interval(estimate, pl.col("_estimate_sigma"))
        frame = frame.with_columns(
            pl.lit(None, pl.Float64).alias(name) for name in PREDICTIVE_COLUMNS
        )
    else:
        frame = frame.with_columns(
            **predictive_columns(spread_source(), pl.col("_estimate_sigma"), spreads),
        )
        # The span widens the predictive distribution itself, so that its 90% interval is the
        # one published.
        k90, scale = pl.col("_k90"), pl.col("predictive_scale")
        frame = frame.with_columns(
            pl.when(combined).then(pl.max_horizontal(scale, span / k90)).otherwise(scale)
            .alias("predictive_scale")
        )  # fmt: skip
        half = pl.max_horizontal(pl.col("_k90") * pl.col("predictive_scale"), EXACT_RESIDUAL)
        estimate_low, estimate_high = interval(estimate, pl.col("_estimate_sigma"))
        estimate_low = (
            pl.when(half.is_not_null()).then(estimate / half.exp()).otherwise(estimate_low)
        )
        estimate_high = (
            pl.when(half.is_not_null()).then(estimate * half.exp()).otherwise(estimate_high)
        )
    estimate_low = (
        pl.when(combined).then(pl.min_horizontal(estimate_low, ops, hw)).otherwise(estimate_low)
    )
    estimate_high = (
        pl.when(combined).then(pl.max_horizontal(estimate_high, ops, hw)).otherwise(estimate_high)
    )
    frame = frame.with_columns(
        ops_low.alias("ops_low_flop"), ops_high.alias("ops_high_flop"),
        hw_low.alias("hardware_low_flop"), hw_high.alias("hardware_high_flop"),
        estimate_low.alias("estimate_low_flop"), estimate_high.alias("estimate_high_flop"),
    )  # fmt: skip
    implied = pl.col("implied_utilization")
    reported_disagrees = (
        reported.is_not_null()
        & method.is_not_null()
        & (_fold_apart(reported, method) > settings.agreement_factor)
    )
    methods_disagree = both & ~agree
    weights = pl.concat_str([
        pl.lit("weights "), fixed(weight_ops / (weight_ops + weight_hw)), pl.lit(" ops, "),
        fixed(weight_hw / (weight_ops + weight_hw)), pl.lit(" hardware"),
    ])  # fmt: skip
    frame = frame.with_columns(
        add_flags(
            {
                "reported_disagrees": reported_disagrees,
                "methods_disagree": methods_disagree,
                "methods_inconsistent": inconsistent,
                "implied_utilization_impossible": implied > settings.implied_utilization_high,
                "implied_utilization_low": implied < settings.implied_utilization_low,
                **(
                    {"ops_beyond_capacity": pl.col("_ops_beyond_capacity")} if bound_unnamed else {}
                ),
                "insufficient_inputs": pl.col("estimate_flop").is_null()
                & ~pl.col("_ops_beyond_capacity"),
            }
        )
    )
    frame = with_notes(
        frame,
        (reported.is_not_null(), pl.concat_str([pl.lit("reported "), sci(reported), pl.lit(" FLOP used")])),
        (reported_disagrees, pl.concat_str([
            pl.lit("methods give "), sci(method), pl.lit(", "),
            short(_fold_apart(reported, method)), pl.lit("x from the reported figure"),
        ])),
        (clamped, pl.concat_str([
            pl.lit("counting operations weighed at "), sci(pl.col("_ops_weighed")),
            pl.lit(" FLOP, the nearest plausible utilization of this hardware"),
        ])),
        (both, pl.concat_str([
            pl.lit("methods "), pl.when(agree).then(pl.lit("agree within ")).otherwise(pl.lit("disagree by ")),
            short(apart), pl.lit("x: weighted mean "), sci(method), pl.lit(" FLOP ("), weights, pl.lit(")"),
        ])),
        (inconsistent, inconsistency_note()),
        (implied.is_not_null(), pl.concat_str([pl.lit("implied utilization "), short(implied)])),
        *([(pl.col("_ops_beyond_capacity"), pl.concat_str([
            pl.lit("counting operations gives "), sci(pl.col("_ops_unused")),
            pl.lit(" FLOP, more than "), sci(pl.col("chip_seconds")),
            pl.lit(" chip-seconds could do at "), sci(pl.col("_fastest_peak")),
            pl.lit(" FLOP/s, the fastest chip of its year: not used"),
        ]))] if bound_unnamed else []),
        (pl.col("estimate_flop").is_null() & ~pl.col("_ops_beyond_capacity"), pl.lit(NO_INPUTS_NOTE)),
    )  # fmt: skip
    return with_summary(frame)


def inconsistency_note() -> pl.Expr:
    """Why two methods may disagree beyond their intervals, from what the row shows."""
    ops_high = pl.col("ops_flop") > pl.col("hardware_flop")
    six_nd = pl.col("ops_rule") == "6ND"
    chip = pl.coalesce("hardware_matched", pl.lit(""))
    causes = {
        "hardware describing a fine-tune set against a count of the whole training": ops_high,
        "total instead of active parameters (mixture of experts)": (
            ops_high & six_nd & pl.col("active_parameters").is_null()
        ),
        "epochs not reported": ~ops_high & pl.col("epochs").is_null() & ~pl.col("_tokens_given"),
        "dataset units": ~pl.col("_tokens_given")
        & (
            pl.col("dataset_unit").is_null()
            | (pl.col("dataset_unit") == "words")
            | pl.col("dataset_unit_phrase").is_not_null()
        ),
        "precision (peak of another number format)": pl.col("precision").is_null()
        & pl.col("peak_flop_per_second").is_null(),
        "cores counted as chips": ~ops_high & chip.str.contains(r"TPU v[23]\b"),
    }
    fragments = [pl.when(condition.fill_null(False)).then(pl.lit(text))
                 for text, condition in causes.items()]  # fmt: skip
    listed = pl.concat_str(fragments, separator=", ", ignore_nulls=True)
    # The intervals themselves are in ops_low_flop ... hardware_high_flop.
    return pl.concat_str([
        pl.lit("methods inconsistent beyond their 90% intervals; likely causes: "),
        pl.when(listed != "").then(listed).otherwise(pl.lit("none visible in the row")),
    ])  # fmt: skip


def ops_sentences(total: pl.Expr) -> dict[str, pl.Expr]:
    """Epoch's counting-operations calculator sentence, by `ops_rule`."""
    epochs = pl.col("epochs_used")
    for_epochs = (
        pl.when(epochs != 1)
        .then(pl.concat_str([pl.lit(" for "), short(epochs), pl.lit(" epochs")]))
        .otherwise(pl.lit(""))
    )
    # Training tokens given are the data seen, in tokens, epochs included.
    given = pl.col("_tokens_given")
    seen = pl.when(given).then(pl.col("training_tokens")).otherwise(pl.col("dataset_size"))
    trained_on = pl.concat_str([pl.lit(", was trained on "), as_given(seen)])

    def unit_or(default: str) -> pl.Expr:
        """Tokens where the training tokens were read; else the dataset's unit or `default`."""
        return (
            pl.when(given)
            .then(pl.lit("tokens"))
            .otherwise(pl.coalesce(pl.col("dataset_unit"), pl.lit(default)))
        )

    ending = pl.concat_str(
        [for_epochs, pl.lit(" and used "), sci(total), pl.lit(" FLOP during training.")]
    )
    # Active parameters, counted or assumed (a mixture of experts without its count).
    active = (
        pl.when(
            pl.col("active_parameters").is_not_null()
            | pl.col("mixture_of_experts").fill_null(False)
        )
        .then(pl.lit(" active"))
        .otherwise(pl.lit(""))
    )
    return {
        "forward_flop": pl.concat_str([
            pl.lit("Our model uses "), as_given(pl.col("forward_flop_per_example")),
            pl.lit(" FLOP on each forward pass"), trained_on, pl.lit(" datapoints"), ending,
        ]),
        "connections": pl.concat_str([
            pl.lit("Our model has "), as_given(pl.col("connections")), pl.lit(" connections"),
            trained_on, pl.lit(" datapoints"), ending,
        ]),
        "architecture": pl.concat_str([
            pl.lit("Our model, counted from its architecture"), trained_on, pl.lit(" "),
            unit_or("datapoints"), ending,
        ]),
        "6ND": pl.concat_str([
            pl.lit("Our model has "), as_given(pl.col("_ops_parameters")), active,
            pl.lit(" parameters"), trained_on, pl.lit(" "), unit_or("tokens"), ending,
        ]),
    }  # fmt: skip


def hardware_sentences(total: pl.Expr) -> dict[str, pl.Expr]:
    """Epoch's hardware calculator sentence, given chip-hours or chips and time."""
    chip = pl.coalesce("hardware_matched", "hardware", pl.lit("chips"))
    ending = pl.concat_str(
        [pl.lit(", and in total used "), sci(total), pl.lit(" FLOP during training.")]
    )
    return {
        "chip_hours": pl.concat_str([
            pl.lit("Our model was trained for "), as_given(pl.col("chip_hours")),
            pl.lit(" chip-hours on "), chip, ending,
        ]),
        "chips": pl.concat_str([
            pl.lit("Our model was trained on "), short(pl.col("hardware_quantity").cast(pl.Float64)),
            pl.lit(" "), chip, pl.lit(" for "), duration(pl.col("training_time_hours")), ending,
        ]),
    }  # fmt: skip


def summary_sentences() -> tuple[pl.Expr, dict[str, pl.Expr]]:
    """The calculator sentence of the method(s) behind the estimate: (the key of each row, the
    sentence for each key). A key is `estimate_source`, then the counting rule and the form of
    the hardware figures where the source uses them ("weighted_mean|6ND|chip_hours"), so that
    each row builds one sentence, not every rule's. A method's own figure is the estimate when
    it stands alone, so each sentence is built once, from that figure. The figures the row
    gave are written with all their digits, as Epoch's calculators repeat them; the result to
    two significant figures."""
    source = pl.col("estimate_source")
    key = pl.concat_str(
        [
            source,
            pl.when(source.is_in(["ops", "weighted_mean"])).then(pl.col("ops_rule")),
            pl.when(source.is_in(["hardware", "weighted_mean"])).then(figures_form()),
        ],
        separator="|",
        ignore_nulls=True,
    )
    estimate = pl.col("estimate_flop")
    ops = ops_sentences(pl.col("ops_flop"))
    hardware = hardware_sentences(pl.col("hardware_flop"))
    sentences = {
        "reported": pl.concat_str(
            [
                pl.lit("The authors report "),
                sci(estimate),
                pl.lit(" FLOP of training compute."),
            ]
        ),
        **{f"ops|{rule}": sentence for rule, sentence in ops.items()},
        **{f"hardware|{form}": sentence for form, sentence in hardware.items()},
    }
    for (rule, ops_text), (form, hardware_text) in product(ops.items(), hardware.items()):
        sentences[f"weighted_mean|{rule}|{form}"] = pl.concat_str(
            [
                ops_text,
                pl.lit(" "),
                hardware_text,
                pl.lit(" The two estimates combine to "),
                sci(estimate),
                pl.lit(" FLOP."),
            ]
        )
    return key, sentences


def with_summary(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Adds `summary`, each source's sentence built on that source's rows only."""
    key, sentences = summary_sentences()
    return by_partition(frame, key, "summary", sentences)

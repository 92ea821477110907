"""Method 2 of Epoch (2022), hardware time, as polars stages over whole columns: training
FLOP = seconds x chips x peak FLOP/s x utilization."""

from __future__ import annotations

import polars as pl

from pipeline.estimate.annotate import annotate, by_partition
from pipeline.estimate.formatting import fixed, sci, short
from pipeline.estimate.hardware import (
    fastest_peak_by_year,
    form_assumed_flag,
    resolve_hardware,
    table_peak,
)
from pipeline.estimate.plausibility import out_of_range, plausible
from pipeline.estimate.priors import generation, seed_priors, with_prior
from pipeline.estimate.uncertainty import factor_sigma, quadrature
from pipeline.settings import Settings

# The ending of the note of a chip without a peak; the calculators find it in a row's notes to
# say why it failed.
NO_PEAK_NOTE = " peak in the hardware table, nor one to fall back on: no hardware estimate"
PEAK_HINT = " (give peak_flop_per_second)"  # the calculators name their own option instead


def figures_form() -> pl.Expr:
    """How a row gives its hardware time: "chip_hours", or "chips" (chips and training time);
    the notes and sentences are written in that form."""
    return (
        pl.when(pl.col("chip_hours").is_not_null())
        .then(pl.lit("chip_hours"))
        .otherwise(pl.lit("chips"))
    )


def hardware_method(
    frame: pl.LazyFrame,
    hardware: pl.DataFrame,
    settings: Settings,
    priors: pl.DataFrame | None = None,
    bound_unnamed: bool = True,
) -> pl.LazyFrame:
    """Adds `hardware_flop` with the chip matched, peak, precision and utilization used; an
    unreported utilization is the prior's for the row's domain and chip generation.
    `bound_unnamed=False` says no row gives chips and time without a chip name, which spares
    the bound such rows put on the count of operations (`_capacity_flop`)."""
    if priors is None:
        priors = seed_priors()
    frame = resolve_hardware(frame, hardware)
    frame = frame.with_columns(generation(pl.col("_hardware_year")).alias("_hardware_generation"))
    frame = with_prior(frame, priors)
    chip_seconds = (
        pl.when(pl.col("chip_hours").is_not_null())
        .then(pl.col("chip_hours") * 3600)
        .otherwise(pl.col("hardware_quantity") * pl.col("training_time_hours") * 3600)
    )
    peak_from_table, format_label, fell_back = table_peak(pl.col("precision"))
    paper_peak = pl.col("peak_flop_per_second")
    reported_utilization = pl.col("utilization").is_not_null()
    frame = frame.with_columns(
        chip_seconds.alias("chip_seconds"),
        pl.coalesce(paper_peak, peak_from_table).alias("peak_flop_per_second_used"),
        pl.when(paper_peak.is_not_null())
        .then(pl.lit("stated by the paper"))
        .otherwise(format_label)
        .alias("precision_used"),
        fell_back.alias("_precision_fell_back"),
        pl.coalesce(pl.col("utilization"), pl.col("_prior_utilization")).alias("utilization_used"),
        pl.when(reported_utilization)
        .then(pl.lit("reported"))
        .otherwise(pl.lit("prior"))
        .alias("utilization_source"),
    )
    # Chips and time without a chip name still bound the compute: no run did more than the
    # fastest chip of its year could (reconcile drops a count of operations beyond it).
    frame = _capacity(frame, hardware) if bound_unnamed else _no_capacity(frame)
    seconds, peak = pl.col("chip_seconds"), pl.col("peak_flop_per_second_used")
    hardware_flop = seconds * peak * pl.col("utilization_used")
    frame = frame.with_columns(hardware_flop.alias("_hardware_raw")).with_columns(
        plausible(pl.col("_hardware_raw")).alias("hardware_flop")
    )
    precision_assumed = paper_peak.is_null() & pl.col("precision").is_null()
    from_notes = pl.col("hardware_time_phrase").is_not_null()
    spread = quadrature([
        (pl.lit(True), factor_sigma(settings.spread_hardware_time)),
        (from_notes, factor_sigma(settings.spread_hardware_from_notes)),
        (~reported_utilization, pl.col("_prior_sigma")),
        (precision_assumed, factor_sigma(settings.spread_precision_assumed)),
    ])  # fmt: skip
    frame = frame.with_columns(
        pl.when(pl.col("hardware_flop").is_not_null()).then(spread).alias("_hardware_sigma")
    )

    applies = pl.col("hardware_flop").is_not_null()
    named = pl.col("hardware").is_not_null()
    table_peak_used = applies & paper_peak.is_null()
    chips_texts = {
        "chip_hours": pl.concat_str([sci(pl.col("chip_hours")), pl.lit(" chip-hours x 3600 s")]),
        "chips": pl.concat_str([
            short(pl.col("hardware_quantity").cast(pl.Float64)), pl.lit(" chips x "),
            short(pl.col("training_time_hours")), pl.lit(" h x 3600 s"),
        ]),
    }  # fmt: skip
    chip_name = pl.coalesce("hardware_matched", "hardware", pl.lit("chip"))
    # Written on the rows with a hardware estimate only, each in the form of its figures (see
    # `by_partition`).
    frame = by_partition(frame, pl.when(applies).then(figures_form()), "_hardware_note", {
        form_name: pl.concat_str([
            chips_text, pl.lit(" x "), sci(peak), pl.lit(" FLOP/s ("), chip_name, pl.lit(", "),
            pl.col("precision_used"), pl.lit(") x "), fixed(pl.col("utilization_used")),
            pl.lit(" utilization"),
            pl.when(pl.col("utilization_source") == "reported").then(pl.lit("")).otherwise(
                pl.concat_str([pl.lit(" ("), pl.col("_prior_label"), pl.lit(")")])),
            pl.lit(" = "), sci(pl.col("hardware_flop")), pl.lit(" FLOP"),
        ])
        for form_name, chips_text in chips_texts.items()
    })  # fmt: skip
    note = pl.col("_hardware_note")
    unresolved = named & pl.col("hardware_matched").is_null() & ~pl.col("_hardware_multiple")
    hardware_text = pl.col("hardware")
    return frame.with_columns(
        *annotate(
            {
                "multiple_hardware": (
                    pl.col("_hardware_multiple"),
                    pl.concat_str(
                        [
                            pl.lit("several chip types ("),
                            hardware_text,
                            pl.lit("): no hardware estimate"),
                        ]
                    ),
                ),
                "unknown_hardware": (
                    unresolved,
                    pl.concat_str(
                        [pl.lit("hardware '"), hardware_text, pl.lit("' not in the hardware table")]
                    ),
                ),
                **form_assumed_flag(),
                "precision_assumed": (
                    table_peak_used & pl.col("precision").is_null(),
                    pl.concat_str(
                        [
                            pl.lit("precision not reported: "),
                            pl.col("precision_used"),
                            pl.lit(" peak assumed"),
                        ]
                    ),
                ),
                "precision_not_supported": (
                    table_peak_used & pl.col("_precision_fell_back"),
                    pl.concat_str(
                        [
                            pl.col("precision"),
                            pl.lit(" has no peak on this chip: "),
                            pl.col("precision_used"),
                            pl.lit(" used"),
                        ]
                    ),
                ),
                "utilization_assumed": (applies & pl.col("utilization").is_null(), None),
                "hardware_time_from_notes": (
                    applies & from_notes,
                    pl.concat_str(
                        [
                            pl.lit('chip time read from the training time notes: "'),
                            pl.col("hardware_time_phrase"),
                            pl.lit('"'),
                        ]
                    ),
                ),
                "notes_derived_from_compute": (
                    pl.col("hardware_time_skipped_phrase").is_not_null(),
                    pl.concat_str(
                        [
                            pl.lit(
                                'training time notes work from a compute figure, so not read: "'
                            ),
                            pl.col("hardware_time_skipped_phrase"),
                            pl.lit('"'),
                        ]
                    ),
                ),  # fmt: skip
                "hardware_time_without_chip": (chips_without_name(), None),
                "no_peak_for_precision": (
                    pl.col("hardware_matched").is_not_null()
                    & pl.col("chip_seconds").is_not_null()
                    & pl.col("peak_flop_per_second_used").is_null(),
                    pl.concat_str(
                        [
                            pl.col("hardware_matched"),
                            pl.lit(" has no "),
                            pl.coalesce(pl.col("precision"), pl.lit("floating-point")),
                            pl.lit(NO_PEAK_NOTE + PEAK_HINT),
                        ]
                    ),  # fmt: skip
                ),
                "hardware_out_of_range": out_of_range("_hardware_raw", "the hardware estimate"),
            },
            note,
        )
    ).with_columns(
        # A utilization is part of a hardware estimate: a row without one used none.
        pl.when(applies).then(pl.col(c)).alias(c)
        for c in ("utilization_used", "utilization_source")
    )


def chips_without_name() -> pl.Expr:
    """Chips and time (or chip-hours) given without a chip name or a stated peak."""
    time = pl.col("chip_hours").is_not_null() | (
        pl.col("hardware_quantity").is_not_null() & pl.col("training_time_hours").is_not_null()
    )
    return pl.col("hardware").is_null() & pl.col("peak_flop_per_second").is_null() & time


def _no_capacity(frame: pl.LazyFrame) -> pl.LazyFrame:
    return frame.with_columns(
        pl.lit(None, pl.Float64).alias("_capacity_flop"),
        pl.lit(None, pl.Float64).alias("_fastest_peak"),
    )


def _capacity(frame: pl.LazyFrame, hardware: pl.DataFrame) -> pl.LazyFrame:
    """`_capacity_flop`: for chips and time without a chip name, chip seconds x the fastest
    peak of any chip released by the publication year (`_fastest_peak`)."""
    fastest = fastest_peak_by_year(hardware)
    if fastest.height == 0:
        return _no_capacity(frame)
    first, last = fastest["year"].min(), fastest["year"].max()
    year = pl.col("publication_date").dt.year().cast(pl.Int32)
    frame = frame.with_columns(year.clip(first, last).fill_null(last).alias("_capacity_year")).join(
        fastest.lazy().rename({"year": "_capacity_year", "fastest_peak": "_fastest_peak"}),
        on="_capacity_year", how="left", maintain_order="left",
    )  # fmt: skip
    capacity = pl.when(chips_without_name()).then(pl.col("chip_seconds") * pl.col("_fastest_peak"))
    return frame.with_columns(capacity.alias("_capacity_flop")).drop("_capacity_year")

"""The two methods of Epoch (2022), as polars stages over whole columns.

Method 1, counting operations: training FLOP = (1 + backward/forward) x forward FLOP per
example x examples x epochs, the forward pass being 2 x connections, or 2 x parameters per
token for language models (so 6ND).
Method 2, hardware time: training FLOP = seconds x chips x peak FLOP/s x utilization.
"""

from __future__ import annotations

import math

import polars as pl

from pipeline.architecture.transformer import Transformer
from pipeline.estimate.annotate import annotate, by_partition
from pipeline.estimate.formatting import fixed, sci, short
from pipeline.estimate.hardware import fastest_peak_by_year, resolve_hardware, table_peak
from pipeline.estimate.priors import generation, seed_priors, with_prior
from pipeline.estimate.uncertainty import factor_sigma, quadrature
from pipeline.settings import Settings
from schemas.systems import ARCHITECTURE_COLUMNS, PLAUSIBLE_FLOP, PLAUSIBLE_FLOP_TEXT

# Domains whose models read audio, pixels or states: a dataset counted in words is not their input.
DOMAINS_NOT_READING_WORDS = ("speech", "vision", "games", "robotics")


def _plausible(flop: pl.Expr) -> pl.Expr:
    """`flop` where it lies in PLAUSIBLE_FLOP, else null (NaN and infinity included): a figure
    outside comes from a cell off by orders of magnitude, or past the float range."""
    return pl.when(flop.is_between(*PLAUSIBLE_FLOP)).then(flop)


# The endings of two notes; the calculators find them in a row's notes to say why it failed.
OUT_OF_RANGE_NOTE = (
    f", outside {PLAUSIBLE_FLOP_TEXT}: an input is off by orders of magnitude, so it was not used"
)
NO_PEAK_NOTE = " peak in the hardware table, nor one to fall back on: no hardware estimate"


def _out_of_range(raw: str, method: str) -> tuple[pl.Expr, pl.Expr]:
    """The out-of-range flag and note of one method whose unchecked figure is `raw`."""
    figure = pl.col(raw)
    size = (
        pl.when(figure.is_finite() & (figure > 0))
        .then(pl.concat_str([sci(figure), pl.lit(" FLOP")]))
        .when(figure.is_finite())
        .then(pl.lit("less than the smallest float"))
        .otherwise(pl.lit("more than a float holds"))
    )
    return (
        figure.is_not_null() & _plausible(figure).is_null(),
        pl.concat_str([
            pl.lit(f"{method} comes to "), size, pl.lit(OUT_OF_RANGE_NOTE),
        ]),
    )  # fmt: skip


def _number(value: float) -> str:
    return f"{value:g}"


def ops_method(frame: pl.LazyFrame, settings: Settings, transformers: bool = True) -> pl.LazyFrame:
    """Adds `ops_rule`, `ops_flop`, `epochs_used`, `training_tokens` and their flags and notes.
    `transformers=False` says no row describes a transformer, which spares the large
    expressions of its count."""
    training_factor = 1 + settings.backward_forward_ratio
    dataset, epochs, unit = pl.col("dataset_size"), pl.col("epochs"), pl.col("dataset_unit")
    language = pl.col("domain") == "language"
    # Words are what a language model reads; a speech or vision dataset measured in words (a
    # transcript's length, a caption corpus) says nothing of what passes through the model.
    words_read = ~pl.col("domain").is_in(DOMAINS_NOT_READING_WORDS).fill_null(False)
    unit_is_tokens = ((unit == "tokens") | ((unit == "words") & words_read)).fill_null(False)
    tokens_assumed = unit.is_null() & language.fill_null(False)
    token_data = unit_is_tokens | tokens_assumed
    # The transformer's counts are large expressions: each is computed once, into a column.
    transformer = Transformer()
    shape_columns = [c for c, kind in ARCHITECTURE_COLUMNS.items() if kind == "count"]
    # A row that gives some of a transformer's shape but not enough to count it says so.
    incomplete = (
        pl.any_horizontal(pl.col(c).is_not_null() for c in shape_columns) & ~transformer.described()
    )
    frame = frame.with_columns(
        (transformer.described() if transformers else pl.lit(False)).alias("_tf_described"),
        (incomplete if transformers else pl.lit(False)).alias("_tf_incomplete"),
    )
    described = pl.col("_tf_described")
    if transformers:
        parameters = transformer.parameters()
        counts = {"_tf_active": parameters["active"], "_tf_total": parameters["total"],
                  "_tf_forward": transformer.forward_flop_per_token()}  # fmt: skip
        frame = frame.with_columns(
            pl.when(described).then(count).alias(name) for name, count in counts.items()
        )
    else:
        frame = frame.with_columns(
            pl.lit(None, pl.Float64).alias(name)
            for name in ("_tf_active", "_tf_total", "_tf_forward")
        )
    # A mixture of experts reads only its active parameters per token; without their count,
    # a typical share of the total is assumed (and widens the interval).
    share_assumed = (
        pl.col("active_parameters").is_null()
        & pl.col("parameters").is_not_null()
        & pl.col("mixture_of_experts").fill_null(False)
    )
    per_token_params = pl.coalesce(
        "active_parameters",
        pl.when(share_assumed).then(pl.col("parameters") * settings.moe_active_share),
        "parameters",
        "_tf_active",
    )
    tokens_per_epoch = (
        pl.when(unit == "words").then(dataset * settings.tokens_per_word).otherwise(dataset)
    )

    has_forward = pl.col("forward_flop_per_example").is_not_null() & dataset.is_not_null()
    has_connections = pl.col("connections").is_not_null() & dataset.is_not_null()
    # One pass over far fewer tokens than the model has parameters trains no language model
    # (even the large 2020-22 models saw 0.5-2 tokens per parameter): such a row is a fine-tune
    # whose base is not named, or a small corpus seen for many unreported epochs. Either way
    # 6ND with 1 epoch assumed would be far too low, so it is not used.
    frame = frame.with_columns(
        (
            token_data
            & epochs.is_null()
            & (tokens_per_epoch < settings.min_tokens_per_parameter * per_token_params)
        )
        .fill_null(False)
        .alias("_too_few_tokens")
    )
    too_few_tokens = pl.col("_too_few_tokens")
    has_tokens = (
        per_token_params.is_not_null() & dataset.is_not_null() & token_data & ~too_few_tokens
    )
    # A counted architecture: a transformer's shape over tokens, or a layer list's forward
    # pass over examples (a token dataset is cut into sequences of the list's input length).
    layers_forward = pl.col("_layers_forward_flop")
    sequence = pl.col("_layers_sequence_length")
    layer_examples = (
        pl.when(token_data & sequence.is_not_null())
        .then(tokens_per_epoch / sequence)
        .otherwise(dataset)
    )
    frame = frame.with_columns(
        (layers_forward.is_not_null() & dataset.is_not_null() & ~too_few_tokens).alias(
            "_has_layers"
        )
    )
    has_layers = pl.col("_has_layers")
    has_transformer = described & dataset.is_not_null() & token_data & ~too_few_tokens
    rule = (
        pl.when(has_forward)
        .then(pl.lit("forward_flop"))
        .when(has_layers | has_transformer)
        .then(pl.lit("architecture"))
        .when(has_connections)
        .then(pl.lit("connections"))
        .when(has_tokens)
        .then(pl.lit("6ND"))
    )
    frame = frame.with_columns(
        rule.alias("ops_rule"),
        epochs.fill_null(1.0).alias("epochs_used"),
        # The parameters each token passed through, for the calculator sentence (reconcile).
        per_token_params.alias("_ops_parameters"),
    )
    rule, epochs_used = pl.col("ops_rule"), pl.col("epochs_used")
    by_layers = (rule == "architecture") & has_layers
    by_transformer = (rule == "architecture") & ~has_layers
    frame = frame.with_columns(
        pl.when((rule == "6ND") | by_transformer)
        .then(tokens_per_epoch * epochs_used)
        .alias("training_tokens")
    )
    forward_per_example = (
        pl.when(rule == "forward_flop")
        .then(pl.col("forward_flop_per_example"))
        .when(rule == "connections")
        .then(2 * pl.col("connections"))
    )
    forward_per_token = pl.col("_tf_forward")
    ops_flop = (
        pl.when(by_layers)
        .then(training_factor * layers_forward * layer_examples * epochs_used)
        .when(by_transformer)
        .then(training_factor * forward_per_token * pl.col("training_tokens"))
        .when(rule == "6ND")
        .then(2 * per_token_params * training_factor * pl.col("training_tokens"))
        .otherwise(forward_per_example * training_factor * dataset * epochs_used)
    )
    frame = frame.with_columns(ops_flop.alias("_ops_raw")).with_columns(
        _plausible(pl.col("_ops_raw")).alias("ops_flop")
    )
    is_6nd = rule == "6ND"
    # Dataset sizes read as tokens (6ND, a transformer, a layer list over token sequences).
    reads_tokens = (is_6nd | by_transformer | (by_layers & sequence.is_not_null())) & token_data
    spread = quadrature([
        (is_6nd, factor_sigma(settings.spread_6nd)),
        (rule.is_in(["forward_flop", "connections"]), factor_sigma(settings.spread_backward_ratio)),
        (rule == "architecture", factor_sigma(settings.spread_architecture)),
        (epochs.is_null(), factor_sigma(settings.spread_epochs_assumed)),
        (reads_tokens & tokens_assumed, factor_sigma(settings.spread_tokens_assumed)),
        (reads_tokens & (unit == "words"), factor_sigma(settings.spread_words_to_tokens)),
        (pl.col("dataset_unit_phrase").is_not_null(), factor_sigma(settings.spread_unit_from_notes)),
        (is_6nd & pl.col("active_parameters_phrase").is_not_null(),
         factor_sigma(settings.spread_active_from_notes)),
        (is_6nd & share_assumed, factor_sigma(settings.spread_active_share_assumed)),
    ])  # fmt: skip
    frame = frame.with_columns(
        pl.when(pl.col("ops_flop").is_not_null()).then(spread).alias("_ops_sigma")
    )

    factor = _number(training_factor)
    epochs_text = pl.concat_str(
        [
            short(epochs_used),
            pl.lit(" epoch"),
            pl.when(epochs_used != 1).then(pl.lit("s")).otherwise(pl.lit("")),
        ]
    )
    params_word = (
        pl.when(pl.col("active_parameters").is_not_null() | share_assumed)
        .then(pl.lit(" active params"))
        .otherwise(pl.lit(" params"))
    )
    unit_word = pl.coalesce(unit, pl.lit("examples"))
    if transformers:
        assumed = transformer.assumptions()
        transformer_note = pl.when(by_transformer).then(
            pl.concat_str(
                [transformer.note(),
                 pl.when(assumed.is_not_null()).then(pl.concat_str([pl.lit("; "), assumed]))
                 .otherwise(pl.lit(""))]
            )
        )  # fmt: skip
    else:
        transformer_note = pl.lit(None, pl.String)
    frame = frame.with_columns(transformer_note.alias("_tf_note"))
    result = pl.concat_str([pl.lit(" = "), sci(pl.col("ops_flop")), pl.lit(" FLOP")])
    # Each rule's derivation is written on that rule's rows only (see `by_partition`).
    rule_kind = (
        pl.when(by_layers).then(pl.lit("layers"))
        .when(by_transformer).then(pl.lit("transformer"))
        .otherwise(rule)
    )  # fmt: skip
    frame = by_partition(frame, rule_kind, "_ops_note", {
        "forward_flop": pl.concat_str([
            pl.lit(f"{factor} x "), sci(pl.col("forward_flop_per_example")), pl.lit(" FLOP per forward pass x "),
            sci(dataset), pl.lit(" "), unit_word, pl.lit(" x "), epochs_text, result,
        ]),
        "connections": pl.concat_str([
            pl.lit("2 x "), sci(pl.col("connections")), pl.lit(f" connections x {factor} x "),
            sci(dataset), pl.lit(" "), unit_word, pl.lit(" x "), epochs_text, result,
        ]),
        "layers": pl.concat_str([
            pl.lit(f"{factor} x "), sci(layers_forward), pl.lit(" FLOP per forward pass (layer list '"),
            pl.col("architecture_file").str.slice(0, 60), pl.lit("') x "), sci(layer_examples),
            pl.lit(" examples x "), epochs_text, result, pl.lit("; layers: "), pl.col("_layers_breakdown"),
        ]),
        "transformer": pl.concat_str([
            pl.lit(f"{factor} x "), sci(forward_per_token), pl.lit(" FLOP per token x "),
            sci(tokens_per_epoch), pl.lit(" tokens x "), epochs_text, result, pl.lit("; "),
            pl.col("_tf_note"),
        ]),
        "6ND": pl.concat_str([
            pl.lit(_number(2 * training_factor) + " x "), sci(per_token_params), params_word, pl.lit(" x "),
            sci(tokens_per_epoch), pl.lit(" tokens x "), epochs_text, result,
        ]),
    })  # fmt: skip
    note = pl.col("_ops_note")
    ops_applies = rule.is_not_null()
    parameters_unused = (
        ~ops_applies & per_token_params.is_not_null() & dataset.is_not_null() & ~token_data
    )
    words_per_token = f"{settings.tokens_per_word:.3g}"
    frame = frame.with_columns(
        *annotate(
            {
                "epochs_assumed": (
                    ops_applies & epochs.is_null(),
                    pl.lit("epochs not reported: 1 assumed"),
                ),
                "tokens_assumed": (
                    reads_tokens & tokens_assumed,
                    pl.lit("dataset unit blank: tokens assumed for a language model"),
                ),
                "words_converted_to_tokens": (
                    reads_tokens & (unit == "words"),
                    pl.lit(f"words converted at {words_per_token} tokens per word"),
                ),
                "dataset_unit_from_notes": (
                    ops_applies & pl.col("dataset_unit_phrase").is_not_null(),
                    pl.concat_str(
                        [
                            pl.lit("dataset unit '"),
                            unit,
                            pl.lit("' read from the notes: \""),
                            pl.col("dataset_unit_phrase"),
                            pl.lit('"'),
                        ]
                    ),
                ),
                "active_parameters_from_notes": (
                    is_6nd & pl.col("active_parameters_phrase").is_not_null(),
                    pl.concat_str(
                        [
                            pl.lit('active parameters read from the name or notes: "'),
                            pl.col("active_parameters_phrase"),
                            pl.lit('"'),
                        ]
                    ),
                ),
                "active_parameters_assumed": (
                    is_6nd & share_assumed,
                    pl.concat_str(
                        [
                            pl.lit(
                                f"mixture of experts without its active count: "
                                f"{settings.moe_active_share:g} of the parameters assumed active"
                            ),
                            pl.when(pl.col("mixture_of_experts_phrase").is_not_null())
                            .then(
                                pl.concat_str(
                                    [
                                        pl.lit(' (notes: "'),
                                        pl.col("mixture_of_experts_phrase"),
                                        pl.lit('")'),
                                    ]
                                )
                            )
                            .otherwise(pl.lit("")),
                        ]
                    ),
                ),
                "epochs_needed": (
                    too_few_tokens & ~ops_applies,
                    pl.concat_str(
                        [
                            pl.lit("1 epoch of "),
                            sci(tokens_per_epoch),
                            pl.lit(" tokens is too few to train "),
                            sci(per_token_params),
                            pl.lit(" parameters: epochs (or the base model) needed for 6ND"),
                        ]
                    ),
                ),
                **(
                    {}
                    if not transformers
                    else {
                        "parameters_disagree_with_shape": (
                            (
                                by_transformer
                                & (
                                    (pl.col("parameters") / pl.col("_tf_total")).log().abs()
                                    > math.log(settings.shape_parameters_factor)
                                )
                            ).fill_null(False),
                            pl.concat_str(
                                [
                                    pl.lit("parameters "),
                                    sci(pl.col("parameters")),
                                    pl.lit(" against the shape's count of "),
                                    sci(pl.col("_tf_total")),
                                    pl.lit(": the shape was counted; check one or the other"),
                                ]
                            ),
                        )
                    }
                ),
                "architecture_incomplete": (
                    pl.col("_tf_incomplete"),
                    pl.lit(
                        "transformer shape given in part: n_layers, d_model, seq_len and "
                        "vocab_size are all needed to count it, so it was not counted"
                    ),
                ),
                "parameters_not_connections": (
                    parameters_unused,
                    pl.lit("parameters are not connections for non-token data: no 6ND estimate"),
                ),
                "ops_out_of_range": _out_of_range("_ops_raw", "the count of operations"),
            },
            note,
        )
    )
    # A figure dropped as out of range leaves no rule behind.
    return frame.with_columns(
        pl.when(pl.col("ops_flop").is_not_null()).then(pl.col("ops_rule")).alias("ops_rule")
    ).drop(
        "_ops_raw",
        "_ops_note",
        "_tf_described",
        "_tf_incomplete",
        "_tf_active",
        "_tf_total",
        "_tf_forward",
        "_tf_note",
        "_too_few_tokens",
        "_has_layers",
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
        _plausible(pl.col("_hardware_raw")).alias("hardware_flop")
    )
    precision_assumed = paper_peak.is_null() & pl.col("precision").is_null()
    spread = quadrature([
        (pl.lit(True), factor_sigma(settings.spread_hardware_time)),
        (~reported_utilization, pl.col("_prior_sigma")),
        (precision_assumed, factor_sigma(settings.spread_precision_assumed)),
    ])  # fmt: skip
    frame = frame.with_columns(
        pl.when(pl.col("hardware_flop").is_not_null()).then(spread).alias("_hardware_sigma")
    )

    applies = pl.col("hardware_flop").is_not_null()
    named = pl.col("hardware").is_not_null()
    table_peak_used = applies & paper_peak.is_null()
    chips_text = pl.when(pl.col("chip_hours").is_not_null()).then(
        pl.concat_str([sci(pl.col("chip_hours")), pl.lit(" chip-hours x 3600 s")])
    ).otherwise(
        pl.concat_str([
            short(pl.col("hardware_quantity").cast(pl.Float64)), pl.lit(" chips x "),
            short(pl.col("training_time_hours")), pl.lit(" h x 3600 s"),
        ])
    )  # fmt: skip
    chip_name = pl.coalesce("hardware_matched", "hardware", pl.lit("chip"))
    # Written on the rows with a hardware estimate only (see `by_partition`).
    frame = by_partition(frame, applies, "_hardware_note", {
        True: pl.concat_str([
            chips_text, pl.lit(" x "), sci(peak), pl.lit(" FLOP/s ("), chip_name, pl.lit(", "),
            pl.col("precision_used"), pl.lit(") x "), fixed(pl.col("utilization_used")),
            pl.lit(" utilization"),
            pl.when(pl.col("utilization_source") == "reported").then(pl.lit("")).otherwise(
                pl.concat_str([pl.lit(" ("), pl.col("_prior_label"), pl.lit(")")])),
            pl.lit(" = "), sci(pl.col("hardware_flop")), pl.lit(" FLOP"),
        ]),
    })  # fmt: skip
    note = pl.col("_hardware_note")
    unresolved = named & pl.col("hardware_matched").is_null() & ~pl.col("_hardware_multiple")
    hardware_text = pl.col("hardware")
    return frame.with_columns(
        *annotate(
            {
                "multiple_hardware": (
                    pl.col("_hardware_multiple"),
                    pl.concat_str([pl.lit("several chip types ("), hardware_text, pl.lit("): no hardware estimate")]),
                ),
                "unknown_hardware": (
                    unresolved,
                    pl.concat_str([pl.lit("hardware '"), hardware_text, pl.lit("' not in the hardware table")]),
                ),
                "precision_assumed": (
                    table_peak_used & pl.col("precision").is_null(),
                    pl.concat_str([pl.lit("precision not reported: "), pl.col("precision_used"), pl.lit(" peak assumed")]),
                ),
                "precision_not_supported": (
                    table_peak_used & pl.col("_precision_fell_back"),
                    pl.concat_str([pl.col("precision"), pl.lit(" has no peak on this chip: "), pl.col("precision_used"), pl.lit(" used")]),
                ),
                "utilization_assumed": (applies & pl.col("utilization").is_null(), None),
                "hardware_time_without_chip": (chips_without_name(), None),
                "no_peak_for_precision": (
                    pl.col("hardware_matched").is_not_null()
                    & pl.col("chip_seconds").is_not_null()
                    & pl.col("peak_flop_per_second_used").is_null(),
                    pl.concat_str([
                        pl.col("hardware_matched"), pl.lit(" has no "),
                        pl.coalesce(pl.col("precision"), pl.lit("floating-point")),
                        pl.lit(NO_PEAK_NOTE + " (give peak_flop_per_second)"),
                    ]),  # fmt: skip
                ),
                "hardware_out_of_range": _out_of_range("_hardware_raw", "the hardware estimate"),
            },
            note,
        )
    ).with_columns(
        # A utilization is part of a hardware estimate: a row without one used none.
        pl.when(applies).then(pl.col(c)).alias(c) for c in ("utilization_used", "utilization_source")
    ).drop(
        "_hardware_raw",
        "_hardware_note",
        "_precision_fell_back", "_hardware_multiple", "_hardware_year", "_hardware_type", "_hardware_maker",
        "_hardware_generation",
        "_prior_utilization", "_prior_sigma", "_prior_label", pl.selectors.starts_with("_peak_"),
    )  # fmt: skip


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

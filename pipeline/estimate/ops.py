"""Method 1 of Epoch (2022), counting operations, as polars stages over whole columns:
training FLOP = (1 + backward/forward) x forward FLOP per example x examples x epochs, the
forward pass being 2 x connections, or 2 x parameters per token for language models (so 6ND).

`ops_method` chains steps that each add columns for the later ones to read. Their working
columns are named with a leading underscore, and `estimate` drops them all at its end.
"""

from __future__ import annotations

import math

import polars as pl
import polars.selectors as cs

from pipeline.architecture.staged import staged_sizes, staged_transformer
from pipeline.estimate.annotate import annotate, by_partition
from pipeline.estimate.formatting import sci, short
from pipeline.estimate.plausibility import out_of_range, plausible
from pipeline.estimate.uncertainty import factor_sigma, quadrature
from pipeline.settings import Settings
from schemas.systems import ARCHITECTURE_COLUMNS

# Domains whose models read audio, pixels or states: a dataset counted in words is not their input.
DOMAINS_NOT_READING_WORDS = ("speech", "vision", "games", "robotics")

TRANSFORMER_COUNTS = ("_tf_active", "_tf_total", "_tf_forward")


def ops_method(frame: pl.LazyFrame, settings: Settings, transformers: bool = True) -> pl.LazyFrame:
    """Adds `ops_rule`, `ops_flop`, `epochs_used`, `training_tokens` and their flags and notes.
    `transformers=False` says no row describes a transformer, which spares the large
    expressions of its count."""
    return (
        frame.pipe(_transformer_counts, transformers)
        .pipe(_token_basis, settings)
        .pipe(_rule)
        .pipe(_flop, settings)
        .pipe(_spread, settings)
        .pipe(_derivation, settings, transformers)
        .pipe(_flags_and_notes, settings, transformers)
        .pipe(_drop_out_of_range_rule)
    )


def _transformer_counts(frame: pl.LazyFrame, transformers: bool) -> pl.LazyFrame:
    """`_tf_described` where the row gives a transformer's whole shape, `_tf_incomplete` where
    it gives part of it, and on the described rows the shape's active and total parameters
    and forward FLOP per token."""
    if not transformers:
        return frame.with_columns(
            pl.lit(False).alias("_tf_described"),
            pl.lit(False).alias("_tf_incomplete"),
            *(pl.lit(None, pl.Float64).alias(name) for name in TRANSFORMER_COUNTS),
        )
    frame = frame.with_columns(staged_sizes())
    transformer = staged_transformer()
    shape_columns = [c for c, kind in ARCHITECTURE_COLUMNS.items() if kind == "count"]
    incomplete = (
        pl.any_horizontal(pl.col(c).is_not_null() for c in shape_columns) & ~transformer.described()
    )
    parameters = transformer.parameters()
    counts = (parameters["active"], parameters["total"], transformer.forward_flop_per_token())
    # The counts are large expressions: each is computed once, into a column.
    return frame.with_columns(
        transformer.described().alias("_tf_described"), incomplete.alias("_tf_incomplete")
    ).with_columns(
        pl.when(pl.col("_tf_described")).then(count).alias(name)
        for name, count in zip(TRANSFORMER_COUNTS, counts, strict=True)
    )


def _token_basis(frame: pl.LazyFrame, settings: Settings) -> pl.LazyFrame:
    """What passes through the model: `_token_data` where the dataset is counted in tokens
    (`_tokens_assumed` where a blank unit is taken for tokens), `_tokens_per_epoch` with words
    converted, `epochs_used` (1 where not reported), `_ops_parameters` the parameters each
    token passes through (`_share_assumed` where a share of a mixture of experts' total was
    assumed active) and `_too_few_tokens` where 6ND over one epoch would be far too low."""
    dataset, unit = pl.col("dataset_size"), pl.col("dataset_unit")
    language = pl.col("domain") == "language"
    # Words are what a language model reads; a speech or vision dataset measured in words (a
    # transcript's length, a caption corpus) says nothing of what passes through the model.
    words_read = ~pl.col("domain").is_in(DOMAINS_NOT_READING_WORDS).fill_null(False)
    unit_is_tokens = ((unit == "tokens") | ((unit == "words") & words_read)).fill_null(False)
    tokens_assumed = unit.is_null() & language.fill_null(False)
    # A mixture of experts reads only its active parameters per token; without their count,
    # a typical share of the total is assumed (and widens the interval).
    share_assumed = (
        pl.col("active_parameters").is_null()
        & pl.col("parameters").is_not_null()
        & pl.col("mixture_of_experts").fill_null(False)
    )
    frame = frame.with_columns(
        (unit_is_tokens | tokens_assumed).alias("_token_data"),
        tokens_assumed.alias("_tokens_assumed"),
        share_assumed.alias("_share_assumed"),
        pl.when(unit == "words")
        .then(dataset * settings.tokens_per_word)
        .otherwise(dataset)
        .alias("_tokens_per_epoch"),
        pl.col("epochs").fill_null(1.0).alias("epochs_used"),
        pl.coalesce(
            "active_parameters",
            pl.when(share_assumed).then(pl.col("parameters") * settings.moe_active_share),
            "parameters",
            "_tf_active",
        ).alias("_ops_parameters"),
    )
    # One pass over far fewer tokens than the model has parameters trains no language model
    # (even the large 2020-22 models saw 0.5-2 tokens per parameter): such a row is a fine-tune
    # whose base is not named, or a small corpus seen for many unreported epochs. Either way
    # 6ND with 1 epoch assumed would be far too low, so it is not used.
    least_tokens = settings.min_tokens_per_parameter * pl.col("_ops_parameters")
    too_few = pl.col("_tokens_per_epoch") < least_tokens
    return frame.with_columns(
        (pl.col("_token_data") & pl.col("epochs").is_null() & too_few)
        .fill_null(False)
        .alias("_too_few_tokens")
    )


def _rule(frame: pl.LazyFrame) -> pl.LazyFrame:
    """`ops_rule`, the first rule the row's inputs allow: a forward pass per example, an
    architecture counted, connections, 6ND. `_rule_kind` tells an architecture's layer list
    ("layers") from its transformer shape ("transformer"); `_reads_tokens` where the rule read
    the dataset size as tokens."""
    dataset, token_data = pl.col("dataset_size"), pl.col("_token_data")
    enough_tokens = ~pl.col("_too_few_tokens")
    # A counted architecture: a transformer's shape over tokens, or a layer list's forward
    # pass over examples (a token dataset is cut into sequences of the list's input length).
    kind = (
        pl.when(pl.col("forward_flop_per_example").is_not_null() & dataset.is_not_null())
        .then(pl.lit("forward_flop"))
        .when(pl.col("_layers_forward_flop").is_not_null() & dataset.is_not_null() & enough_tokens)
        .then(pl.lit("layers"))
        .when(pl.col("_tf_described") & dataset.is_not_null() & token_data & enough_tokens)
        .then(pl.lit("transformer"))
        .when(pl.col("connections").is_not_null() & dataset.is_not_null())
        .then(pl.lit("connections"))
        .when(
            pl.col("_ops_parameters").is_not_null()
            & dataset.is_not_null()
            & token_data
            & enough_tokens
        )
        .then(pl.lit("6ND"))
    )
    frame = frame.with_columns(kind.alias("_rule_kind"))
    kind = pl.col("_rule_kind")
    over_sequences = (kind == "layers") & pl.col("_layers_sequence_length").is_not_null()
    return frame.with_columns(
        kind.replace({"layers": "architecture", "transformer": "architecture"}).alias("ops_rule"),
        ((kind.is_in(["6ND", "transformer"]) | over_sequences) & token_data).alias("_reads_tokens"),
    )


def _flop(frame: pl.LazyFrame, settings: Settings) -> pl.LazyFrame:
    """`training_tokens` where the rule counts tokens, and `ops_flop`: the forward pass x
    (1 + backward/forward) x what passed through it, null outside the plausible range (the
    unchecked figure is `_ops_raw`)."""
    training_factor = 1 + settings.backward_forward_ratio
    kind, dataset, epochs_used = pl.col("_rule_kind"), pl.col("dataset_size"), pl.col("epochs_used")
    tokens_per_epoch, sequence = pl.col("_tokens_per_epoch"), pl.col("_layers_sequence_length")
    frame = frame.with_columns(
        pl.when(kind.is_in(["6ND", "transformer"]))
        .then(tokens_per_epoch * epochs_used)
        .alias("training_tokens"),
        pl.when(pl.col("_token_data") & sequence.is_not_null())
        .then(tokens_per_epoch / sequence)
        .otherwise(dataset)
        .alias("_layer_examples"),
    )
    forward_per_example = (
        pl.when(kind == "forward_flop")
        .then(pl.col("forward_flop_per_example"))
        .when(kind == "connections")
        .then(2 * pl.col("connections"))
    )
    training_tokens = pl.col("training_tokens")
    ops_flop = (
        pl.when(kind == "layers")
        .then(
            training_factor
            * pl.col("_layers_forward_flop")
            * pl.col("_layer_examples")
            * epochs_used
        )
        .when(kind == "transformer")
        .then(training_factor * pl.col("_tf_forward") * training_tokens)
        .when(kind == "6ND")
        .then(2 * pl.col("_ops_parameters") * training_factor * training_tokens)
        .otherwise(forward_per_example * training_factor * dataset * epochs_used)
    )
    return frame.with_columns(ops_flop.alias("_ops_raw")).with_columns(
        plausible(pl.col("_ops_raw")).alias("ops_flop")
    )


def _spread(frame: pl.LazyFrame, settings: Settings) -> pl.LazyFrame:
    """`_ops_sigma`: the spread of `ops_flop` from the rule and the assumptions it rests on."""
    rule, reads_tokens = pl.col("ops_rule"), pl.col("_reads_tokens")
    is_6nd = rule == "6ND"
    spread = quadrature([
        (is_6nd, factor_sigma(settings.spread_6nd)),
        (rule.is_in(["forward_flop", "connections"]), factor_sigma(settings.spread_backward_ratio)),
        (rule == "architecture", factor_sigma(settings.spread_architecture)),
        (pl.col("epochs").is_null(), factor_sigma(settings.spread_epochs_assumed)),
        (reads_tokens & pl.col("_tokens_assumed"), factor_sigma(settings.spread_tokens_assumed)),
        (reads_tokens & (pl.col("dataset_unit") == "words"),
         factor_sigma(settings.spread_words_to_tokens)),
        (pl.col("dataset_unit_phrase").is_not_null(), factor_sigma(settings.spread_unit_from_notes)),
        (is_6nd & pl.col("active_parameters_phrase").is_not_null(),
         factor_sigma(settings.spread_active_from_notes)),
        (is_6nd & pl.col("_share_assumed"), factor_sigma(settings.spread_active_share_assumed)),
    ])  # fmt: skip
    return frame.with_columns(
        pl.when(pl.col("ops_flop").is_not_null()).then(spread).alias("_ops_sigma")
    )


def _number(value: float) -> str:
    return f"{value:g}"


def _derivation(frame: pl.LazyFrame, settings: Settings, transformers: bool) -> pl.LazyFrame:
    """`_ops_note`: the rule's formula with the row's figures, e.g. '6 x 7.0e10 params x ...'."""
    training_factor = 1 + settings.backward_forward_ratio
    kind, dataset, epochs_used = pl.col("_rule_kind"), pl.col("dataset_size"), pl.col("epochs_used")
    tokens_per_epoch = pl.col("_tokens_per_epoch")
    if transformers:
        transformer = staged_transformer()
        assumed = transformer.assumptions()
        figures = transformer.note_figures()
        frame = frame.with_columns(
            value.alias(f"_tf_note_{name}") for name, value in figures.items()
        )
        staged_note = transformer.note_text({name: pl.col(f"_tf_note_{name}") for name in figures})
        transformer_note = pl.when(kind == "transformer").then(
            pl.concat_str(
                [staged_note,
                 pl.when(assumed.is_not_null()).then(pl.concat_str([pl.lit("; "), assumed]))
                 .otherwise(pl.lit(""))]
            )
        )  # fmt: skip
    else:
        transformer_note = pl.lit(None, pl.String)
    frame = frame.with_columns(transformer_note.alias("_tf_note"))
    if transformers:
        frame = frame.drop(cs.starts_with("_tf_note_"))
    factor = _number(training_factor)
    epochs_text = pl.concat_str(
        [
            short(epochs_used),
            pl.lit(" epoch"),
            pl.when(epochs_used != 1).then(pl.lit("s")).otherwise(pl.lit("")),
        ]
    )
    params_word = (
        pl.when(pl.col("active_parameters").is_not_null() | pl.col("_share_assumed"))
        .then(pl.lit(" active params"))
        .otherwise(pl.lit(" params"))
    )
    unit_word = pl.coalesce(pl.col("dataset_unit"), pl.lit("examples"))
    result = pl.concat_str([pl.lit(" = "), sci(pl.col("ops_flop")), pl.lit(" FLOP")])
    # Each rule's derivation is written on that rule's rows only (see `by_partition`).
    return by_partition(frame, kind, "_ops_note", {
        "forward_flop": pl.concat_str([
            pl.lit(f"{factor} x "), sci(pl.col("forward_flop_per_example")), pl.lit(" FLOP per forward pass x "),
            sci(dataset), pl.lit(" "), unit_word, pl.lit(" x "), epochs_text, result,
        ]),
        "connections": pl.concat_str([
            pl.lit("2 x "), sci(pl.col("connections")), pl.lit(f" connections x {factor} x "),
            sci(dataset), pl.lit(" "), unit_word, pl.lit(" x "), epochs_text, result,
        ]),
        "layers": pl.concat_str([
            pl.lit(f"{factor} x "), sci(pl.col("_layers_forward_flop")), pl.lit(" FLOP per forward pass (layer list '"),
            pl.col("architecture_file").str.slice(0, 60), pl.lit("') x "), sci(pl.col("_layer_examples")),
            pl.lit(" examples x "), epochs_text, result, pl.lit("; layers: "), pl.col("_layers_breakdown"),
        ]),
        "transformer": pl.concat_str([
            pl.lit(f"{factor} x "), sci(pl.col("_tf_forward")), pl.lit(" FLOP per token x "),
            sci(tokens_per_epoch), pl.lit(" tokens x "), epochs_text, result, pl.lit("; "),
            pl.col("_tf_note"),
        ]),
        "6ND": pl.concat_str([
            pl.lit(_number(2 * training_factor) + " x "), sci(pl.col("_ops_parameters")), params_word,
            pl.lit(" x "), sci(tokens_per_epoch), pl.lit(" tokens x "), epochs_text, result,
        ]),
    })  # fmt: skip


def _flags_and_notes(frame: pl.LazyFrame, settings: Settings, transformers: bool) -> pl.LazyFrame:
    """Appends the derivation and, for each assumption made or input left unused, its flag and
    note."""
    applies, is_6nd = pl.col("ops_rule").is_not_null(), pl.col("ops_rule") == "6ND"
    epochs_missing = pl.col("epochs").is_null()
    unit, reads_tokens = pl.col("dataset_unit"), pl.col("_reads_tokens")
    parameters = pl.col("_ops_parameters")
    parameters_unused = (
        ~applies & parameters.is_not_null() & pl.col("dataset_size").is_not_null()
        & ~pl.col("_token_data")
    )  # fmt: skip
    shape_disagrees = {
        "parameters_disagree_with_shape": (
            (
                (pl.col("_rule_kind") == "transformer")
                & (
                    (pl.col("parameters") / pl.col("_tf_total")).log().abs()
                    > math.log(settings.shape_parameters_factor)
                )
            ).fill_null(False),
            pl.concat_str([
                pl.lit("parameters "), sci(pl.col("parameters")), pl.lit(" against the shape's count of "),
                sci(pl.col("_tf_total")), pl.lit(": the shape was counted; check one or the other"),
            ]),
        )
    } if transformers else {}  # fmt: skip
    moe_phrase = pl.col("mixture_of_experts_phrase")
    flagged = {
        "epochs_assumed": (applies & epochs_missing, pl.lit("epochs not reported: 1 assumed")),
        "tokens_assumed": (
            reads_tokens & pl.col("_tokens_assumed"),
            pl.lit("dataset unit blank: tokens assumed for a language model"),
        ),
        "words_converted_to_tokens": (
            reads_tokens & (unit == "words"),
            pl.lit(f"words converted at {settings.tokens_per_word:.3g} tokens per word"),
        ),
        "dataset_unit_from_notes": (
            applies & pl.col("dataset_unit_phrase").is_not_null(),
            pl.concat_str([
                pl.lit("dataset unit '"), unit, pl.lit("' read from the notes: \""),
                pl.col("dataset_unit_phrase"), pl.lit('"'),
            ]),
        ),
        "active_parameters_from_notes": (
            is_6nd & pl.col("active_parameters_phrase").is_not_null(),
            pl.concat_str([
                pl.lit('active parameters read from the name or notes: "'),
                pl.col("active_parameters_phrase"), pl.lit('"'),
            ]),
        ),
        "active_parameters_assumed": (
            is_6nd & pl.col("_share_assumed"),
            pl.concat_str([
                pl.lit(f"mixture of experts without its active count: "
                       f"{settings.moe_active_share:g} of the parameters assumed active"),
                pl.when(moe_phrase.is_not_null())
                .then(pl.concat_str([pl.lit(' (notes: "'), moe_phrase, pl.lit('")')]))
                .otherwise(pl.lit("")),
            ]),
        ),
        "epochs_needed": (
            pl.col("_too_few_tokens") & ~applies,
            pl.concat_str([
                pl.lit("1 epoch of "), sci(pl.col("_tokens_per_epoch")), pl.lit(" tokens is too few to train "),
                sci(parameters), pl.lit(" parameters: epochs (or the base model) needed for 6ND"),
            ]),
        ),
        **shape_disagrees,
        "architecture_incomplete": (
            pl.col("_tf_incomplete"),
            pl.lit("transformer shape given in part: n_layers, d_model, seq_len and "
                   "vocab_size are all needed to count it, so it was not counted"),
        ),
        "parameters_not_connections": (
            parameters_unused,
            pl.lit("parameters are not connections for non-token data: no 6ND estimate"),
        ),
        "ops_out_of_range": out_of_range("_ops_raw", "the count of operations"),
    }  # fmt: skip
    return frame.with_columns(*annotate(flagged, pl.col("_ops_note")))


def _drop_out_of_range_rule(frame: pl.LazyFrame) -> pl.LazyFrame:
    # A figure dropped as out of range leaves no rule behind.
    return frame.with_columns(
        pl.when(pl.col("ops_flop").is_not_null()).then(pl.col("ops_rule")).alias("ops_rule")
    )

"""Method 1 of Epoch (2022), counting operations, as polars stages over whole columns:
training FLOP = (1 + backward/forward) x forward FLOP per example x examples x epochs, the
forward pass being 2 x connections, or 2 x parameters per token for language models (so 6ND).

`ops_method` chains steps that each add columns for the later ones to read. Their working
columns are named with a leading underscore, and `estimate` drops them all at its end.
"""

from __future__ import annotations

import polars as pl

from pipeline.architecture.staged import staged_sizes, staged_transformer
from pipeline.estimate.epoch_spreads import epoch_sigma, epochs_unit
from pipeline.estimate.forward_costs import forward_cost_columns
from pipeline.estimate.ops_notes import derivation, flags_and_notes
from pipeline.estimate.plausibility import plausible
from pipeline.estimate.priors import Learned
from pipeline.estimate.uncertainty import factor_sigma, quadrature
from pipeline.settings import Settings
from schemas.systems import ARCHITECTURE_COLUMNS

# Domains whose models read audio, pixels or states: a dataset counted in words is not their input.
DOMAINS_NOT_READING_WORDS = ("speech", "vision", "games", "robotics")

TRANSFORMER_COUNTS = ("_tf_active", "_tf_total", "_tf_forward")


def ops_method(
    frame: pl.LazyFrame,
    settings: Settings,
    learned: Learned = Learned(),
    transformers: bool = True,
) -> pl.LazyFrame:
    """Adds `ops_rule`, `ops_flop`, `epochs_used`, `training_tokens` and their flags and notes.
    Of `learned`, the forward FLOP per parameter of data not counted in tokens
    (forward_costs.py; None: that rule does not apply) and the spread of assumed epochs
    (epoch_spreads.py; None: the setting's). `transformers=False` says no row describes a
    transformer, which spares the large expressions of its count."""
    return (
        frame.pipe(_transformer_counts, transformers)
        .pipe(_token_basis, settings)
        .with_columns(**forward_cost_columns(pl.col("domain"), learned.forward_costs))
        .pipe(_rule)
        .pipe(_flop, settings)
        .pipe(_spread, settings, learned.epoch_spreads)
        .pipe(derivation, settings, transformers)
        .pipe(flags_and_notes, settings, transformers)
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
    converted (or the training tokens, epochs included), `_ops_parameters` the parameters each
    token passes through (`_share_assumed` where a share of a mixture of experts' total was
    assumed active) and `_too_few_tokens` where 6ND over one epoch would be far too low."""
    dataset, unit = pl.col("dataset_size"), pl.col("dataset_unit")
    # Total training tokens, where given, are what passed through the model: epochs are in
    # them and their unit is tokens.
    given_tokens = pl.col("training_tokens")
    tokens_given = given_tokens.is_not_null()
    language = pl.col("domain") == "language"
    # Words are what a language model reads; a speech or vision dataset measured in words (a
    # transcript's length, a caption corpus) says nothing of what passes through the model.
    words_read = ~pl.col("domain").is_in(DOMAINS_NOT_READING_WORDS).fill_null(False)
    unit_is_tokens = ((unit == "tokens") | ((unit == "words") & words_read)).fill_null(False)
    tokens_assumed = unit.is_null() & language.fill_null(False) & ~tokens_given
    # A mixture of experts reads only its active parameters per token; without their count,
    # a typical share of the total is assumed (and widens the interval).
    share_assumed = (
        pl.col("active_parameters").is_null()
        & pl.col("parameters").is_not_null()
        & pl.col("mixture_of_experts").fill_null(False)
    )
    dataset_tokens = (
        pl.when(unit == "words").then(dataset * settings.tokens_per_word).otherwise(dataset)
    )
    frame = frame.with_columns(
        (unit_is_tokens | tokens_assumed | tokens_given).alias("_token_data"),
        tokens_assumed.alias("_tokens_assumed"),
        tokens_given.alias("_tokens_in_sheet"),
        share_assumed.alias("_share_assumed"),
        pl.when(tokens_given)
        .then(given_tokens)
        .otherwise(dataset_tokens)
        .alias("_tokens_per_epoch"),
        # What the dataset and epochs give, to set against the training tokens.
        pl.when(
            tokens_given & dataset.is_not_null() & (unit_is_tokens | (unit.is_null() & language))
        )
        .then(dataset_tokens * pl.col("epochs").fill_null(1.0))
        .alias("_dataset_tokens"),
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
        (pl.col("_token_data") & pl.col("epochs").is_null() & ~tokens_given & too_few)
        .fill_null(False)
        .alias("_too_few_tokens")
    )


def _rule(frame: pl.LazyFrame) -> pl.LazyFrame:
    """`ops_rule`, the first rule the row's inputs allow: a forward pass per example, an
    architecture counted, connections, 6ND, and for data not counted in tokens a forward pass
    of the learned k x parameters. `_rule_kind` tells an architecture's layer list
    ("layers") from its transformer shape ("transformer"); `_reads_tokens` where the rule read
    the dataset size as tokens, `_tokens_given` where it read the training tokens instead, and
    `epochs_used` (1 where not reported, and where the training tokens hold them)."""
    dataset, token_data = pl.col("dataset_size"), pl.col("_token_data")
    enough_tokens = ~pl.col("_too_few_tokens")
    tokens = dataset.is_not_null() | pl.col("_tokens_in_sheet")
    # A counted architecture: a transformer's shape over tokens, or a layer list's forward
    # pass over examples (a token dataset is cut into sequences of the list's input length).
    kind = (
        pl.when(pl.col("forward_flop_per_example").is_not_null() & dataset.is_not_null())
        .then(pl.lit("forward_flop"))
        .when(pl.col("_layers_forward_flop").is_not_null() & dataset.is_not_null() & enough_tokens)
        .then(pl.lit("layers"))
        .when(pl.col("_tf_described") & tokens & token_data & enough_tokens)
        .then(pl.lit("transformer"))
        .when(pl.col("connections").is_not_null() & dataset.is_not_null())
        .then(pl.lit("connections"))
        .when(pl.col("_ops_parameters").is_not_null() & tokens & token_data & enough_tokens)
        .then(pl.lit("6ND"))
        .when(
            pl.col("_ops_parameters").is_not_null() & dataset.is_not_null() & ~token_data
            & pl.col("_forward_k").is_not_null()
        )
        .then(pl.lit("parameters"))
    )  # fmt: skip
    frame = frame.with_columns(kind.alias("_rule_kind"))
    kind = pl.col("_rule_kind")
    over_sequences = (kind == "layers") & pl.col("_layers_sequence_length").is_not_null()
    reads_tokens = (kind.is_in(["6ND", "transformer"]) | over_sequences) & token_data
    # Training tokens stand for the dataset and its epochs where the rule reads tokens; a rule
    # over examples reads the dataset and its epochs as given.
    tokens_used = reads_tokens & pl.col("_tokens_in_sheet")
    return frame.with_columns(
        kind.replace({"layers": "architecture", "transformer": "architecture"}).alias("ops_rule"),
        reads_tokens.alias("_reads_tokens"),
        tokens_used.alias("_tokens_given"),
        pl.when(tokens_used)
        .then(1.0)
        .otherwise(pl.col("epochs").fill_null(1.0))
        .alias("epochs_used"),
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
        .otherwise(pl.col("training_tokens"))  # as given, where no rule counted tokens
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
        .when(kind == "parameters")
        .then(pl.col("_forward_k") * pl.col("_ops_parameters"))
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


def _spread(
    frame: pl.LazyFrame, settings: Settings, epoch_spreads: pl.DataFrame | None
) -> pl.LazyFrame:
    """`_ops_sigma`: the spread of `ops_flop` from the rule and the assumptions it rests on."""
    rule, reads_tokens = pl.col("ops_rule"), pl.col("_reads_tokens")
    assumed_epochs = epoch_sigma(
        pl.col("domain"), epochs_unit(reads_tokens & pl.col("_tokens_assumed")), epoch_spreads,
        factor_sigma(settings.spread_epochs_assumed),
    )  # fmt: skip
    is_6nd = rule == "6ND"
    spread = quadrature([
        (is_6nd, factor_sigma(settings.spread_6nd)),
        (rule.is_in(["forward_flop", "connections"]), factor_sigma(settings.spread_backward_ratio)),
        (rule == "architecture", factor_sigma(settings.spread_architecture)),
        # k was learned with unreported epochs taken as 1: its spread holds theirs.
        (rule == "parameters", pl.col("_forward_k_sigma")),
        (pl.col("epochs").is_null() & ~pl.col("_tokens_given") & (rule != "parameters"),
         assumed_epochs),
        (reads_tokens & pl.col("_tokens_assumed"), factor_sigma(settings.spread_tokens_assumed)),
        (reads_tokens & (pl.col("dataset_unit") == "words") & ~pl.col("_tokens_given"),
         factor_sigma(settings.spread_words_to_tokens)),
        (pl.col("dataset_unit_phrase").is_not_null(), factor_sigma(settings.spread_unit_from_notes)),
        (is_6nd & pl.col("active_parameters_phrase").is_not_null(),
         factor_sigma(settings.spread_active_from_notes)),
        (is_6nd & pl.col("_share_assumed"), factor_sigma(settings.spread_active_share_assumed)),
    ])  # fmt: skip
    return frame.with_columns(
        pl.when(pl.col("ops_flop").is_not_null()).then(spread).alias("_ops_sigma")
    )


def _drop_out_of_range_rule(frame: pl.LazyFrame) -> pl.LazyFrame:
    # A figure dropped as out of range leaves no rule behind.
    return frame.with_columns(
        pl.when(pl.col("ops_flop").is_not_null()).then(pl.col("ops_rule")).alias("ops_rule")
    )

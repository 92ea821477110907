"""Method 1's notes and flags: the derivation of each counting rule with the row's figures, and
for each assumption made or input left unused, its flag and note (the rules are in ops.py)."""

from __future__ import annotations

import math

import polars as pl
import polars.selectors as cs

from pipeline.architecture.staged import staged_transformer
from pipeline.estimate.annotate import by_partition, with_annotations
from pipeline.estimate.formatting import sci, short
from pipeline.estimate.plausibility import out_of_range
from pipeline.estimate.uncertainty import Z90
from pipeline.settings import Settings


def _number(value: float) -> str:
    return f"{value:g}"


def derivation(frame: pl.LazyFrame, settings: Settings, transformers: bool) -> pl.LazyFrame:
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
        share = pl.col("_tf_note_part_context") / pl.col("_tf_note_forward")
        frame = frame.with_columns(share.alias("_tf_context_share"))
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
    # Training tokens given hold their epochs; a dataset's tokens are seen epochs times.
    tokens_text = (
        pl.when(pl.col("_tokens_given"))
        .then(pl.concat_str([sci(tokens_per_epoch), pl.lit(" training tokens")]))
        .otherwise(pl.concat_str([sci(tokens_per_epoch), pl.lit(" tokens x "), epochs_text]))
    )
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
            tokens_text, result, pl.lit("; "), pl.col("_tf_note"),
        ]),
        "6ND": pl.concat_str([
            pl.lit(_number(2 * training_factor) + " x "), sci(pl.col("_ops_parameters")), params_word,
            pl.lit(" x "), tokens_text, result,
        ]),
        "parameters": pl.concat_str([
            pl.lit(f"{factor} x "), sci(pl.col("_forward_k")), pl.lit(" FLOP per parameter x "),
            sci(pl.col("_ops_parameters")), params_word, pl.lit(" x "), sci(dataset), pl.lit(" "),
            unit_word, pl.lit(" x "), epochs_text, result,
        ]),
    })  # fmt: skip


def flags_and_notes(frame: pl.LazyFrame, settings: Settings, transformers: bool) -> pl.LazyFrame:
    """Appends the derivation and, for each assumption made or input left unused, its flag and
    note."""
    applies, is_6nd = pl.col("ops_rule").is_not_null(), pl.col("ops_rule") == "6ND"
    epochs_missing = pl.col("epochs").is_null() & ~pl.col("_tokens_given")
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
    context_dominates = {
        "context_window_as_sequence": (
            (pl.col("_rule_kind") == "transformer")
            & (pl.col("_tf_context_share") > settings.context_share_flagged),
            pl.concat_str([
                pl.lit("attention over the context is "), (100 * pl.col("_tf_context_share")).round(0).cast(pl.Int64).cast(pl.String),
                pl.lit("% of the forward pass: seq_len "), short(pl.col("seq_len")),
                pl.lit(" may be the context window, not the training sequence length"),
            ]),
        )
    } if transformers else {}  # fmt: skip
    given, from_dataset = pl.col("training_tokens"), pl.col("_dataset_tokens")
    apart = (given / from_dataset).log().abs() > math.log(settings.training_tokens_factor)
    # Without epochs, more tokens than the dataset holds are further epochs, not a conflict.
    conflict = (
        apart & pl.col("_tokens_given") & (pl.col("epochs").is_not_null() | (given < from_dataset))
    )
    moe_phrase = pl.col("mixture_of_experts_phrase")
    flagged = {
        "epochs_assumed": (applies & epochs_missing, pl.lit("epochs not reported: 1 assumed")),
        "tokens_assumed": (
            reads_tokens & pl.col("_tokens_assumed"),
            pl.lit("dataset unit blank: tokens assumed for a language model"),
        ),
        "words_converted_to_tokens": (
            reads_tokens & (unit == "words") & ~pl.col("_tokens_given"),
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
        **context_dominates,
        "training_tokens_disagree": (
            conflict.fill_null(False),
            pl.concat_str([
                pl.lit("training_tokens "), sci(given), pl.lit(" against dataset_size x epochs of "),
                sci(from_dataset), pl.lit(": training_tokens used"),
            ]),
        ),
        "architecture_incomplete": (
            pl.col("_tf_incomplete"),
            pl.lit("transformer shape given in part: n_layers, d_model, seq_len and "
                   "vocab_size are all needed to count it, so it was not counted"),
        ),
        "forward_flop_from_parameters": (
            pl.col("ops_rule") == "parameters",
            pl.concat_str([
                pl.lit("no forward FLOP per example or connections: a forward pass of "),
                sci(pl.col("_forward_k")), pl.lit(" FLOP per parameter assumed, as learned for "),
                pl.when(pl.col("_forward_k_group") == "*").then(pl.lit("all domains"))
                .otherwise(pl.col("_forward_k_group")),
                pl.lit(" (90% range x/"), short((Z90 * pl.col("_forward_k_sigma")).exp().round(0)),
                pl.lit(")"),
            ]),
        ),
        "parameters_not_connections": (
            parameters_unused,
            pl.lit("parameters are not connections for non-token data: no 6ND estimate"),
        ),
        "ops_out_of_range": out_of_range("_ops_raw", "the count of operations"),
    }  # fmt: skip
    return with_annotations(frame, flagged, pl.col("_ops_note"))

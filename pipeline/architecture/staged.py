"""A transformer counted in two steps, for speed: its derived sizes (head width, attention
weights, MLP widths, ...) appear many times in its counts and notes, so they are computed once
into working columns (`staged_sizes`), which the counts of `staged_transformer` then read.
The expressions stay small enough for polars to plan quickly; same arithmetic, same bits."""

from __future__ import annotations

import polars as pl

from pipeline.architecture.transformer import Transformer

_TRANSFORMER_SIZES = (
    "gated", "tied", "causal", "d_ff", "d_ff_expert", "mlp_matrices", "n_experts", "is_moe",
    "experts_per_token", "shared_experts", "dense_layers", "decoder_layers", "is_encoder_decoder",
)  # fmt: skip
_ATTENTION_SIZES = (
    "head_dim",
    "d_attn",
    "d_kv",
    "is_latent",
    "d_value",
    "weights",
    "context_width",
)
_SAME_ON_TRANSFORMER = {"weights": "attention_weights"}


def staged_sizes() -> list[pl.Expr]:
    transformer = Transformer()
    return [
        *(getattr(transformer, n).alias(f"_tf_size_{n}") for n in _TRANSFORMER_SIZES),
        *(getattr(transformer.attention, n).alias(f"_tf_attention_{n}") for n in _ATTENTION_SIZES),
    ]


def staged_transformer() -> Transformer:
    """A `Transformer` whose derived sizes read the columns `staged_sizes` added."""
    transformer = Transformer()
    for name in _TRANSFORMER_SIZES:
        setattr(transformer, name, pl.col(f"_tf_size_{name}"))
    for name in _ATTENTION_SIZES:
        column = pl.col(f"_tf_attention_{name}")
        setattr(transformer.attention, name, column)
        setattr(transformer, _SAME_ON_TRANSFORMER.get(name, name), column)
    return transformer

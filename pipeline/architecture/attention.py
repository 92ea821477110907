"""The attention of one transformer layer, as polars expressions: head widths, projection
weights and the width of the context term, for multi-head and grouped-query attention and for
multi-head latent attention (DeepSeek-V2).

`Attention(columns)` takes the columns as `pipeline.architecture.transformer.Transformer`
reads them (a mapping of Float64 expressions, null where blank; it uses d_model, n_heads,
n_kv_heads, d_head, q_lora_rank, kv_lora_rank, d_rope_head and d_value_head) and gives, row by
row:

- `head_dim`: d_head, or d_model / n_heads.
- `d_attn`: the query width, n_heads x head_dim; `d_kv`: the key and value width,
  n_kv_heads x head_dim (n_kv_heads defaults to n_heads, grouped-query attention has fewer).
  Without n_heads both are d_model: every head has its own keys and values.
- `is_latent`: kv_lora_rank is given, so the layer uses multi-head latent attention, whose
  value heads are `d_value` wide (d_value_head, or head_dim).
- `weights`: the weights of the query, key, value and output projections of one layer; the
  forward pass multiplies each token by each of them once.
- `context_width`: half the widths QK^T and attention x V multiply by, per token and position
  of the context: d_attn for standard heads; latent attention's keys are wider than its values.

Sizes that are not positive count as blank (`positive_or_null`); `Transformer.problem()`
reports them, and the contradictions `head_checks()` and `latent_checks()` list.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

Check = tuple[pl.Expr, str]


def positive_or_null(value: pl.Expr) -> pl.Expr:
    """The value where it is positive, else null (blank): how sizes are read for defaults."""
    return pl.when(value > 0).then(value)


class Attention:
    """Standard (multi-head, grouped-query) or multi-head latent attention, by row."""

    def __init__(self, columns: Mapping[str, pl.Expr]) -> None:
        self.raw = raw = columns
        d_model, heads = raw["d_model"], positive_or_null(raw["n_heads"])
        self.head_dim = pl.coalesce(positive_or_null(raw["d_head"]), d_model / heads)
        self.d_attn = pl.coalesce(heads * self.head_dim, d_model)
        kv_heads = pl.coalesce(positive_or_null(raw["n_kv_heads"]), heads)
        self.d_kv = pl.coalesce(kv_heads * self.head_dim, self.d_attn)
        self.is_latent = raw["kv_lora_rank"].is_not_null()
        self.d_value = pl.coalesce(positive_or_null(raw["d_value_head"]), self.head_dim)
        standard = 2 * d_model * self.d_attn + 2 * d_model * self.d_kv
        self.weights = pl.when(self.is_latent).then(self._latent_weights()).otherwise(standard)
        latent_width = heads * (self.head_dim + self.d_value) / 2
        self.context_width = pl.when(self.is_latent).then(latent_width).otherwise(self.d_attn)

    def _latent_weights(self) -> pl.Expr:
        """Weights of one layer of multi-head latent attention (DeepSeek-V2): queries through
        an optional low-rank bottleneck, keys and values decompressed from one shared latent,
        plus a rotary key shared by the heads. Per token the forward pass multiplies by each."""
        raw, d = self.raw, self.raw["d_model"]
        heads, d_qk = positive_or_null(raw["n_heads"]), self.head_dim
        q_rank, kv_rank = raw["q_lora_rank"], raw["kv_lora_rank"]
        rope = raw["d_rope_head"].fill_null(0.0)
        queries = (
            pl.when(q_rank.is_not_null())
            .then(d * q_rank + q_rank * heads * d_qk)
            .otherwise(d * heads * d_qk)
        )
        keys_values = d * (kv_rank + rope) + kv_rank * heads * (d_qk - rope + self.d_value)
        return queries + keys_values + heads * self.d_value * d

    # -- contradictions, for Transformer.problem() ---------------------------------------

    def head_checks(self) -> list[Check]:
        """(condition, message) where the heads contradict each other."""
        raw = self.raw
        return [
            (
                raw["n_kv_heads"].is_not_null() & raw["n_heads"].is_null(),
                "n_kv_heads needs n_heads",
            ),
            (raw["d_head"].is_not_null() & raw["n_heads"].is_null(), "d_head needs n_heads"),
            (raw["n_kv_heads"] > raw["n_heads"], "n_kv_heads exceeds n_heads"),
        ]

    def latent_checks(self) -> list[Check]:
        """(condition, message) where latent attention's columns are incomplete or too wide."""
        raw = self.raw
        return [
            (
                ~self.is_latent & pl.any_horizontal(
                    raw[c].is_not_null() for c in ("q_lora_rank", "d_rope_head", "d_value_head")
                ),
                "q_lora_rank, d_rope_head and d_value_head need kv_lora_rank",
            ),
            (self.is_latent & raw["n_heads"].is_null(), "kv_lora_rank needs n_heads"),
            (raw["d_rope_head"] >= self.head_dim, "d_rope_head must be below d_head"),
        ]  # fmt: skip

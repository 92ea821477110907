"""Counting training compute from an architecture, instead of approximating it with 6ND.

Public API (method 1, rule `architecture`, tried ahead of `6ND`)
================================================================

Transformers: whole columns in, polars expressions out
------------------------------------------------------
`Transformer(...)` takes one expression (or column name, or constant) per architecture
column and applies the documented defaults. Every default argument is the canonical column
of the same name, so `Transformer()` reads a frame that has the columns of
`ARCHITECTURE_COLUMNS`:

    n_layers, d_model, n_heads, n_kv_heads, d_ff, vocab_size, seq_len, gated_mlp,
    n_experts, experts_per_token, shared_experts, tied_embeddings, causal

and, where the frame has them (`column_if_present`), the columns a Hugging Face config fills
for the families that need them (`pipeline.architecture.hf_config`): d_head (head width),
d_ff_expert (expert MLP width), n_dense_layers (dense-first layers of a mixture of experts),
q_lora_rank, kv_lora_rank, d_rope_head, d_value_head (multi-head latent attention) and
n_decoder_layers (an encoder-decoder: n_layers encoder layers, these decoder layers). The
attention forms (multi-head, grouped-query, latent) are in `pipeline.architecture.attention`.

Its methods return `pl.Expr`, evaluated row by row over the whole frame:

- `described()`: Boolean, true where the row describes a transformer well enough to count
  (n_layers, d_model, seq_len and vocab_size present and positive, and no `problem()`).
- `problem()`: text or null: why a row that names some of the columns cannot be counted
  (n_kv_heads above n_heads, experts_per_token missing for a mixture of experts, ...).
- `assumptions()`: text or null: which documented defaults were used for blank cells.
- `forward_flop_parts()`: dict of per-token forward FLOP by part, `FLOP_PARTS` order:
  attention (Q, K, V, output projections), context (QK^T and attention x V),
  mlp (dense MLP or the active experts), router, logits.
- `forward_flop_per_token()`: their sum.
- `parameters()`: dict with `total`, `active`, `embedding` (input embedding plus output
  matrix, once if tied) and `non_embedding` parameter counts.
- `note_text(figures)`: text for the `notes` column, e.g. "architecture: 1.7e11 params
  (1.7e11 active); forward FLOP/token = attention 2.1e9 + ... = 7.1e9 (causal: context
  halved)", from the `note_figures()` a frame has staged as columns (`note()` for a few rows).

`transformer_forward_flop_per_token(...)` and `transformer_parameters(...)` are one-call forms;
`training_flop(forward, amount, backward_forward_ratio)` is `(1 + ratio) x forward x amount`.

Method 1 counts a described row as (1 + backward/forward) x forward FLOP per token x tokens
(`pipeline.estimate.ops`, docs/architecture-counting.md). Other networks are JSON layer lists
(`pipeline.architecture.layers` and `.files`); `architecture_file` may also name a Hugging Face
config.json, which fills the row's blank columns above.

Conventions (also in docs/architecture-counting.md)
---------------------------------------------------
- One multiply-add is 2 FLOP. Only matrix products are counted: normalisation, activations,
  softmax, residual additions, biases and embedding look-ups are negligible and not counted.
- The context term counts QK^T and attention x V: 2 x 2 x n_ctx x d_attn per token and
  layer over the full context. With `context="causal"` (the default) a causal row counts
  half of it, the average context a token sees under the mask; this is exactly Kaplan et
  al.'s (2020) 2 x n_layer x n_ctx x d_attn. `context="full"` counts the full n_ctx for
  every row, as Hoffmann et al. (2022, Appendix F) and PaLM's 6N + 12 L H Q T do.
- Defaults for blank cells, the layer kinds and what is not counted: see
  docs/architecture-counting.md ("Columns and defaults", "What is counted").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import polars as pl
import polars.selectors as cs

from pipeline.architecture.attention import Attention, positive_or_null
from pipeline.estimate.formatting import sci
from pipeline.read.parsing import parse_flag  # noqa: F401 (re-exported)
from schemas.systems import ARCHITECTURE_COLUMNS  # noqa: F401 (re-exported)

ExprLike = pl.Expr | str | int | float | bool | None
ContextConvention = Literal["causal", "full"]

FLOP_PARTS = ("attention", "context", "mlp", "router", "logits")

GATED_D_FF_FACTOR = 8 / 3
DENSE_D_FF_FACTOR = 4.0


def _expr(value: ExprLike, dtype: pl.DataType) -> pl.Expr:
    if value is None:
        return pl.lit(None, dtype=dtype)
    if isinstance(value, pl.Expr):
        return value.cast(dtype, strict=False)
    if isinstance(value, str):
        return pl.col(value).cast(dtype, strict=False)
    return pl.lit(value).cast(dtype, strict=False)


def _plus(base: pl.Expr, extra: pl.Expr) -> pl.Expr:
    """base + extra, and exactly base where extra is 0 or blank: a row without the extra layer
    kinds counts bit for bit as before (adding 0.0 would turn a -0.0 into 0.0)."""
    return pl.when(extra.fill_null(0.0) == 0).then(base).otherwise(base + extra)


def column_if_present(name: str) -> pl.Expr:
    """The column `name`, or nulls in a frame without it: the columns added for Hugging Face
    configs are read where a frame has them, and frames made before them count as before."""
    return pl.coalesce(cs.by_name(name, require_all=False), pl.lit(None))


class Transformer:
    """A decoder (or encoder) stack described by columns, counted with polars expressions.

    Each argument is a column name, an expression, a constant or None (absent). Numbers are
    read as Float64 so that products of large sizes cannot overflow.
    """

    def __init__(
        self,
        n_layers: ExprLike = "n_layers",
        d_model: ExprLike = "d_model",
        n_heads: ExprLike = "n_heads",
        n_kv_heads: ExprLike = "n_kv_heads",
        d_ff: ExprLike = "d_ff",
        vocab_size: ExprLike = "vocab_size",
        seq_len: ExprLike = "seq_len",
        gated_mlp: ExprLike = "gated_mlp",
        n_experts: ExprLike = "n_experts",
        experts_per_token: ExprLike = "experts_per_token",
        shared_experts: ExprLike = "shared_experts",
        tied_embeddings: ExprLike = "tied_embeddings",
        causal: ExprLike = "causal",
        d_head: ExprLike = column_if_present("d_head"),
        d_ff_expert: ExprLike = column_if_present("d_ff_expert"),
        n_dense_layers: ExprLike = column_if_present("n_dense_layers"),
        q_lora_rank: ExprLike = column_if_present("q_lora_rank"),
        kv_lora_rank: ExprLike = column_if_present("kv_lora_rank"),
        d_rope_head: ExprLike = column_if_present("d_rope_head"),
        d_value_head: ExprLike = column_if_present("d_value_head"),
        n_decoder_layers: ExprLike = column_if_present("n_decoder_layers"),
        *,
        context: ContextConvention = "causal",
    ) -> None:
        if context not in ("causal", "full"):
            raise ValueError(f"context must be 'causal' or 'full', not {context!r}")
        self.context = context
        number, flag = pl.Float64, pl.Boolean
        # As given (null where blank); non-positive sizes count as blank for the defaults
        # and are reported by problem().
        self.raw: dict[str, pl.Expr] = {
            "n_layers": _expr(n_layers, number),
            "d_model": _expr(d_model, number),
            "n_heads": _expr(n_heads, number),
            "n_kv_heads": _expr(n_kv_heads, number),
            "d_ff": _expr(d_ff, number),
            "vocab_size": _expr(vocab_size, number),
            "seq_len": _expr(seq_len, number),
            "gated_mlp": _expr(gated_mlp, flag),
            "n_experts": _expr(n_experts, number),
            "experts_per_token": _expr(experts_per_token, number),
            "shared_experts": _expr(shared_experts, number),
            "tied_embeddings": _expr(tied_embeddings, flag),
            "causal": _expr(causal, flag),
            "d_head": _expr(d_head, number),
            "d_ff_expert": _expr(d_ff_expert, number),
            "n_dense_layers": _expr(n_dense_layers, number),
            "q_lora_rank": _expr(q_lora_rank, number),
            "kv_lora_rank": _expr(kv_lora_rank, number),
            "d_rope_head": _expr(d_rope_head, number),
            "d_value_head": _expr(d_value_head, number),
            "n_decoder_layers": _expr(n_decoder_layers, number),
        }
        raw = self.raw
        self.n_layers, self.d_model = raw["n_layers"], raw["d_model"]
        self.vocab_size, self.seq_len = raw["vocab_size"], raw["seq_len"]
        self.gated = raw["gated_mlp"].fill_null(False)
        self.tied = raw["tied_embeddings"].fill_null(False)
        self.causal = raw["causal"].fill_null(True)
        # Head widths, projection weights and context width of standard or latent attention.
        self.attention = attention = Attention(raw)
        self.head_dim, self.d_attn, self.d_kv = attention.head_dim, attention.d_attn, attention.d_kv
        self.is_latent, self.d_value = attention.is_latent, attention.d_value
        self.attention_weights, self.context_width = attention.weights, attention.context_width
        factor = pl.when(self.gated).then(GATED_D_FF_FACTOR).otherwise(DENSE_D_FF_FACTOR)
        self.d_ff = pl.coalesce(positive_or_null(raw["d_ff"]), factor * self.d_model)
        self.d_ff_expert = pl.coalesce(positive_or_null(raw["d_ff_expert"]), self.d_ff)
        self.mlp_matrices = pl.when(self.gated).then(pl.lit(3.0)).otherwise(pl.lit(2.0))
        self.n_experts = pl.coalesce(positive_or_null(raw["n_experts"]), pl.lit(1.0))
        self.is_moe = self.n_experts > 1
        self.experts_per_token = (
            pl.when(self.is_moe)
            .then(raw["experts_per_token"])
            .otherwise(pl.coalesce(raw["experts_per_token"], pl.lit(1.0)))
        )
        self.shared_experts = raw["shared_experts"].fill_null(0.0)
        # Blank counts of the extra layer kinds are 0, so that each adds exactly 0.0 to the
        # counts of a row that does not use it (and such a row counts as it always did).
        self.dense_layers = raw["n_dense_layers"].fill_null(0.0)
        self.decoder_layers = raw["n_decoder_layers"].fill_null(0.0)
        self.is_encoder_decoder = self.decoder_layers > 0

    # -- rows that can be counted -------------------------------------------------------

    def problem(self) -> pl.Expr:
        """Why the row's architecture cannot be counted, or null. Blank required columns are
        not a problem (the row simply is not described); contradictions are."""
        raw = self.raw
        checks: list[tuple[pl.Expr, str]] = [
            *(
                (raw[name] <= 0, f"{name} must be positive")
                for name in (
                    "n_layers", "d_model", "n_heads", "n_kv_heads", "d_ff", "vocab_size",
                    "seq_len", "n_experts", "experts_per_token", "d_head", "d_ff_expert",
                    "q_lora_rank", "kv_lora_rank", "d_rope_head", "d_value_head",
                    "n_decoder_layers",
                )
            ),
            (raw["shared_experts"] < 0, "shared_experts must not be negative"),
            *self.attention.head_checks(),
            (
                self.is_moe & raw["experts_per_token"].is_null(),
                "n_experts > 1 but experts_per_token is blank",
            ),
            (
                self.experts_per_token > self.n_experts,
                "experts_per_token exceeds n_experts",
            ),
            (
                ~self.is_moe & (self.shared_experts > 0),
                "shared_experts without routed experts (n_experts > 1)",
            ),
            (raw["n_dense_layers"] < 0, "n_dense_layers must not be negative"),
            (
                ~self.is_moe & ((self.dense_layers > 0) | raw["d_ff_expert"].is_not_null()),
                "n_dense_layers or d_ff_expert without routed experts (n_experts > 1)",
            ),
            (
                (self.dense_layers > 0) & (self.dense_layers >= raw["n_layers"]),
                "n_dense_layers must be below n_layers",
            ),
            *self.attention.latent_checks(),
            (
                self.is_encoder_decoder & (self.is_latent | (self.dense_layers > 0)),
                "n_decoder_layers cannot be combined with kv_lora_rank or n_dense_layers",
            ),
        ]  # fmt: skip
        messages = [pl.when(cond.fill_null(False)).then(pl.lit(text)) for cond, text in checks]
        joined = pl.concat_str(messages, separator="; ", ignore_nulls=True)
        return pl.when(joined != "").then(joined)

    def described(self) -> pl.Expr:
        """True where the row can be counted: n_layers, d_model, seq_len and vocab_size are
        present (the logits and the context term cannot be guessed well) and no problem."""
        required = [self.raw[c] for c in ("n_layers", "d_model", "seq_len", "vocab_size")]
        present = pl.all_horizontal([c.is_not_null() for c in required])
        return (present & self.problem().is_null()).fill_null(False)

    def assumptions(self) -> pl.Expr:
        """The defaults used for blank cells, as text, or null when none was needed."""
        raw = self.raw
        moe = self.is_moe
        kv_default = raw["n_kv_heads"].is_null() & raw["n_heads"].is_not_null()
        items = [
            (raw["n_heads"].is_null(), "attention width = d_model (n_heads blank)"),
            (kv_default, "n_kv_heads = n_heads"),
            (
                raw["d_ff"].is_null() & self.gated,
                "d_ff = 8/3 x d_model (gated)",
            ),
            (raw["d_ff"].is_null() & ~self.gated, "d_ff = 4 x d_model"),
            (raw["gated_mlp"].is_null(), "MLP not gated"),
            (raw["n_experts"].is_null(), "dense (no experts)"),
            (moe & raw["shared_experts"].is_null(), "no shared experts"),
            (raw["tied_embeddings"].is_null(), "embeddings not tied"),
            (raw["causal"].is_null(), "causal"),
        ]
        parts = [pl.when(cond.fill_null(False)).then(pl.lit(text)) for cond, text in items]
        joined = pl.concat_str(parts, separator=", ", ignore_nulls=True)
        return pl.when(joined != "").then(pl.concat_str([pl.lit("assumed "), joined]))

    # -- counts -------------------------------------------------------------------------

    def _context_share(self) -> pl.Expr:
        if self.context == "full":
            return pl.lit(1.0)
        return pl.when(self.causal).then(pl.lit(0.5)).otherwise(pl.lit(1.0))

    def forward_flop_parts(self) -> dict[str, pl.Expr]:
        """Forward FLOP per token by part (FMA = 2 FLOP), over all layers. An encoder-decoder
        counts one token through each stack: the decoder's layers add cross-attention, whose
        queries attend to the whole encoded input."""
        layers, d = self.n_layers, self.d_model
        dense, decoder = self.dense_layers, self.decoder_layers
        projections = self.attention_weights  # Q and output; K and V
        full_context = 4 * self.seq_len * self.context_width
        context = full_context * self._context_share()
        encoder_context = pl.when(self.is_encoder_decoder).then(full_context).otherwise(context)
        active_mlps = self.experts_per_token + self.shared_experts
        mlp = active_mlps * self.mlp_matrices * d * self.d_ff_expert
        router = pl.when(self.is_moe).then(d * self.n_experts).otherwise(pl.lit(0.0))
        # The first n_dense_layers layers have a dense MLP in place of the experts and router.
        dense_mlp = self.mlp_matrices * d * self.d_ff
        return {
            "attention": _plus(2 * layers * projections, 4 * decoder * projections),
            "context": _plus(layers * encoder_context, decoder * (context + full_context)),
            "mlp": _plus(2 * layers * mlp, 2 * dense * (dense_mlp - mlp) + 2 * decoder * mlp),
            "router": _plus(2 * layers * router, 2 * (decoder - dense) * router),
            "logits": 2 * d * self.vocab_size,
        }

    def forward_flop_per_token(self) -> pl.Expr:
        return pl.sum_horizontal(list(self.forward_flop_parts().values()))

    def parameters(self) -> dict[str, pl.Expr]:
        """Parameter counts: total, active (per token), embedding, non_embedding."""
        layers, d = self.n_layers, self.d_model
        dense, decoder = self.dense_layers, self.decoder_layers
        attention = self.attention_weights
        mlp_one = self.mlp_matrices * d * self.d_ff_expert
        router = pl.when(self.is_moe).then(d * self.n_experts).otherwise(pl.lit(0.0))
        mlp_total = (self.n_experts + self.shared_experts) * mlp_one
        mlp_active = (self.experts_per_token + self.shared_experts) * mlp_one
        matrices = pl.when(self.tied).then(pl.lit(1.0)).otherwise(pl.lit(2.0))
        embedding = matrices * self.vocab_size * d
        dense_mlp = self.mlp_matrices * d * self.d_ff

        # Dense-first layers swap experts and router for a dense MLP; decoder layers are
        # encoder layers plus a cross-attention block of the same shape.
        def stacks(mlps: pl.Expr) -> pl.Expr:
            return _plus(
                layers * (attention + mlps + router),
                dense * (dense_mlp - mlps - router) + decoder * (2 * attention + mlps + router),
            )

        non_embedding = stacks(mlp_total)
        return {
            "total": non_embedding + embedding,
            "active": stacks(mlp_active) + embedding,
            "embedding": embedding,
            "non_embedding": non_embedding,
        }

    def note_figures(self) -> dict[str, pl.Expr]:
        """The numbers `note_text` writes, for a frame to stage as columns: formatting reads a
        number several times, so a note built on the counts' own expressions is huge."""
        return {
            **{f"part_{name}": value for name, value in self.forward_flop_parts().items()},
            "params_total": self.parameters()["total"],
            "params_active": self.parameters()["active"],
            "forward": self.forward_flop_per_token(),
            "described": self.described(),
        }

    def note_text(self, figures: Mapping[str, pl.Expr]) -> pl.Expr:
        """'architecture: 1.7e11 params (1.7e11 active); forward FLOP/token = attention ...',
        from `figures` (as `note_figures` names them, usually columns holding them)."""
        terms = [
            pl.when(value > 0).then(pl.concat_str([pl.lit(f"{name.removeprefix('part_')} "), sci(value)]))
            for name, value in figures.items() if name.startswith("part_")
        ]  # fmt: skip
        sum_text = pl.concat_str(terms, separator=" + ", ignore_nulls=True)
        convention = pl.lit("full context") if self.context == "full" else (
            pl.when(self.is_encoder_decoder & self.causal)
            .then(pl.lit("encoder-decoder: decoder self-attention context halved"))
            .when(self.causal).then(pl.lit("causal: context halved"))
            .otherwise(pl.lit("not causal: full context"))
        )  # fmt: skip
        return pl.when(figures["described"]).then(
            pl.concat_str([
                pl.lit("architecture: "), sci(figures["params_total"]), pl.lit(" params ("),
                sci(figures["params_active"]), pl.lit(" active); forward FLOP/token = "), sum_text,
                pl.lit(" = "), sci(figures["forward"]), pl.lit(" ("), convention, pl.lit(")"),
            ])
        )  # fmt: skip

    def note(self) -> pl.Expr:
        """`note_text` of the expressions themselves: for a few rows (see `note_figures`)."""
        return self.note_text(self.note_figures())


def transformer_forward_flop_per_token(
    *, context: ContextConvention = "causal", **columns: ExprLike
) -> pl.Expr:
    """Forward FLOP per token; keyword arguments as `Transformer`."""
    return Transformer(**columns, context=context).forward_flop_per_token()


def transformer_forward_flop_parts(
    *, context: ContextConvention = "causal", **columns: ExprLike
) -> dict[str, pl.Expr]:
    return Transformer(**columns, context=context).forward_flop_parts()


def transformer_parameters(**columns: ExprLike) -> dict[str, pl.Expr]:
    """{'total', 'active', 'embedding', 'non_embedding'}; keyword arguments as `Transformer`."""
    return Transformer(**columns).parameters()


def training_flop(
    forward: pl.Expr | float, amount: pl.Expr | float, backward_forward_ratio: float = 2.0
) -> pl.Expr:
    """(1 + backward/forward) x forward FLOP per token (or example) x tokens (or examples)."""
    forward_expr = forward if isinstance(forward, pl.Expr) else pl.lit(float(forward))
    amount_expr = amount if isinstance(amount, pl.Expr) else pl.lit(float(amount))
    return (1 + backward_forward_ratio) * forward_expr * amount_expr

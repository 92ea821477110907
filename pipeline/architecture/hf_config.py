"""Reading a Hugging Face `config.json` into the canonical architecture columns, so that the
configuration a model is published with describes its transformer for `Transformer` to count.

- `hf_config_columns(document, source)`: {column: value} for every column of `CONFIG_COLUMNS`
  (None where the model has no such part). The model family (`model_type`) decides what the
  config's keys mean: whether the MLP is gated, the attention form (grouped-query, multi-query
  or multi-head latent), how experts, shared experts and dense-first layers are spelled, and
  what the family's config class assumes for a key its config.json leaves out.
- `is_hf_config(document)`: a JSON object with `model_type` or `architectures` and no `layers`
  (which a layer list has).
- `CONFIG_KEY_COLUMNS`: config key -> canonical column, for the keys that mean the same column
  in every family that has them, so that sheet headers written as config keys can be read.
- `SUPPORTED_MODEL_TYPES`.

`seq_len` is not read: `max_position_embeddings` is the longest context the model accepts,
often a long-context extension, not the context it was trained on. Vision towers (Gemma 3),
multi-token-prediction modules (DeepSeek-V3) and learned positions are not counted, as
elsewhere. A config that cannot be read raises `ArchitectureFileError`, one line naming the
file, the field, its value and what was expected.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from pipeline.architecture.fields import ArchitectureFileError, is_int

CONFIG_COLUMNS = (
    "n_layers", "d_model", "n_heads", "n_kv_heads", "d_head", "d_ff", "d_ff_expert",
    "vocab_size", "gated_mlp", "n_experts", "experts_per_token", "shared_experts",
    "n_dense_layers", "q_lora_rank", "kv_lora_rank", "d_rope_head", "d_value_head",
    "n_decoder_layers", "tied_embeddings", "causal",
)  # fmt: skip

CONFIG_KEY_COLUMNS: dict[str, str] = {
    "hidden_size": "d_model", "n_embd": "d_model", "n_embed": "d_model", "d_model": "d_model",
    "num_hidden_layers": "n_layers", "n_layer": "n_layers", "num_layers": "n_layers",
    "num_attention_heads": "n_heads", "n_head": "n_heads", "num_heads": "n_heads",
    "num_key_value_heads": "n_kv_heads", "num_kv_heads": "n_kv_heads",
    "head_dim": "d_head", "d_kv": "d_head",
    "intermediate_size": "d_ff", "n_inner": "d_ff", "ffn_dim": "d_ff", "d_ff": "d_ff",
    "ffn_hidden_size": "d_ff", "moe_intermediate_size": "d_ff_expert",
    "vocab_size": "vocab_size",
    "num_local_experts": "n_experts", "num_experts": "n_experts", "n_routed_experts": "n_experts",
    "num_experts_per_tok": "experts_per_token", "n_shared_experts": "shared_experts",
    "first_k_dense_replace": "n_dense_layers",
    "q_lora_rank": "q_lora_rank", "kv_lora_rank": "kv_lora_rank",
    "qk_rope_head_dim": "d_rope_head", "v_head_dim": "d_value_head",
    "num_decoder_layers": "n_decoder_layers",
    "tie_word_embeddings": "tied_embeddings",
}  # fmt: skip

_REQUIRED = object()
_WHOLE = "a positive whole number"


class _Config:
    """One config's fields, each read with its check. A key the config leaves out (or writes
    as null, as transformers does for "use the default") takes the family's default, if any."""

    def __init__(self, document: Mapping[str, Any], source: object, model_type: str,
                 defaults: Mapping[str, Any], prefix: str = "") -> None:  # fmt: skip
        self.document, self.source, self.model_type = document, source, model_type
        self.defaults, self.prefix = defaults, prefix

    def fail(self, name: str, value: object, expected: str) -> ArchitectureFileError:
        field = self.prefix + name
        shown = "missing" if value is _REQUIRED else json.dumps(value)
        return ArchitectureFileError(
            self.source,
            f"field '{field}' is {shown}; expected {expected} (model_type {self.model_type})",
            field=field, value=None if value is _REQUIRED else value, expected=expected,
        )  # fmt: skip

    def value(self, name: str, default: object = _REQUIRED) -> object:
        value = self.document.get(name)
        if value is None:
            value = self.defaults.get(name, default)
        return value

    def whole(self, name: str, default: object = _REQUIRED, minimum: int = 1) -> Any:
        value = self.value(name, default)
        if value is _REQUIRED or (value is not None and (not is_int(value) or value < minimum)):
            raise self.fail(name, value, _WHOLE if minimum == 1 else f"a whole number >= {minimum}")
        return None if value is None else int(value)

    def either(self, *names: str) -> int:
        """The first of several spellings of one size (`n_layer` or `num_hidden_layers`)."""
        for name in names:
            if self.value(name, None) is not None:
                return self.whole(name)
        raise self.fail(names[0], _REQUIRED, f"{_WHOLE} (or '{names[1]}')")

    def flag(self, name: str) -> bool:
        value = self.value(name)
        if not isinstance(value, bool):
            raise self.fail(name, value, "true or false")
        return value

    def multiple(self, name: str, of: int) -> int:
        """A width given in units of another (a shared expert as wide as k routed experts)."""
        width = self.whole(name, default=0, minimum=0)
        if width % of:
            raise self.fail(name, width, f"a multiple of the expert width {of}")
        return width // of


# -- families ------------------------------------------------------------------------------


def _decoder(c: _Config, *, d_ff: int | None = None) -> dict[str, Any]:
    """The decoder-only shape most families spell as LLaMA does (gate, up and down projections:
    a gated MLP whatever the activation)."""
    heads = c.whole("num_attention_heads")
    return {
        "n_layers": c.whole("num_hidden_layers"),
        "d_model": c.whole("hidden_size"),
        "n_heads": heads,
        "n_kv_heads": c.whole("num_key_value_heads", heads),
        "d_head": c.whole("head_dim", None),
        "d_ff": d_ff if d_ff is not None else c.whole("intermediate_size"),
        "vocab_size": c.whole("vocab_size"),
        "gated_mlp": True,
        "n_experts": 1,
        "tied_embeddings": c.flag("tie_word_embeddings"),
        "causal": True,
    }


def _experts(c: _Config, experts_key: str, shared: int = 0) -> dict[str, Any]:
    return {
        "n_experts": c.whole(experts_key),
        "experts_per_token": c.whole("num_experts_per_tok"),
        "shared_experts": shared,
    }


def _dense_first_layers(c: _Config) -> int:
    """Qwen's MoE configs name their dense layers (`mlp_only_layers`) and a stride of expert
    layers; only dense layers first, then experts in every layer, is one stack of columns."""
    step = c.value("decoder_sparse_step", 1)
    if step != 1:
        raise c.fail("decoder_sparse_step", step, "1 (experts in every layer after the dense ones)")
    dense = c.value("mlp_only_layers", [])
    if not isinstance(dense, list) or sorted(dense) != list(range(len(dense))):
        raise c.fail("mlp_only_layers", dense, "[] or the first layers, [0, 1, ..., k - 1]")
    return len(dense)


def _mixtral(c: _Config) -> dict[str, Any]:
    return {**_decoder(c), **_experts(c, "num_local_experts")}


def _gpt_oss(c: _Config) -> dict[str, Any]:
    # Its config.json spells the routed experts per token both ways.
    per_token = c.whole("num_experts_per_tok", c.value("experts_per_token"))
    return {
        **_decoder(c), "n_experts": c.whole("num_local_experts"),
        "experts_per_token": per_token, "shared_experts": 0,
    }  # fmt: skip


def _qwen_moe(c: _Config) -> dict[str, Any]:
    expert = c.whole("moe_intermediate_size")
    shared = c.multiple("shared_expert_intermediate_size", expert)
    return {
        **_decoder(c), **_experts(c, "num_experts", shared),
        "d_ff_expert": expert, "n_dense_layers": _dense_first_layers(c),
    }  # fmt: skip


def _deepseek(c: _Config) -> dict[str, Any]:
    frequency = c.value("moe_layer_freq", 1)
    if frequency != 1:
        raise c.fail("moe_layer_freq", frequency, "1 (experts in every layer after the dense ones)")
    rope = c.whole("qk_rope_head_dim")
    row = {
        **_decoder(c),
        "d_head": c.whole("qk_nope_head_dim") + rope,
        "q_lora_rank": c.whole("q_lora_rank", None),
        "kv_lora_rank": c.whole("kv_lora_rank"),
        "d_rope_head": rope,
        "d_value_head": c.whole("v_head_dim"),
    }
    # Latent attention decompresses a key and a value for every head.
    row["n_kv_heads"] = row["n_heads"]
    if c.value("n_routed_experts", None) is None:
        return row
    return {
        **row, **_experts(c, "n_routed_experts", c.whole("n_shared_experts", 0, minimum=0)),
        "d_ff_expert": c.whole("moe_intermediate_size"),
        "n_dense_layers": c.whole("first_k_dense_replace", 0, minimum=0),
    }  # fmt: skip


def _ungated(c: _Config, d_model: int, n_layers: int, n_heads: int, d_ff: int | None,
             n_kv_heads: int | None = None, causal: bool = True) -> dict[str, Any]:  # fmt: skip
    """GPT-2's shape and its descendants': a two-matrix MLP, 4 x d_model wide unless given."""
    return {
        "n_layers": n_layers, "d_model": d_model, "n_heads": n_heads,
        "n_kv_heads": n_heads if n_kv_heads is None else n_kv_heads,
        "d_ff": 4 * d_model if d_ff is None else d_ff, "vocab_size": c.whole("vocab_size"),
        "gated_mlp": False, "n_experts": 1, "tied_embeddings": c.flag("tie_word_embeddings"),
        "causal": causal,
    }  # fmt: skip


def _gpt2(c: _Config) -> dict[str, Any]:
    # GPT-J spells its sizes as GPT-2 does; its parallel attention and MLP and its rotary
    # positions change no matrix.
    d_model = c.whole("n_embd")
    return _ungated(c, d_model, c.whole("n_layer"), c.whole("n_head"), c.whole("n_inner", None))


def _gpt_neox(c: _Config) -> dict[str, Any]:
    return _ungated(
        c, c.whole("hidden_size"), c.whole("num_hidden_layers"), c.whole("num_attention_heads"),
        c.whole("intermediate_size"),
    )  # fmt: skip


def _falcon(c: _Config) -> dict[str, Any]:
    heads = c.either("num_attention_heads", "n_head")
    # As transformers' Falcon: the new decoder reads its key/value heads; the old one has one
    # key/value head when multi_query, else one per head.
    if c.flag("new_decoder_architecture"):
        kv_heads = c.whole("num_kv_heads", c.value("n_head_kv", heads))
    else:
        kv_heads = 1 if c.flag("multi_query") else heads
    return _ungated(
        c, c.whole("hidden_size"), c.either("num_hidden_layers", "n_layer"), heads,
        c.whole("ffn_hidden_size", None), kv_heads,
    )  # fmt: skip


def _bloom(c: _Config) -> dict[str, Any]:
    return _ungated(
        c, c.either("hidden_size", "n_embed"), c.either("n_layer", "num_hidden_layers"),
        c.either("n_head", "num_attention_heads"), None,
    )  # fmt: skip


def _opt(c: _Config) -> dict[str, Any]:
    d_model = c.whole("hidden_size")
    projected = c.whole("word_embed_proj_dim", d_model)
    if projected != d_model:
        raise c.fail(
            "word_embed_proj_dim", projected, f"the hidden_size, {d_model} (no projection)"
        )
    return _ungated(
        c, d_model, c.whole("num_hidden_layers"), c.whole("num_attention_heads"),
        c.whole("ffn_dim"),
    )  # fmt: skip


def _bert(c: _Config) -> dict[str, Any]:
    return _ungated(
        c, c.whole("hidden_size"), c.whole("num_hidden_layers"), c.whole("num_attention_heads"),
        c.whole("intermediate_size"), causal=False,
    )  # fmt: skip


def _t5(c: _Config) -> dict[str, Any]:
    projection = c.value("feed_forward_proj")
    if not isinstance(projection, str) or not re.fullmatch(r"(gated-)?[a-z_]+", projection):
        raise c.fail(
            "feed_forward_proj", projection, 'an activation such as "relu" or "gated-gelu"'
        )
    encoder_layers = c.whole("num_layers")
    row = _ungated(
        c, c.whole("d_model"), encoder_layers, c.whole("num_heads"), c.whole("d_ff"),
    )  # fmt: skip
    return {
        **row, "d_head": c.whole("d_kv"), "gated_mlp": projection.startswith("gated-"),
        "n_decoder_layers": c.whole("num_decoder_layers", encoder_layers),
    }  # fmt: skip


def _gemma3(c: _Config) -> dict[str, Any]:
    """The multimodal Gemma 3 nests its language model under `text_config` (often with only
    the keys that differ from Gemma3TextConfig's defaults); the vision tower is not counted."""
    text = c.document.get("text_config")
    if not isinstance(text, Mapping):
        raise c.fail("text_config", text, "the language model's config (a JSON object)")
    return _decoder(
        _Config(text, c.source, "gemma3_text", FAMILIES["gemma3_text"][1], "text_config.")
    )


# model_type -> (reader, what the family's transformers config class assumes for a key its
# config.json leaves out, for the keys published configs do leave out).
_UNTIED, _TIED = {"tie_word_embeddings": False}, {"tie_word_embeddings": True}
FAMILIES: dict[str, tuple[Callable[[_Config], dict[str, Any]], Mapping[str, Any]]] = {
    "llama": (_decoder, _UNTIED),
    "mistral": (_decoder, _UNTIED),
    "mixtral": (_mixtral, _UNTIED),
    "qwen2": (_decoder, _UNTIED),
    "qwen2_moe": (_qwen_moe, _UNTIED),
    "qwen3": (_decoder, {**_UNTIED, "head_dim": 128}),
    "qwen3_moe": (_qwen_moe, {**_UNTIED, "head_dim": 128}),
    "phi3": (_decoder, _UNTIED),
    "gemma": (_decoder, {**_TIED, "head_dim": 256}),
    "gemma2": (_decoder, {**_TIED, "head_dim": 256}),
    "gemma3": (_gemma3, {}),
    "gemma3_text": (_decoder, {
        **_TIED, "head_dim": 256, "num_attention_heads": 8, "num_key_value_heads": 4,
        "vocab_size": 262_208,
    }),
    "deepseek_v2": (_deepseek, _UNTIED),
    "deepseek_v3": (_deepseek, _UNTIED),
    "gpt_oss": (_gpt_oss, {**_UNTIED, "head_dim": 64}),
    "gpt2": (_gpt2, _TIED),
    "gptj": (_gpt2, _UNTIED),
    "gpt_neox": (_gpt_neox, _UNTIED),
    "falcon": (_falcon, {**_TIED, "multi_query": True, "new_decoder_architecture": False}),
    "bloom": (_bloom, _TIED),
    "opt": (_opt, _TIED),
    "bert": (_bert, _TIED),  # the masked-language-model head reuses the input embedding
    "t5": (_t5, {**_TIED, "feed_forward_proj": "relu"}),
}  # fmt: skip
SUPPORTED_MODEL_TYPES = tuple(FAMILIES)


def is_hf_config(document: object) -> bool:
    return (
        isinstance(document, dict)
        and ("model_type" in document or "architectures" in document)
        and "layers" not in document
    )


def hf_config_columns(document: object, source: object = "config.json") -> dict[str, Any]:
    """The canonical architecture columns a Hugging Face config.json gives; errors name
    `source`."""
    if not isinstance(document, dict):
        raise ArchitectureFileError(source, "document: not a JSON object; expected a config.json")
    model_type = document.get("model_type")
    if model_type not in FAMILIES:
        shown = "missing" if model_type is None else json.dumps(model_type)
        raise ArchitectureFileError(
            source,
            f"field 'model_type' is {shown}: not a supported Hugging Face model type; "
            f"expected one of {', '.join(SUPPORTED_MODEL_TYPES)}",
            field="model_type", value=model_type,
        )  # fmt: skip
    read, defaults = FAMILIES[model_type]
    row = read(_Config(document, source, model_type, defaults))
    return {column: row.get(column) for column in CONFIG_COLUMNS}

"""Hugging Face config.json files read into the transformer columns: parameter counts against
the figures each model was published with, the families' readings, the one-line errors, and a
sheet row whose `architecture_file` names a config (tests/data/hf_configs/, see its README)."""

from __future__ import annotations

import json

import polars as pl
import pytest

import pipeline
from pipeline.architecture.fields import ArchitectureFileError
from pipeline.architecture.files import count_architecture_cell, layer_list_frame
from pipeline.architecture.hf_config import (
    CONFIG_COLUMNS,
    CONFIG_KEY_COLUMNS,
    SUPPORTED_MODEL_TYPES,
    hf_config_columns,
    is_hf_config,
)
from pipeline.architecture.transformer import Transformer
from pipeline.errors import InputFileError
from schemas.systems import ARCHITECTURE_COLUMNS, CANONICAL_COLUMNS
from tests.conftest import TEST_DATA

CONFIGS = TEST_DATA / "hf_configs"
SHAPE_TYPES = {
    c: pl.Boolean if kind == "flag" else pl.Float64
    for c, kind in ARCHITECTURE_COLUMNS.items()
    if kind != "text"
}
TYPES = {c: SHAPE_TYPES[c] for c in CONFIG_COLUMNS}
NEW_COLUMNS = ("d_head", "d_ff_expert", "n_dense_layers", "q_lora_rank", "kv_lora_rank",
               "d_rope_head", "d_value_head", "n_decoder_layers")  # fmt: skip


def shape_frame(cells: dict, columns=TYPES) -> pl.DataFrame:
    """One row of the given transformer columns (blank where not given), as `Transformer()`
    reads a sheet's."""
    return pl.DataFrame([{c: cells.get(c) for c in columns}], schema=columns)


def columns(name: str) -> dict:
    path = CONFIGS / f"{name}.json"
    return hf_config_columns(json.loads(path.read_text()), path)


def count(name: str, seq_len: int = 2048, context: str = "causal") -> dict:
    """Parameters and forward FLOP per token of a shipped config, by `Transformer`."""
    row = columns(name)
    frame = shape_frame({**row, "seq_len": seq_len}, SHAPE_TYPES)
    model = Transformer(context=context)
    counts = {
        "described": model.described(),
        "problem": model.problem(),
        "forward": model.forward_flop_per_token(),
        **model.forward_flop_parts(),
        **model.parameters(),
    }
    result = frame.select(**counts).row(0, named=True)
    # Input embedding: a look-up, which some labs leave out of the active count.
    return {**result, "input_embedding": row["vocab_size"] * row["d_model"]}


# (config, published total parameters, source). Within 1% unless the test says otherwise.
PUBLISHED_TOTALS = [
    ("llama-2-7b", 6.74e9, "Touvron et al. (2023b); the checkpoint's 6,738,415,616"),
    ("llama-3-8b", 8.03e9, "Meta Llama 3 model card, 8.03B"),
    ("mistral-7b", 7.3e9, "Jiang et al. (2023): 7.3B"),
    ("mixtral-8x7b", 46.7e9, "Jiang et al. (2024): 46.7B"),
    ("qwen2.5-7b", 7.61e9, "Qwen2.5 report: 7.61B"),
    ("qwen3-8b", 8.2e9, "Qwen3 report: 8.2B"),
    ("qwen3-30b-a3b", 30.5e9, "Qwen3 report: 30.5B"),
    ("qwen1.5-moe-a2.7b", 14.3e9, "Qwen1.5-MoE model card: 14.3B"),
    ("phi-3-mini", 3.8e9, "Abdin et al. (2024): 3.8B"),
    ("gemma-7b", 8.54e9, "Gemma report, Table 2: 786.8M embedding + 7,751.2M non-embedding"),
    ("gemma-2-9b", 9.24e9, "Gemma 2 report, Table 1: 918.0M + 8,324.2M"),
    ("gemma-3-4b", 3.88e9, "Gemma 3 report, Table 1: 675M embedding + 3,209M non-embedding"),
    ("gemma-3-27b", 27.0e9, "Gemma 3 report, Table 1: 1,416M + 25,600M"),
    ("deepseek-v2", 236e9, "DeepSeek-AI (2024): 236B"),
    ("deepseek-v2-lite", 15.7e9, "DeepSeek-V2-Lite model card: 15.7B"),
    ("deepseek-v3", 671e9, "DeepSeek-AI (2024): 671B (the main model, without its MTP module)"),
    ("gpt-oss-120b", 116.83e9, "gpt-oss model card: 116.83B"),
    ("gpt-oss-20b", 20.91e9, "gpt-oss model card: 20.91B"),
    ("gpt2", 124e6, "the checkpoint's 124,439,808 (learned positions, biases: 0.7%)"),
    ("gpt-j-6b", 6.05e9, "EleutherAI GPT-J-6B model card: 6,053,381,344"),
    ("gpt-neox-20b", 20.55e9, "Black et al. (2022): 20,554,567,680"),
    ("falcon-7b", 6.92e9, "the checkpoint's 6.92B"),
    ("bloom", 176.25e9, "BigScience (2022): 176,247,271,424"),
    ("bloom-560m", 559e6, "the checkpoint's 559,214,592"),
    ("opt-1.3b", 1.3e9, "Zhang et al. (2022), Table 1: 1.3B"),
    ("t5-base", 222.9e6, "the checkpoint's 222,903,552 (Raffel et al. round it to 220M)"),
    ("flan-t5-base", 247.6e6, "the checkpoint's 247,577,856"),
]


@pytest.mark.parametrize("name,published,source", PUBLISHED_TOTALS)
def test_total_parameters_match_the_published_count(name, published, source):
    counted = count(name)
    assert counted["described"] and counted["problem"] is None
    assert counted["total"] == pytest.approx(published, rel=0.01), source


def test_bert_base_within_the_pooler_and_positions_it_does_not_count():
    # Devlin et al. (2019): 110M. The pooler (0.59M), learned positions and token types (0.39M)
    # and biases are not transformer matrices and are not counted: 108.4M, 1.5% under.
    assert count("bert-base-uncased")["total"] == pytest.approx(110e6, rel=0.02)


def test_active_parameters_of_mixtures_of_experts():
    # Mistral and Qwen count the embeddings in the active parameters, as Transformer does.
    assert count("mixtral-8x7b")["active"] == pytest.approx(12.9e9, rel=0.01)
    assert count("qwen1.5-moe-a2.7b")["active"] == pytest.approx(2.7e9, rel=0.01)
    # Qwen3 report: 3.3B activated; the count is 3.35B (the report rounds down).
    assert count("qwen3-30b-a3b")["active"] == pytest.approx(3.3e9, rel=0.02)


@pytest.mark.parametrize(
    "name,published",
    [
        # DeepSeek-V3 README_WEIGHTS: "Activation parameters: 36.6B (including 0.9B for the
        # output Head)", published rounded as 37B; DeepSeek-V2: 21B activated.
        ("deepseek-v3", 36.6e9),
        ("deepseek-v2", 21e9),
        # gpt-oss model card: 5.13B and 3.61B active (unembedding counted, embedding not).
        ("gpt-oss-120b", 5.13e9),
        ("gpt-oss-20b", 3.61e9),
    ],
)
def test_active_parameters_counted_without_the_input_embedding(name, published):
    counted = count(name)
    assert counted["active"] - counted["input_embedding"] == pytest.approx(published, rel=0.01)
    if name == "deepseek-v3":
        assert counted["active"] - counted["input_embedding"] == pytest.approx(37e9, rel=0.011)


def test_gemma_3_non_embedding_parameters_match_table_1():
    # Gemma 3 report, Table 1 (text model; the 417M vision encoder is not counted).
    assert count("gemma-3-4b")["non_embedding"] == pytest.approx(3209e6, rel=0.001)
    assert count("gemma-3-27b")["non_embedding"] == pytest.approx(25600e6, rel=0.001)


def test_latent_attention_weights_and_flop_by_hand():
    # DeepSeek-V3, one layer: q_a 7168x1536, q_b 1536x(128x192), kv_a 7168x(512+64),
    # kv_b 512x(128x(128+128)), output (128x128)x7168.
    per_layer = 7168 * 1536 + 1536 * 128 * 192 + 7168 * 576 + 512 * 128 * 256 + 128 * 128 * 7168
    counted = count("deepseek-v3", seq_len=4096, context="full")
    assert counted["attention"] == 2 * 61 * per_layer
    # QK^T over 192-wide heads and attention x V over 128-wide ones, full context.
    assert counted["context"] == 61 * 2 * 4096 * 128 * (192 + 128)
    dense, expert = 3 * 7168 * 18432, 3 * 7168 * 2048
    assert counted["mlp"] == 2 * (3 * dense + 58 * 9 * expert)
    assert counted["router"] == 2 * 58 * 7168 * 256


def test_an_encoder_decoder_counts_both_stacks_and_cross_attention():
    counted = count("t5-base", seq_len=512)
    attention, mlp = 4 * 768 * 768, 2 * 768 * 3072
    assert counted["non_embedding"] == 12 * (attention + mlp) + 12 * (2 * attention + mlp)
    assert counted["embedding"] == 32128 * 768  # shared input embedding, tied output
    # One token through each stack: encoder self-attention (full), decoder self-attention
    # (causal, halved) and cross-attention over the whole input.
    assert counted["attention"] == 2 * (12 + 2 * 12) * attention
    assert counted["context"] == 12 * 4 * 512 * 768 + 12 * (2 * 512 * 768 + 4 * 512 * 768)
    assert counted["mlp"] == 2 * 24 * mlp


def test_forward_flop_is_close_to_twice_the_active_parameters():
    # Untied models: the active parameters less the input embedding are the matrices a token
    # passes through; the context adds a little at this length.
    for name in ("llama-3-8b", "mixtral-8x7b", "deepseek-v3", "gpt-oss-120b", "flan-t5-base"):
        counted = count(name, seq_len=512)
        ratio = counted["forward"] / (2 * (counted["active"] - counted["input_embedding"]))
        assert 1.0 <= ratio < 1.15, name


# -- what each family decides --------------------------------------------------------------


@pytest.mark.parametrize(
    "name,expected",
    [
        ("llama-3-8b", {"gated_mlp": True, "n_kv_heads": 8, "tied_embeddings": False}),
        ("gpt2", {"gated_mlp": False, "d_ff": 3072, "tied_embeddings": True, "n_heads": 12}),
        ("gpt-j-6b", {"gated_mlp": False, "d_ff": 16384, "tied_embeddings": False}),
        ("falcon-7b", {"n_kv_heads": 1, "d_ff": 4 * 4544, "tied_embeddings": True}),
        ("gemma-7b", {"d_head": 256, "gated_mlp": True, "tied_embeddings": True}),
        ("gemma-3-4b", {"n_heads": 8, "n_kv_heads": 4, "d_head": 256, "vocab_size": 262_208}),
        ("qwen3-30b-a3b", {"n_experts": 128, "d_ff_expert": 768, "shared_experts": 0}),
        ("qwen1.5-moe-a2.7b", {"shared_experts": 4, "d_ff_expert": 1408, "n_dense_layers": 0}),
        ("deepseek-v2-lite", {"q_lora_rank": None, "kv_lora_rank": 512, "d_head": 192}),
        ("deepseek-v3", {"n_dense_layers": 3, "d_ff": 18432, "d_value_head": 128}),
        ("t5-base", {"n_layers": 12, "n_decoder_layers": 12, "d_head": 64, "gated_mlp": False}),
        ("flan-t5-base", {"gated_mlp": True, "tied_embeddings": False}),
        ("bert-base-uncased", {"causal": False, "tied_embeddings": True}),
        ("bloom-560m", {"d_model": 1024, "n_heads": 16, "d_ff": 4096}),
    ],
)
def test_the_model_type_decides_the_shape(name, expected):
    row = columns(name)
    assert set(row) == set(CONFIG_COLUMNS)
    assert {key: row[key] for key in expected} == expected


def test_every_model_type_of_the_brief_is_supported_and_keys_map_to_canonical_columns():
    assert set(SUPPORTED_MODEL_TYPES) >= {
        "llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "gemma",
        "gemma2", "gemma3", "phi3", "gpt2", "gpt_neox", "gptj", "falcon", "bloom", "opt", "t5",
        "bert", "deepseek_v2", "deepseek_v3", "gpt_oss",
    }  # fmt: skip
    assert set(CONFIG_KEY_COLUMNS.values()) <= set(CANONICAL_COLUMNS)
    assert CONFIG_KEY_COLUMNS["hidden_size"] == "d_model"
    assert CONFIG_KEY_COLUMNS["n_layer"] == "n_layers"
    assert CONFIG_KEY_COLUMNS["tie_word_embeddings"] == "tied_embeddings"


def test_a_config_is_told_from_a_layer_list():
    assert is_hf_config({"model_type": "llama"}) and is_hf_config({"architectures": ["X"]})
    assert not is_hf_config({"model_type": "llama", "layers": []})
    assert not is_hf_config({"input": [4], "layers": []}) and not is_hf_config([])


# -- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change,message",
    [
        ({"model_type": "mamba"}, "field 'model_type' is \"mamba\": not a supported Hugging Face "
         "model type; expected one of llama, mistral"),
        ({"hidden_size": None}, "field 'hidden_size' is missing; expected a positive whole number "
         "(model_type llama)"),
        ({"num_key_value_heads": 0}, "field 'num_key_value_heads' is 0; expected a positive whole"),
        ({"num_hidden_layers": "32"}, "field 'num_hidden_layers' is \"32\"; expected a positive"),
        ({"tie_word_embeddings": "no"}, "field 'tie_word_embeddings' is \"no\"; expected true or"),
    ],
)  # fmt: skip
def test_a_bad_config_gives_one_line_naming_file_field_value_and_expectation(change, message):
    path = CONFIGS / "llama-3-8b.json"
    document = {**json.loads(path.read_text()), **change}
    with pytest.raises(ArchitectureFileError) as caught:
        hf_config_columns({k: v for k, v in document.items() if v is not None}, path)
    error = caught.value
    assert isinstance(error, InputFileError)
    assert str(error).startswith(f"{path}: {message}")
    assert "\n" not in str(error)


@pytest.mark.parametrize(
    "name,change,message",
    [
        ("gemma-3-4b", {"text_config": {"model_type": "gemma3_text"}},
         "field 'text_config.num_hidden_layers' is missing"),
        ("qwen3-30b-a3b", {"mlp_only_layers": [3, 7]}, "field 'mlp_only_layers' is [3, 7]"),
        ("qwen1.5-moe-a2.7b", {"shared_expert_intermediate_size": 5000},
         "expected a multiple of the expert width 1408"),
        ("opt-1.3b", {"word_embed_proj_dim": 512}, "field 'word_embed_proj_dim' is 512"),
        ("t5-base", {"feed_forward_proj": "gated-gelu-new"},
         "field 'feed_forward_proj' is \"gated-gelu-new\""),
    ],
)  # fmt: skip
def test_what_the_columns_cannot_describe_is_an_error(name, change, message):
    path = CONFIGS / f"{name}.json"
    with pytest.raises(ArchitectureFileError, match="^" + str(path)) as caught:
        hf_config_columns({**json.loads(path.read_text()), **change}, path)
    assert message in str(caught.value)


def test_a_config_is_not_counted_as_a_layer_list():
    with pytest.raises(ArchitectureFileError, match="is a Hugging Face config.json"):
        count_architecture_cell("llama-2-7b", [CONFIGS])
    frame = layer_list_frame(["llama-2-7b", '{"model_type": "nope"}'], [CONFIGS], errors="record")
    assert frame["architecture_parameters"].to_list() == [None, None]
    assert frame["architecture_config"].struct.field("d_ff").to_list() == [11008, None]
    assert frame["architecture_error"][1].startswith(
        "inline architecture: field 'model_type' is \"nope\""
    )


# -- through the pipeline -------------------------------------------------------------------


def test_a_sheet_row_naming_a_config_is_counted_from_it(tmp_path):
    (tmp_path / "llama.json").write_text((CONFIGS / "llama-2-7b.json").read_text())
    inline = json.dumps(json.loads((CONFIGS / "mixtral-8x7b.json").read_text()))
    sheet = tmp_path / "systems.csv"
    pl.DataFrame({
        "system": ["Llama 2 7B", "Llama 2 7B, vocabulary of the sheet", "Mixtral 8x7B"],
        "architecture_file": ["llama.json", "llama", inline],
        "vocab_size": [None, "64000", None],
        "seq_len": ["4096", "4096", "32768"],
        "dataset_size": ["2e12", "2e12", "1e12"],
        "dataset_unit": ["tokens"] * 3,
        "domain": ["language"] * 3,
    }).write_csv(sheet)  # fmt: skip
    systems, rejects = pipeline.read_sheets([sheet])
    assert rejects.height == 0
    rows = {row["system"]: row for row in systems.to_dicts()}
    assert rows["Llama 2 7B"]["d_ff"] == 11008 and rows["Llama 2 7B"]["gated_mlp"] is True
    assert rows["Llama 2 7B, vocabulary of the sheet"]["vocab_size"] == 64000  # the sheet wins
    assert rows["Mixtral 8x7B"]["n_experts"] == 8

    estimates = pipeline.estimate_systems(systems)
    counted = {row["system"]: row for row in estimates.to_dicts()}
    llama = counted["Llama 2 7B"]
    assert llama["ops_rule"] == "architecture"
    forward = count("llama-2-7b", seq_len=4096)["forward"]
    assert llama["ops_flop"] == pytest.approx(3 * forward * 2e12, rel=1e-9)
    assert "architecture: 6.7e9 params" in llama["notes"]
    assert counted["Mixtral 8x7B"]["ops_rule"] == "architecture"
    assert "(1.3e10 active)" in counted["Mixtral 8x7B"]["notes"]


def test_a_bad_config_or_one_outside_the_sheet_folder_rejects_its_row(tmp_path):
    folder = tmp_path / "sheets"
    folder.mkdir()
    (tmp_path / "outside.json").write_text((CONFIGS / "gpt2.json").read_text())
    (folder / "broken.json").write_text('{"model_type": "llama", "hidden_size": 4096}')
    sheet = folder / "systems.csv"
    sheet.write_text(
        "system,architecture_file,seq_len\nA,broken,1024\nB,../outside.json,1024\nC,,1024\n"
    )
    systems, rejects = pipeline.read_sheets([sheet])
    assert systems["system"].to_list() == ["C"]
    reasons = dict(zip(rejects["system"], rejects["reason"], strict=True))
    assert reasons["A"].endswith(
        "broken.json: field 'num_attention_heads' is missing; expected a positive whole number "
        "(model_type llama)"
    )
    assert "no absolute path, no '..'" in reasons["B"]


def test_rows_without_the_new_columns_count_as_in_a_frame_without_them():
    shape = {
        "n_layers": 32.0, "d_model": 4096.0, "n_heads": 32.0, "n_kv_heads": 8.0,
        "vocab_size": 32000.0, "seq_len": 4096.0, "gated_mlp": True, "n_experts": 8.0,
        "experts_per_token": 2.0,
    }  # fmt: skip
    padded = shape_frame(shape, SHAPE_TYPES)
    bare = padded.drop(NEW_COLUMNS)
    model = Transformer()
    counts = {
        "forward": model.forward_flop_per_token(),
        "total": model.parameters()["total"],
        "note": model.note(),
    }
    assert bare.select(**counts).row(0) == padded.select(**counts).row(0)


@pytest.mark.parametrize(
    "change,problem",
    [
        ({"n_dense_layers": 2.0, "n_experts": None}, "n_dense_layers or d_ff_expert without"),
        ({"n_dense_layers": 40.0}, "n_dense_layers must be below n_layers"),
        ({"d_value_head": 128.0}, "d_value_head need kv_lora_rank"),
        ({"kv_lora_rank": 512.0, "d_rope_head": 200.0}, "d_rope_head must be below d_head"),
        ({"n_decoder_layers": 4.0, "n_dense_layers": 1.0}, "n_decoder_layers cannot be combined"),
    ],
)
def test_contradictions_of_the_new_columns_are_problems(change, problem):
    shape = {
        "n_layers": 32.0, "d_model": 4096.0, "n_heads": 32.0, "vocab_size": 32000.0,
        "seq_len": 4096.0, "n_experts": 8.0, "experts_per_token": 2.0, **change,
    }  # fmt: skip
    frame = shape_frame(shape, SHAPE_TYPES)
    model = Transformer()
    described, found = frame.select(d=model.described(), p=model.problem()).row(0)
    assert described is False and problem in found

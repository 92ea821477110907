"""Each rule of each method, on one-row frames."""

import pytest

from pipeline.estimate.annotate import finish_annotations, start_annotations
from pipeline.estimate.chain import estimate
from pipeline.estimate.hardware_time import hardware_method
from pipeline.estimate.ops import ops_method
from pipeline.settings import DEFAULT_SETTINGS, Settings
from tests.conftest import systems_frame


def ops_row(settings=DEFAULT_SETTINGS, **cells):
    frame = start_annotations(systems_frame([{"system": "s", **cells}]).lazy())
    return finish_annotations(ops_method(frame, settings)).collect().row(0, named=True)


def hardware_row(tiny_hardware, settings=DEFAULT_SETTINGS, **cells):
    frame = start_annotations(systems_frame([{"system": "s", **cells}]).lazy())
    frame = hardware_method(frame, tiny_hardware, settings)
    return finish_annotations(frame).collect().row(0, named=True)


# Method 1 ---------------------------------------------------------------------------------


def test_forward_flop_rule():
    row = ops_row(forward_flop_per_example="1e9", dataset_size="1e6", epochs="10")
    assert row["ops_rule"] == "forward_flop"
    assert row["ops_flop"] == pytest.approx(3 * 1e9 * 1e6 * 10)
    assert row["notes"].startswith("3 x 1.0e9 FLOP per forward pass x 1.0e6 examples x 10 epochs")
    assert row["flags"] == []


def test_forward_flop_wins_over_connections_and_parameters():
    row = ops_row(
        forward_flop_per_example="1e9", connections="1e6", parameters="1e6",
        dataset_size="1e6", dataset_unit="tokens", epochs="1",
    )  # fmt: skip
    assert row["ops_rule"] == "forward_flop"


def test_connections_rule():
    row = ops_row(connections="6e7", dataset_size="1.2e6", dataset_unit="images", epochs="90")
    assert row["ops_rule"] == "connections"
    assert row["ops_flop"] == pytest.approx(2 * 6e7 * 3 * 1.2e6 * 90)


def test_6nd_with_tokens():
    row = ops_row(parameters="70B", dataset_size="1.4T", dataset_unit="tokens", epochs="1")
    assert row["ops_rule"] == "6ND"
    assert row["ops_flop"] == pytest.approx(6 * 70e9 * 1.4e12)
    assert row["notes"].startswith("6 x 7.0e10 params x 1.4e12 tokens x 1 epoch = 5.9e23 FLOP")


def test_6nd_uses_active_parameters_of_mixture_of_experts():
    row = ops_row(
        parameters="671B", active_parameters="37B", dataset_size="14.8T", dataset_unit="tokens",
        epochs="1",
    )  # fmt: skip
    assert row["ops_flop"] == pytest.approx(6 * 37e9 * 14.8e12)
    assert "active params" in row["notes"]


def test_a_mixture_of_experts_without_its_active_count_assumes_a_share():
    settings = DEFAULT_SETTINGS
    moe = ops_row(parameters="1e12", dataset_size="1e13", dataset_unit="tokens", epochs="1",
                  mixture_of_experts="yes")  # fmt: skip
    assert moe["ops_flop"] == pytest.approx(6 * 1e12 * settings.moe_active_share * 1e13)
    assert "active_parameters_assumed" in moe["flags"]
    assert "active params" in moe["notes"]
    counted = ops_row(parameters="1e12", active_parameters="5e10", dataset_size="1e13",
                      dataset_unit="tokens", epochs="1", mixture_of_experts="yes")  # fmt: skip
    assert counted["ops_flop"] == pytest.approx(6 * 5e10 * 1e13)
    assert "active_parameters_assumed" not in counted["flags"]
    # the assumed share widens the method's spread beyond a reported count's
    assert moe["_ops_sigma"] > 2 * counted["_ops_sigma"]


@pytest.mark.parametrize("domain", ["speech", "vision", "games", "robotics"])
def test_words_are_not_tokens_for_models_that_read_audio_or_pixels(domain):
    row = ops_row(domain=domain, parameters="1e8", dataset_size="8e8", dataset_unit="words")
    assert row["ops_flop"] is None
    assert "parameters_not_connections" in row["flags"]


def test_words_convert_to_tokens():
    row = ops_row(parameters="1e9", dataset_size="3e9", dataset_unit="words", epochs="1")
    assert row["ops_flop"] == pytest.approx(6 * 1e9 * 3e9 * 4 / 3)
    assert "words_converted_to_tokens" in row["flags"]
    assert "tokens per word" in row["notes"]


def test_blank_unit_of_language_model_is_assumed_tokens():
    row = ops_row(domain="language", parameters="1e9", dataset_size="2e10", epochs="1")
    assert row["ops_rule"] == "6ND"
    assert "tokens_assumed" in row["flags"]


def test_parameters_are_not_connections_for_images():
    row = ops_row(domain="vision", parameters="25M", dataset_size="1.28M", dataset_unit="images")
    assert row["ops_rule"] is None
    assert row["ops_flop"] is None
    assert "parameters_not_connections" in row["flags"]


def test_blank_unit_outside_language_is_not_assumed_tokens():
    row = ops_row(domain="vision", parameters="25M", dataset_size="1.28M")
    assert row["ops_flop"] is None


def test_epochs_blank_assume_one_and_flag():
    row = ops_row(forward_flop_per_example="1e9", dataset_size="1e6")
    assert row["ops_flop"] == pytest.approx(3e15)
    assert row["epochs_used"] == 1
    assert "epochs_assumed" in row["flags"]


def test_epochs_multiply_tokens():
    row = ops_row(parameters="1e9", dataset_size="1e10", dataset_unit="tokens", epochs="4")
    assert row["training_tokens"] == pytest.approx(4e10)
    assert row["ops_flop"] == pytest.approx(6 * 1e9 * 4e10)


def test_backward_forward_ratio_is_a_setting():
    row = ops_row(
        Settings(backward_forward_ratio=1.0), forward_flop_per_example="1e9", dataset_size="1e6",
        epochs="1",
    )  # fmt: skip
    assert row["ops_flop"] == pytest.approx(2e15)
    assert row["notes"].startswith("2 x 1.0e9")


def test_no_dataset_no_ops():
    row = ops_row(parameters="1e9")
    assert row["ops_flop"] is None


# Method 2 ---------------------------------------------------------------------------------


def test_hardware_time_with_reported_everything(tiny_hardware):
    row = hardware_row(
        tiny_hardware, hardware="A100", hardware_quantity="8", training_time_hours="3 days",
        precision="bf16", utilization="40%",
    )  # fmt: skip
    assert row["hardware_matched"] == "NVIDIA A100 SXM4 80 GB"
    assert row["hardware_flop"] == pytest.approx(8 * 72 * 3600 * 312e12 * 0.4)
    assert row["precision_used"] == "fp16/bf16 tensor"
    assert row["utilization_source"] == "reported"
    assert row["flags"] == []


def test_chip_hours_replace_quantity_times_time(tiny_hardware):
    row = hardware_row(
        tiny_hardware, hardware="V100", chip_hours="1e5", precision="fp16", utilization="0.3"
    )
    assert row["hardware_flop"] == pytest.approx(1e5 * 3600 * 125e12 * 0.3)


@pytest.mark.parametrize(
    ("precision", "peak", "label"),
    [
        # frameworks run fp32 matrix products on Ampere tensor cores as tf32 by default
        ("fp32", 156e12, "tf32 tensor (fp32 by framework default)"),
        ("tf32", 156e12, "tf32"),
        ("fp16", 312e12, "fp16/bf16 tensor"),
        ("int8", 624e12, "int8"),
        ("fp64", 9.7e12, "fp64"),
    ],
)
def test_peak_follows_precision(tiny_hardware, precision, peak, label):
    row = hardware_row(
        tiny_hardware, hardware="A100", hardware_quantity="1", training_time_hours="1",
        precision=precision, utilization="1",
    )  # fmt: skip
    assert row["peak_flop_per_second_used"] == pytest.approx(peak)
    assert row["precision_used"] == label


@pytest.mark.parametrize(
    ("chip", "peak", "label"),
    [
        ("V100", 15.7e12, "fp32"),  # no tf32 on Volta: fp32 runs on the CUDA cores
        ("TPU v3", 123e12, "bf16 matrix units (fp32 on a TPU)"),  # not the 4e12 vector peak
        ("GTX 580", 1.58e12, "fp32"),
        ("MI300X", 163.4e12, "fp32"),  # AMD's frameworks keep fp32 as fp32 (no tf32 default)
    ],
)
def test_fp32_peak_is_what_the_chip_runs_fp32_matrix_products_at(tiny_hardware, chip, peak, label):
    row = hardware_row(
        tiny_hardware, hardware=chip, hardware_quantity="1", training_time_hours="1",
        precision="fp32", utilization="1",
    )  # fmt: skip
    assert row["peak_flop_per_second_used"] == pytest.approx(peak)
    assert row["precision_used"] == label
    assert "precision_not_supported" not in row["flags"]


def test_precision_blank_uses_tensor_peak_and_flags(tiny_hardware):
    row = hardware_row(
        tiny_hardware, hardware="V100", hardware_quantity="1", training_time_hours="1"
    )
    assert row["peak_flop_per_second_used"] == pytest.approx(125e12)
    assert "precision_assumed" in row["flags"]


def test_precision_blank_without_tensor_cores_uses_fp32(tiny_hardware):
    row = hardware_row(
        tiny_hardware, hardware="GTX 580", hardware_quantity="2", training_time_hours="1"
    )
    assert row["peak_flop_per_second_used"] == pytest.approx(1.58e12)
    assert row["precision_used"] == "fp32"


def test_unsupported_precision_falls_back_and_flags(tiny_hardware):
    row = hardware_row(
        tiny_hardware, hardware="V100", hardware_quantity="1", training_time_hours="1",
        precision="tf32",
    )  # fmt: skip
    assert row["peak_flop_per_second_used"] == pytest.approx(15.7e12)
    assert "precision_not_supported" in row["flags"]


def test_a_chip_without_a_peak_for_the_precision_says_so(shipped_hardware):
    row = hardware_row(shipped_hardware, hardware="TPU v1", chip_hours="10", precision="fp32")
    assert row["hardware_flop"] is None
    assert "no_peak_for_precision" in row["flags"]
    assert "Google TPU v1 has no fp32 peak in the hardware table" in row["notes"]
    with_peak = hardware_row(
        shipped_hardware, hardware="TPU v1", chip_hours="10", precision="fp32",
        peak_flop_per_second="1e13",
    )  # fmt: skip
    assert with_peak["hardware_flop"] > 0 and "no_peak_for_precision" not in with_peak["flags"]


def test_paper_peak_overrides_table(tiny_hardware):
    row = hardware_row(
        tiny_hardware, hardware="A100", hardware_quantity="1", training_time_hours="1",
        peak_flop_per_second="1e14", utilization="0.5",
    )  # fmt: skip
    assert row["hardware_flop"] == pytest.approx(3600 * 1e14 * 0.5)
    assert "precision_assumed" not in row["flags"]


@pytest.mark.parametrize(
    ("domain", "utilization"), [("language", 0.30), ("vision", 0.40), (None, 0.40)]
)
def test_default_utilization_by_domain(tiny_hardware, domain, utilization):
    row = hardware_row(
        tiny_hardware, domain=domain, hardware="A100", hardware_quantity="1",
        training_time_hours="1",
    )  # fmt: skip
    assert row["utilization_used"] == utilization
    assert "utilization_assumed" in row["flags"]


def test_several_chips_in_one_cell_no_method_2(tiny_hardware):
    row = hardware_row(
        tiny_hardware, hardware="V100, A100", hardware_quantity="8", training_time_hours="10"
    )
    assert row["hardware_flop"] is None
    assert "multiple_hardware" in row["flags"]


def test_unknown_chip_no_method_2(tiny_hardware):
    row = hardware_row(
        tiny_hardware,
        hardware="Quantum Abacus 9000",
        hardware_quantity="8",
        training_time_hours="10",
    )
    assert row["hardware_flop"] is None
    assert "unknown_hardware" in row["flags"]


@pytest.mark.parametrize(
    ("name", "matched"),
    [
        ("A100", "NVIDIA A100 SXM4 80 GB"),
        ("NVIDIA A100 SXM4 80 GB", "NVIDIA A100 SXM4 80 GB"),
        ("nvidia a100-sxm4-40gb", "NVIDIA A100 SXM4 40 GB"),
        ("A100 40GB", "NVIDIA A100 SXM4 40 GB"),
        ("A100 80GB", "NVIDIA A100 SXM4 80 GB"),
        ("Tesla V100-SXM2-16GB", "NVIDIA V100 SXM2"),
        ("TPUv3", "Google TPU v3"),
        ("Google TPU v3", "Google TPU v3"),
        ("NVIDIA GeForce GTX 580", "NVIDIA GeForce GTX 580"),
    ],
)
def test_hardware_names_resolve(tiny_hardware, name, matched):
    row = hardware_row(tiny_hardware, hardware=name)
    assert row["hardware_matched"] == matched


def test_whole_estimate_keeps_unknown_columns(tiny_hardware):
    systems = systems_frame([{"system": "s", "my_note": "keep me", "parameters": "1e9"}])
    out = estimate(systems, tiny_hardware)
    assert out["my_note"].to_list() == ["keep me"]


def test_one_epoch_over_far_too_few_tokens_is_no_6nd_estimate():
    # 7.7e4 tokens for 1.3e10 parameters: a fine-tune or many unreported epochs, not a run
    row = ops_row(parameters="1.3e10", dataset_size="7.7e4", dataset_unit="tokens")
    assert row["ops_flop"] is None
    assert "epochs_needed" in row["flags"]
    assert "too few to train" in row["notes"]


def test_few_tokens_per_parameter_still_counts_when_epochs_are_reported():
    row = ops_row(parameters="1.3e10", dataset_size="7.7e4", dataset_unit="tokens", epochs="3")
    assert row["ops_flop"] == pytest.approx(6 * 1.3e10 * 7.7e4 * 3)
    assert "epochs_needed" not in row["flags"]


def test_half_a_token_per_parameter_is_a_real_run():
    # Megatron-Turing NLG: 530B parameters, 270B tokens, one pass
    row = ops_row(parameters="5.3e11", dataset_size="2.7e11", dataset_unit="tokens")
    assert row["ops_flop"] == pytest.approx(6 * 5.3e11 * 2.7e11)


# Architecture ------------------------------------------------------------------------------

GPT3_SHAPE = {"n_layers": "96", "d_model": "12288", "n_heads": "96", "vocab_size": "50257",
              "seq_len": "2048"}  # fmt: skip


def test_a_described_transformer_is_counted_ahead_of_6nd():
    row = ops_row(
        parameters="175B", dataset_size="300B", dataset_unit="tokens", epochs="1", **GPT3_SHAPE
    )
    assert row["ops_rule"] == "architecture"
    # within a few percent of 6ND for a large dense model: the context term is small
    assert row["ops_flop"] == pytest.approx(6 * 175e9 * 300e9, rel=0.03)
    assert "forward FLOP/token = attention" in row["notes"]
    assert "context" in row["notes"] and "logits" in row["notes"]


def test_an_architecture_without_a_parameter_count_still_counts():
    row = ops_row(dataset_size="300B", dataset_unit="tokens", epochs="1", **GPT3_SHAPE)
    assert row["ops_rule"] == "architecture"
    assert row["training_tokens"] == pytest.approx(300e9)


def test_a_layer_list_counts_examples_times_epochs():
    row = ops_row(
        architecture_file="resnet50", dataset_size="1.28M", dataset_unit="images", epochs="90"
    )
    assert row["ops_rule"] == "architecture"
    assert row["ops_flop"] == pytest.approx(3 * 2 * 4_089_184_256 * 1.28e6 * 90)
    assert "conv2d" in row["notes"] and "layer list 'resnet50'" in row["notes"]


def test_a_reported_forward_cost_still_comes_first():
    row = ops_row(
        forward_flop_per_example="7.6e9", architecture_file="resnet50", dataset_size="1.28M",
        epochs="90",
    )  # fmt: skip
    assert row["ops_rule"] == "forward_flop"


def test_a_missing_layer_list_quarantines_only_its_row():
    from pipeline.read.validate import validate
    from tests.conftest import raw_frame

    systems, rejects = validate(
        raw_frame([{"system": "a", "architecture_file": "no_such_net"}, {"system": "b"}])
    )
    assert systems["system"].to_list() == ["b"]
    problem = rejects.row(0, named=True)
    assert problem["column_name"] == "architecture_file" and problem["value"] == "no_such_net"
    assert "architecture file not found" in problem["reason"]


@pytest.mark.parametrize(
    ("cells", "column"),
    [
        ({"n_heads": "8", "n_kv_heads": "16"}, "n_kv_heads"),
        ({"n_experts": "8"}, "experts_per_token"),
        ({"n_experts": "8", "experts_per_token": "9"}, "experts_per_token"),
        ({"gated_mlp": "perhaps"}, "gated_mlp"),
    ],
)
def test_a_contradictory_architecture_is_rejected_with_its_column(cells, column):
    from pipeline.read.validate import validate
    from tests.conftest import raw_frame

    _, rejects = validate(raw_frame([{"system": "a", **cells}]))
    assert column in rejects["column_name"].to_list()


@pytest.mark.parametrize(
    ("cell", "problem"),
    [
        ('{"input": [4], "layers": [{"type": "dense", "out_features": 1e300},'
         ' {"type": "dense", "out_features": 1e300}]}', "cannot be counted"),
        ('{"input": [4], "layers": [{"type": "repeat", "times": 100000000,'
         ' "layers": [{"type": "dense", "out_features": 4}]}]}', "at most 10,000"),
        # three nested repeats of 10,000 unroll to 1e12 layers: refused, not walked for weeks
        ('{"input": [10], "layers": [{"type": "repeat", "times": 10000, "layers": [{"type":'
         ' "repeat", "times": 10000, "layers": [{"type": "repeat", "times": 10000, "layers":'
         ' [{"type": "dense", "out_features": 10}]}]}]}]}', "more than 100,000 layers"),
    ],
)  # fmt: skip
def test_a_layer_list_past_any_real_network_quarantines_its_row(cell, problem):
    from pipeline.read.validate import validate
    from tests.conftest import raw_frame

    systems, rejects = validate(
        raw_frame([{"system": "a", "architecture_file": cell}, {"system": "b"}])
    )
    assert systems["system"].to_list() == ["b"]
    assert problem in rejects["reason"][0]


def test_a_layer_list_name_does_not_depend_on_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / "alexnet.json").write_text(
        '{"input": [4], "layers": [{"type": "dense", "out_features": 1}]}'
    )
    monkeypatch.chdir(tmp_path)
    row = ops_row(architecture_file="alexnet", dataset_size="1", epochs="1")
    assert row["ops_flop"] > 1e9  # the shipped AlexNet, not the file in the working directory


def test_a_shape_given_in_part_is_flagged_and_6nd_used():
    row = ops_row(
        parameters="1e9", dataset_size="1e10", dataset_unit="tokens", epochs="1",
        n_layers="24", d_model="2048",
    )  # fmt: skip
    assert row["ops_rule"] == "6ND"
    assert "architecture_incomplete" in row["flags"]
    assert "not counted" in row["notes"]


GPT3_TRAINING = {**GPT3_SHAPE, "dataset_size": "3e11", "dataset_unit": "tokens", "epochs": "1"}


@pytest.mark.parametrize(
    ("parameters", "extra", "flagged"),
    [
        ("175e9", {}, False),
        ("17.5e9", {}, True),
        # published counts match a config's within a few percent: 1.3x off is one of them wrong
        ("230e9", {}, True),
        ("190e9", {}, False),
        (None, {}, False),
        # another rule came first: the shape was not counted, so nothing to say of it
        ("17.5e9", {"forward_flop_per_example": "3.5e11"}, False),
    ],
)
def test_parameters_far_from_the_shape_are_flagged(parameters, extra, flagged):
    row = ops_row(parameters=parameters, **GPT3_TRAINING, **extra)
    assert row["ops_rule"] == ("forward_flop" if extra else "architecture")
    assert ("parameters_disagree_with_shape" in row["flags"]) == flagged
    if flagged:
        stated = f"{float(parameters):.1e}".replace("e+", "e")
        assert f"parameters {stated} against the shape's count of 1.8e11" in row["notes"]


# Training tokens: the total a model card gives, epochs included ----------------------------


def test_training_tokens_stand_for_dataset_and_epochs():
    row = ops_row(parameters="8e9", training_tokens="15e12")
    assert row["ops_rule"] == "6ND"
    assert row["ops_flop"] == pytest.approx(6 * 8e9 * 15e12)
    assert row["training_tokens"] == pytest.approx(15e12) and row["epochs_used"] == 1
    # no epochs assumed, no unit assumed: the count is as sure as 6ND itself
    assert row["flags"] == []
    assert row["notes"].startswith("6 x 8.0e9 params x 1.5e13 training tokens = 7.2e23 FLOP")


def test_training_tokens_win_over_a_dataset_and_epochs_that_disagree():
    row = ops_row(
        parameters="8e9", training_tokens="15e12", dataset_size="5e12", dataset_unit="tokens",
        epochs="1",
    )  # fmt: skip
    assert row["ops_flop"] == pytest.approx(6 * 8e9 * 15e12)
    assert "training_tokens_disagree" in row["flags"]
    assert "training_tokens 1.5e13 against dataset_size x epochs of 5.0e12" in row["notes"]


@pytest.mark.parametrize(
    ("dataset", "epochs", "flagged"),
    [
        ("5e12", "3", False),  # 3 epochs of 5T are the 15T
        ("5e12", None, False),  # epochs blank: more tokens than the dataset are further epochs
        ("30e12", None, True),  # fewer tokens than one pass over the dataset
        ("14e12", "1", False),  # within 1.2x
    ],
)
def test_training_tokens_are_checked_against_the_dataset(dataset, epochs, flagged):
    cells = {"dataset_size": dataset, "dataset_unit": "tokens"}
    cells |= {} if epochs is None else {"epochs": epochs}
    row = ops_row(parameters="8e9", training_tokens="15e12", **cells)
    assert ("training_tokens_disagree" in row["flags"]) == flagged
    assert "epochs_assumed" not in row["flags"]


def test_training_tokens_count_a_transformer_shape():
    shape = {k: v for k, v in GPT3_TRAINING.items() if k not in ("dataset_size", "epochs")}
    row = ops_row(**shape, training_tokens="3e11")
    assert row["ops_rule"] == "architecture"
    assert row["ops_flop"] == pytest.approx(ops_row(**GPT3_TRAINING)["ops_flop"])
    assert "FLOP per token x 3.0e11 training tokens = " in row["notes"]


@pytest.mark.parametrize(("seq_len", "flagged"), [("2048", False), ("131072", True)])
def test_a_context_window_given_as_the_sequence_length_is_flagged(seq_len, flagged):
    small = {**GPT3_TRAINING, "n_layers": "32", "d_model": "4096", "n_heads": "32"}
    row = ops_row(**{**small, "seq_len": seq_len})
    assert ("context_window_as_sequence" in row["flags"]) == flagged
    if flagged:
        assert "seq_len 131072 may be the context window" in row["notes"]


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        # a rule over examples reads the dataset and its epochs, whatever tokens are given
        ({"connections": "6e7", "dataset_size": "1.2e6", "dataset_unit": "images",
          "epochs": "90"}, 6 * 6e7 * 1.2e6 * 90),
        ({"forward_flop_per_example": "1e9", "dataset_size": "1e6", "epochs": "10"},
         3 * 1e9 * 1e6 * 10),
    ],
)  # fmt: skip
def test_training_tokens_leave_a_rule_over_examples_alone(cells, expected):
    row = ops_row(training_tokens="5e9", **cells)
    assert row["ops_flop"] == pytest.approx(expected)
    assert row["epochs_used"] == float(cells["epochs"])
    assert "training_tokens_disagree" not in row["flags"]


@pytest.mark.parametrize(
    ("chip", "precision", "peak", "used", "fell_back"),
    [
        ("NVIDIA B200", "NVFP4", 9e15, "fp4", False),
        ("NVIDIA B200", "MXFP4", 9e15, "fp4", False),
        ("NVIDIA B200", "MXFP8", 4.5e15, "fp8", False),
        ("NVIDIA H100 SXM5 80GB", "fp4", 1.979e15, "fp8", True),
    ],
)
def test_four_bit_and_block_scaled_formats_take_their_peak(shipped_hardware, chip, precision, peak, used, fell_back):  # fmt: skip
    row = hardware_row(shipped_hardware, hardware=chip, precision=precision,
                       hardware_quantity="8", training_time_hours="10")  # fmt: skip
    assert row["peak_flop_per_second_used"] == pytest.approx(peak, rel=1e-3)
    assert row["precision_used"] == used
    assert ("precision_not_supported" in row["flags"]) == fell_back

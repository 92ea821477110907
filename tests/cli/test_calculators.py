"""The two calculators: the same code as the batch job, one system from options."""

import json

import pytest
from typer.testing import CliRunner

from pipeline.cli.app import app
from tests.conftest import REPO

runner = CliRunner()


def calc(*args):
    return runner.invoke(app, ["calc", *args])


def test_ops_calculator_sentence_and_formula():
    result = calc("ops", "--forward-flop", "1e9", "--examples", "1e6", "--epochs", "10", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["flop"] == pytest.approx(3e16)
    assert data["formula"].startswith(
        "3 x 1.0e9 FLOP per forward pass x 1.0e6 examples x 10 epochs = 3.0e16 FLOP"
    )
    assert data["sentence"] == (
        "Our model uses 1.0e9 FLOP on each forward pass, was trained on 1.0e6 datapoints "
        "for 10 epochs and used 3.0e16 FLOP during training."
    )


def test_ops_calculator_one_epoch_sentence():
    result = calc("ops", "--forward-flop", "1e9", "--examples", "1e7", "--epochs", "1", "--json")
    assert json.loads(result.stdout)["sentence"] == (
        "Our model uses 1.0e9 FLOP on each forward pass, was trained on 1.0e7 datapoints "
        "and used 3.0e16 FLOP during training."
    )


def test_ops_calculator_language_model():
    result = calc("ops", "--parameters", "70B", "--tokens", "1.4T", "--json")
    data = json.loads(result.stdout)
    assert data["flop"] == pytest.approx(5.88e23)
    assert "epochs_assumed" in data["flags"]


def test_ops_calculator_connections_and_moe():
    assert json.loads(calc("ops", "--connections", "1e6", "--examples", "1e3", "--json").stdout)[
        "flop"
    ] == pytest.approx(6e9)
    moe = calc(
        "ops", "--parameters", "671B", "--active-parameters", "37B", "--tokens", "14.8T", "--json"
    )
    assert json.loads(moe.stdout)["flop"] == pytest.approx(6 * 37e9 * 14.8e12)


def test_hardware_calculator_sentence():
    result = calc(
        "hardware",
        "--hardware",
        "NVIDIA A100 SXM4 80 GB",
        "--chips",
        "8",
        "--time",
        "3 days",
        "--utilization",
        "0.4",
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["flop"] == pytest.approx(8 * 72 * 3600 * 312e12 * 0.4)
    assert data["sentence"] == (
        "Our model was trained on 8 NVIDIA A100 SXM4 80 GB for 3 days, and in total used "
        "2.6e20 FLOP during training."
    )


def test_hardware_calculator_chip_hours_precision_and_peak():
    fp32 = json.loads(
        calc(
            "hardware",
            "--hardware",
            "A100",
            "--chip-hours",
            "1000",
            "--precision",
            "fp32",
            "--utilization",
            "50%",
            "--json",
        ).stdout
    )
    # fp32 training on an A100 runs its matrix products as tf32 by framework default
    assert fp32["flop"] == pytest.approx(1000 * 3600 * 156e12 * 0.5)
    v100 = json.loads(
        calc("hardware", "--hardware", "V100", "--chip-hours", "1000", "--precision", "fp32",
             "--utilization", "50%", "--json").stdout
    )  # fmt: skip
    assert v100["flop"] == pytest.approx(1000 * 3600 * 15.7e12 * 0.5)
    peak = json.loads(
        calc(
            "hardware",
            "--peak",
            "1e15",
            "--chips",
            "2",
            "--time",
            "90 min",
            "--utilization",
            "1",
            "--json",
        ).stdout
    )
    assert peak["flop"] == pytest.approx(2 * 5400 * 1e15)


def test_hardware_calculator_human_output():
    result = calc("hardware", "--hardware", "V100", "--chips", "4", "--time", "21 days")
    assert result.exit_code == 0
    assert "FLOP" in result.stdout and "sentence:" in result.stdout and "formula:" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["hardware", "--hardware", "H1000", "--chips", "8", "--time", "1"],
            "not in the hardware table",
        ),
        (["hardware", "--hardware", "A100", "--chips", "-8", "--time", "1"], "--chips"),
        (["hardware", "--hardware", "A100", "--chips", "8", "--time", "forever"], "--time"),
        (["hardware", "--hardware", "A100"], "not enough inputs"),
        (["ops", "--parameters", "lots", "--tokens", "1e9"], "--parameters"),
        (["ops", "--parameters", "1e9"], "not enough inputs"),
        (["ops", "--examples", "1", "--tokens", "1", "--parameters", "1"], "not both"),
        (["hardware", "--hardware", "A100", "--chip-hours", "10", "--chips", "8"], "not both"),
        (["ops", "--forward-flop", "1e300", "--examples", "1e300"],
         "the count of operations comes to more than a float holds, outside 1 to 1e40 FLOP"),
        (["hardware", "--peak", "1e-200", "--chip-hours", "1e-200"],
         "the hardware estimate comes to less than the smallest float"),
        (["hardware", "--hardware", "TPU v1", "--precision", "fp64", "--chip-hours", "10"],
         "Google TPU v1 has no fp64 peak in the hardware table, nor one to fall back on"),
    ],
)  # fmt: skip
def test_calculator_errors_are_one_line(args, message):
    result = calc(*args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]


CONFIGS = REPO / "tests" / "data" / "hf_configs"


def test_ops_calculator_counts_a_config_over_training_tokens():
    result = calc(
        "ops", "--config", str(CONFIGS / "llama-3-8b.json"), "--seq-len", "8192",
        "--training-tokens", "15T", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert "architecture: 8.0e9 params" in data["formula"]
    assert "x 1.5e13 training tokens = " in data["formula"]
    assert data["sentence"].startswith(
        "Our model, counted from its architecture, was trained on 1.5e13 tokens and used "
    )
    assert data["flags"] == []  # no epochs assumed: the tokens hold them
    # within 10% of 6ND on the card's parameters: the context term is the difference
    assert data["flop"] == pytest.approx(6 * 8.03e9 * 15e12, rel=0.1)


def test_ops_calculator_counts_a_shape_from_its_options():
    shape = ["--layers", "96", "--d-model", "12288", "--heads", "96", "--vocab", "50257",
             "--seq-len", "2048", "--tokens", "300B", "--epochs", "1"]  # fmt: skip
    plain = json.loads(calc("ops", *shape, "--json").stdout)
    assert plain["flop"] == pytest.approx(3.19e23, rel=0.01)  # GPT-3 175B over 300B tokens
    assert "MLP not gated" in plain["formula"]
    # at one MLP width, a gated MLP has three matrices, not two
    wide = ["--d-ff", "49152"]
    gated = json.loads(calc("ops", *shape, *wide, "--gated", "--json").stdout)
    ungated = json.loads(calc("ops", *shape, *wide, "--json").stdout)
    assert "MLP not gated" not in gated["formula"] and gated["flop"] > ungated["flop"]
    bad = calc("ops", "--layers", "x", "--tokens", "1")
    assert bad.exit_code == 2 and bad.stderr.startswith("Error: --layers 'x': ")


def test_the_long_figure_is_the_whole_number_of_the_shortest_float():
    result = calc("ops", "--parameters", "175B", "--tokens", "300B", "--epochs", "1")
    assert "3.15e+23 FLOP  (315,000,000,000,000,000,000,000)" in result.stdout


def test_the_sentence_keeps_the_figures_as_given():
    data = json.loads(calc("ops", "--parameters", "175B", "--tokens", "300B", "--json").stdout)
    assert data["sentence"].startswith(
        "Our model has 1.75e11 parameters, was trained on 3.0e11 tokens and used 3.2e23 FLOP"
    )
    data = json.loads(
        calc("hardware", "--hardware", "A100", "--chip-hours", "82,432", "--json").stdout
    )
    assert data["sentence"].startswith("Our model was trained for 8.2432e4 chip-hours on ")

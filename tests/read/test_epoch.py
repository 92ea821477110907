"""Epoch's exports as input, and `evaluate` against Epoch's own figures."""

import json
import re

import polars as pl
import pytest
from typer.testing import CliRunner

from pipeline.cli.app import app
from pipeline.errors import InputFileError
from pipeline.evaluate import FOLDS, evaluate, fold_of
from pipeline.read.epoch import FIGURE_DERIVED_PATTERNS
from pipeline.read.files import read_table
from pipeline.run import read_raw
from pipeline.sources import Sources
from tests.conftest import EPOCH_DIR

runner = CliRunner()
EXPORTS = [
    "notable_ai_models_2025-03.csv",
    "notable_ai_models_2025-12.csv",
    "frontier_ai_models_2025-12.csv",
]


@pytest.mark.parametrize("name", EXPORTS)
def test_exports_read_and_estimate_without_a_traceback(tmp_path, name):
    result = runner.invoke(app, ["estimate", str(EPOCH_DIR / name), "-o", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["rows_rejected"] <= 5  # only cells such as "2260275840,2290000001"
    assert summary["rows_read"] > 100


def test_units_and_active_parameters_come_from_the_notes_with_their_phrase():
    frame = read_table(EPOCH_DIR / "notable_ai_models_2025-12.csv").filter(
        pl.col("system").is_in(
            ["DeepSeek-V3", "Kimi K2 Thinking", "ERNIE-4.5-VL-424B-A47B (文心大模型4.5)"]
        )
    )
    active = dict(zip(frame["system"], frame["active_parameters"], strict=True))
    assert float(active["DeepSeek-V3"]) == 37e9
    assert float(active["Kimi K2 Thinking"]) == 32e9  # "Activated Parameters 32B", not "1T"
    assert float(active["ERNIE-4.5-VL-424B-A47B (文心大模型4.5)"]) == 47e9
    assert frame["active_parameters_phrase"].is_not_null().all()


@pytest.mark.parametrize(
    ("note", "unit"),
    [
        ("Trained for 400B tokens in total", "tokens"),
        ("about 33 billion words", "words"),
        ("ImageNet: 1.28M labeled images", "images"),
        ("the model learns to fill in words", None),  # no quantity: no dataset size named
        ("downsampling of visual tokens", None),
    ],
)
def test_a_unit_is_read_from_the_notes_only_next_to_a_quantity(tmp_path, note, unit):
    sheet = tmp_path / "e.csv"
    pl.DataFrame(
        {"Model": ["m"], "Domain": ["Language"], "Parameters": ["1e9"],
         "Training dataset size (gradients)": ["1e10"], "Dataset size notes": [note],
         "Training compute (FLOP)": [""]}
    ).write_csv(sheet)  # fmt: skip
    frame = read_table(sheet)
    assert frame["dataset_unit"][0] == unit
    assert (frame["dataset_unit_phrase"][0] is None) == (unit is None)


def _one_row_export(tmp_path, **cells) -> pl.DataFrame:
    row = {"Model": "m", "Domain": "Language", "Parameters": "1e9",
           "Training dataset size (gradients)": "1e10", "Dataset size notes": "",
           "Parameters notes": "", "Training compute (FLOP)": "", **cells}  # fmt: skip
    sheet = tmp_path / "e.csv"
    pl.DataFrame({k: [v] for k, v in row.items()}).write_csv(sheet)
    return read_table(sheet)


@pytest.mark.parametrize(
    ("domain", "size", "note", "unit", "phrase"),
    [
        # the mention whose quantity is the size cell wins over earlier ones
        ("Language", "1e11", "100B tokens (Table 2) so 75B words", "tokens", "100b tokens"),
        ("Language", "7.5e10", "100B tokens (Table 2) so 75B words", "words", "75b words"),
        (
            "Speech",
            "8.2e8",
            "60k hours; 13680 words per hour = 820,800,000 words",
            "words",
            "820,800,000 words",
        ),
        # optimizer steps measure the training's length, not its data
        ("Language", "1.03e8", "trained for 200k steps", None, None),
        ("Language", "1.03e8", "trained for 200k steps on 103M tokens", "tokens", "103m tokens"),
        # hours are data for audio only; elsewhere they are the training time
        ("Language", "1.03e8", "The model was trained for 12 hours (14 epochs)", None, None),
        ("Language", "960", "trained for 960 hours", None, None),
        ("Language", "2e5", "200k steps", None, None),
        # a mention right after another is still seen
        ("Multimodal", "2e12", "2T tokens, 500k steps", "tokens", "2t tokens"),
        ("Vision", "1.28e6", "1.28M images 200k steps", "images", "1.28m images"),
        ("Speech", "9.6e2", "960 hours of transcribed audio", "audio hours", "960 hours"),
    ],
)
def test_the_unit_comes_from_the_mention_that_states_the_dataset_size(
    tmp_path, domain, size, note, unit, phrase
):
    frame = _one_row_export(
        tmp_path, **{"Domain": domain, "Training dataset size (gradients)": size,
                     "Dataset size notes": note}
    )  # fmt: skip
    assert frame["dataset_unit"][0] == unit
    assert frame["dataset_unit_phrase"][0] == phrase


@pytest.mark.parametrize(
    ("name", "total", "note", "active"),
    [
        ("m", "3.89e11", '"389 billion parameters and 52 billion activation parameters"', 52e9),
        ("m", "3.14e11", "MoE model with 25% of the weights active on a given token", 78.5e9),
        ("Qwen3-Omni-30B-A3B", "3.53e10", "Thinker MoE Transformer", 3e9),
        ("m", "3.53e10", "Thinker MoE Transformer 30B-A3B, Talker 3B-A0.3B", 3e9),
        ("m", "5.4e11", "a 540-billion parameter, densely activated Transformer", None),
        ("m", "1.2e12", "1,200B total, 3,500M active", 3.5e9),  # thousands separators
        ("m", "1.6e12", "Total 1.6T; 1,000M activated", 1e9),
        ("m", "1.6e12", "0B active", None),  # no active count: the row is not rejected for it
        ("m", "1.6e12", "0% of the weights active", None),
        ("m", "1.6e12", "...1e400B active", None),  # the tail of another number
        ("m", "1.6e12", "1,5B active", None),  # a decimal comma: not 5B
        ("m", "1.6e12", "(37B active)", 37e9),
    ],
)
def test_active_parameters_from_the_notes_or_the_name(tmp_path, name, total, note, active):
    frame = _one_row_export(tmp_path, Model=name, Parameters=total, **{"Parameters notes": note})
    found = frame["active_parameters"][0]
    assert (None if found is None else float(found)) == pytest.approx(active)
    assert (frame["active_parameters_phrase"][0] is None) == (active is None)


@pytest.mark.parametrize(
    ("note", "moe"),
    [
        ("MoE architecture", "yes"),
        ("a sparse Mixture-of-Experts model", "yes"),
        ("Mixture of 8 experts", "yes"),
        ("a 540-billion parameter, densely activated Transformer", None),
        ("sparse autoencoder with 1 billion connections", None),
        # a cited paper's title is not this model
        (
            "Table 5 in 'Outrageously Large Neural Networks: The Sparsely-Gated "
            "Mixture-of-Experts Layer'  https://arxiv.org/abs/1701.06538",
            None,
        ),
        ('"314B parameter Mixture-of-Experts model with 25% of the weights active"', "yes"),
    ],
)
def test_a_mixture_of_experts_is_recognised_in_the_notes(tmp_path, note, moe):
    frame = _one_row_export(tmp_path, **{"Parameters notes": note})
    assert frame["mixture_of_experts"][0] == moe
    assert (frame["mixture_of_experts_phrase"][0] is None) == (moe is None)


def test_a_required_column_missing_names_what_was_looked_for(tmp_path):
    sheet = tmp_path / "e.csv"
    sheet.write_text("Name,Training compute (FLOP)\nx,1e20\n")
    with pytest.raises(InputFileError, match="looked for 'Model'"):
        read_table(sheet, input_format="epoch")


def test_fine_tunes_add_their_base_models_compute(tmp_path):
    sheet = tmp_path / "stages.csv"
    sheet.write_text(
        "system,domain,parameters,dataset_size,dataset_unit,epochs,base_model,base_model_compute_flop\n"
        "Base,language,1e9,1e10,tokens,1,,\n"
        "Tune,language,1e9,1e9,tokens,1,Base,\n"
        "Tune of tune,language,1e9,1e8,tokens,1,Tune,\n"
        "Orphan,language,1e9,1e8,tokens,1,Unknown base,\n"
        "Given,language,1e9,1e8,tokens,1,Elsewhere,5e20\n"
    )
    result = runner.invoke(app, ["estimate", str(sheet), "-o", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    rows = {
        r["system"]: r for r in pl.read_parquet(tmp_path / "o" / "estimates.parquet").to_dicts()
    }
    assert rows["Tune"]["stage_flop"] == pytest.approx(6e18)
    assert rows["Tune"]["estimate_flop"] == pytest.approx(6e19 + 6e18)
    assert rows["Tune of tune"]["estimate_flop"] == pytest.approx(6e19 + 6e18 + 6e17)
    assert "base_compute_unknown" in rows["Orphan"]["flags"]
    assert rows["Orphan"]["estimate_flop"] == pytest.approx(6e17)
    assert rows["Given"]["estimate_flop"] == pytest.approx(5e20 + 6e17)


@pytest.mark.parametrize("name", EXPORTS[:2])
def test_evaluate_reports_agreement(tmp_path, name):
    result = runner.invoke(
        app, ["evaluate", str(EPOCH_DIR / name), "--report", str(tmp_path), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    report = (tmp_path / "evaluation.md").read_text()
    assert report.count("## ") >= 4
    assert "| withheld_columns | Training compute (FLOP), Training compute notes," in report
    assert "## Calibration of the intervals (out of sample)" in report
    assert (tmp_path / "calibration.svg").read_text().startswith("<svg")
    assert pl.read_parquet(tmp_path / "evaluation.parquet").height == summary["rows"]
    # Floors against regressions at today's level. The forward cost per parameter estimates
    # many rows widely (Speculative): the other rules' rows are measured apart.
    assert summary["coverage"] >= 0.75
    assert summary["other_rules_within_2x"] >= 0.75
    assert summary["estimated_within_2x"] >= 0.53
    assert summary["all_rows_within_2x"] >= 0.43
    # rows without Epoch's figure that the methods can estimate: the gap flopsheet fills
    assert 0 < summary["gap_rows_estimated"] <= summary["gap_rows_with_method_inputs"]


def test_evaluate_never_sees_epochs_figure():
    evaluation = evaluate(EPOCH_DIR / "notable_ai_models_2025-12.csv")
    assert (evaluation.rows["estimate_source"] != "reported").all()
    withheld = evaluation.summary["withheld_columns"]
    assert {"Training compute (FLOP)", "Training compute notes", "Confidence",
            "Finetune compute (FLOP)", "Compute cost notes"} <= set(withheld)  # fmt: skip


def test_no_column_derived_from_epochs_figure_reaches_estimation(tmp_path):
    """Every withheld column scrambled (figures, notes, bounds, method, confidence, costs,
    and a column a later export might add): the estimates do not change."""
    source = EPOCH_DIR / "frontier_ai_models_2025-12.csv"
    frame = pl.read_csv(source, infer_schema=False)
    frame = frame.with_columns(pl.lit("9e29").alias("Distillation compute (FLOP)"))
    derived = [c for c in frame.columns if re.search("compute|cost|confidence", c, re.I)]
    assert {"Training compute lower bound", "Training compute estimation method",
            "Base model compute", "Post-training compute (FLOP)"} <= set(derived)  # fmt: skip
    scrambled = frame.with_columns(
        pl.col(c).shuffle(seed=1).str.replace(r"\d", "7") for c in derived
    )
    frame.write_csv(tmp_path / "a.csv")
    scrambled.write_csv(tmp_path / "b.csv")
    one = evaluate(tmp_path / "a.csv", compare_seed=False)
    other = evaluate(tmp_path / "b.csv", compare_seed=False)
    assert set(one.summary["withheld_columns"]) == set(derived)
    columns = ["system", "estimate_flop", "estimate_low_flop", "estimate_high_flop", "flags"]
    assert one.rows.select(columns).equals(other.rows.select(columns))
    sources = Sources.of([tmp_path / "b.csv"], input_format="epoch",
                         withhold=FIGURE_DERIVED_PATTERNS)  # fmt: skip
    assert not set(read_raw(sources).columns) & set(derived)


def test_cross_validation_folds_keep_a_system_in_one_fold_in_every_export():
    names = pl.DataFrame({"system": ["GPT-3 175B", "gpt-3  175b", " GPT-3 175B", "BERT-Large"]})
    folds = names.select(fold_of(pl.col("system"))).to_series().to_list()
    assert folds[0] == folds[1] == folds[2] and all(0 <= f < FOLDS for f in folds)


def test_evaluate_reports_out_of_sample_figures_beside_in_sample_ones():
    summary = evaluate(EPOCH_DIR / "notable_ai_models_2025-12.csv", compare_seed=False).summary
    assert summary["folds"] == FOLDS
    # Floors at today's out-of-sample level; issue 12's target for coverage is 0.70.
    assert summary["out_of_sample_coverage"] >= 0.85
    assert summary["out_of_sample_other_rules_within_2x"] >= 0.75
    assert summary["out_of_sample_estimated_within_2x"] >= 0.53
    assert summary["out_of_sample_all_rows_within_2x"] >= 0.45
    assert summary["out_of_sample_coverage_90%"] >= 0.87
    assert 0.1 <= summary["out_of_sample_estimated_reproduced_exactly"] <= 0.4
    assert summary["not_reproduced_within_2x"] < summary["estimated_within_2x"]


def test_an_epoch_figure_of_zero_or_less_is_no_figure_to_compare_with(tmp_path):
    rows = {"Model": ["a", "b", "c"], "Domain": ["Language"] * 3, "Parameters": ["1e9"] * 3,
            "Training dataset size (gradients)": ["1e10"] * 3, "Epochs": ["1"] * 3,
            "Training compute (FLOP)": ["6e19", "-1e23", "0"]}  # fmt: skip
    export = tmp_path / "e.csv"
    pl.DataFrame(rows).write_csv(export)
    summary = evaluate(export, compare_seed=False).summary
    assert summary["rows_with_epoch_figure"] == 1
    assert summary["estimated_within_2x"] == 1.0


@pytest.mark.parametrize("option", ["--report", "--output-dir", "-o"])
def test_evaluate_report_into_a_file_is_one_line(tmp_path, option):
    taken = tmp_path / "taken"
    taken.write_text("")
    export = EPOCH_DIR / "notable_ai_models_2025-03.csv"
    result = runner.invoke(app, ["evaluate", str(export), option, str(taken)])
    assert result.exit_code == 2
    assert result.stderr == f"Error: {taken}: exists and is not a folder\n"


def test_epoch_headers_spelled_loosely_are_recognised_and_the_figure_still_withheld(tmp_path):
    export = tmp_path / "e.csv"
    pl.DataFrame({
        "Model ": ["a", "b"], "domain": ["Language"] * 2, "parameters": ["1e9", "1e9"],
        "TRAINING DATASET SIZE (GRADIENTS)": ["1e10", None], "epochs": ["1", None],
        "training compute (flop)": ["6e19", "1e21"],
    }).write_csv(export)  # fmt: skip
    frame = read_table(export)
    assert frame["system"].to_list() == ["a", "b"]
    assert frame["reported_compute_flop"].to_list() == ["6e19", "1e21"]
    summary = evaluate(export, compare_seed=False).summary
    # b has no method inputs: its figure is compared with, never used to estimate it
    assert (summary["rows_with_epoch_figure"], summary["estimated_of_those"]) == (2, 1)


def test_a_sheet_with_a_system_column_is_never_taken_for_a_loosely_spelled_export(tmp_path):
    sheet = tmp_path / "mine.csv"
    sheet.write_text(
        "system,model,training_compute_flop,parameters\nGPT-3 175B,GPT-3,3.14e23,175e9\n"
    )
    frame = read_table(sheet)
    assert frame["system"].to_list() == ["GPT-3 175B"]
    assert "model" in frame.columns and "reported_compute_flop" not in frame.columns

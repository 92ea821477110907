"""The catalogue of foundation models: bases a sheet names but does not hold."""

from __future__ import annotations

import math

import polars as pl
import pytest

from pipeline.estimate.catalogue import catalogue_bases, name_key
from pipeline.resources import FOUNDATION_MODELS
from pipeline.run import estimate_files

LLAMA_7B = 6 * 6.7e9 * 1.0e12  # the catalogue's inputs: 6.7B parameters, 1.0T tokens


def rows(tmp_path, sheet: dict) -> dict:
    path = tmp_path / "sheet.csv"
    pl.DataFrame(sheet).write_csv(path)
    return {r["system"]: r for r in estimate_files([path]).estimates.iter_rows(named=True)}


def test_a_base_not_in_the_sheet_is_found_by_name_or_alias(tmp_path):
    found = rows(tmp_path, {
        "system": ["Tune", "Alias", "Mystery"], "base_model": ["LLaMA-7B", "llama 1 7b", "NoSuchModel-9B"],
        "parameters": ["6.7e9"] * 3, "training_tokens": ["1e9"] * 3, "domain": ["language"] * 3,
    })  # fmt: skip
    stage = 6 * 6.7e9 * 1e9
    for name in ("Tune", "Alias"):
        row = found[name]
        assert row["estimate_flop"] == pytest.approx(stage + LLAMA_7B)
        assert "base_from_catalogue" in row["flags"] and "includes_base_model" in row["flags"]
        assert "from flopsheet's catalogue of foundation models ('LLaMA-7B'" in row["notes"]
        # the catalogue's interval is widened: which checkpoint, and whether a sheet counts it
        assert row["estimate_high_flop"] / row["estimate_flop"] > 3
        assert row["confidence"] == "Speculative"
    assert "base_compute_unknown" in found["Mystery"]["flags"]
    assert found["Mystery"]["estimate_high_flop"] is None


def test_the_sheet_and_a_given_base_compute_come_before_the_catalogue(tmp_path):
    found = rows(tmp_path, {
        "system": ["LLaMA-7B", "Tune", "Given"], "base_model": [None, "LLaMA-7B", "LLaMA-7B"],
        "base_model_compute_flop": [None, None, "1e22"], "parameters": ["6.7e9"] * 3,
        "training_tokens": ["2e12", "1e9", "1e9"], "domain": ["language"] * 3,
    })  # fmt: skip
    stage = 6 * 6.7e9 * 1e9
    assert found["Tune"]["estimate_flop"] == pytest.approx(stage + 6 * 6.7e9 * 2e12)
    assert found["Given"]["estimate_flop"] == pytest.approx(stage + 1e22)
    assert not {"base_from_catalogue"} & set(found["Tune"]["flags"] + found["Given"]["flags"])


def test_the_catalogue_holds_inputs_with_sources_and_no_compute_figure():
    catalogue = pl.read_csv(FOUNDATION_MODELS, infer_schema=False)
    assert not [c for c in catalogue.columns if "compute" in c or "flop" in c]
    assert catalogue["source"].str.starts_with("https://").all()
    assert catalogue["system"].is_unique().all()
    keys = catalogue.select(name_key(pl.col("system")))
    assert keys.to_series().is_unique().all()


def test_an_alias_two_systems_share_is_not_guessed():
    estimates = pl.DataFrame({
        "system": ["A-7B", "B-7B"], "aliases": ["Seven", "seven|B7"],
        "estimate_flop": [1e22, 2e22], "estimate_low_flop": [5e21, 1e22],
        "estimate_high_flop": [2e22, 4e22],
    })  # fmt: skip
    bases = catalogue_bases(estimates, spread=3.0)
    assert bases["_key"].to_list() == ["a7b", "b7", "b7b"]
    low, high = (
        bases.filter(pl.col("_key") == "a7b").select("_catalogue_low", "_catalogue_high").row(0)
    )
    expected = math.exp(math.hypot(math.log(2), math.log(3)))
    assert high == pytest.approx(1e22 * expected) and low == pytest.approx(1e22 / expected)


def test_a_row_that_restates_its_base_is_not_counted_twice(tmp_path):
    found = rows(tmp_path, {
        "system": ["Base", "Same run", "Same chips", "Tune"],
        "base_model": [None, "Base", "Base", "Base"],
        "parameters": ["1e9", "1e9", None, "1e9"], "dataset_size": ["2e10", "2e10", None, "1e8"],
        "dataset_unit": ["tokens"] * 4, "domain": ["language"] * 4,
        "hardware": ["NVIDIA A100", None, "NVIDIA A100", None],
        "hardware_quantity": ["8", None, "8", None], "training_time_hours": ["10", None, "10", None],
    })  # fmt: skip
    base = found["Base"]["estimate_flop"]
    for name in ("Same run", "Same chips"):
        row = found[name]
        assert row["estimate_flop"] == pytest.approx(base)
        assert "base_restated" in row["flags"] and row["stage_flop"] is None
        assert "inputs of its base model 'Base': it restates that run, counted once" in row["notes"]
    assert found["Tune"]["estimate_flop"] == pytest.approx(base + 6 * 1e9 * 1e8)
    assert "base_restated" not in found["Tune"]["flags"]


def test_a_restating_row_is_no_lower_bound_even_without_an_estimate_of_its_own(tmp_path):
    found = rows(tmp_path, {
        "system": ["Base", "Restated", "Restated, no peak"],
        "base_model": [None, "Base", "Base"], "hardware": ["NVIDIA A100", "NVIDIA A100", "NVIDIA A100"],
        "chip_hours": ["1000", "1000", "1000"], "precision": [None, None, "int8"],
    })  # fmt: skip
    for name in ("Restated", "Restated, no peak"):
        row = found[name]
        assert row["estimate_flop"] == pytest.approx(found["Base"]["estimate_flop"])
        assert "base_restated" in row["flags"]
        assert not {"stage_compute_unknown", "base_lower_bound"} & set(row["flags"])
        assert row["summary"] and "restates its base model 'Base'" in row["summary"]

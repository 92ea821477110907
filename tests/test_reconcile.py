"""The reconciliation cases: reported first, then agreement, then the preferred method."""

import pytest

from pipeline.estimate import estimate
from pipeline.settings import Settings
from tests.conftest import systems_frame

# 6 x 1e9 x 1e10 = 6e19 FLOP by counting operations.
OPS = {"parameters": "1e9", "dataset_size": "1e10", "dataset_unit": "tokens", "epochs": "1"}


def hours_for(hardware_flop: float, utilization: float = 0.5, peak: float = 312e12) -> str:
    """Training hours on one A100 that give `hardware_flop`."""
    return repr(hardware_flop / (3600 * peak * utilization))


def hardware_cells(flop: float) -> dict:
    return {
        "hardware": "A100", "hardware_quantity": "1", "training_time_hours": hours_for(flop),
        "precision": "bf16", "utilization": "0.5",
    }  # fmt: skip


def one(tiny_hardware, settings=Settings(), **cells):
    return estimate(systems_frame([{"system": "s", **cells}]), tiny_hardware, settings).row(
        0, named=True
    )


def test_reported_compute_wins(tiny_hardware):
    row = one(tiny_hardware, reported_compute_flop="5e19", **OPS)
    assert row["estimate_source"] == "reported"
    assert row["estimate_flop"] == 5e19
    assert "reported_disagrees" not in row["flags"]


def test_reported_that_disagrees_is_flagged(tiny_hardware):
    row = one(tiny_hardware, reported_compute_flop="1e21", **OPS)
    assert row["estimate_flop"] == 1e21
    assert "reported_disagrees" in row["flags"]


def test_methods_within_3x_give_geometric_mean(tiny_hardware):
    row = one(tiny_hardware, **OPS, **hardware_cells(1.2e20))
    assert row["estimate_source"] == "geometric_mean"
    assert row["estimate_flop"] == pytest.approx((6e19 * 1.2e20) ** 0.5, rel=1e-9)
    assert row["ops_hardware_ratio"] == pytest.approx(0.5)
    assert row["implied_utilization"] == pytest.approx(0.25)


def test_methods_apart_with_plausible_utilization_still_combine_and_flag(tiny_hardware):
    # 4x apart, implied utilization 0.125: both plausible, so the geometric mean stands
    row = one(tiny_hardware, **OPS, **hardware_cells(2.4e20))
    assert row["implied_utilization"] == pytest.approx(0.125)
    assert row["estimate_source"] == "geometric_mean"
    assert row["estimate_flop"] == pytest.approx((6e19 * 2.4e20) ** 0.5, rel=1e-9)
    assert "methods_disagree" in row["flags"]


def test_implausible_implied_utilization_prefers_hardware(tiny_hardware):
    # implied utilization 0.05: the count of operations describes another run than the hardware
    row = one(tiny_hardware, **OPS, **hardware_cells(6e20))
    assert row["estimate_source"] == "hardware"
    assert row["estimate_flop"] == pytest.approx(6e20)
    assert {"methods_disagree", "implied_utilization_low"} <= set(row["flags"])
    assert "hardware time preferred" in row["notes"]


def test_impossible_implied_utilization_prefers_hardware(tiny_hardware):
    row = one(tiny_hardware, **OPS, **hardware_cells(1.5e19))
    assert row["estimate_source"] == "hardware"
    assert "implied_utilization_impossible" in row["flags"]


def test_agreement_factor_is_a_setting(tiny_hardware):
    row = one(tiny_hardware, Settings(agreement_factor=1.5), **OPS, **hardware_cells(1.2e20))
    assert "methods_disagree" in row["flags"]
    row = one(tiny_hardware, Settings(agreement_factor=3), **OPS, **hardware_cells(1.2e20))
    assert "methods_disagree" not in row["flags"]


def test_only_hardware(tiny_hardware):
    row = one(tiny_hardware, **hardware_cells(1e20))
    assert row["estimate_source"] == "hardware"
    assert row["estimate_flop"] == pytest.approx(1e20)


def test_nothing_to_estimate(tiny_hardware):
    row = one(tiny_hardware, parameters="1e9")
    assert row["estimate_flop"] is None
    assert row["estimate_source"] is None
    assert "insufficient_inputs" in row["flags"]


def test_implied_utilization_above_one_flagged(tiny_hardware):
    # ops 6e19 on hardware that, at 100% of peak, could only do 3e19
    cells = {**hardware_cells(1.5e19)}
    row = one(tiny_hardware, **OPS, **cells)
    assert row["implied_utilization"] == pytest.approx(2.0)
    assert "implied_utilization_impossible" in row["flags"]


def test_implied_utilization_below_ten_percent_flagged(tiny_hardware):
    row = one(tiny_hardware, **OPS, **hardware_cells(1.5e21))
    assert row["implied_utilization"] == pytest.approx(0.02)
    assert "implied_utilization_low" in row["flags"]


def test_notes_and_summary_tell_the_derivation(tiny_hardware):
    row = one(tiny_hardware, **OPS, **hardware_cells(1.2e20))
    assert "6 x 1.0e9 params x 1.0e10 tokens x 1 epoch = 6.0e19 FLOP" in row["notes"]
    assert "geometric mean" in row["notes"]
    assert row["summary"].startswith("Our model has 1.0e9 parameters, was trained on 1.0e10 tokens")
    assert "The two estimates combine to 8.5e19 FLOP." in row["summary"]


def test_output_sorted_by_system(tiny_hardware):
    systems = systems_frame([{"system": n, **OPS} for n in ["b", "C", "a"]])
    assert estimate(systems, tiny_hardware)["system"].to_list() == ["C", "a", "b"]

"""The reconciliation cases: reported first, then agreement, then the preferred method."""

import math

import pytest

from pipeline.estimate.chain import estimate
from pipeline.estimate.uncertainty import Z90
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


def test_a_reported_figure_carries_its_own_rounding(tiny_hardware):
    # "5e19" stands for 4.5e19 to 5.5e19: 90% of that half step either way
    row = one(tiny_hardware, reported_compute_flop="5e19", **OPS)
    assert row["estimate_high_flop"] == pytest.approx(5e19 * 1.09)
    assert row["estimate_low_flop"] == pytest.approx(5e19 / 1.09)
    precise = one(tiny_hardware, reported_compute_flop="5.123e19", **OPS)
    assert precise["estimate_high_flop"] == pytest.approx(5.123e19 * (1 + 0.9 * 0.0005 / 5.123))
    assert precise["confidence"] == "Confident"


def test_reported_that_disagrees_is_flagged(tiny_hardware):
    row = one(tiny_hardware, reported_compute_flop="1e21", **OPS)
    assert row["estimate_flop"] == 1e21
    assert "reported_disagrees" in row["flags"]


# With these inputs each method's spread is its own approximation alone: 6ND for counting
# operations (everything reported), chips x time for the hardware (utilization reported).
OPS_SIGMA = math.log(Settings().spread_6nd) / Z90
HARDWARE_SIGMA = math.log(Settings().spread_hardware_time) / Z90


def weighted(ops: float, hardware: float) -> float:
    w_ops, w_hw = 1 / OPS_SIGMA**2, 1 / HARDWARE_SIGMA**2
    return math.exp((w_ops * math.log(ops) + w_hw * math.log(hardware)) / (w_ops + w_hw))


def test_methods_combine_by_precision_weighted_mean_in_log_space(tiny_hardware):
    row = one(tiny_hardware, **OPS, **hardware_cells(1.2e20))
    assert row["estimate_source"] == "weighted_mean"
    assert row["estimate_flop"] == pytest.approx(weighted(6e19, 1.2e20), rel=1e-9)
    assert 6e19 < row["estimate_flop"] < 1.2e20
    assert row["ops_hardware_ratio"] == pytest.approx(0.5)
    assert row["implied_utilization"] == pytest.approx(0.25)
    assert "methods_inconsistent" not in row["flags"]


def test_equal_spreads_give_the_geometric_mean(tiny_hardware):
    settings = Settings(spread_6nd=2.0, spread_hardware_time=2.0)
    row = one(tiny_hardware, settings, **OPS, **hardware_cells(1.2e20))
    assert row["estimate_flop"] == pytest.approx((6e19 * 1.2e20) ** 0.5, rel=1e-9)


def test_each_method_and_the_estimate_carry_a_90_percent_interval(tiny_hardware):
    row = one(tiny_hardware, **OPS, **hardware_cells(1.2e20))
    assert row["ops_low_flop"] == pytest.approx(6e19 / 1.5)
    assert row["ops_high_flop"] == pytest.approx(6e19 * 1.5)
    assert row["hardware_low_flop"] == pytest.approx(1.2e20 / 2)
    assert row["hardware_high_flop"] == pytest.approx(1.2e20 * 2)
    combined = 1 / math.sqrt(1 / OPS_SIGMA**2 + 1 / HARDWARE_SIGMA**2)
    # 2x apart is more than one combined sigma: the spread is scaled by that ratio (Birge)
    birge = math.log(2) / math.sqrt(OPS_SIGMA**2 + HARDWARE_SIGMA**2)
    assert birge > 1
    reach = math.exp(Z90 * combined * birge)
    assert row["estimate_flop"] / row["estimate_low_flop"] == pytest.approx(reach)
    # ... and widened where needed to reach both methods' figures
    assert row["estimate_high_flop"] == pytest.approx(max(row["estimate_flop"] * reach, 1.2e20))
    assert row["confidence"] == "Confident"


def test_methods_far_apart_give_an_interval_spanning_both(tiny_hardware):
    # ops is pulled to 0.1 of peak before weighing, but the interval still reaches it
    row = one(tiny_hardware, **OPS, **hardware_cells(6e22))
    assert row["estimate_low_flop"] <= 6e19 and row["estimate_high_flop"] >= 6e22
    assert row["confidence"] == "Speculative"


def test_assumptions_widen_the_interval(tiny_hardware):
    reported = one(tiny_hardware, **OPS)
    assumed = one(tiny_hardware, parameters="1e9", dataset_size="1e10", domain="language")
    assert {"epochs_assumed", "tokens_assumed"} <= set(assumed["flags"])
    assert assumed["estimate_flop"] == reported["estimate_flop"]
    reach = assumed["estimate_high_flop"] / assumed["estimate_flop"]
    expected = math.sqrt(OPS_SIGMA**2 + (math.log(5.0) / Z90) ** 2 + (math.log(2.0) / Z90) ** 2)
    assert reach == pytest.approx(math.exp(Z90 * expected))
    assert reach > reported["estimate_high_flop"] / reported["estimate_flop"]
    assert assumed["confidence"] == "Speculative"  # epochs unknown: 6x either way


def test_methods_apart_beyond_their_intervals_are_inconsistent_with_causes(tiny_hardware):
    # 4x apart with tight spreads; implied utilization 0.125 is plausible
    row = one(tiny_hardware, **OPS, **hardware_cells(2.4e20))
    assert row["implied_utilization"] == pytest.approx(0.125)
    assert {"methods_disagree", "methods_inconsistent"} <= set(row["flags"])
    assert row["estimate_source"] == "weighted_mean"
    assert 6e19 < row["estimate_flop"] < 2.4e20
    assert "likely causes:" in row["notes"]
    # the interval is widened by how far apart they are, so that it spans the disagreement
    assert row["estimate_low_flop"] < 6e19 * 1.5 and row["estimate_high_flop"] > 2.4e20 / 2


def test_inconsistency_names_mixture_of_experts_when_ops_is_too_high(tiny_hardware):
    row = one(tiny_hardware, **OPS, **hardware_cells(1.5e19))
    assert "total instead of active parameters" in row["notes"]


def test_implausible_utilization_pulls_ops_to_the_plausible_bound(tiny_hardware):
    # implied utilization 0.05: ops is weighed as if at 0.1 of peak (1.2e20 here)
    row = one(tiny_hardware, **OPS, **hardware_cells(6e20))
    assert "implied_utilization_low" in row["flags"]
    assert row["estimate_flop"] == pytest.approx(weighted(1.2e20, 6e20), rel=1e-9)
    assert "nearest plausible utilization" in row["notes"]


def test_impossible_utilization_pulls_ops_down_to_peak(tiny_hardware):
    row = one(tiny_hardware, **OPS, **hardware_cells(1.5e19))  # peak x time = 3e19
    assert "implied_utilization_impossible" in row["flags"]
    assert row["estimate_flop"] == pytest.approx(weighted(3e19, 1.5e19), rel=1e-9)


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
    assert "weighted mean" in row["notes"]
    assert row["summary"].startswith("Our model has 1.0e9 parameters, was trained on 1.0e10 tokens")
    assert "The two estimates combine to 7.2e19 FLOP." in row["summary"]


def test_output_sorted_by_system(tiny_hardware):
    systems = systems_frame([{"system": n, **OPS} for n in ["b", "C", "a"]])
    assert estimate(systems, tiny_hardware)["system"].to_list() == ["C", "a", "b"]


def test_a_count_beyond_what_unnamed_chips_could_do_is_not_used(tiny_hardware):
    # 6e19 FLOP by counting; 10 chips for 1 h of the tiny table's fastest 2010 chip (GTX 580,
    # 1.58e12 FLOP/s) could do 5.7e16 at most.
    chips = {
        "hardware_quantity": "10",
        "training_time_hours": "1",
        "publication_date": "2010-06-01",
    }
    row = one(tiny_hardware, **OPS, **chips)
    assert row["estimate_flop"] is None and row["ops_flop"] is None and row["ops_rule"] is None
    assert row["flags"] == ["hardware_time_without_chip", "ops_beyond_capacity"]
    assert "6 x 1.0e9 params x 1.0e10 tokens x 1 epoch = 6.0e19 FLOP" in row["notes"]
    assert "more than 3.6e4 chip-seconds could do at 1.6e12 FLOP/s" in row["notes"]
    # the same chips for a year could: the count stands, and later chips raise the bound
    year = one(tiny_hardware, **OPS, **{**chips, "training_time_hours": "8760"})
    assert year["estimate_flop"] == pytest.approx(6e19)
    later = one(tiny_hardware, **OPS, **{**chips, "publication_date": "2023-01-01"})
    assert later["estimate_flop"] == pytest.approx(6e19)
    assert "ops_beyond_capacity" not in year["flags"] + later["flags"]


def test_the_calculator_sentence_names_the_parameters_the_count_used(tiny_hardware):
    moe = {"parameters": "1e12", "dataset_size": "1e12", "dataset_unit": "tokens", "epochs": "1"}
    row = one(tiny_hardware, **moe, mixture_of_experts="yes")
    assert row["summary"] == (
        "Our model has 1.0e11 active parameters, was trained on 1.0e12 tokens and used 6.0e23 "
        "FLOP during training."
    )
    dense = one(tiny_hardware, **moe)
    assert dense["summary"].startswith("Our model has 1.0e12 parameters,")

"""Training stages: totals along chains of fine-tunes, lower bounds, cycles."""

import pytest

from pipeline.estimate import estimate
from tests.conftest import systems_frame

# 6 x 1e9 x tokens: the stages below are 6e19, 6e18 and 6e17 FLOP.
STAGE = {"domain": "language", "parameters": "1e9", "dataset_unit": "tokens", "epochs": "1"}


def rows(tiny_hardware, *specs):
    cells = [{"system": name, **STAGE, "dataset_size": size, "base_model": base}
             for name, size, base in specs]  # fmt: skip
    frame = estimate(systems_frame(cells), tiny_hardware)
    return {row["system"]: row for row in frame.iter_rows(named=True)}


def test_a_chain_through_a_lower_bound_adds_every_known_stage(tiny_hardware):
    found = rows(
        tiny_hardware,
        ("Tune", "1e9", "Unknown base"),  # a lower bound: 6e18
        ("Tune of tune", "1e8", "Tune"),
    )
    assert found["Tune"]["estimate_flop"] == pytest.approx(6e18)
    assert found["Tune"]["estimate_high_flop"] is None
    top = found["Tune of tune"]
    assert top["estimate_flop"] == pytest.approx(6e18 + 6e17)  # the base's bound is not dropped
    assert top["estimate_high_flop"] is None
    assert top["estimate_low_flop"] < top["estimate_flop"]
    assert {"includes_base_model", "base_lower_bound"} <= set(top["flags"])
    assert "base_compute_unknown" not in top["flags"]


def test_a_stage_without_an_estimate_passes_its_base_on_as_a_bound(tiny_hardware):
    found = rows(
        tiny_hardware,
        ("Base", "1e10", None),
        ("Blank stage", None, "Base"),
        ("On top", "1e8", "Blank stage"),
    )
    assert found["Blank stage"]["estimate_flop"] == pytest.approx(6e19)
    assert "stage_compute_unknown" in found["Blank stage"]["flags"]
    assert found["On top"]["estimate_flop"] == pytest.approx(6e19 + 6e17)
    assert found["On top"]["estimate_high_flop"] is None
    assert "base_lower_bound" in found["On top"]["flags"]


def test_a_bounded_chain_stays_bounded(tiny_hardware):
    found = rows(tiny_hardware, ("Base", "1e10", None), ("Tune", "1e9", "Base"))
    tune = found["Tune"]
    assert tune["estimate_flop"] == pytest.approx(6e19 + 6e18)
    # bounds add: the base's high bound plus the stage's own (its one method's)
    assert tune["estimate_high_flop"] == pytest.approx(
        found["Base"]["estimate_high_flop"] + tune["ops_high_flop"]
    )
    assert "base_lower_bound" not in tune["flags"]


@pytest.mark.parametrize(
    "specs",
    [
        [("A", "1e9", "B"), ("B", "1e8", "A")],
        [("A", "1e9", "B"), ("B", "1e8", "C"), ("C", "1e9", "A")],
        [("A", "1e9", "A")],
    ],
)
def test_base_models_in_a_cycle_keep_their_stage_alone_and_say_so(tiny_hardware, specs):
    found = rows(tiny_hardware, *specs, ("Outside", "1e8", "A"))
    for name, size, _ in specs:
        row = found[name]
        assert row["estimate_flop"] == pytest.approx(6e9 * float(size))
        assert row["estimate_high_flop"] is None
        assert {"base_model_cycle", "base_compute_unknown"} <= set(row["flags"])
        assert "form a cycle" in row["notes"]
    # a row that only leads into the cycle is not in it: it adds A's stage, a lower bound
    outside = found["Outside"]
    assert "base_model_cycle" not in outside["flags"]
    assert outside["estimate_flop"] == pytest.approx(6e17 + 6e18)
    assert "base_lower_bound" in outside["flags"]

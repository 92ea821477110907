"""Training stages: totals along chains of fine-tunes, lower bounds, cycles."""

import polars as pl
import pytest

from pipeline.estimate.chain import estimate
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


def test_a_reported_or_given_total_ends_the_chain_so_no_cycle_is_seen(tiny_hardware):
    cells = [
        {"system": "A", **STAGE, "dataset_size": "1e9", "base_model": "B",
         "reported_compute_flop": "1e22"},
        {"system": "B", **STAGE, "dataset_size": "1e8", "base_model": "A"},
        {"system": "Self", **STAGE, "dataset_size": "1e9", "base_model": "Self",
         "base_model_compute_flop": "1e22"},
    ]  # fmt: skip
    found = {
        r["system"]: r for r in estimate(systems_frame(cells), tiny_hardware).iter_rows(named=True)
    }
    assert found["A"]["estimate_flop"] == 1e22
    assert found["B"]["estimate_flop"] == pytest.approx(1e22 + 6e17)
    assert found["Self"]["estimate_flop"] == pytest.approx(1e22 + 6e18)
    for name in ("B", "Self"):
        assert found[name]["estimate_high_flop"] is not None
        assert "base_model_cycle" not in found[name]["flags"]
        assert "includes_base_model" in found[name]["flags"]


def test_chains_and_cycles_of_any_length(tiny_hardware):
    # Neighbours differ in their datasets: a stage with its base's very inputs restates it.
    chain = [("R0", "1e10", None)] + [
        (f"R{i}", "1e8" if i % 2 else "2e8", f"R{i - 1}") for i in range(1, 40)
    ]
    loop = [(f"C{i}", "1e8", f"C{(i + 1) % 25}") for i in range(25)]
    found = rows(tiny_hardware, *chain, *loop)
    assert found["R39"]["estimate_flop"] == pytest.approx(6e19 + 20 * 6e17 + 19 * 1.2e18)
    assert found["R39"]["estimate_high_flop"] is not None
    assert "base_lower_bound" not in found["R39"]["flags"]
    assert all("base_model_cycle" in found[f"C{i}"]["flags"] for i in range(25))
    assert found["C7"]["estimate_flop"] == pytest.approx(6e17)


def test_cycles_are_found_by_following_pointers():
    from pipeline.estimate.bases import in_cycles  # noqa: PLC0415

    pointer = pl.Series([1, 2, 0, 0, None, 4, 6, 8, 7], dtype=pl.UInt32)
    # 0 -> 1 -> 2 -> 0 is a cycle, 3 leads into it, 5 -> 4 ends, 6 names itself, 7 <-> 8
    assert in_cycles(pointer).to_list() == [True, True, True, False, False, False, True, True, True]


def test_staged_rows_say_what_they_add_up(tiny_hardware):
    found = rows(
        tiny_hardware,
        ("Base", "1e10", None),
        ("Tune", "1e9", "Base"),
        ("Blank", None, "Base"),
        ("Orphan", "1e9", "Nowhere"),
    )
    assert found["Tune"]["summary"].endswith(
        "With its base model 'Base' (6.0e19 FLOP), the total is 6.6e19 FLOP."
    )
    blank = found["Blank"]
    assert blank["summary"] == (
        "Our model builds on 'Base' (6.0e19 FLOP); its own training stage has no estimate, so "
        "that is a lower bound."
    )
    # it has an estimate now: no longer "insufficient inputs"
    assert "insufficient_inputs" not in blank["flags"]
    assert "insufficient inputs" not in blank["notes"]
    assert {"includes_base_model", "stage_compute_unknown"} <= set(blank["flags"])
    assert found["Orphan"]["summary"].endswith(
        "Its base model 'Nowhere' has no known compute, so the total is at least that."
    )

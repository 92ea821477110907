"""Property tests of the estimators: scaling, monotonicity, and where the reconciled value lies."""

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.estimate.chain import estimate
from pipeline.settings import DEFAULT_SETTINGS
from tests.conftest import systems_frame

positive = st.floats(min_value=1e3, max_value=1e13, allow_nan=False, allow_infinity=False)
small = st.floats(min_value=1, max_value=1e4, allow_nan=False, allow_infinity=False)
fraction = st.floats(min_value=0.01, max_value=1.0, allow_nan=False)
factor = st.floats(min_value=1.01, max_value=100, allow_nan=False)
CHECKS = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _text(cells: dict) -> dict:
    return {k: repr(v) if isinstance(v, float) else v for k, v in cells.items()}


def run(table, **cells):
    return run_all(table, cells)[0]


def run_all(table, *rows: dict) -> list[dict]:
    """Each row's estimate, from one run over all of them (systems s0, s1, ... in order)."""
    sheet = [{"system": f"s{i}", **_text(cells)} for i, cells in enumerate(rows)]
    return estimate(systems_frame(sheet), table).to_dicts()


@CHECKS
@given(params=positive, tokens=positive, epochs=small)
def test_6nd_is_six_n_d(tiny_hardware, params, tokens, epochs):
    row = run(
        tiny_hardware, parameters=params, dataset_size=tokens, dataset_unit="tokens", epochs=epochs
    )
    assert math.isclose(row["ops_flop"], 6 * params * tokens * epochs, rel_tol=1e-9)


@CHECKS
@given(params=positive, tokens=positive, grow=factor)
def test_more_tokens_or_parameters_never_lower_ops(tiny_hardware, params, tokens, grow):
    cells = {"dataset_unit": "tokens", "epochs": "1"}
    base, more_tokens, more_params = (row["ops_flop"] for row in run_all(
        tiny_hardware,
        {"parameters": params, "dataset_size": tokens, **cells},
        {"parameters": params, "dataset_size": tokens * grow, **cells},
        {"parameters": params * grow, "dataset_size": tokens, **cells},
    ))  # fmt: skip
    assert more_tokens >= base and more_params >= base


@CHECKS
@given(chips=st.integers(1, 100_000), hours=small, utilization=fraction, grow=st.integers(2, 10))
def test_more_chips_or_time_never_lower_hardware(tiny_hardware, chips, hours, utilization, grow):
    cells = {"hardware": "H100", "precision": "bf16", "utilization": utilization}
    base, more_chips, more_time = (row["hardware_flop"] for row in run_all(
        tiny_hardware,
        {"hardware_quantity": str(chips), "training_time_hours": hours, **cells},
        {"hardware_quantity": str(chips * grow), "training_time_hours": hours, **cells},
        {"hardware_quantity": str(chips), "training_time_hours": hours * grow, **cells},
    ))  # fmt: skip
    assert math.isclose(base, chips * hours * 3600 * 989e12 * utilization, rel_tol=1e-9)
    assert more_chips >= base and more_time >= base


@CHECKS
@given(
    params=positive,
    tokens=positive,
    chips=st.integers(1, 10_000),
    hours=small,
    utilization=fraction,
)
def test_reconciled_estimate_lies_between_the_methods(
    tiny_hardware, params, tokens, chips, hours, utilization
):
    row = run(
        tiny_hardware, parameters=params, dataset_size=tokens, dataset_unit="tokens", epochs="1",
        hardware="A100", hardware_quantity=str(chips), training_time_hours=hours,
        utilization=utilization,
    )  # fmt: skip
    low, high = sorted([row["ops_flop"], row["hardware_flop"]])
    assert low * (1 - 1e-9) <= row["estimate_flop"] <= high * (1 + 1e-9)
    apart = high / low
    assert row["estimate_source"] == "weighted_mean"
    assert ("methods_disagree" in row["flags"]) == (apart > 3)
    assert row["estimate_low_flop"] <= row["estimate_flop"] <= row["estimate_high_flop"]


BOTH = {"dataset_unit": "tokens", "epochs": "1", "hardware": "A100", "domain": "language"}


def both_methods(params, tokens, chips, hours) -> dict:
    return {
        "parameters": params, "dataset_size": tokens, "hardware_quantity": str(chips),
        "training_time_hours": hours, **BOTH,
    }  # fmt: skip


@CHECKS
@given(
    params=positive, tokens=positive, chips=st.integers(1, 10_000), hours=small,
    grow=factor, which=st.sampled_from(["params", "tokens", "chips", "hours"]),
)  # fmt: skip
def test_more_of_any_input_never_lowers_the_reconciled_estimate(
    tiny_hardware, params, tokens, chips, hours, grow, which
):
    inputs = {"params": params, "tokens": tokens, "chips": chips, "hours": hours}
    grown = dict(inputs)
    grown[which] = math.ceil(chips * grow) if which == "chips" else inputs[which] * grow
    base, more = (
        row["estimate_flop"]
        for row in run_all(tiny_hardware, both_methods(**inputs), both_methods(**grown))
    )
    assert more >= base * (1 - 1e-9)


@CHECKS
@given(params=positive, tokens=positive, epochs=st.one_of(st.none(), small))
def test_the_interval_holds_the_estimate_and_the_label_follows_its_width(
    tiny_hardware, params, tokens, epochs
):
    cells = {"dataset_unit": "tokens"} | ({} if epochs is None else {"epochs": epochs})
    row = run(tiny_hardware, parameters=params, dataset_size=tokens, **cells)
    if row["estimate_flop"] is None:
        assert "epochs_needed" in row["flags"]
        return
    reach = row["estimate_high_flop"] / row["estimate_flop"]
    assert math.isclose(reach, row["estimate_flop"] / row["estimate_low_flop"], rel_tol=1e-9)
    confident, likely = DEFAULT_SETTINGS.confident_factor, DEFAULT_SETTINGS.likely_factor
    expected = (
        "Confident" if reach <= confident * (1 + 1e-9)
        else "Likely" if reach <= likely * (1 + 1e-9) else "Speculative"
    )  # fmt: skip
    assert row["confidence"] == expected


@CHECKS
@given(params=positive, tokens=positive, reported=positive)
def test_reported_compute_always_wins(tiny_hardware, params, tokens, reported):
    row = run(
        tiny_hardware,
        parameters=params,
        dataset_size=tokens,
        dataset_unit="tokens",
        reported_compute_flop=reported * 1e10,
    )
    assert row["estimate_flop"] == reported * 1e10
    assert row["estimate_source"] == "reported"

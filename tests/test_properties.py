"""Property tests of the estimators: scaling, monotonicity, and where the reconciled value lies."""

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.estimate import estimate
from tests.conftest import systems_frame

positive = st.floats(min_value=1e3, max_value=1e13, allow_nan=False, allow_infinity=False)
small = st.floats(min_value=1, max_value=1e4, allow_nan=False, allow_infinity=False)
fraction = st.floats(min_value=0.01, max_value=1.0, allow_nan=False)
factor = st.floats(min_value=1.01, max_value=100, allow_nan=False)
CHECKS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def run(table, **cells):
    text = {k: repr(v) if isinstance(v, float) else v for k, v in cells.items()}
    return estimate(systems_frame([{"system": "s", **text}]), table).row(0, named=True)


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
    base = run(tiny_hardware, parameters=params, dataset_size=tokens, dataset_unit="tokens")[
        "ops_flop"
    ]
    more_tokens = run(
        tiny_hardware, parameters=params, dataset_size=tokens * grow, dataset_unit="tokens"
    )["ops_flop"]
    more_params = run(
        tiny_hardware, parameters=params * grow, dataset_size=tokens, dataset_unit="tokens"
    )["ops_flop"]
    assert more_tokens >= base and more_params >= base


@CHECKS
@given(chips=st.integers(1, 100_000), hours=small, utilization=fraction, grow=st.integers(2, 10))
def test_more_chips_or_time_never_lower_hardware(tiny_hardware, chips, hours, utilization, grow):
    cells = {"hardware": "H100", "precision": "bf16", "utilization": utilization}
    base = run(tiny_hardware, hardware_quantity=str(chips), training_time_hours=hours, **cells)[
        "hardware_flop"
    ]
    more_chips = run(
        tiny_hardware, hardware_quantity=str(chips * grow), training_time_hours=hours, **cells
    )["hardware_flop"]
    more_time = run(
        tiny_hardware, hardware_quantity=str(chips), training_time_hours=hours * grow, **cells
    )["hardware_flop"]
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
        tiny_hardware, parameters=params, dataset_size=tokens, dataset_unit="tokens", hardware="A100",
        hardware_quantity=str(chips), training_time_hours=hours, utilization=utilization,
    )  # fmt: skip
    low, high = sorted([row["ops_flop"], row["hardware_flop"]])
    assert low * (1 - 1e-9) <= row["estimate_flop"] <= high * (1 + 1e-9)
    apart = high / low
    assert row["estimate_source"] == ("geometric_mean" if apart <= 3 else "ops")
    assert ("methods_disagree" in row["flags"]) == (apart > 3)


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

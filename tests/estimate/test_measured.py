"""Real training steps on an H200 with counted FLOP and measured time (tests/data/measured).

With the measured utilization, the hardware-time method must reproduce the counted FLOP; and
6 x parameters x tokens must land within the 0.85-0.88 share of the counted FLOP that the
context term and logits leave over for these GPT-2 shapes."""

import polars as pl
import pytest

from pipeline.calculators import counting_operations, hardware_time
from tests.conftest import MEASURED_DIR

MEASURED = MEASURED_DIR / "h200_training_steps.csv"
STEPS = pl.read_csv(MEASURED)


@pytest.mark.parametrize("run", list(STEPS.iter_rows(named=True)), ids=STEPS["run"].to_list())
def test_hardware_time_with_measured_utilization_reproduces_counted_flop(shipped_hardware, run):
    result = hardware_time(
        shipped_hardware, chip=run["hardware"], chips=str(run["chips"]),
        time=f"{run['seconds_per_step']} seconds", precision=run["precision"],
        utilization=str(run["mfu"]),
    )  # fmt: skip
    assert result.flop == pytest.approx(run["counted_flop_per_step"], rel=0.01)


GPT_RUNS = STEPS.filter(pl.col("tokens_per_step").is_not_null())


@pytest.mark.parametrize("run", list(GPT_RUNS.iter_rows(named=True)), ids=GPT_RUNS["run"].to_list())
def test_6nd_is_most_of_the_counted_flop(shipped_hardware, run):
    result = counting_operations(
        shipped_hardware,
        parameters=str(run["parameters"]),
        tokens=str(run["tokens_per_step"]),
        epochs="1",
    )
    share = result.flop / run["counted_flop_per_step"]
    assert 0.84 <= share <= 0.89

"""`flopsheet calibrate`: learn utilization priors from spreadsheets.

Each input is estimated on its own with the seed priors (the implied utilization does not
depend on them), and every row that tells a utilization gives one observation: the reported
value, or the implied one where both methods apply and it is plausible. A system found in
several inputs counts once, from the last input that has it, so that two exports of the same
database do not count their systems twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipeline.defaults import DEFAULT_MIN_OBSERVATIONS
from pipeline.estimate.hardware import load_hardware
from pipeline.estimate.priors import (
    PriorsChoice,
    calibrate_priors,
    priors_toml,
    seed_priors,
    utilization_observations,
)
from pipeline.publish.snapshot import file_sha256
from pipeline.resources import HARDWARE_TABLE
from pipeline.run import run_in_memory
from pipeline.settings import DEFAULT_SETTINGS, Settings
from pipeline.sources import Sources
from pipeline.version import __version__


@dataclass
class Calibration:
    priors: pl.DataFrame
    observations: pl.DataFrame
    header: list[str]

    def toml(self) -> str:
        return priors_toml(self.priors, self.header)


def calibrate(
    inputs: Sequence[Path],
    hardware_path: Path = HARDWARE_TABLE,
    settings: Settings = DEFAULT_SETTINGS,
    min_observations: int = DEFAULT_MIN_OBSERVATIONS,
    input_format: str = "auto",
) -> Calibration:
    hardware = load_hardware(hardware_path)
    per_input = []
    for order, path in enumerate(inputs):
        sources = Sources.of([path], None, input_format, hardware_path, PriorsChoice.seed())
        estimates = run_in_memory(sources, settings, hardware=hardware).estimates
        observed = utilization_observations(
            estimates, hardware, settings.implied_utilization_low,
            settings.implied_utilization_high,
        )  # fmt: skip
        per_input.append(observed.with_columns(pl.lit(order).alias("_order")))
    observations = (
        pl.concat(per_input)
        .sort("_order")
        .unique("system", keep="last", maintain_order=True)
        .drop("_order")
        .sort("system")
    )
    # No observation at all teaches nothing: the seed's priors stand, the language one included.
    priors = (
        calibrate_priors(observations, min_observations) if observations.height else seed_priors()
    )
    counts = observations["kind"].value_counts().sort("kind")
    header = [
        "flopsheet utilization priors, written by `flopsheet calibrate`.",
        "Each prior is a log-normal utilization: median `utilization`, `sigma` the standard",
        "deviation of ln(utilization), `low`-`high` the observed 5th-95th percentiles.",
        "Lookup: (domain, generation), then (domain, *), (*, generation), (*, *).",
        f"flopsheet {__version__}; at least {min_observations} observations per group;",
        "observations: "
        + (", ".join(f"{n} {kind}" for kind, n in counts.iter_rows()) or "none")
        + f" ({observations.height} systems).",
        "Inputs (SHA-256):",
        *(f"  {Path(p).name}  {file_sha256(Path(p))}" for p in inputs),
    ]
    return Calibration(priors, observations, header)

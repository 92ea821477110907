"""`flopsheet calibrate`: learn utilization priors from spreadsheets.

Each input is estimated on its own with the seed priors (the implied utilization does not
depend on them), and every row that tells a utilization gives one observation: the reported
value, or the implied one where both methods apply and it is plausible. A system found in
several inputs counts once, from the last input that has it, so that two exports of the same
database do not count their systems twice.

Inputs that report figures also teach the predictive spreads (pipeline/estimate/predictive.py):
each is estimated again with its figures withheld, with the priors just learned, and each
estimate is set against the figure it did not see.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipeline.defaults import DEFAULT_MIN_OBSERVATIONS
from pipeline.estimate.hardware import load_hardware
from pipeline.estimate.predictive import fit_spreads
from pipeline.estimate.priors import (
    PriorsChoice,
    calibrate_priors,
    priors_toml,
    seed_priors,
    utilization_observations,
)
from pipeline.publish.snapshot import file_sha256
from pipeline.read.epoch import FIGURE_DERIVED_PATTERNS
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
    spreads: pl.DataFrame | None = None

    def toml(self) -> str:
        return priors_toml(self.priors, self.header, self.spreads)


def calibrate(
    inputs: Sequence[Path],
    hardware_path: Path = HARDWARE_TABLE,
    settings: Settings = DEFAULT_SETTINGS,
    min_observations: int = DEFAULT_MIN_OBSERVATIONS,
    input_format: str = "auto",
) -> Calibration:
    hardware = load_hardware(hardware_path)
    per_input, figures = [], []
    for order, path in enumerate(inputs):
        sources = Sources.of([path], None, input_format, hardware_path, PriorsChoice.seed())
        estimates = run_in_memory(sources, settings, hardware=hardware).estimates
        observed = utilization_observations(
            estimates, hardware, settings.implied_utilization_low,
            settings.implied_utilization_high,
        )  # fmt: skip
        per_input.append(observed.with_columns(pl.lit(order).alias("_order")))
        figures.append(
            estimates.filter(pl.col("estimate_source") == "reported").select(
                "system", pl.col("estimate_flop").alias("_figure"), pl.lit(order).alias("_order")
            )
        )
    observations = _last_of_each_system(pl.concat(per_input))
    # No observation at all teaches nothing: the seed's priors stand, the language one included.
    priors = (
        calibrate_priors(observations, min_observations) if observations.height else seed_priors()
    )
    spreads = _fit_spreads(inputs, figures, hardware_path, input_format, settings, hardware, priors)
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
    if spreads is not None:
        header += [
            "Spreads: the predictive distribution of ln(figure / estimate) per estimate source,",
            "learned from the inputs' reported figures withheld (pipeline/estimate/predictive.py):",
            "exact with probability `exact_share`, else a Student-t with `df` degrees of",
            "freedom and scale sqrt(floor^2 + (scale x assumption_sigma)^2).",
        ]
    return Calibration(priors, observations, header, spreads)


def _last_of_each_system(frame: pl.DataFrame) -> pl.DataFrame:
    """A system in several inputs counts once, from the last input that has it."""
    return (
        frame.sort("_order")
        .unique("system", keep="last", maintain_order=True)
        .drop("_order")
        .sort("system")
    )


def _fit_spreads(
    inputs: Sequence[Path],
    figures: list[pl.DataFrame],
    hardware_path: Path,
    input_format: str,
    settings: Settings,
    hardware: pl.DataFrame,
    priors: pl.DataFrame,
) -> pl.DataFrame | None:
    """Spreads from every row with a reported figure, estimated with that figure and all that
    derives from it withheld (as `evaluate` does); None when no input reports a figure."""
    residuals = []
    for order, (path, figure) in enumerate(zip(inputs, figures, strict=True)):
        if figure.height == 0:
            continue
        sources = Sources.of([path], None, input_format, hardware_path,
                             withhold=FIGURE_DERIVED_PATTERNS)  # fmt: skip
        withheld = run_in_memory(sources, settings, hardware=hardware, priors=priors).estimates
        residuals.append(
            withheld.join(figure, on="system").select(
                "system",
                pl.col("estimate_source").alias("source"),
                pl.col("assumption_sigma").alias("sigma"),
                (pl.col("_figure") / pl.col("estimate_flop")).log().alias("residual"),
                pl.lit(order).alias("_order"),
            )  # fmt: skip
        )
    if not residuals:
        return None
    return fit_spreads(_last_of_each_system(pl.concat(residuals)).drop_nulls())

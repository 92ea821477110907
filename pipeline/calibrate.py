"""`flopsheet calibrate`: learn utilization priors from spreadsheets.

Each input is estimated on its own with the seed priors (the implied utilization does not
depend on them), and every row that tells a utilization gives one observation: the reported
value, or the implied one where both methods apply and it is plausible. A system found in
several inputs counts once, from the last input that has it, so that two exports of the same
database do not count their systems twice.

Inputs that report figures also teach the forward cost per parameter of data not counted in
tokens (pipeline/estimate/forward_costs.py), the spread of assumed epochs by domain and unit
(pipeline/estimate/epoch_spreads.py) and the predictive spreads
(pipeline/estimate/predictive.py): each is estimated again with its figures withheld, with the
priors just learned (and k = 1 and no spread for assumed epochs, to observe them), and each
estimate is set against the figure it did not see. `min_observations` is the utilization
priors' group size; k and the epochs' spreads need their modules' own minimum (10 rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import polars as pl

from pipeline.defaults import DEFAULT_MIN_OBSERVATIONS
from pipeline.estimate.epoch_spreads import epoch_observations, fit_epoch_spreads
from pipeline.estimate.forward_costs import fit_forward_costs, forward_cost_observations
from pipeline.estimate.hardware import load_hardware
from pipeline.estimate.predictive import fit_spreads, spread_source
from pipeline.estimate.priors import (
    Learned,
    PriorsChoice,
    calibrate_priors,
    priors_toml,
    provisional_learned,
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
    learned: Learned
    observations: pl.DataFrame
    header: list[str]

    @property
    def priors(self) -> pl.DataFrame:
        return self.learned.priors

    def toml(self) -> str:
        return priors_toml(self.learned, self.header)


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
    learned = _fit_learned(inputs, figures, hardware_path, input_format, settings, hardware, priors)
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
    if learned.spreads is not None:
        header += [
            "Spreads: the predictive distribution of ln(figure / estimate) per estimate source,",
            "learned from the inputs' reported figures withheld (pipeline/estimate/predictive.py):",
            "exact with probability `exact_share`, else a Student-t with `df` degrees of",
            "freedom and scale sqrt(floor^2 + (scale x assumption_sigma)^2).",
        ]
    if learned.forward_costs is not None:
        header += [
            "Forward costs: FLOP per parameter per example (`k`, and `sigma` of ln k) for data",
            "not counted in tokens, learned from the inputs' reported figures withheld",
            "(pipeline/estimate/forward_costs.py).",
        ]
    if learned.epoch_spreads is not None:
        header += [
            "Epochs: the spread (`sigma` of ln epochs) of one epoch assumed, per domain and",
            "dataset unit, learned from the inputs' reported figures withheld",
            "(pipeline/estimate/epoch_spreads.py).",
        ]
    return Calibration(learned, observations, header)


def _last_of_each_system(frame: pl.DataFrame) -> pl.DataFrame:
    """A system in several inputs counts once, from the last input that has it."""
    return (
        frame.sort("_order")
        .unique("system", keep="last", maintain_order=True)
        .drop("_order")
        .sort("system")
    )


def _withheld(
    inputs: Sequence[Path],
    figures: list[pl.DataFrame],
    hardware_path: Path,
    input_format: str,
    settings: Settings,
    hardware: pl.DataFrame,
    learned: Learned,
) -> pl.DataFrame:
    """Every row with a reported figure, estimated with that figure and all that derives from
    it withheld (as `evaluate` does), with the figure as `_figure`; a system in several inputs
    once, from the last."""
    rows = []
    for path, figure in zip(inputs, figures, strict=True):
        if figure.height == 0:
            continue
        sources = Sources.of([path], None, input_format, hardware_path,
                             withhold=FIGURE_DERIVED_PATTERNS)  # fmt: skip
        withheld = run_in_memory(sources, settings, hardware=hardware, learned=learned).estimates
        rows.append(withheld.join(figure, on="system"))  # figure carries `_order`
    if not rows:
        return pl.DataFrame(schema={"system": pl.String, "_figure": pl.Float64})
    # `_order` came with the figures: a system in several inputs counts from the last.
    return _last_of_each_system(pl.concat(rows, how="diagonal_relaxed"))


def _fit_learned(
    inputs: Sequence[Path],
    figures: list[pl.DataFrame],
    hardware_path: Path,
    input_format: str,
    settings: Settings,
    hardware: pl.DataFrame,
    priors: pl.DataFrame,
) -> Learned:
    """The forward cost per parameter, from every figure over the rule's count at k = 1, and
    the spread of assumed epochs, from every figure over a count with one epoch assumed; then
    the spreads, from every figure against its estimate made with it withheld. Nothing more
    than the priors where no input reports a figure."""
    withheld_with = partial(
        _withheld, inputs, figures, hardware_path, input_format, settings, hardware
    )
    provisional = withheld_with(provisional_learned(priors))
    if provisional.height == 0:
        return Learned(priors)
    provisional_figures = provisional.select("system", "_figure")
    counts = {
        "forward_costs": fit_forward_costs(
            forward_cost_observations(provisional, provisional_figures)
        ),
        "epoch_spreads": fit_epoch_spreads(epoch_observations(provisional, provisional_figures)),
    }
    withheld = withheld_with(Learned(priors, **counts))
    residuals = withheld.select(
        spread_source().alias("source"),
        pl.col("assumption_sigma").alias("sigma"),
        (pl.col("_figure") / pl.col("estimate_flop")).log().alias("residual"),
    ).drop_nulls()
    return Learned(priors, fit_spreads(residuals), **counts)

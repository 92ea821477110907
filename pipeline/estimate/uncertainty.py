"""Log-normal uncertainty: every estimate carries a 90% interval built from its assumptions.

Each method's estimate x has a spread sigma (the standard deviation of ln x). Independent
assumptions add in quadrature; an assumption whose 90% range is x/f to x*f contributes
ln(f) / 1.645. Reported inputs are exact. The interval is x * exp(-+1.645 sigma).
"""

from __future__ import annotations

import math

import polars as pl

from pipeline.settings import Settings

Z90 = 1.6448536269514722  # the standard normal's 95th percentile: a 90% interval is +-Z90 sigma
MIN_WEIGHT_SIGMA = 1e-3  # an all-reported estimate still gets a finite weight when methods combine


def factor_sigma(factor: float) -> float:
    """The sigma of an assumption whose 90% range is x/factor to x*factor."""
    return math.log(factor) / Z90


def quadrature(terms: list[tuple[pl.Expr, pl.Expr | float]]) -> pl.Expr:
    """sqrt(sum sigma^2) over the terms whose condition holds."""
    total = pl.lit(0.0)
    for condition, sigma in terms:
        value = sigma if isinstance(sigma, pl.Expr) else pl.lit(sigma)
        total = total + pl.when(condition.fill_null(False)).then(value**2).otherwise(0.0)
    return total.sqrt()


def interval(estimate: pl.Expr, sigma: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    reach = (Z90 * sigma).exp()
    return estimate / reach, estimate * reach


def rounding_sigma(value: pl.Expr, max_digits: int = 6) -> pl.Expr:
    """The spread of a figure from its own rounding: "3e23" stands for 2.5e23 to 3.5e23.
    Significant digits are the fewest that reproduce the value; the rounding error is taken
    as uniform, so its 90% range is 0.9 of the half-step either way."""
    digits = pl.when(value.round_sig_figs(1) == value).then(pl.lit(1))
    for k in range(2, max_digits + 1):
        digits = digits.when(value.round_sig_figs(k) == value).then(pl.lit(k))
    digits = digits.otherwise(pl.lit(None, pl.Int32))
    exponent = value.log10().floor()
    half_step = 0.5 * pl.lit(10.0).pow(exponent - digits + 1) / value
    return pl.when(digits.is_not_null()).then((1 + 0.9 * half_step).log() / Z90).otherwise(0.0)


def confidence(estimate: pl.Expr, low: pl.Expr, high: pl.Expr, settings: Settings) -> pl.Expr:
    """Confident: the 90% interval reaches at most `confident_factor` from the estimate either
    way; Likely: at most `likely_factor`; Speculative: wider, or no upper bound."""
    reach = pl.max_horizontal(high / estimate, estimate / low)
    return (
        pl.when(estimate.is_null())
        .then(pl.lit(None, pl.String))
        .when(high.is_null() | low.is_null())
        .then(pl.lit("Speculative"))
        .when(reach <= settings.confident_factor * (1 + 1e-9))
        .then(pl.lit("Confident"))
        .when(reach <= settings.likely_factor * (1 + 1e-9))
        .then(pl.lit("Likely"))
        .otherwise(pl.lit("Speculative"))
    )

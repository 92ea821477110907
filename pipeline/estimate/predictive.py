"""Predictive distributions learned from data: how far Epoch's figure falls from an estimate.

An estimate's assumptions give it a log-normal spread (`assumption_sigma`, uncertainty.py).
Measured against Epoch's figures, that spread is the wrong shape: about a quarter of the
estimates equal Epoch's figure (the same formula applied to the same cells), and the rest
miss by more, in heavier tails, than a normal allows. So each method's estimate carries, in
ln(FLOP), a mixture:

- with probability `exact_share`, the figure is the estimate (to its rounding);
- otherwise ln(figure / estimate) follows a Student-t with `df` degrees of freedom and scale
  sqrt(floor^2 + (scale x assumption_sigma)^2).

The four numbers are fitted per estimate source (ops, hardware, weighted_mean, and parameters
for a count by the learned forward cost per parameter; `*` pooled as the fallback) by `flopsheet calibrate` on sheets with a reported figure, the figure withheld:
`exact_share` is the share of estimates within 0.5% of it, and (df, floor, scale) maximise the
t's likelihood over the other rows, on a fixed grid (so the fit is deterministic). They are
written with the utilization priors, as `[[spread]]` tables; `evaluate` refits them by
cross-validation. Without them (the seed's priors) the log-normal stands.

The Student-t's distribution function needs the regularised incomplete beta function; the
quantiles used are computed once per fitted group, in Python, never per row.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import polars as pl

from pipeline.errors import InputFileError
from pipeline.read.small_files import toml_choice, toml_count, toml_number, toml_tables

ANY = "*"
# The methods' estimate sources, and "parameters": a count of operations alone that rests on
# the forward cost learned per parameter (forward_costs.py), far wider than the other counts.
METHOD_SOURCES = ("ops", "hardware", "weighted_mean")
SPREAD_SOURCES = (*METHOD_SOURCES, "parameters")
PREDICTIVE_COLUMNS = ("predictive_exact_share", "predictive_df", "predictive_scale")
# An estimate within this of the figure reproduces it (ln(1.005)); the narrowest half-width.
EXACT_RESIDUAL = math.log1p(0.005)
# Never more sure than this that an estimate is exact: some spread always remains.
MAX_EXACT_SHARE = 0.85
MIN_SPREAD_OBSERVATIONS = 20
DF_GRID = (1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0)
FLOOR_GRID = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8)
SCALE_GRID = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
SPREAD_COLUMNS = {"source": pl.String, "exact_share": pl.Float64, "df": pl.Float64,
                  "floor": pl.Float64, "scale": pl.Float64, "observations": pl.Int64}  # fmt: skip
_FIELD_RANGES = {"exact_share": (0.0, MAX_EXACT_SHARE), "df": (0.5, 1000.0),
                 "floor": (0.0, 10.0), "scale": (0.0, 10.0)}  # fmt: skip


def spread_source() -> pl.Expr:
    """The group whose learned spread an estimate takes: its `estimate_source`, or
    "parameters" for a count of operations alone by the forward cost per parameter."""
    source = pl.col("estimate_source")
    by_parameters = (source == "ops") & (pl.col("ops_rule") == "parameters")
    return pl.when(by_parameters.fill_null(False)).then(pl.lit("parameters")).otherwise(source)


def t_log_density(x: float, df: float) -> float:
    """ln of the standard Student-t density at x."""
    return (
        math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
        - (df + 1) / 2 * math.log1p(x * x / df)
    )  # fmt: skip


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 500):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1.0) < 1e-14:
            break
    return result


def _incomplete_beta(a: float, b: float, x: float, y: float) -> float:
    """The regularised incomplete beta function I_x(a, b), given y = 1 - x as well (computed
    apart, so that x near 1 loses no precision)."""
    if x <= 0.0:
        return 0.0
    if y <= 0.0:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(y)
    )
    if x < (a + 1) / (a + b + 2):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, y) / b


def t_cdf(x: float, df: float) -> float:
    """The standard Student-t distribution function."""
    tail = 0.5 * _incomplete_beta(df / 2, 0.5, df / (df + x * x), x * x / (df + x * x))
    return 1.0 - tail if x > 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The standard Student-t quantile, by bisection (to 1e-12)."""
    low, high = -1e12, 1e12
    for _ in range(200):
        middle = (low + high) / 2
        if t_cdf(middle, df) < p:
            low = middle
        else:
            high = middle
        if high - low < 1e-12 * max(1.0, abs(middle)):
            break
    return (low + high) / 2


def half_width_factor(level: float, exact_share: float, df: float) -> float:
    """The half-width of the mixture's central `level` interval, in units of the t's scale:
    0 where the exact share alone holds `level`."""
    if level <= exact_share:
        return 0.0
    return t_quantile((1 + (level - exact_share) / (1 - exact_share)) / 2, df)


def within_factor_probability(factor: float, exact_share: float, df: float, scale: float) -> float:
    """The mixture's probability that the figure is within `factor` of the estimate."""
    if scale <= 0:
        return 1.0
    return exact_share + (1 - exact_share) * (2 * t_cdf(math.log(factor) / scale, df) - 1)


def mixture_cdf(residual: float, exact_share: float, df: float, scale: float) -> float:
    """The mixture's distribution function at ln(figure / estimate) (the exact part counted
    as a step at 0)."""
    step = 0.5 if residual == 0 else float(residual > 0)
    t_part = step if scale <= 0 else t_cdf(residual / scale, df)
    return exact_share * step + (1 - exact_share) * t_part


def fit_spreads(
    residuals: pl.DataFrame, min_observations: int = MIN_SPREAD_OBSERVATIONS
) -> pl.DataFrame:
    """Spreads per estimate source with at least `min_observations` rows, and the pooled `*`,
    from rows of `source`, `sigma` (assumption_sigma) and `residual` (ln(figure/estimate))."""
    data = residuals.filter(
        pl.col("source").is_in(SPREAD_SOURCES),
        pl.col("sigma").is_finite(),
        pl.col("residual").is_finite(),
    ).sort("source", "sigma", "residual")
    rows = []
    groups = [(source, data.filter(pl.col("source") == source)) for source in SPREAD_SOURCES]
    for source, group in [*groups, (ANY, data)]:
        if group.height < min_observations and source != ANY:
            continue
        if group.height == 0:
            continue
        rows.append((source, *_fit_group(list(group.select("sigma", "residual").iter_rows())),
                     group.height))  # fmt: skip
    return pl.DataFrame(rows, schema=SPREAD_COLUMNS, orient="row")


def _fit_group(observations: list[tuple[float, float]]) -> tuple[float, float, float, float]:
    exact = [abs(r) <= EXACT_RESIDUAL for _, r in observations]
    exact_share = min(sum(exact) / len(observations), MAX_EXACT_SHARE)
    misses = [(s, r) for (s, r), hit in zip(observations, exact, strict=True) if not hit]
    best, best_likelihood = (DF_GRID[-1], FLOOR_GRID[-1], 1.0), -math.inf
    for df, floor, scale in itertools.product(DF_GRID, FLOOR_GRID, SCALE_GRID):
        constant = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
        likelihood = 0.0
        for sigma, residual in misses:
            spread = math.sqrt(floor * floor + (scale * sigma) ** 2)
            z = residual / spread
            likelihood += constant - math.log(spread) - (df + 1) / 2 * math.log1p(z * z / df)
        if likelihood > best_likelihood + 1e-9:
            best, best_likelihood = (df, floor, scale), likelihood
    return (round(exact_share, 4), *best)


def predictive_columns(
    source: pl.Expr, sigma: pl.Expr, spreads: pl.DataFrame
) -> dict[str, pl.Expr]:
    """`predictive_exact_share`, `predictive_df`, `predictive_scale` and `_half_width_90` (the
    90% interval's half-width in ln(FLOP)) for rows whose source has a spread (or the pooled
    one); null elsewhere."""
    by_source = {row["source"]: row for row in spreads.iter_rows(named=True)}
    fallback = by_source.get(ANY)
    columns: dict[str, pl.Expr] = {}
    for name in ("exact_share", "df", "k90", "floor", "scale"):
        expression = pl.when(pl.lit(False)).then(pl.lit(None, pl.Float64))
        for key in SPREAD_SOURCES:
            row = by_source.get(key, fallback)
            if row is None:
                continue
            value = (
                half_width_factor(0.9, row["exact_share"], row["df"]) if name == "k90"
                else row[name]
            )  # fmt: skip
            expression = expression.when(source == key).then(pl.lit(float(value)))
        columns[name] = expression.otherwise(pl.lit(None, pl.Float64))
    scale = (columns["floor"] ** 2 + (columns["scale"] * sigma) ** 2).sqrt()
    return {
        "predictive_exact_share": columns["exact_share"],
        "predictive_df": columns["df"],
        "predictive_scale": scale,
        "_k90": columns["k90"],
    }


def spreads_from_document(path: Path, document: dict) -> pl.DataFrame | None:
    """The `[[spread]]` tables of a priors file (None: it has none, the log-normal stands)."""
    tables = toml_tables(path, document, "spread")
    if tables is None:
        return None
    rows = []
    for where, entry in tables:
        source = toml_choice(path, where, entry, "source", (*SPREAD_SOURCES, ANY))
        values = [
            toml_number(path, where, entry, name, *span) for name, span in _FIELD_RANGES.items()
        ]
        if values[2] == 0 and values[3] == 0:
            raise InputFileError(path, f"{where}: floor and scale are both 0: no spread at all")
        rows.append((source, *values, toml_count(path, where, entry)))
    frame = pl.DataFrame(rows, schema=SPREAD_COLUMNS, orient="row")
    if frame["source"].is_duplicated().any():
        raise InputFileError(path, "a [[spread]] source is given twice")
    return frame

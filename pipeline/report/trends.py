"""The compute trend's statistics: OLS fits of log10(FLOP) on the fractional publication year
over the eras of machine learning, with Student's t intervals, without numpy or scipy."""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

from pipeline.estimate.predictive import t_quantile as student_t_quantile

# The eras the trend is fitted over divide at 2010, the usual start of the deep learning era
# (Sevilla et al., "Compute Trends Across Three Eras of Machine Learning", 2022).
DEEP_LEARNING_START = 2010
# A fit needs at least this many systems: two points leave no residual to estimate an error.
MIN_FIT_POINTS = 3
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Trend:
    """An OLS fit of log10(FLOP) on the fractional publication year, for one group of systems."""

    era: str
    label: str
    rule: str
    n: int
    first_year: float | None = None
    last_year: float | None = None
    slope: float | None = None  # orders of magnitude per year
    intercept: float | None = None
    slope_se: float | None = None
    t: float | None = None  # the Student t quantile used for the interval
    r2: float | None = None
    doubling_months: float | None = None
    doubling_months_ci: tuple[float | None, float | None] = (None, None)
    note: str = ""

    @property
    def fitted(self) -> bool:
        return self.slope is not None

    def as_dict(self) -> dict:
        return {
            "era": self.era,
            "label": self.label,
            "rule": self.rule,
            "n": self.n,
            "first_year": self.first_year,
            "last_year": self.last_year,
            "slope": self.slope,
            "intercept": self.intercept,
            "slope_se": self.slope_se,
            "t": self.t,
            "r2": self.r2,
            "doubling_months": self.doubling_months,
            "doubling_months_ci": list(self.doubling_months_ci),
            "note": self.note,
        }


def doubling_text(trend: Trend) -> str:
    """The doubling time and its interval as the page and the chart's tooltip state them, or
    why there is none."""
    if trend.doubling_months is None:
        return trend.note
    low, high = trend.doubling_months_ci
    upper = f"{high:.1f}" if high is not None else "no upper bound"
    return f"{trend.doubling_months:.1f} months (95% CI {low:.1f} to {upper})"


def t_quantile(confidence: float, df: int) -> float:
    """The t such that P(|T| <= t) = confidence for Student's t with `df` degrees of freedom
    (1.96 as df grows)."""
    return student_t_quantile((1 + confidence) / 2, df)


def _doubling_months(slope: float) -> float | None:
    return 12 * math.log10(2) / slope if slope > 0 else None


def fit_trend(
    years: list[float], log10_flop: list[float], *, era: str, label: str, rule: str
) -> Trend:
    """OLS of log10(FLOP) on the fractional year. Doubling time = log10(2) / slope years; its
    interval comes from the slope's interval, slope +- t(0.975, n - 2) x standard error."""
    n = len(years)
    base = Trend(era=era, label=label, rule=rule, n=n)
    if n < MIN_FIT_POINTS:
        return Trend(**{**vars(base), "note": f"{n} system(s): a fit needs {MIN_FIT_POINTS}"})
    mean_x, mean_y = math.fsum(years) / n, math.fsum(log10_flop) / n
    sxx = math.fsum((x - mean_x) ** 2 for x in years)
    if sxx == 0:
        return Trend(**{**vars(base), "note": "every system has the same date"})
    sxy = math.fsum((x - mean_x) * (y - mean_y) for x, y in zip(years, log10_flop, strict=True))
    syy = math.fsum((y - mean_y) ** 2 for y in log10_flop)
    slope = sxy / sxx
    intercept = mean_y - slope * mean_x
    residual = max(syy - slope * sxy, 0.0)
    se = math.sqrt(residual / (n - 2) / sxx)
    t = t_quantile(CONFIDENCE, n - 2)
    low_slope, high_slope = slope - t * se, slope + t * se
    # A faster growth (larger slope) is a shorter doubling time; a slope interval reaching zero
    # or below leaves the doubling time without an upper bound.
    ci = (_doubling_months(high_slope), _doubling_months(low_slope))
    note = "" if slope > 0 else "compute does not grow over this period"
    return Trend(
        era=era,
        label=label,
        rule=rule,
        n=n,
        first_year=min(years),
        last_year=max(years),
        slope=slope,
        intercept=intercept,
        slope_se=se,
        t=t,
        r2=(slope * sxy / syy) if syy > 0 else None,
        doubling_months=_doubling_months(slope),
        doubling_months_ci=ci,
        note=note,
    )


def fractional_year(date: pl.Expr) -> pl.Expr:
    """The year plus the share of it elapsed on `date` (1 July 2020 is 2020.497)."""
    days = pl.when(date.dt.is_leap_year()).then(366).otherwise(365)
    return date.dt.year() + (date.dt.ordinal_day() - 1) / days


def large_scale(points: pl.DataFrame) -> pl.Series:
    """Large-scale systems: from 2010 on, in the top quarter (rounded up) by training compute of
    the systems published in the same calendar year; ties share a rank."""
    year = pl.col("publication_date").dt.year()
    rank = pl.col("estimate_flop").rank("min", descending=True).over(year)
    quarter = (pl.len().over(year) / 4).ceil()
    return points.select(
        ((year >= DEEP_LEARNING_START) & (rank <= quarter)).alias("large_scale")
    ).to_series()


ERAS = (
    ("all", "All systems", "every system with an estimate and a publication date"),
    (
        "pre_deep_learning",
        f"Before {DEEP_LEARNING_START}",
        f"published before {DEEP_LEARNING_START}",
    ),
    (
        "deep_learning",
        f"{DEEP_LEARNING_START} on (deep learning era)",
        f"published in {DEEP_LEARNING_START} or later",
    ),
    (
        "large_scale",
        "Large-scale systems",
        f"from {DEEP_LEARNING_START} on, the top quarter (rounded up) by compute among the systems published in the same calendar year",
    ),
)


def fit_eras(points: pl.DataFrame) -> list[Trend]:
    """A trend for each of `ERAS`, from points with columns year, large_scale, system and
    estimate_flop."""
    masks = {
        "all": pl.lit(True),
        "pre_deep_learning": pl.col("year") < DEEP_LEARNING_START,
        "deep_learning": pl.col("year") >= DEEP_LEARNING_START,
        "large_scale": pl.col("large_scale"),
    }
    trends = []
    for era, label, rule in ERAS:
        group = points.filter(masks[era]).sort("year", "system")
        trends.append(
            fit_trend(
                group["year"].to_list(),
                group["estimate_flop"].log10().to_list(),
                era=era,
                label=label,
                rule=rule,
            )
        )
    return trends

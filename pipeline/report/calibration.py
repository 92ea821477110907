"""How honest the intervals are, against Epoch's figures: the share of rows whose central
50, 80, 90 and 98% interval holds the figure, and where the figure falls in each row's
predictive distribution (its probability integral transform, PIT: uniform when the
distribution is calibrated), as a table and a chart.

Each row's predictive distribution is the one it publishes: the learned mixture of
`predictive_exact_share`, `predictive_df` and `predictive_scale` (pipeline/estimate/
predictive.py) where it has one; otherwise normal in ln(FLOP), centred on the estimate, with
the spread that puts the 90% interval at `estimate_low_flop`-`estimate_high_flop`.
"""

from __future__ import annotations

import functools
from statistics import NormalDist

import altair as alt
import polars as pl

from pipeline.estimate.predictive import EXACT_RESIDUAL, half_width_factor, mixture_cdf
from pipeline.estimate.uncertainty import Z90

LEVELS = (0.5, 0.8, 0.9, 0.98)
PIT_BINS = 10
_NORMAL = NormalDist()


def _distributions(rows: pl.DataFrame) -> list[tuple[float, float | None, float, float]]:
    """(residual, exact share, df, scale) of each row with a bounded interval and a figure:
    the residual is ln(figure / estimate); df is None for the normal."""
    sigma = (pl.col("estimate_high_flop") / pl.col("estimate_low_flop")).log() / (2 * Z90)
    learned = pl.col("predictive_scale").is_not_null()
    data = rows.filter(
        pl.col("epoch_flop").is_not_null(),
        pl.col("estimate_flop").is_not_null(),
        pl.col("estimate_high_flop").is_not_null(),
    ).select(
        (pl.col("epoch_flop") / pl.col("estimate_flop")).log(),
        pl.when(learned).then(pl.col("predictive_exact_share")).otherwise(0.0),
        pl.when(learned).then(pl.col("predictive_df")),
        pl.when(learned).then(pl.col("predictive_scale")).otherwise(sigma),
    )
    return list(data.iter_rows())


@functools.lru_cache(maxsize=4096)
def _half_width(level: float, exact_share: float, df: float | None, scale: float) -> float:
    if df is None:
        return _NORMAL.inv_cdf((1 + level) / 2) * scale
    return max(half_width_factor(level, exact_share, df) * scale, EXACT_RESIDUAL)


def coverage_table(rows: pl.DataFrame) -> pl.DataFrame:
    """Observed coverage of each central interval, beside its nominal level."""
    data = _distributions(rows)
    observed = [
        sum(abs(r) <= _half_width(level, w, df, s) * (1 + 1e-9) for r, w, df, s in data) / len(data)
        if data
        else None
        for level in LEVELS
    ]
    return pl.DataFrame(
        {"interval": [f"{round(level * 100)}%" for level in LEVELS], "nominal": list(LEVELS),
         "observed": observed, "rows": [len(data)] * len(LEVELS)},
        schema={"interval": pl.String, "nominal": pl.Float64, "observed": pl.Float64,
                "rows": pl.Int64},
    )  # fmt: skip


def _pit(residual: float, exact_share: float, df: float | None, scale: float) -> float:
    if df is None:
        if scale <= 0:
            return 0.5 if residual == 0 else float(residual > 0)
        return _NORMAL.cdf(residual / scale)
    # An exact reproduction sits in the middle of the distribution's step at 0.
    return mixture_cdf(0.0 if abs(residual) <= EXACT_RESIDUAL else residual, exact_share, df, scale)


def pit_histogram(rows: pl.DataFrame) -> pl.DataFrame:
    """How many figures fall in each tenth of their predictive distribution."""
    counts = [0] * PIT_BINS
    for row in _distributions(rows):
        counts[min(int(_pit(*row) * PIT_BINS), PIT_BINS - 1)] += 1
    return pl.DataFrame(
        {"from": [k / PIT_BINS for k in range(PIT_BINS)],
         "to": [(k + 1) / PIT_BINS for k in range(PIT_BINS)], "rows": counts},
        schema={"from": pl.Float64, "to": pl.Float64, "rows": pl.Int64},
    )  # fmt: skip


def calibration_chart(coverage: pl.DataFrame, pit: pl.DataFrame) -> alt.HConcatChart:
    """Observed against nominal coverage (on the diagonal when calibrated), and the PIT
    histogram (flat when calibrated)."""
    diagonal = (
        alt.Chart(alt.Data(values=[{"x": 0, "y": 0}, {"x": 1, "y": 1}]))
        .mark_line(color="#9d9d9d", strokeDash=[4, 4])
        .encode(x="x:Q", y="y:Q")
    )
    observed = (
        alt.Chart(alt.Data(values=coverage.to_dicts()))
        .mark_line(point=True)
        .encode(
            x=alt.X("nominal:Q", title="nominal coverage", scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("observed:Q", title="observed coverage", scale=alt.Scale(domain=[0, 1])),
            tooltip=["interval:N", "observed:Q", "rows:Q"],
        )
    )
    histogram = (
        alt.Chart(alt.Data(values=pit.to_dicts()))
        .mark_bar()
        .encode(
            x=alt.X("from:Q", bin="binned", title="where Epoch's figure falls (PIT)"),
            x2="to:Q",
            y=alt.Y("rows:Q", title="rows"),
        )
    )
    return alt.hconcat(
        (diagonal + observed).properties(width=300, height=300, title="Interval coverage"),
        histogram.properties(width=300, height=300, title="Predictive distribution"),
    )

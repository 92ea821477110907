"""How honest the intervals are, against Epoch's figures: the share of rows whose central
50, 80, 90 and 98% interval holds the figure, and where the figure falls in each row's
predictive distribution (its probability integral transform, PIT: uniform when the
distribution is calibrated), as a table and a chart.

Each row's predictive distribution is the one its published interval is drawn from: normal
in ln(FLOP), centred on the estimate, with the spread that puts the 90% interval at
`estimate_low_flop`-`estimate_high_flop`.
"""

from __future__ import annotations

from statistics import NormalDist

import altair as alt
import polars as pl

from pipeline.estimate.uncertainty import Z90

LEVELS = (0.5, 0.8, 0.9, 0.98)
PIT_BINS = 10
_NORMAL = NormalDist()


def _spread_and_residual(rows: pl.DataFrame) -> pl.DataFrame:
    """Rows with a bounded interval and a figure, with the spread of ln(FLOP) and the figure's
    standardised distance from the estimate."""
    sigma = (pl.col("estimate_high_flop") / pl.col("estimate_low_flop")).log() / (2 * Z90)
    residual = (pl.col("epoch_flop") / pl.col("estimate_flop")).log()
    return rows.filter(
        pl.col("epoch_flop").is_not_null(),
        pl.col("estimate_flop").is_not_null(),
        pl.col("estimate_high_flop").is_not_null(),
    ).select(sigma.alias("sigma"), residual.alias("residual"))


def coverage_table(rows: pl.DataFrame) -> pl.DataFrame:
    """Observed coverage of each central interval, beside its nominal level."""
    data = _spread_and_residual(rows)
    observed = [
        (
            data["residual"].abs() <= _NORMAL.inv_cdf((1 + level) / 2) * data["sigma"] * (1 + 1e-9)
        ).mean()
        for level in LEVELS
    ]
    return pl.DataFrame(
        {"interval": [f"{round(level * 100)}%" for level in LEVELS], "nominal": list(LEVELS),
         "observed": [value if data.height else None for value in observed],
         "rows": [data.height] * len(LEVELS)},
        schema={"interval": pl.String, "nominal": pl.Float64, "observed": pl.Float64,
                "rows": pl.Int64},
    )  # fmt: skip


def pit_histogram(rows: pl.DataFrame) -> pl.DataFrame:
    """How many figures fall in each tenth of their predictive distribution."""
    data = _spread_and_residual(rows)
    pit = [
        _NORMAL.cdf(r / s) if s > 0 else (0.5 if r == 0 else float(r > 0))
        for r, s in data.iter_rows()
    ]
    counts = [0] * PIT_BINS
    for value in pit:
        counts[min(int(value * PIT_BINS), PIT_BINS - 1)] += 1
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

"""The report: one self-contained HTML page of charts and tables, and each chart as PNG and SVG.

Three layers, so that each can be tested on its own:

- `load_report_data` reads a published database into frames and numbers (`ReportData`): the
  points of the compute trend and its fits, method 1 against method 2, implied utilization,
  counts, the rows that need attention and what the last refresh changed;
- the chart builders turn those frames into Vega-Lite specifications with altair;
- `render_html` assembles the page, and `write_report`, at the edge, writes the files.

The page needs nothing from the network: the Vega, Vega-Lite and Vega-Embed libraries (from
vl-convert's bundle), the chart data, the styles and the few lines of table script are all in
the one file. The same database gives a byte-identical page: everything is sorted by stable keys
and the only times shown are those the database holds.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
import shutil
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import altair as alt
import duckdb
import polars as pl
import vl_convert as vlc

from pipeline.errors import InputFileError
from pipeline.publish.diff import DEFAULT_THRESHOLD, diff_counts, diff_estimates
from pipeline.publish.history import estimates_as_of
from pipeline.version import __version__

REPORT_HTML = "report.html"

# The eras the trend is fitted over. 2010 is the usual start of the deep learning era (Sevilla
# et al., "Compute Trends Across Three Eras of Machine Learning", 2022).
DEEP_LEARNING_START = 2010
# A fit needs at least this many systems (two points leave no residual to estimate an error).
MIN_FIT_POINTS = 3
CONFIDENCE = 0.95

# Flags that record an assumption or a conversion the methods made as documented; every other
# flag (disagreement, implausible utilization, no estimate, unknown hardware, and any flag this
# module does not know yet) puts the row on the list of rows that need attention.
INFORMATIONAL_FLAGS = frozenset(
    {
        "epochs_assumed",
        "tokens_assumed",
        "words_converted_to_tokens",
        "precision_assumed",
        "utilization_assumed",
        "includes_base_model",
        "dataset_unit_from_notes",
        "active_parameters_from_notes",
        "active_parameters_assumed",
    }
)
REQUIRED_COLUMNS = ("system", "publication_date", "estimate_flop", "estimate_source", "flags")
OPTIONAL_COLUMNS = (
    "organization",
    "ops_flop",
    "ops_rule",
    "hardware_flop",
    "implied_utilization",
    "utilization_used",
    "utilization_source",
    "notes",
    "source_file",
    "source_row",
)
INTERVAL_COLUMNS = ("estimate_low_flop", "estimate_high_flop")
NO_SOURCE = "none"  # the estimate_source shown for rows without an estimate
# `geometric_mean` is what databases written before the weighted reconciliation call it.
SOURCE_ORDER = (
    "reported", "weighted_mean", "geometric_mean", "ops", "hardware", "base_model", NO_SOURCE,
)  # fmt: skip
SOURCE_COLOURS = ("#4c78a8", "#54a24b", "#54a24b", "#f58518", "#b279a2", "#72b7b2", "#9d9d9d")
AGREEMENT_FACTOR = 3.0  # the band drawn around y = x; the reconciliation's default factor
CHART_WIDTH = 760


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


@dataclass(frozen=True)
class ReportData:
    version: str | None  # the flopsheet version that wrote the database
    run: dict | None  # the last published run, when the database keeps runs
    published_runs: int
    totals: dict[str, int]
    points: pl.DataFrame  # systems with an estimate and a publication date
    has_interval: bool
    has_confidence: bool
    trends: list[Trend]
    methods: pl.DataFrame  # systems where both methods apply
    utilization: pl.DataFrame  # systems with an implied utilization
    priors: pl.DataFrame  # the default utilizations, as used
    utilization_bounds: tuple[float, float] | None
    by_source: pl.DataFrame
    by_confidence: pl.DataFrame | None
    by_flag: pl.DataFrame
    attention: pl.DataFrame
    changes: pl.DataFrame | None  # None when the database has fewer than two runs
    compared_runs: tuple[str, str] | None = None
    change_counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    charts: list[Path]


# ---------------------------------------------------------------------------------------------
# Statistics: OLS and Student's t, without numpy or scipy.


def _beta_fraction(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        for aa in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def _regularized_beta(a: float, b: float, x: float) -> float:
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, 1.0 - x) / b


def t_quantile(confidence: float, df: int) -> float:
    """The t such that P(|T| <= t) = confidence for Student's t with `df` degrees of freedom
    (1.96 as df grows), found by bisection on the two-sided tail."""
    tail = 1.0 - confidence
    low, high = 0.0, 1e4
    for _ in range(200):
        middle = (low + high) / 2
        if _regularized_beta(df / 2, 0.5, df / (df + middle * middle)) > tail:
            low = middle
        else:
            high = middle
    return (low + high) / 2


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


# ---------------------------------------------------------------------------------------------
# Reading the database.


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


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _tables(connection: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in connection.sql("SHOW TABLES").fetchall()}


def _counts(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """value, count; the most frequent first, ties by value."""
    return (
        frame.group_by(pl.col(column).alias("value"))
        .len("count")
        .sort(["count", "value"], descending=[True, False])
    )


def _settings(connection: duckdb.DuckDBPyConnection, tables: set[str]) -> dict:
    if "metadata" not in tables:
        return {}
    rows = connection.sql("SELECT value FROM metadata WHERE key = 'settings'").fetchall()
    try:
        return json.loads(rows[0][0]) if rows else {}
    except json.JSONDecodeError:
        return {}


def _metadata_version(connection: duckdb.DuckDBPyConnection, tables: set[str]) -> str | None:
    if "metadata" not in tables:
        return None
    rows = connection.sql("SELECT value FROM metadata WHERE key = 'flopsheet_version'").fetchall()
    return rows[0][0] if rows else None


def _published_runs(connection: duckdb.DuckDBPyConnection, tables: set[str]) -> list[dict]:
    if "runs" not in tables:
        return []
    # The same order as `flopsheet diff`: the time each run started, then its id.
    relation = connection.sql(
        "SELECT run_id, started_at, ended_at, rows_read, rows_estimated, rows_rejected, "
        "rows_flagged FROM runs WHERE status = 'published' ORDER BY started_at, run_id"
    )
    return relation.pl().to_dicts()


def _changes(
    connection: duckdb.DuckDBPyConnection, tables: set[str], runs: list[dict]
) -> tuple[pl.DataFrame | None, tuple[str, str] | None]:
    """What the last refresh changed: the diff of `flopsheet diff` between the last two runs."""
    if "estimate_history" not in tables or len(runs) < 2:
        return None, None
    run_a, run_b = runs[-2]["run_id"], runs[-1]["run_id"]
    old, new = estimates_as_of(connection, run_a), estimates_as_of(connection, run_b)
    return diff_estimates(old, new, DEFAULT_THRESHOLD), (run_a, run_b)


def _attention(estimates: pl.DataFrame, rejects: pl.DataFrame | None) -> pl.DataFrame:
    """Rows that need a look: flagged beyond documented assumptions, and rejected rows."""
    informational = pl.lit(sorted(INFORMATIONAL_FLAGS), dtype=pl.List(pl.String))
    flagged = (
        estimates.with_columns(
            pl.col("flags").list.set_difference(informational).list.sort().alias("_attention"),
            pl.col("flags").list.set_intersection(informational).list.sort().alias("_other"),
        )
        .filter(pl.col("_attention").list.len() > 0)
        .select(
            pl.lit("flagged").alias("kind"),
            "system",
            pl.col("organization"),
            pl.col("_attention").list.join(", ").alias("issue"),
            pl.col("_other").list.join(", ").alias("other_flags"),
            "estimate_flop",
            pl.col("estimate_source").fill_null(NO_SOURCE),
            pl.col("source_file"),
            pl.col("source_row"),
            pl.col("notes").alias("details"),
        )
    )
    frames = [flagged]
    if rejects is not None and rejects.height:
        frames.append(
            rejects.select(
                pl.lit("rejected").alias("kind"),
                pl.col("system").cast(pl.String),
                pl.lit(None, dtype=pl.String).alias("organization"),
                pl.col("reason").cast(pl.String).alias("issue"),
                pl.lit("").alias("other_flags"),
                pl.lit(None, dtype=pl.Float64).alias("estimate_flop"),
                pl.lit("").alias("estimate_source"),
                pl.col("source_file").cast(pl.String),
                pl.col("source_row").cast(pl.Int64),
                pl.format(
                    "{} = {}",
                    pl.col("column_name").cast(pl.String).fill_null(""),
                    pl.col("value").cast(pl.String).fill_null(""),
                ).alias("details"),
            )
        )
    return pl.concat(frames, how="vertical_relaxed").sort(
        "kind", "system", "source_file", "source_row", "issue", nulls_last=True
    )


def load_report_data(database: Path) -> ReportData:
    """Read a published flopsheet database into everything the report shows."""
    database = Path(database)
    if not database.is_file():
        raise InputFileError(database, "database not found; run `flopsheet estimate` first")
    try:
        connection = duckdb.connect(str(database), read_only=True)
    except duckdb.Error as error:
        raise InputFileError(
            database, f"cannot open as a DuckDB database: {_first_line(error)}"
        ) from None
    with connection:
        tables = _tables(connection)
        if "estimates" not in tables:
            raise InputFileError(database, "has no estimates table; is it a flopsheet database?")
        columns = [row[0] for row in connection.sql("DESCRIBE estimates").fetchall()]
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        if missing:
            raise InputFileError(database, f"estimates lacks the columns {', '.join(missing)}")
        estimates = connection.sql("SELECT * FROM estimates ORDER BY system").pl()
        rejects = (
            connection.sql("SELECT * FROM rejects ORDER BY source_file, source_row, system").pl()
            if "rejects" in tables
            else None
        )
        settings = _settings(connection, tables)
        version = _metadata_version(connection, tables)
        runs = _published_runs(connection, tables)
        changes, compared = _changes(connection, tables, runs)

    # Columns another version may lack are added as nulls, so the rest of the code is simple.
    for name in OPTIONAL_COLUMNS:
        if name not in estimates.columns:
            dtype = pl.Int64 if name == "source_row" else pl.String
            if name.endswith(("_flop", "_utilization")) or name == "utilization_used":
                dtype = pl.Float64
            estimates = estimates.with_columns(pl.lit(None, dtype=dtype).alias(name))
    has_interval = all(c in estimates.columns for c in INTERVAL_COLUMNS)
    has_confidence = "confidence" in estimates.columns

    points = estimates.filter(
        pl.col("estimate_flop").is_not_null()
        & (pl.col("estimate_flop") > 0)
        & pl.col("publication_date").is_not_null()
    ).with_columns(fractional_year(pl.col("publication_date")).alias("year"))
    points = points.with_columns(large_scale(points)).sort("year", "system")

    both = pl.col("ops_flop").is_not_null() & pl.col("hardware_flop").is_not_null()
    methods = (
        estimates.filter(both)
        .with_columns((pl.col("ops_flop") / pl.col("hardware_flop")).alias("ratio"))
        .with_columns(
            ((pl.col("ratio") > AGREEMENT_FACTOR) | (pl.col("ratio") < 1 / AGREEMENT_FACTOR)).alias(
                "outside_band"
            )
        )
    )
    utilization = estimates.filter(pl.col("implied_utilization").is_not_null())
    priors = (
        estimates.filter(
            pl.col("utilization_source").str.starts_with("default")
            | (pl.col("utilization_source") == "prior")
        )
        .group_by("utilization_source", "utilization_used")
        .len("systems")
        .sort("utilization_source", "utilization_used")
    )
    bounds = None
    if "implied_utilization_low" in settings and "implied_utilization_high" in settings:
        bounds = (settings["implied_utilization_low"], settings["implied_utilization_high"])

    by_confidence = None
    if has_confidence:
        by_confidence = _counts(
            estimates.with_columns(pl.col("confidence").cast(pl.String).fill_null(NO_SOURCE)),
            "confidence",
        )
    flags = estimates.select(pl.col("flags").explode().drop_nulls().alias("flag"))
    by_flag = _counts(flags, "flag").with_columns(
        pl.col("value").is_in(sorted(INFORMATIONAL_FLAGS)).not_().alias("needs_attention")
    )
    rejected_rows = 0
    if rejects is not None and rejects.height:
        rejected_rows = rejects.select(pl.struct("source_file", "source_row").n_unique()).item()
    totals = {
        "systems": estimates.height,
        "estimated": estimates.filter(pl.col("estimate_flop").is_not_null()).height,
        "without_estimate": estimates.filter(pl.col("estimate_flop").is_null()).height,
        "flagged": estimates.filter(pl.col("flags").list.len() > 0).height,
        "rejected_rows": rejected_rows,
        "reject_problems": 0 if rejects is None else rejects.height,
        "plotted": points.height,
        "without_date": estimates.filter(
            pl.col("estimate_flop").is_not_null() & pl.col("publication_date").is_null()
        ).height,
    }
    return ReportData(
        version=version,
        run=runs[-1] if runs else None,
        published_runs=len(runs),
        totals=totals,
        points=points,
        has_interval=has_interval,
        has_confidence=has_confidence,
        trends=fit_eras(points),
        methods=methods,
        utilization=utilization,
        priors=priors,
        utilization_bounds=bounds,
        by_source=_counts(
            estimates.with_columns(pl.col("estimate_source").fill_null(NO_SOURCE)),
            "estimate_source",
        ),
        by_confidence=by_confidence,
        by_flag=by_flag,
        attention=_attention(estimates, rejects),
        changes=changes,
        compared_runs=compared,
        change_counts=diff_counts(changes) if changes is not None else {},
    )


# ---------------------------------------------------------------------------------------------
# Charts (Vega-Lite through altair). Data are inlined as plain values: the page loads nothing.


# A chart draws at most this many points and the attention table lists at most this many
# rows, so that a database of a million systems still makes a page a browser opens. The fits,
# counts and notes use every row.
MAX_CHART_POINTS = 5_000
MAX_TABLE_ROWS = 2_000
MAX_NAMED_OUTSIDE = 30  # systems outside the methods' band named in the note


def shown(frame: pl.DataFrame, limit: int = MAX_CHART_POINTS) -> pl.DataFrame:
    """`frame`, or every k-th of its rows (in its own order) when it has more than `limit`:
    an even, deterministic thinning."""
    if frame.height <= limit:
        return frame
    return frame.gather_every(math.ceil(frame.height / limit))


def _shown_note(rows: int, what: str) -> str:
    """What `shown` drew of `rows` rows, when it thinned them."""
    if rows <= MAX_CHART_POINTS:
        return ""
    step = math.ceil(rows / MAX_CHART_POINTS)
    return (
        f" The chart draws one in every {step:,} of the {rows:,} {what}"
        f" ({math.ceil(rows / step):,} points); counts and fits use them all."
    )


def _values(frame: pl.DataFrame) -> list[dict]:
    """Rows as JSON-ready dicts (dates as ISO text, lists joined)."""
    converted = frame.with_columns(
        pl.col(name).dt.strftime("%Y-%m-%d")
        if dtype == pl.Date
        else pl.col(name).list.join(", ")
        if dtype == pl.List(pl.String)
        else pl.col(name)
        for name, dtype in frame.schema.items()
    )
    return converted.to_dicts()


def _source_scale(present: list[str]) -> alt.Scale:
    order = [s for s in SOURCE_ORDER if s in present] + sorted(
        s for s in set(present) if s not in SOURCE_ORDER
    )
    colours = dict(zip(SOURCE_ORDER, SOURCE_COLOURS, strict=True))
    extra = ["#e45756", "#eeca3b", "#ff9da6", "#9d755d"]
    return alt.Scale(
        domain=order, range=[colours.get(s) or extra[i % len(extra)] for i, s in enumerate(order)]
    )


def _log_domain(values: list[float], pad: float = 1.0) -> list[float]:
    low, high = min(values), max(values)
    return [10.0 ** math.floor(math.log10(low) - pad), 10.0 ** math.ceil(math.log10(high) + pad)]


def _flop_axis(domain: list[float], most: int = 10) -> alt.Axis:
    """Ticks at whole powers of ten only (a log axis draws every minor tick otherwise)."""
    low, high = round(math.log10(domain[0])), round(math.log10(domain[1]))
    step = max(1, math.ceil((high - low) / most))
    return alt.Axis(format="~e", values=[10.0**k for k in range(low, high + 1, step)])


def trend_chart(data: ReportData) -> alt.TopLevelMixin:
    points = shown(data.points)
    fields = ["system", "organization", "publication_date", "year", "estimate_flop"]
    fields += ["estimate_source", "ops_rule", "flags", "large_scale"]
    fields += list(INTERVAL_COLUMNS) if data.has_interval else []
    fields += ["confidence"] if data.has_confidence else []
    values = _values(points.select(fields))
    tooltip = [
        alt.Tooltip("system:N"),
        alt.Tooltip("organization:N"),
        alt.Tooltip("publication_date:N", title="published"),
        alt.Tooltip("estimate_flop:Q", title="FLOP", format=".3~e"),
        alt.Tooltip("estimate_source:N", title="source"),
        alt.Tooltip("ops_rule:N", title="method 1 rule"),
    ]
    if data.has_interval:
        tooltip += [
            alt.Tooltip("estimate_low_flop:Q", title="low", format=".3~e"),
            alt.Tooltip("estimate_high_flop:Q", title="high", format=".3~e"),
        ]
    if data.has_confidence:
        tooltip.append(alt.Tooltip("confidence:N"))
    tooltip += [alt.Tooltip("flags:N"), alt.Tooltip("large_scale:N", title="large-scale")]
    years = points["year"].to_list() or [DEEP_LEARNING_START, DEEP_LEARNING_START + 1]
    extent = points["estimate_flop"].to_list() or [1.0, 10.0]
    if data.has_interval:  # the bars must fit too
        for column in INTERVAL_COLUMNS:
            extent += points.filter(pl.col(column) > 0)[column].to_list()
    x = alt.X(
        "year:Q",
        title="publication date",
        scale=alt.Scale(domain=[math.floor(min(years)) - 1, math.ceil(max(years)) + 1], nice=False),
        axis=alt.Axis(format="d", tickMinStep=1, labelFlush=False),
    )
    y_scale = alt.Scale(type="log", domain=_log_domain(extent, pad=0.3), nice=False)
    y = alt.Y(
        "estimate_flop:Q",
        title="training compute (FLOP)",
        scale=y_scale,
        axis=_flop_axis(y_scale.domain),
    )
    base = alt.Chart(alt.Data(values=values, name="points"))
    source_scale = _source_scale(points["estimate_source"].to_list())
    color = alt.Color("estimate_source:N", title="estimate source", scale=source_scale)
    dots = (
        base.mark_circle(size=64, opacity=0.85, stroke="white", strokeWidth=0.5)
        .encode(x=x, y=y, color=color, tooltip=tooltip)
        .add_params(alt.selection_interval(bind="scales", name="zoom"))
    )
    layers = []
    if data.has_interval:
        layers.append(
            base.transform_filter(
                "isValid(datum.estimate_low_flop) && isValid(datum.estimate_high_flop)"
            )
            .mark_rule(strokeWidth=1.5, opacity=0.5)
            .encode(
                x=x,
                y=alt.Y("estimate_low_flop:Q", scale=y_scale, title="training compute (FLOP)"),
                y2="estimate_high_flop:Q",
                color=alt.value("#777777"),  # a legend-less colour would hide the points' legend
                tooltip=tooltip,
            )
        )
    layers.append(dots)
    lines = []
    for trend in data.trends:
        if not trend.fitted:
            continue
        for year in (trend.first_year, trend.last_year):
            lines.append(
                {
                    "trend": trend.label,
                    "year": year,
                    "estimate_flop": 10 ** (trend.intercept + trend.slope * year),
                    "doubling": _doubling_text(trend),
                }
            )
    if lines:
        layers.append(
            alt.Chart(alt.Data(values=lines, name="trends"))
            .mark_line(color="#333333", strokeWidth=1.5, clip=True)
            .encode(
                x=x,
                y=y,
                strokeDash=alt.StrokeDash(
                    "trend:N",
                    title="fitted trend",
                    sort=[t.label for t in data.trends if t.fitted],
                ),
                tooltip=[alt.Tooltip("trend:N"), alt.Tooltip("doubling:N", title="doubling time")],
            )
        )
    return alt.layer(*layers).properties(
        width=CHART_WIDTH, height=440, title="Training compute of ML systems by publication date"
    )


def methods_chart(data: ReportData) -> alt.TopLevelMixin:
    frame = shown(data.methods.sort("system"))
    values = _values(
        frame.select(
            "system",
            "ops_flop",
            "hardware_flop",
            "ratio",
            "ops_rule",
            "implied_utilization",
            "estimate_source",
            pl.when("outside_band")
            .then(pl.lit(f"outside {AGREEMENT_FACTOR:g}x"))
            .otherwise(pl.lit(f"within {AGREEMENT_FACTOR:g}x"))
            .alias("agreement"),
        )
    )
    flops = frame["ops_flop"].to_list() + frame["hardware_flop"].to_list() or [1e15, 1e25]
    domain = _log_domain(flops, pad=0.5)
    scale = alt.Scale(type="log", domain=domain, nice=False)
    y_title = "method 1: counting operations (FLOP)"
    axis = _flop_axis(domain)
    x = alt.X("hardware_flop:Q", title="method 2: hardware time (FLOP)", scale=scale, axis=axis)
    y = alt.Y("ops_flop:Q", title=y_title, scale=scale, axis=axis)
    # The band: y between x / 3 and 3 x, drawn from points spaced evenly in log space.
    low_exp, high_exp = math.log10(domain[0]), math.log10(domain[1])
    steps = [low_exp + (high_exp - low_exp) * i / 8 for i in range(9)]
    band_values = [
        {"hardware_flop": 10**s, "low": 10**s / AGREEMENT_FACTOR, "high": 10**s * AGREEMENT_FACTOR}
        for s in steps
    ]
    band = (
        alt.Chart(alt.Data(values=band_values, name="band"))
        .mark_area(opacity=0.15, color="#4c78a8", clip=True)
        .encode(x=x, y=alt.Y("low:Q", scale=scale, title=y_title), y2="high:Q")
    )
    identity = (
        alt.Chart(
            alt.Data(values=[{"hardware_flop": d, "ops_flop": d} for d in domain], name="identity")
        )
        .mark_line(color="#4c78a8", strokeDash=[4, 3], clip=True)
        .encode(x=x, y=y)
    )
    base = alt.Chart(alt.Data(values=values, name="methods"))
    dots = base.mark_circle(size=64, opacity=0.85).encode(
        x=x,
        y=y,
        color=alt.Color(
            "agreement:N",
            title="methods agree",
            scale=alt.Scale(
                domain=[f"within {AGREEMENT_FACTOR:g}x", f"outside {AGREEMENT_FACTOR:g}x"],
                range=["#4c78a8", "#e45756"],
            ),
        ),
        tooltip=[
            alt.Tooltip("system:N"),
            alt.Tooltip("ops_flop:Q", title="method 1", format=".3~e"),
            alt.Tooltip("ops_rule:N", title="method 1 rule"),
            alt.Tooltip("hardware_flop:Q", title="method 2", format=".3~e"),
            alt.Tooltip("ratio:Q", title="method 1 / method 2", format=".3~r"),
            alt.Tooltip("implied_utilization:Q", title="implied utilization", format=".3~r"),
            alt.Tooltip("estimate_source:N", title="source"),
        ],
    )
    labels = (
        base.transform_filter(f"datum.agreement == 'outside {AGREEMENT_FACTOR:g}x'")
        .mark_text(align="left", dx=7, dy=-4, fontSize=11, color="#b23a3a")
        .encode(x=x, y=y, text="system:N")
    )
    return alt.layer(band, identity, dots, labels).properties(
        width=560,
        height=480,
        title=f"Method 1 against method 2 (line: y = x; band: within {AGREEMENT_FACTOR:g}x)",
    )


def utilization_chart(data: ReportData) -> alt.TopLevelMixin:
    frame = shown(data.utilization.sort("system"))
    values = _values(
        frame.select(
            "system",
            "implied_utilization",
            "utilization_used",
            pl.col("utilization_source").fill_null("unknown").alias("prior"),
        )
    )
    implied = frame["implied_utilization"].to_list()
    upper = max([1.05, *(math.ceil(v * 20) / 20 + 0.05 for v in implied)])
    upper = min(upper, 10.0)  # one absurd value must not flatten the rest
    x_scale = alt.Scale(domain=[0, upper], nice=False, clamp=True)
    prior_colours = {
        "prior": "#f58518",
        "default_language": "#f58518",
        "default_other": "#54a24b",
        "reported": "#4c78a8",
        "unknown": "#9d9d9d",
    }
    present = {row["prior"] for row in values}
    prior_domain = [p for p in prior_colours if p in present] + sorted(present - set(prior_colours))
    bars = (
        alt.Chart(alt.Data(values=values, name="utilization"))
        .mark_bar(opacity=0.85)
        .encode(
            x=alt.X(
                "implied_utilization:Q",
                bin=alt.Bin(step=0.05, extent=[0, upper]),
                title="implied utilization = method 1 / (chip seconds x peak)",
                scale=x_scale,
            ),
            y=alt.Y("count():Q", title="systems", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color(
                "prior:N",
                title="utilization used by method 2",
                scale=alt.Scale(
                    domain=prior_domain,
                    range=[prior_colours.get(p, "#9d9d9d") for p in prior_domain],
                ),
            ),
            tooltip=[alt.Tooltip("count():Q", title="systems"), alt.Tooltip("prior:N")],
        )
    )
    layers = [bars]
    rules = [
        {
            "x": row["utilization_used"],
            "label": f"{row['utilization_source']} {row['utilization_used']:.2f}".replace(
                "default_", "default prior, "
            ),
            "kind": "utilization prior",
        }
        for row in data.priors.iter_rows(named=True)
    ]
    if data.utilization_bounds is not None:
        low, high = data.utilization_bounds
        rules += [
            {"x": low, "label": f"low bound {low:g}", "kind": "plausible range"},
            {"x": high, "label": f"high bound {high:g}", "kind": "plausible range"},
        ]
    if rules:
        rule_base = alt.Chart(alt.Data(values=rules, name="rules"))
        layers.append(
            rule_base.mark_rule(strokeWidth=2).encode(
                x=alt.X("x:Q", scale=x_scale),
                color=alt.value("#333333"),
                strokeDash=alt.StrokeDash(
                    "kind:N",
                    title="rules",
                    scale=alt.Scale(
                        domain=["utilization prior", "plausible range"], range=[[1, 0], [4, 3]]
                    ),
                ),
                tooltip=[alt.Tooltip("label:N")],
            )
        )
        layers.append(
            rule_base.mark_text(
                angle=270, align="right", baseline="bottom", dx=-4, dy=-3, fontSize=10
            ).encode(x=alt.X("x:Q", scale=x_scale), y=alt.value(0), text="label:N")
        )
    return alt.layer(*layers).properties(
        width=CHART_WIDTH,
        height=300,
        title="Implied utilization where both methods apply, against the priors",
    )


def counts_chart(
    frame: pl.DataFrame, title: str, axis_title: str, scale: alt.Scale | None = None
) -> alt.TopLevelMixin:
    values = _values(frame)
    colour = (
        alt.Color("value:N", scale=scale, legend=None)
        if scale is not None
        else alt.Color(
            "needs_attention:N",
            title="needs attention",
            scale=alt.Scale(domain=[True, False], range=["#e45756", "#9d9d9d"]),
        )
        if "needs_attention" in frame.columns
        else alt.value("#4c78a8")
    )
    order = frame["value"].to_list()
    base = alt.Chart(alt.Data(values=values)).encode(
        y=alt.Y("value:N", title=axis_title, sort=order),
        x=alt.X("count:Q", title="systems", axis=alt.Axis(tickMinStep=1)),
    )
    bars = base.mark_bar().encode(color=colour, tooltip=["value:N", "count:Q"])
    text = base.mark_text(align="left", dx=3, fontSize=11).encode(text="count:Q")
    return alt.layer(bars, text).properties(width=420, height=alt.Step(18), title=title)


def build_charts(data: ReportData) -> dict[str, alt.TopLevelMixin]:
    """Every chart of the report, by the name its files take, in the order of the page."""
    charts = {
        "compute_trend": trend_chart(data),
        "methods": methods_chart(data),
        "utilization": utilization_chart(data),
        "by_source": counts_chart(
            data.by_source,
            "Systems by estimate source",
            "estimate source",
            _source_scale(data.by_source["value"].to_list()),
        ),
    }
    if data.by_confidence is not None:
        charts["by_confidence"] = counts_chart(
            data.by_confidence, "Systems by confidence", "confidence"
        )
    charts["by_flag"] = counts_chart(data.by_flag, "Systems by flag", "flag")
    return charts


def chart_specs(charts: dict[str, alt.TopLevelMixin]) -> dict[str, dict]:
    return {name: chart.to_dict() for name, chart in charts.items()}


# ---------------------------------------------------------------------------------------------
# The page.


def _doubling_text(trend: Trend) -> str:
    if not trend.fitted:
        return trend.note
    if trend.doubling_months is None:
        return trend.note
    low, high = trend.doubling_months_ci
    upper = f"{high:.1f}" if high is not None else "no upper bound"
    return f"{trend.doubling_months:.1f} months (95% CI {low:.1f} to {upper})"


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _flop(value: float | None) -> str:
    return "" if value is None else f"{value:.3g}"


def _script_json(data: object) -> str:
    """JSON that is safe inside a <script> element."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _table(
    table_id: str, columns: list[tuple[str, str]], rows: list[dict], *, caption: str = ""
) -> str:
    """A sortable, filterable table. `columns` are (key, heading); a key ending in _flop or a
    numeric value sorts by number."""
    head = "".join(f'<th scope="col" tabindex="0">{_e(title)}</th>' for _, title in columns)
    body = []
    for row in rows:
        cells = []
        for key, _ in columns:
            value = row.get(key)
            if isinstance(value, float) and key.endswith("_flop"):
                cells.append(f'<td class="num" data-sort="{value!r}">{_flop(value)}</td>')
            elif isinstance(value, float):
                cells.append(f'<td class="num" data-sort="{value!r}">{value:.3g}</td>')
            elif isinstance(value, int) and not isinstance(value, bool):
                cells.append(f'<td class="num" data-sort="{value}">{value}</td>')
            else:
                cells.append(f"<td>{_e(value)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    total = len(rows)
    return (
        f'<div class="table-tools"><label>Filter <input type="search" id="{table_id}-filter" '
        f'data-table="{table_id}" placeholder="text in any column; several words: all must match" '
        f'size="48"></label> <span class="count" id="{table_id}-count">{total} of {total} rows'
        "</span></div>"
        f'<table class="data sortable" id="{table_id}">'
        + (f"<caption>{_e(caption)}</caption>" if caption else "")
        + f"<thead><tr>{head}</tr></thead><tbody>"
        + "\n".join(body)
        + "</tbody></table>"
    )


def _counts_table(frame: pl.DataFrame, heading: str, table_id: str, total: bool = True) -> str:
    """Counts as a table; the total only where each system is counted once."""
    rows = "".join(
        f'<tr><td>{_e(value)}</td><td class="num">{count}</td></tr>'
        for value, count in frame.select("value", "count").iter_rows()
    )
    foot = (
        f'<tfoot><tr><td>total</td><td class="num">{int(frame["count"].sum())}</td></tr></tfoot>'
        if total and frame.height
        else ""
    )
    return (
        f'<table class="data counts" id="{table_id}"><thead><tr><th>{_e(heading)}</th>'
        f"<th>systems</th></tr></thead><tbody>{rows}</tbody>{foot}</table>"
    )


def _trend_table(trends: list[Trend]) -> str:
    rows = []
    for trend in trends:
        if trend.fitted:
            growth = 10**trend.slope
            cells = (
                f'<td class="num" data-era="{trend.era}">{trend.n}</td>'
                f"<td>{trend.first_year:.1f} to {trend.last_year:.1f}</td>"
                f'<td class="num doubling">{_e(_doubling_text(trend))}</td>'
                f'<td class="num">{growth:.2f}x</td><td class="num">{trend.slope:.3f} '
                f"&plusmn; {trend.slope_se:.3f}</td>"
                f'<td class="num">{trend.r2:.2f}</td>'
            )
        else:
            cells = (
                f'<td class="num" data-era="{trend.era}">{trend.n}</td><td></td>'
                f'<td colspan="4">no fit: {_e(trend.note)}</td>'
            )
        rows.append(
            f'<tr id="trend-{trend.era}"><th scope="row">{_e(trend.label)}<div class="rule">{_e(trend.rule)}</div></th>{cells}</tr>'
        )
    return (
        '<table class="data" id="trends"><thead><tr><th>systems fitted</th><th>n</th>'
        "<th>years</th><th>doubling time</th><th>growth per year</th>"
        "<th>slope (log10 FLOP per year) &plusmn; s.e.</th><th>R&sup2;</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;color:#222;background:#fafafa}
main{max-width:1100px;margin:0 auto;padding:16px 24px 48px}
h1{font-size:24px;margin:8px 0 4px}h2{font-size:19px;margin:32px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#555}.summary{display:flex;flex-wrap:wrap;gap:8px;margin:12px 0}
.summary div{background:#fff;border:1px solid #ddd;border-radius:6px;padding:6px 12px}
.summary b{display:block;font-size:20px}
.chart{background:#fff;border:1px solid #e3e3e3;border-radius:6px;padding:8px;margin:8px 0;overflow-x:auto}
.row{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
table.data{border-collapse:collapse;background:#fff;margin:8px 0;font-size:13px}
table.data th,table.data td{border:1px solid #ddd;padding:3px 7px;text-align:left;vertical-align:top}
table.data thead th{background:#f0f0f0;position:sticky;top:0}
table.sortable thead th{cursor:pointer;user-select:none}
table.sortable thead th[aria-sort=ascending]::after{content:" \\25B2"}
table.sortable thead th[aria-sort=descending]::after{content:" \\25BC"}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.rule{font-weight:normal;color:#666;font-size:12px;max-width:320px}
.table-tools{margin:8px 0}.count{color:#555;margin-left:8px}
#attention td:last-child{max-width:420px;font-size:12px;color:#444}
.note{color:#555;max-width:900px}
footer{margin-top:40px;color:#777;font-size:12px}
"""

# Sorting and filtering of every table with class "sortable"; no library.
TABLE_SCRIPT = """
for (const table of document.querySelectorAll('table.sortable')) {
  const body = table.tBodies[0];
  const filter = document.getElementById(table.id + '-filter');
  const counter = document.getElementById(table.id + '-count');
  const rows = Array.from(body.rows);
  const applyFilter = () => {
    const words = filter.value.toLowerCase().split(/\\s+/).filter(Boolean);
    let shown = 0;
    for (const row of rows) {
      const text = row.textContent.toLowerCase();
      const hit = words.every((word) => text.includes(word));
      row.hidden = !hit;
      if (hit) shown += 1;
    }
    counter.textContent = shown + ' of ' + rows.length + ' rows';
  };
  filter.addEventListener('input', applyFilter);
  table.tHead.querySelectorAll('th').forEach((th, column) => {
    const sort = () => {
      const descending = th.getAttribute('aria-sort') === 'ascending';
      table.tHead.querySelectorAll('th').forEach((other) => other.removeAttribute('aria-sort'));
      th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
      const key = (row) => {
        const cell = row.cells[column];
        return cell.dataset.sort !== undefined ? Number(cell.dataset.sort) : cell.textContent;
      };
      const sorted = rows.map((row, index) => [key(row), index, row]).sort((a, b) => {
        const [x, y] = [a[0], b[0]];
        let order;
        if (typeof x === 'number' && typeof y === 'number') order = x - y;
        else if (typeof x === 'number') order = -1;
        else if (typeof y === 'number') order = 1;
        else if (x === '' || y === '') order = (x === '') - (y === '');
        else order = x.localeCompare(y);
        return (descending ? -order : order) || a[1] - b[1];
      });
      for (const [, , row] of sorted) body.appendChild(row);
    };
    th.addEventListener('click', sort);
    th.addEventListener('keydown', (event) => { if (event.key === 'Enter') sort(); });
  });
}
"""

EMBED_SCRIPT = """
const specs = JSON.parse(document.getElementById('flopsheet-specs').textContent);
window.flopsheetViews = {};
window.flopsheetReady = Promise.all(Object.keys(specs).sort().map((name) =>
  vegaEmbed('#chart-' + name, specs[name], {actions: false, renderer: 'svg'}).then((result) => {
    window.flopsheetViews[name] = result.view;
  })
)).then(() => { document.body.dataset.chartsReady = 'true'; });
"""


@cache
def javascript_bundle() -> str:
    """Vega, Vega-Lite and Vega-Embed in one script, as vl-convert ships them."""
    return vlc.javascript_bundle()


def numbers(data: ReportData) -> dict:
    """The figures the page states, as data: the browser test compares them with SQL."""
    return {
        "totals": data.totals,
        "counts": {
            "estimate_source": dict(data.by_source.select("value", "count").iter_rows()),
            "confidence": None
            if data.by_confidence is None
            else dict(data.by_confidence.select("value", "count").iter_rows()),
            "flag": dict(data.by_flag.select("value", "count").iter_rows()),
        },
        "trends": [trend.as_dict() for trend in data.trends],
        "methods": {
            "both": data.methods.height,
            "outside_band": data.methods.filter("outside_band").height,
        },
        "attention_rows": data.attention.height,
        "published_runs": data.published_runs,
        "run_id": None if data.run is None else data.run["run_id"],
        "changes": data.change_counts if data.changes is not None else None,
    }


def _run_line(data: ReportData) -> str:
    if data.run is None:
        return "This database keeps no run history."
    run = data.run
    started = run["started_at"]
    started = f"{started:%Y-%m-%d %H:%M:%S} UTC" if hasattr(started, "strftime") else started
    return (
        f"Run <code>{_e(run['run_id'])}</code>, started {_e(started)}; "
        f"{data.published_runs} published run(s) in this database."
    )


def _changes_section(data: ReportData) -> str:
    if data.changes is None:
        return (
            '<p class="note" id="changes-none">One published run so far: nothing to compare. '
            "The next refresh that publishes lists the systems it added, removed and changed "
            "here.</p>"
        )
    run_a, run_b = data.compared_runs
    counts = data.change_counts
    columns = [
        ("change", "change"),
        ("system", "system"),
        ("old_estimate_flop", "old FLOP"),
        ("new_estimate_flop", "new FLOP"),
        ("relative_change", "relative change"),
        ("old_source", "old source"),
        ("new_source", "new source"),
        ("old_flags", "old flags"),
        ("new_flags", "new flags"),
    ]
    intro = (
        f"<p>From run <code>{_e(run_a)}</code> to <code>{_e(run_b)}</code>: "
        f'<span id="changes-counts">{counts["added"]} added, {counts["removed"]} removed, '
        f"{counts['changed']} changed</span> (an estimate that moved by more than "
        f"{DEFAULT_THRESHOLD:.0%}, or a changed source or set of flags; as "
        "<code>flopsheet diff</code>).</p>"
    )
    return intro + _table("changes", columns, data.changes.to_dicts())


def render_html(data: ReportData, specs: dict[str, dict]) -> str:
    """The whole page as text: the same data give the same bytes."""
    totals = data.totals
    summary = "".join(
        f"<div><b>{value}</b>{_e(label)}</div>"
        for label, value in (
            ("systems", totals["systems"]),
            ("with an estimate", totals["estimated"]),
            ("without an estimate", totals["without_estimate"]),
            ("flagged", totals["flagged"]),
            ("rows rejected", totals["rejected_rows"]),
            ("need attention", data.attention.height),
        )
    )
    interval_note = (
        "Bars show each estimate's interval (estimate_low_flop to estimate_high_flop)."
        if data.has_interval
        else "This database has no estimate intervals (columns estimate_low_flop and "
        "estimate_high_flop), so no interval bars are drawn."
    )
    skipped = totals["without_date"]
    date_note = (
        f" {skipped} estimated system(s) without a publication date are not plotted."
        if skipped
        else ""
    )
    outside = data.methods.filter("outside_band")["system"].sort().to_list()
    named = f": {', '.join(outside)}." if 0 < len(outside) <= MAX_NAMED_OUTSIDE else "."
    methods_note = (
        f"{data.methods.height} systems have both methods; {len(outside)} fall outside "
        f"{AGREEMENT_FACTOR:g}x of each other" + named
    ) + _shown_note(data.methods.height, "systems with both methods")
    attention = data.attention.head(MAX_TABLE_ROWS)
    attention_note = (
        f" The table lists the first {MAX_TABLE_ROWS:,} of {data.attention.height:,}; query the"
        " database for the rest."
        if data.attention.height > MAX_TABLE_ROWS
        else ""
    )
    priors = ", ".join(
        f"{row['utilization_source']} {row['utilization_used']:.2f} ({row['systems']} systems)"
        for row in data.priors.iter_rows(named=True)
    )
    confidence_block = (
        f'<div><h3>By confidence</h3><div class="chart" id="chart-by_confidence"></div>'
        f"{_counts_table(data.by_confidence, 'confidence', 'counts-confidence')}</div>"
        if data.by_confidence is not None
        else '<div><h3>By confidence</h3><p class="note" id="no-confidence">This database has '
        "no <code>confidence</code> column, so there is nothing to count.</p></div>"
    )
    attention_columns = [
        ("kind", "kind"),
        ("system", "system"),
        ("organization", "organization"),
        ("issue", "needs attention because"),
        ("estimate_flop", "estimate (FLOP)"),
        ("estimate_source", "source"),
        ("source_row", "row"),
        ("other_flags", "other flags"),
        ("details", "details"),
    ]
    version = f"written by flopsheet {_e(data.version)}; " if data.version else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>flopsheet report</title>
<link rel="icon" href="data:,">
<style>{STYLE}</style>
</head>
<body>
<main>
<h1>flopsheet report: training compute of ML systems</h1>
<p class="meta">{_run_line(data)} Database {version}report made by flopsheet {_e(__version__)}.</p>
<div class="summary" id="summary">{summary}</div>

<h2 id="trend">Training compute over time</h2>
<p class="note">Each point is a system with an estimate, coloured by where its estimate came from;
hover for details, drag to pan and scroll to zoom. {_e(interval_note)}{_e(date_note)}{_e(_shown_note(data.points.height, "plotted systems"))}
Lines are least-squares fits of log10(FLOP) on the fractional publication year; the doubling time
is log10(2) / slope, and its 95% interval comes from the slope's, slope &plusmn; t &times; s.e.
with Student's t at n &minus; 2 degrees of freedom.</p>
<div class="chart" id="chart-compute_trend"></div>
{_trend_table(data.trends)}

<h2 id="methods">Method 1 against method 2</h2>
<p class="note">Counting operations against hardware time, for every system where both apply.
{_e(methods_note)} Systems outside the band are labelled.</p>
<div class="chart" id="chart-methods"></div>

<h2 id="utilization">Implied utilization against the prior</h2>
<p class="note">Implied utilization is what method 1's compute means for the hardware that method 2
counts. Solid rules are the utilization priors that method 2 used where a paper reports none
({_e(priors) or "none used"}); dashed rules bound the plausible range outside which a row is
flagged.{_e(_shown_note(data.utilization.height, "systems with an implied utilization"))}</p>
<div class="chart" id="chart-utilization"></div>

<h2 id="counts">Counts</h2>
<div class="row">
<div><h3>By estimate source</h3><div class="chart" id="chart-by_source"></div>
{_counts_table(data.by_source, "estimate source", "counts-source")}</div>
{confidence_block}
<div><h3>By flag</h3><div class="chart" id="chart-by_flag"></div>
{_counts_table(data.by_flag, "flag", "counts-flag", total=False)}
<p class="note">A system can carry several flags.</p></div>
</div>

<h2 id="needs-attention">Rows that need attention</h2>
<p class="note">Estimated rows with a flag beyond the documented assumptions (those are:
{_e(", ".join(sorted(INFORMATIONAL_FLAGS)))}), and every rejected row with its reason. Click a
heading to sort; type to filter.{_e(attention_note)}</p>
{_table("attention", attention_columns, attention.to_dicts())}

<h2 id="changes">What changed in the last refresh</h2>
{_changes_section(data)}

<footer>Made with <code>flopsheet report</code>. Vega {_e(vlc.get_vega_version())}, Vega-Lite,
Vega-Embed {_e(vlc.get_vega_embed_version())} are included in this file; it loads nothing.</footer>
</main>
<script type="application/json" id="flopsheet-specs">{_script_json(specs)}</script>
<script type="application/json" id="flopsheet-numbers">{_script_json(numbers(data))}</script>
<script type="module">{javascript_bundle()}</script>
<script type="module">{EMBED_SCRIPT}{TABLE_SCRIPT}</script>
</body>
</html>
"""


# ---------------------------------------------------------------------------------------------
# Writing the files.


def stable_svg(svg: str) -> str:
    """Number the clip paths from 1 in each file. Vega numbers them with a counter that lives as
    long as the process, so the second chart rendered would otherwise differ byte for byte."""
    numbers: dict[str, str] = {}

    def renumber(match: re.Match) -> str:
        return numbers.setdefault(match.group(0), f"flopsheet-clip{len(numbers) + 1}")

    return re.sub(r'(?<=id=")clip\d+(?=")|(?<=url\(#)clip\d+(?=\))', renumber, svg)


def render_files(database: Path) -> dict[str, bytes]:
    """Every file of the report by name, rendered in memory: report.html, then <chart>.png and
    <chart>.svg for each chart."""
    data = load_report_data(database)
    specs = chart_specs(build_charts(data))
    files = {REPORT_HTML: render_html(data, specs).encode()}
    for name, spec in specs.items():
        files[f"{name}.png"] = vlc.vegalite_to_png(spec, scale=2)
        files[f"{name}.svg"] = stable_svg(vlc.vegalite_to_svg(spec)).encode()
    return files


def write_report(database: Path, out_dir: Path) -> ReportFiles:
    """Write OUT/report.html and each chart as OUT/<chart>.png and OUT/<chart>.svg.

    Everything is rendered before anything is written. A new folder is written under a staging
    name and renamed into place; in a folder that exists, each file is replaced by a rename and
    nothing else in it is touched. When OUT is a link (DIR/report -> current/report after a
    refresh), the files go into the folder it points to."""
    files = render_files(database)
    out_dir = Path(out_dir)
    target = out_dir.resolve() if out_dir.is_symlink() else out_dir
    if target.exists() and not target.is_dir():
        raise InputFileError(out_dir, "exists and is not a folder")
    if target.is_dir():
        for name, content in files.items():
            temporary = target / f".{name}.tmp-{os.getpid()}"
            temporary.write_bytes(content)
            os.replace(temporary, target / name)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(f".{target.name}.staging-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        try:
            for name, content in files.items():
                (staging / name).write_bytes(content)
            os.rename(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    charts = [out_dir / name for name in files if name != REPORT_HTML]
    return ReportFiles(html=out_dir / REPORT_HTML, charts=charts)

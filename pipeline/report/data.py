"""What the report shows, as frames and numbers (`ReportData`), from a published database.

Only `read_database` and the helpers it hands its connection to touch DuckDB; everything
after works on the polars frames and plain values it returns (`DatabaseContents`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipeline.defaults import DEFAULT_THRESHOLD
from pipeline.errors import InputFileError
from pipeline.publish.dataset import Dataset
from pipeline.publish.diff import diff_counts, diff_estimates
from pipeline.read.validate import rejected_rows
from pipeline.report.thresholds import threshold_rows
from pipeline.report.trends import Trend, fit_eras, fractional_year, large_scale
from pipeline.settings import DEFAULT_SETTINGS
from schemas.estimates import INFORMATIONAL_FLAGS
from schemas.systems import PLAUSIBLE_FLOP

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
# The band drawn around y = x: the factor within which the reconciliation calls methods agreed.
AGREEMENT_FACTOR = DEFAULT_SETTINGS.agreement_factor


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
    thresholds: pl.DataFrame | None  # None for a database written before accounting rules
    compared_runs: tuple[str, str] | None = None
    change_counts: dict[str, int] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Reading the database. This section is the report's only access to DuckDB, so that `Dataset`
# (publish/dataset.py), which owns the database's layout, can take it over whole.


@dataclass(frozen=True)
class DatabaseContents:
    """What the report reads from a published database, as polars frames and plain values."""

    estimates: pl.DataFrame  # the estimates table, every column, ordered by system
    rejects: pl.DataFrame | None  # None when the database has no rejects table
    settings: dict  # the settings it was written with; {} when it does not record them
    version: str | None  # the flopsheet version that wrote it
    runs: list[dict]  # the published runs, in the order of `flopsheet diff`
    # The estimates as published by the last two runs, when the database keeps their history.
    last_two_runs: tuple[pl.DataFrame, pl.DataFrame] | None


RUN_COLUMNS = ("run_id", "started_at", "ended_at", "rows_read", "rows_estimated", "rows_rejected",
               "rows_flagged")  # fmt: skip


def _settings(metadata: dict[str, str]) -> dict:
    try:
        return json.loads(metadata.get("settings", "{}"))
    except json.JSONDecodeError:
        return {}


def _drawable(estimates: pl.DataFrame) -> pl.DataFrame:
    """A database edited by hand (or by another tool) may hold figures no chart can place:
    infinity, NaN, compute outside the plausible range, dates past any calendar. They are
    shown as unknown; flopsheet itself never writes them."""
    flop = [c for c, dtype in estimates.schema.items() if c.endswith("_flop") and dtype.is_float()]
    other = [c for c, dtype in estimates.schema.items() if dtype.is_float() and c not in flop]
    dates = [c for c, dtype in estimates.schema.items() if dtype == pl.Date]
    return estimates.with_columns(
        *(pl.when(pl.col(c).is_between(*PLAUSIBLE_FLOP)).then(pl.col(c)).alias(c) for c in flop),
        *(pl.when(pl.col(c).is_finite()).then(pl.col(c)).alias(c) for c in other),
        *(pl.when(pl.col(c).dt.year().is_not_null()).then(pl.col(c)).alias(c) for c in dates),
    )


def read_database(database: Path) -> DatabaseContents:
    """Read what the report needs from a published flopsheet database; an InputFileError says
    why a file is not one."""
    dataset = Dataset(database)
    tables = dataset.tables()
    if "estimates" not in tables:
        raise InputFileError(database, "has no estimates table; is it a flopsheet database?")
    missing = [c for c in REQUIRED_COLUMNS if c not in dataset.columns("estimates")]
    if missing:
        raise InputFileError(database, f"estimates lacks the columns {', '.join(missing)}")
    metadata = dataset.metadata()
    runs = []
    if "runs" in tables:  # in the order of `flopsheet diff`: by start time, then id
        published = dataset.runs().filter(pl.col("status") == "published")
        runs = published.select(RUN_COLUMNS).to_dicts()
    last_two_runs = None
    if "estimate_history" in tables and len(runs) >= 2:
        last_two_runs = (
            dataset.estimates_as_of(runs[-2]["run_id"]),
            dataset.estimates_as_of(runs[-1]["run_id"]),
        )
    estimates = _drawable(dataset.estimates())
    rejects = dataset.rejects() if "rejects" in tables else None
    settings, version = _settings(metadata), metadata.get("flopsheet_version")
    return DatabaseContents(
        estimates=estimates,
        rejects=rejects,
        settings=settings,
        version=version,
        runs=runs,
        last_two_runs=last_two_runs,
    )


# ---------------------------------------------------------------------------------------------
# From the frames to what the report shows.


def _counts(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """value, count; the most frequent first, ties by value."""
    return (
        frame.group_by(pl.col(column).alias("value"))
        .len("count")
        .sort(["count", "value"], descending=[True, False])
    )


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


def _with_optional_columns(estimates: pl.DataFrame) -> pl.DataFrame:
    """Columns another version may lack, added as nulls, so the rest of the code is simple."""
    for name in OPTIONAL_COLUMNS:
        if name not in estimates.columns:
            dtype = pl.Int64 if name == "source_row" else pl.String
            if name.endswith(("_flop", "_utilization")) or name == "utilization_used":
                dtype = pl.Float64
            estimates = estimates.with_columns(pl.lit(None, dtype=dtype).alias(name))
    return estimates


def load_report_data(database: Path) -> ReportData:
    """Read a published flopsheet database into everything the report shows."""
    return report_data(read_database(database))


def report_data(contents: DatabaseContents) -> ReportData:
    """Everything the report shows, from what `read_database` read."""
    estimates = _with_optional_columns(contents.estimates)
    rejects, settings, runs = contents.rejects, contents.settings, contents.runs
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
    rejected = 0 if rejects is None else rejected_rows(rejects)
    totals = {
        "systems": estimates.height,
        "estimated": estimates.filter(pl.col("estimate_flop").is_not_null()).height,
        "without_estimate": estimates.filter(pl.col("estimate_flop").is_null()).height,
        "flagged": estimates.filter(pl.col("flags").list.len() > 0).height,
        "rejected_rows": rejected,
        "reject_problems": 0 if rejects is None else rejects.height,
        "plotted": points.height,
        "without_date": estimates.filter(
            pl.col("estimate_flop").is_not_null() & pl.col("publication_date").is_null()
        ).height,
    }
    # What the last refresh changed: the diff of `flopsheet diff` between the last two runs.
    changes, compared = None, None
    if contents.last_two_runs is not None:
        old, new = contents.last_two_runs
        changes = diff_estimates(old, new, DEFAULT_THRESHOLD)
        compared = (runs[-2]["run_id"], runs[-1]["run_id"])
    return ReportData(
        version=contents.version,
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
        thresholds=threshold_rows(estimates),
        compared_runs=compared,
        change_counts=diff_counts(changes) if changes is not None else {},
    )

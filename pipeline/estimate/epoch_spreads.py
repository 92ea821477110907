"""The spread of assumed epochs, learned by domain and dataset unit.

A count of operations over a dataset whose epochs are not reported assumes one epoch. How far
that is from the truth depends on what was trained: a language model counted in tokens is
rarely trained for many epochs, an image classifier usually is. One spread for every row (the
seed's `spread_epochs_assumed`, x5) lets an assumed utilization outweigh a language model's
token count; so the spread is learned per (domain, unit).

`flopsheet calibrate` learns it from the rows of its inputs that carry a reported figure: each
is estimated with the figure withheld and no spread for the epochs (`PROVISIONAL`), so that the
interval of its count holds only its other assumptions. For each group with at least
`MIN_EPOCH_OBSERVATIONS` rows, the spread the epochs add is what remains of the robust scale of
ln(figure / count) (1.4826 x the median of its absolute value: the count is centred on one
epoch, so the scale is taken about zero) once the median spread of the other assumptions is
taken out in quadrature, and never less than `MIN_EPOCH_SIGMA`. The unit is the one the rule
read: `tokens` where a blank unit was taken for tokens; a row with no domain or unit stated
observes no group. The tables are written with the priors as `[[epochs]]`; `evaluate` refits
them by cross-validation.

A row whose group was not learned keeps the setting. No pooled group is learned: most rows
that observe the epochs' spread are language models counted in tokens, and they say nothing
of an image classifier's epochs. A `(*, *)` table, where a priors file gives one, is every
other group's spread (`calibrate` never writes one; the provisional table is one).
"""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl

from pipeline.errors import InputFileError
from pipeline.estimate.uncertainty import Z90
from pipeline.read.small_files import (
    toml_choice,
    toml_count,
    toml_number,
    toml_tables,
)
from schemas.systems import DOMAINS

ANY = "*"
MIN_EPOCH_OBSERVATIONS = 10
MAD_TO_SIGMA = 1.4826  # the median absolute value of a centred normal is 0.6745 sigma
# Never surer than this of an epoch count nobody reported.
MIN_EPOCH_SIGMA = 0.1
MAX_UNIT_CHARS = 64
EPOCH_SPREAD_COLUMNS = {"domain": pl.String, "unit": pl.String, "sigma": pl.Float64,
                        "observations": pl.Int64}  # fmt: skip
# The table a calibration run estimates with: no spread from the epochs, so that the count's
# interval holds its other assumptions alone.
PROVISIONAL = pl.DataFrame([(ANY, ANY, 0.0, 0)], schema=EPOCH_SPREAD_COLUMNS, orient="row")


def epochs_unit(tokens_assumed: pl.Expr) -> pl.Expr:
    """The unit a count over a dataset read: tokens for a blank unit taken as tokens."""
    unit = pl.col("dataset_unit")
    return pl.when(tokens_assumed).then(pl.lit("tokens")).otherwise(unit).fill_null(ANY)


def epoch_sigma(
    domain: pl.Expr, unit: pl.Expr, table: pl.DataFrame | None, default: float
) -> pl.Expr:
    """The spread (of ln epochs) of one assumed epoch for each row's (domain, unit): its
    group's, else the table's `(*, *)`, else `default`."""
    if table is None:
        return pl.lit(default, pl.Float64)
    rows = {(row["domain"], row["unit"]): row["sigma"] for row in table.iter_rows(named=True)}
    fallback = rows.pop((ANY, ANY), default)
    domain, expression = (
        domain.fill_null(ANY),
        pl.when(pl.lit(False)).then(pl.lit(None, pl.Float64)),
    )
    for (group_domain, group_unit), sigma in sorted(rows.items()):
        expression = expression.when((domain == group_domain) & (unit == group_unit)).then(
            pl.lit(float(sigma))
        )
    return expression.otherwise(pl.lit(float(fallback)))


def epoch_observations(estimates: pl.DataFrame, figures: pl.DataFrame) -> pl.DataFrame:
    """`system`, `domain`, `unit`, `log_ratio` (ln of the figure over the count) and
    `other_sigma` (the count's spread without the epochs) for each row of a `PROVISIONAL` run
    counted over a dataset with one epoch assumed; `figures` holds `system`, `_figure`."""
    flags = pl.col("flags")
    return (
        estimates.filter(
            flags.list.contains("epochs_assumed")
            & pl.col("ops_flop").is_not_null()
            & (pl.col("ops_rule") != "parameters")  # k was learned with the epochs in it
        )
        .join(figures, on="system")
        .select(
            "system",
            pl.col("domain").fill_null(ANY),
            epochs_unit(flags.list.contains("tokens_assumed")).alias("unit"),
            (pl.col("_figure") / pl.col("ops_flop")).log().alias("log_ratio"),
            ((pl.col("ops_high_flop") / pl.col("ops_flop")).log() / Z90).alias("other_sigma"),
        )
        # A row of no stated domain or unit belongs to no group (a group of blanks would
        # become the `(*, *)` spread of every other), and a unit longer than a priors file
        # holds is not learned.
        .filter(
            pl.col("log_ratio").is_finite()
            & (pl.col("domain") != ANY)
            & (pl.col("unit") != ANY)
            & (pl.col("unit").str.len_chars() <= MAX_UNIT_CHARS)
        )
    )


def fit_epoch_spreads(
    observations: pl.DataFrame, min_observations: int = MIN_EPOCH_OBSERVATIONS
) -> pl.DataFrame | None:
    """The spread per (domain, unit) with at least `min_observations` rows; None where no
    group has as many."""
    rows = [
        (domain, unit, _fit(group), group.height)
        for (domain, unit), group in observations.group_by("domain", "unit")
        if group.height >= min_observations
    ]
    if not rows:
        return None
    return pl.DataFrame(rows, schema=EPOCH_SPREAD_COLUMNS, orient="row").sort("domain", "unit")


def _fit(group: pl.DataFrame) -> float:
    scale = MAD_TO_SIGMA * float(group["log_ratio"].abs().median())
    other = float(group["other_sigma"].fill_null(0.0).median())
    return float(f"{max(math.sqrt(max(scale**2 - other**2, 0.0)), MIN_EPOCH_SIGMA):.4g}")


def epoch_spreads_from_document(path: Path, document: dict) -> pl.DataFrame | None:
    """The `[[epochs]]` tables of a priors file (None: it has none, the setting stands)."""
    tables = toml_tables(path, document, "epochs")
    if tables is None:
        return None
    rows = [
        (
            toml_choice(path, where, entry, "domain", (*DOMAINS, ANY)),
            _unit(path, where, entry),
            toml_number(path, where, entry, "sigma", 0.0, 50.0),
            toml_count(path, where, entry),
        )
        for where, entry in tables
    ]
    frame = pl.DataFrame(rows, schema=EPOCH_SPREAD_COLUMNS, orient="row")
    if frame.select("domain", "unit").is_duplicated().any():
        raise InputFileError(path, "an [[epochs]] (domain, unit) is given twice")
    return frame


def _unit(path: Path, where: str, entry: dict) -> str:
    value = entry.get("unit")
    if not isinstance(value, str) or not 0 < len(value) <= MAX_UNIT_CHARS:
        raise InputFileError(
            path, f"{where}: unit = {value!r}, expected a unit of at most {MAX_UNIT_CHARS} "
            'characters, or "*"'
        )  # fmt: skip
    return value

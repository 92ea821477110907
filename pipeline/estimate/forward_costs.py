"""Forward cost from parameters: for data not counted in tokens (images, audio, proteins, game
positions), a row with parameters and a dataset but no forward FLOP per example and no
connections gets a forward pass of k x parameters per example, k learned per domain.

k is the forward FLOP per parameter per example. A dense layer read once per example has k = 2
(Epoch's "connections equal parameters"); weights reused over an image's positions, an audio
clip's frames or a board's squares raise it by orders of magnitude, which is why the rule has a
wide spread and its rows are never more than Likely.

`flopsheet calibrate` learns k from the rows of its inputs that carry a reported figure: each is
estimated with that figure withheld and k = 1 (`PROVISIONAL`), so that the figure over the rule's
count is one observation of k. Per domain with at least `MIN_FORWARD_OBSERVATIONS` rows, k is the
median of ln k and `sigma` the robust spread (1.4826 x the median absolute deviation); `*`
pools every domain. The tables are written with the priors as `[[forward]]`; `evaluate` refits
them by cross-validation. Without them (the seed's priors) the rule does not apply.
"""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl

from pipeline.errors import InputFileError
from pipeline.read.small_files import toml_choice, toml_count, toml_number, toml_tables
from schemas.systems import DOMAINS

ANY = "*"
MIN_FORWARD_OBSERVATIONS = 10
# The median absolute deviation of a normal is 0.6745 sigma.
MAD_TO_SIGMA = 1.4826
# Never surer of k than this (ln k): the rule stands for unknown architectures.
MIN_FORWARD_SIGMA = 0.5
FORWARD_COLUMNS = {"domain": pl.String, "k": pl.Float64, "sigma": pl.Float64,
                   "observations": pl.Int64}  # fmt: skip
_FIELD_RANGES = {"k": (1e-6, 1e9), "sigma": (0.0, 50.0)}
# The table a calibration run estimates with: k = 1, so that ops_flop is the rule's count.
PROVISIONAL = pl.DataFrame([(ANY, 1.0, 1.0, 0)], schema=FORWARD_COLUMNS, orient="row")


def forward_cost_columns(domain: pl.Expr, table: pl.DataFrame | None) -> dict[str, pl.Expr]:
    """`_forward_k`, `_forward_k_sigma` (of ln k) and `_forward_k_group` (the domain whose k
    was learned, or `*` pooled) for each row's domain; null when there is no table."""
    if table is None:
        return {name: pl.lit(None, kind) for name, kind in
                (("_forward_k", pl.Float64), ("_forward_k_sigma", pl.Float64),
                 ("_forward_k_group", pl.String))}  # fmt: skip
    rows = {row["domain"]: row for row in table.iter_rows(named=True)}
    learned = sorted(set(rows) - {ANY})
    group = pl.when(domain.is_in(learned)).then(domain)
    if ANY in rows:
        group = group.otherwise(pl.lit(ANY))
    columns = {"_forward_k_group": group}
    for field in ("k", "sigma"):
        expression = pl.when(pl.lit(False)).then(pl.lit(None, pl.Float64))
        for key in learned:
            expression = expression.when(domain == key).then(pl.lit(float(rows[key][field])))
        fallback = rows[ANY][field] if ANY in rows else None
        columns["_forward_" + ("k" if field == "k" else "k_sigma")] = expression.otherwise(
            pl.lit(fallback, pl.Float64)
        )
    return columns


def forward_cost_observations(estimates: pl.DataFrame, figures: pl.DataFrame) -> pl.DataFrame:
    """`system`, `domain` and `log_k` for each row estimated with `PROVISIONAL` by the rule,
    from `figures` (`system`, `_figure`): the figure over the rule's count at k = 1."""
    return (
        estimates.filter(pl.col("ops_rule") == "parameters")
        .join(figures, on="system")
        .select(
            "system",
            pl.col("domain").fill_null(ANY),
            (pl.col("_figure") / pl.col("ops_flop")).log().alias("log_k"),
        )
        .filter(pl.col("log_k").is_finite())
    )


def fit_forward_costs(
    observations: pl.DataFrame, min_observations: int = MIN_FORWARD_OBSERVATIONS
) -> pl.DataFrame | None:
    """k per domain with at least `min_observations` rows, and the pooled `*`; None without
    any observation."""
    if observations.height == 0:
        return None
    groups = [
        (domain, observations.filter(pl.col("domain") == domain)["log_k"])
        for domain in sorted(set(observations["domain"]) - {ANY})
    ]
    rows = [
        (domain, *_fit(values), values.len())
        for domain, values in [*groups, (ANY, observations["log_k"])]
        if values.len() >= min_observations or domain == ANY
    ]
    return pl.DataFrame(rows, schema=FORWARD_COLUMNS, orient="row")


def _fit(log_k: pl.Series) -> tuple[float, float]:
    centre = float(log_k.median())
    spread = MAD_TO_SIGMA * float((log_k - centre).abs().median())
    # Significant figures, so that a small k is never written as 0.
    return float(f"{math.exp(centre):.4g}"), round(max(spread, MIN_FORWARD_SIGMA), 4)


def forward_costs_from_document(path: Path, document: dict) -> pl.DataFrame | None:
    """The `[[forward]]` tables of a priors file (None: it has none, the rule does not apply)."""
    tables = toml_tables(path, document, "forward")
    if tables is None:
        return None
    rows = [
        (
            toml_choice(path, where, entry, "domain", (*DOMAINS, ANY)),
            *(toml_number(path, where, entry, name, *span) for name, span in _FIELD_RANGES.items()),
            toml_count(path, where, entry),
        )
        for where, entry in tables
    ]
    frame = pl.DataFrame(rows, schema=FORWARD_COLUMNS, orient="row")
    if frame["domain"].is_duplicated().any():
        raise InputFileError(path, "a [[forward]] domain is given twice")
    return frame

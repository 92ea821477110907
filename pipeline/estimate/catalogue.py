"""The catalogue of foundation models (pipeline/data/foundation_models.csv): bases that
fine-tunes commonly start from, each described by its paper's or model card's inputs (with the
source) and estimated by flopsheet itself, like any sheet. A base a row names that its own
sheet does not hold is looked up here by its normalised name or an alias; found, it adds the
catalogue's estimate and interval as if `base_model_compute_flop` were given, flagged
`base_from_catalogue`. The catalogue holds inputs only, never a compute figure.

The catalogue's interval is widened by the setting `spread_base_from_catalogue`: the row may
have started from another checkpoint than the one its base's name finds (a later version, an
instruction-tuned one), and sheets differ on whether a fine-tune's figure counts its base."""

from __future__ import annotations

import math

import polars as pl

CATALOGUE_COLUMNS = ("_catalogue_system", "_catalogue_flop", "_catalogue_low", "_catalogue_high")


def name_key(name: pl.Expr) -> pl.Expr:
    """A name as looked up: lower case, letters and digits only ("Llama 2-13B": "llama213b")."""
    return name.str.to_lowercase().str.replace_all(r"[^a-z0-9]", "")


def _reach(bound: pl.Expr, spread: float) -> pl.Expr:
    """How far the widened bound lies from the estimate, as a factor (null bound: none)."""
    own = (bound / pl.col("estimate_flop")).log().abs()
    return (own**2 + math.log(spread) ** 2).sqrt().exp()


def catalogue_bases(estimates: pl.DataFrame, spread: float) -> pl.DataFrame:
    """One row per name and alias of the estimated catalogue (`_key`), with the system's
    estimate and its interval widened by `spread` (a 90% factor, in quadrature); an alias that
    two systems share is left out rather than guessed."""
    aliases = (
        pl.col("aliases").fill_null("").str.split("|")
        if "aliases" in estimates.columns
        else pl.lit([], pl.List(pl.String))
    )
    names = (
        estimates.filter(pl.col("estimate_flop").is_not_null())
        .select(
            pl.concat_list(pl.col("system"), aliases).alias("_name"),
            pl.col("system").alias("_catalogue_system"),
            pl.col("estimate_flop").alias("_catalogue_flop"),
            (pl.col("estimate_flop") / _reach(pl.col("estimate_low_flop"), spread)).alias(
                "_catalogue_low"
            ),
            (pl.col("estimate_flop") * _reach(pl.col("estimate_high_flop"), spread)).alias(
                "_catalogue_high"
            ),
        )
        .explode("_name")
        .with_columns(name_key(pl.col("_name")).alias("_key"))
        .filter(pl.col("_key") != "")
        .unique(["_key", "_catalogue_system"])
    )
    return names.filter(pl.col("_key").is_unique()).select("_key", *CATALOGUE_COLUMNS).sort("_key")

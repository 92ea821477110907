"""The pieces of free-text notes that several readers match: figures with their scale words,
and notes cleaned for matching. polars' regular expressions have no look-behind, so a pattern
says where a figure may start (`FIGURE_START`) instead."""

from __future__ import annotations

import polars as pl

SCALE = r"(b|billion|m|million|t|trillion|k|thousand)\b"
SCALES = {"b": 1e9, "billion": 1e9, "m": 1e6, "million": 1e6, "t": 1e12, "trillion": 1e12,
          "k": 1e3, "thousand": 1e3}  # fmt: skip
# A whole figure, "3,500" or "3.5", and where one may start: at the start or after anything but
# a letter, digit, point or comma, so never the tail of another number ("1e400", "1,5") or word.
FIGURE = r"(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
FIGURE_START = r"(?:^|[^\w.,])"


def clean_text(column: str) -> pl.Expr:
    """The column's text in lower case, each run of white space one space."""
    return pl.col(column).str.replace_all(r"\s+", " ").str.to_lowercase()


def scaled(number: pl.Expr, scale: pl.Expr) -> pl.Expr:
    """A figure ("3,500") times its scale word ("million"; none: 1)."""
    factor = scale.replace_strict(SCALES, default=None, return_dtype=pl.Float64)
    return number.str.replace_all(",", "").cast(pl.Float64, strict=False) * pl.when(
        scale.is_null() | (scale == "")
    ).then(pl.lit(1.0)).otherwise(factor)

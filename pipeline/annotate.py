"""Flags and notes: each stage appends its own, so every row carries its derivation."""

from __future__ import annotations

import polars as pl


def start_annotations(frame: pl.LazyFrame) -> pl.LazyFrame:
    return frame.with_columns(
        pl.lit([], dtype=pl.List(pl.String)).alias("flags"),
        pl.lit([], dtype=pl.List(pl.String)).alias("_notes"),
    )


def _append(column: str, items: list[pl.Expr]) -> pl.Expr:
    new = pl.concat_list(items).list.drop_nulls()
    return pl.col(column).list.concat(new).alias(column)


def add_flags(conditions: dict[str, pl.Expr]) -> pl.Expr:
    """Append flag `code` where its condition holds (null counts as false)."""
    return _append(
        "flags",
        [pl.when(cond.fill_null(False)).then(pl.lit(code)) for code, cond in conditions.items()],
    )


def add_notes(*fragments: pl.Expr) -> pl.Expr:
    """Append note fragments; a null fragment (its step did not apply) is skipped."""
    return _append("_notes", [f.cast(pl.String) for f in fragments])


def finish_annotations(frame: pl.LazyFrame) -> pl.LazyFrame:
    return frame.with_columns(
        pl.col("_notes").list.join("; ").alias("notes"),
    ).drop("_notes")

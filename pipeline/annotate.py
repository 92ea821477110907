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


def annotate(
    flagged: dict[str, tuple[pl.Expr, pl.Expr | None]], *derivation: pl.Expr
) -> list[pl.Expr]:
    """Flags and notes of one stage: the derivation's notes first, then for each flag that
    holds its code in `flags` and, where it has one, its note, from one shared condition."""
    return [
        add_flags({code: condition for code, (condition, _) in flagged.items()}),
        add_notes(
            *derivation,
            *(pl.when(cond).then(note) for cond, note in flagged.values() if note is not None),
        ),
    ]


def finish_annotations(frame: pl.LazyFrame) -> pl.LazyFrame:
    return frame.with_columns(
        pl.col("_notes").list.join("; ").alias("notes"),
    ).drop("_notes")

"""Flags and notes: each stage appends its own, so every row carries its derivation."""

from __future__ import annotations

import polars as pl

from pipeline.frames import collect, join_beside

# While the stages run, flags and notes are text: appending to a string is far cheaper than
# to a list over a million rows. `finish_annotations` turns the flags into a list.
FLAG_SEPARATOR = " "
NOTE_SEPARATOR = "; "


def start_annotations(frame: pl.LazyFrame) -> pl.LazyFrame:
    return frame.with_columns(
        pl.lit(None, dtype=pl.String).alias("_flags"),
        pl.lit(None, dtype=pl.String).alias("_notes"),
    )


def _append(column: str, items: list[pl.Expr], separator: str) -> pl.Expr:
    joined = pl.concat_str([pl.col(column), *items], separator=separator, ignore_nulls=True)
    return pl.when(joined != "").then(joined).alias(column)


def add_flags(conditions: dict[str, pl.Expr]) -> pl.Expr:
    """Append flag `code` where its condition holds (null counts as false)."""
    return _append(
        "_flags",
        [pl.when(cond.fill_null(False)).then(pl.lit(code)) for code, cond in conditions.items()],
        FLAG_SEPARATOR,
    )


def add_notes(*fragments: pl.Expr) -> pl.Expr:
    """Append note fragments; a null fragment (its step did not apply) is skipped."""
    return _append("_notes", [f.cast(pl.String) for f in fragments], NOTE_SEPARATOR)


def withdraw(flag: str, note: str, where: pl.Expr) -> list[pl.Expr]:
    """Take back a flag and its note where a later stage found them no longer true."""
    where = where.fill_null(False)
    flags = (
        pl.concat_str([pl.lit(FLAG_SEPARATOR), pl.col("_flags"), pl.lit(FLAG_SEPARATOR)])
        .str.replace_all(f"{FLAG_SEPARATOR}{flag}{FLAG_SEPARATOR}", FLAG_SEPARATOR, literal=True)
        .str.strip_chars(FLAG_SEPARATOR)
    )
    notes = (
        pl.concat_str([pl.lit(NOTE_SEPARATOR), pl.col("_notes"), pl.lit(NOTE_SEPARATOR)])
        .str.replace_all(f"{NOTE_SEPARATOR}{note}{NOTE_SEPARATOR}", NOTE_SEPARATOR, literal=True)
        .str.strip_prefix(NOTE_SEPARATOR)
        .str.strip_suffix(NOTE_SEPARATOR)
    )
    return [
        pl.when(where & (flags != ""))
        .then(flags)
        .when(~where)
        .then(pl.col("_flags"))
        .alias("_flags"),
        pl.when(where & (notes != ""))
        .then(notes)
        .when(~where)
        .then(pl.col("_notes"))
        .alias("_notes"),
    ]


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


def with_annotations(
    frame: pl.LazyFrame, flagged: dict[str, tuple[pl.Expr, pl.Expr | None]], *derivation: pl.Expr
) -> pl.LazyFrame:
    """`frame` with the flags and notes of `annotate`, where each note that formats figures is
    computed only on the rows some such note applies to, and joined back: in a when/then,
    polars formats the note for every row, and most of these conditions hold on few rows."""
    formatted = [
        code
        for code, (_, note) in flagged.items()
        if note is not None and not note.meta.is_literal()
    ]
    if not formatted:
        return frame.with_columns(*annotate(flagged, *derivation))
    index = "_annotated_row"
    names = {code: f"_formatted_{place}" for place, code in enumerate(formatted)}
    applies = pl.any_horizontal(flagged[code][0].fill_null(False) for code in formatted)
    indexed = collect(frame.with_row_index(index)).lazy()  # read by the notes and the join
    notes = indexed.filter(applies).select(
        index,
        *(
            pl.when(flagged[code][0]).then(flagged[code][1]).alias(names[code])
            for code in formatted
        ),
    )
    # A formatted note is null wherever its condition does not hold, as the when/then made it.
    staged = {
        code: (condition, pl.col(names[code]) if code in names else note)
        for code, (condition, note) in flagged.items()
    }
    return (
        join_beside(indexed, notes, index)
        .with_columns(*annotate(staged, *derivation))
        .drop(index, *names.values())
    )


def split_notes(notes: str) -> list[str]:
    """A row's `notes` as the fragments the stages appended."""
    return notes.split(NOTE_SEPARATOR) if notes else []


def finish_annotations(frame: pl.LazyFrame) -> pl.LazyFrame:
    return frame.with_columns(
        pl.col("_flags").str.split(FLAG_SEPARATOR).fill_null([]).alias("flags"),
        pl.col("_notes").fill_null("").alias("notes"),
    ).drop("_flags", "_notes")


def by_partition(
    frame: pl.LazyFrame, key: pl.Expr, name: str, values: dict[str | bool, pl.Expr]
) -> pl.LazyFrame:
    """Adds column `name`: on the rows whose `key` is one of `values`, that value's expression,
    computed on those rows only; null elsewhere. A when/then chain would compute every branch
    for every row, and formatted notes and sentences are the dearest expressions of a run."""
    index = f"_{name}_row"
    # Collected once: each part and the frame they are joined back to read it.
    indexed = collect(frame.with_row_index(index)).lazy()
    parts = pl.concat(
        [
            indexed.filter(key == value).select(index, expression.alias(name))
            for value, expression in values.items()
        ]
    )
    return join_beside(indexed, parts, index).drop(index)

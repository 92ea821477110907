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


FORMATTED_PREFIX = "_formatted_"


def _formatted_where(
    frame: pl.LazyFrame, pairs: list[tuple[pl.Expr, pl.Expr]]
) -> tuple[pl.LazyFrame, list[pl.Expr]]:
    """(`frame` with each (condition, text) pair's text computed only on the rows some
    condition holds on and joined back, the text read for each pair: null where its condition
    does not hold, as a when/then makes it). In a when/then, polars formats the text for every
    row, and most of these conditions hold on few rows; a literal text costs nothing and
    stays a when/then."""
    read = [pl.when(condition).then(text) for condition, text in pairs]
    formatted = [place for place, (_, text) in enumerate(pairs) if not text.meta.is_literal()]
    if not formatted:
        return frame, read
    index = "_annotated_row"
    applies = pl.any_horizontal(pairs[place][0].fill_null(False) for place in formatted)
    indexed = collect(frame.with_row_index(index)).lazy()  # read by the texts and the join
    texts = indexed.filter(applies).select(
        index, *(read[place].alias(f"{FORMATTED_PREFIX}{place}") for place in formatted)
    )
    for place in formatted:
        read[place] = pl.col(f"{FORMATTED_PREFIX}{place}")
    return join_beside(indexed, texts, index).drop(index), read


def with_annotations(
    frame: pl.LazyFrame, flagged: dict[str, tuple[pl.Expr, pl.Expr | None]], *derivation: pl.Expr
) -> pl.LazyFrame:
    """`frame` with the flags and notes of `annotate`, each note that formats figures computed
    only where some such note applies (`_formatted_where`)."""
    noted = [code for code, (_, note) in flagged.items() if note is not None]
    frame, read = _formatted_where(frame, [flagged[code] for code in noted])
    staged = {
        code: (condition, read[noted.index(code)] if code in noted else None)
        for code, (condition, _) in flagged.items()
    }
    return _without_formatted(frame.with_columns(*annotate(staged, *derivation)))


def with_notes(frame: pl.LazyFrame, *fragments: tuple[pl.Expr, pl.Expr]) -> pl.LazyFrame:
    """`add_notes` of (condition, text) fragments, each text that formats figures computed
    only where some such fragment applies (`_formatted_where`)."""
    frame, read = _formatted_where(frame, list(fragments))
    return _without_formatted(frame.with_columns(add_notes(*read)))


def _without_formatted(frame: pl.LazyFrame) -> pl.LazyFrame:
    return frame.drop(pl.selectors.starts_with(FORMATTED_PREFIX))


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
    # Collected once: each part and the frame they are joined back to read it. Only the keys
    # some row holds make a part (a key may be one of many combinations).
    whole = collect(frame.with_row_index(index))
    held = set(whole.select(key.unique()).to_series())
    indexed = whole.lazy()
    parts = [
        indexed.filter(key == value).select(index, expression.alias(name))
        for value, expression in values.items()
    ]
    # With no key held, one empty part still gives the column its type.
    held_parts = [part for value, part in zip(values, parts, strict=True) if value in held]
    return join_beside(indexed, pl.concat(held_parts or parts[:1]), index).drop(index)

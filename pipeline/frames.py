"""Collecting lazy frames, in one place.

Polars' default engine may plan a query for streaming, which costs seconds for queries made of
many large expressions (one parser per column, the notes of every rule) and gains nothing here:
every stage works on whole columns in memory. The engine is chosen per query, so that importing
flopsheet changes no global polars setting.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

ENGINE = "in-memory"
# From this many rows the accounting rules' totals and tests run as one lazy plan, which polars
# evaluates in one pass sharing common sub-expressions; below it, planning that query costs
# more than running its steps one by one.
ONE_PLAN_ROWS = 50_000
# A stage written once for both: eager steps on a small frame, a lazy plan on a large one.
Frame = pl.DataFrame | pl.LazyFrame


def collect(frame: pl.LazyFrame) -> pl.DataFrame:
    return frame.collect(engine=ENGINE)


def shared(use: Callable[..., pl.Expr], **values: pl.Expr) -> pl.Expr:
    """`use(**values)`, each value computed once however often `use` names it. Polars copies an
    expression into every place that names it and evaluates each copy (an eager frame finds no
    common sub-expressions, a lazy one only some): a number parser that named its pattern's
    groups a dozen times ran the pattern a dozen times per cell. Here the values are a
    struct's fields and `use` reads them from it. `use` may name the frame's columns besides
    its arguments, but not the values of an enclosing `shared`: pass those in."""
    fields = {name: pl.field(name) for name in values}
    return (
        pl.struct(*(value.alias(name) for name, value in values.items()))
        .struct.with_fields(use(**fields).alias("_used"))
        .struct.field("_used")
    )


def join_beside(
    frame: Frame, table: Frame, on: str | list[str], *, nulls_equal: bool = False
) -> Frame:
    """`frame` left-joined with `table`, which holds each key once, the frame's rows in their
    order. The join runs on the key columns only and its new columns are set beside the
    frame's: joining the whole frame would gather each of its columns again, half a second
    for a frame of a hundred columns and a million rows. A lazy frame is collected first, so
    that the keys and the columns beside them come from one evaluation of its plan."""
    keys = [on] if isinstance(on, str) else list(on)
    whole = collect(frame) if isinstance(frame, pl.LazyFrame) else frame
    table = collect(table) if isinstance(table, pl.LazyFrame) else table
    looked_up = (
        whole.select(keys)
        .join(
            table, on=keys, how="left", maintain_order="left", validate="m:1",
            nulls_equal=nulls_equal,
        )
        .drop(keys)
    )  # fmt: skip
    joined = pl.concat([whole, looked_up], how="horizontal")
    return joined.lazy() if isinstance(frame, pl.LazyFrame) else joined

"""Collecting lazy frames, in one place.

Polars' default engine may plan a query for streaming, which costs seconds for queries made of
many large expressions (one parser per column, the notes of every rule) and gains nothing here:
every stage works on whole columns in memory. The engine is chosen per query, so that importing
flopsheet changes no global polars setting.
"""

from __future__ import annotations

import polars as pl

ENGINE = "in-memory"
# From this many rows a chain of steps runs as one lazy plan, which polars evaluates in one
# pass sharing common sub-expressions; below it, planning the whole query costs more than
# running the steps one by one.
ONE_PLAN_ROWS = 50_000
# A stage written once for both: eager steps on a small frame, a lazy plan on a large one.
Frame = pl.DataFrame | pl.LazyFrame


def collect(frame: pl.LazyFrame) -> pl.DataFrame:
    return frame.collect(engine=ENGINE)

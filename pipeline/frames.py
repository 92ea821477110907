"""Collecting lazy frames, in one place.

Polars' default engine may plan a query for streaming, which costs seconds for queries made of
many large expressions (one parser per column, the notes of every rule) and gains nothing here:
every stage works on whole columns in memory. The engine is chosen per query, so that importing
flopsheet changes no global polars setting.
"""

from __future__ import annotations

import polars as pl

ENGINE = "in-memory"


def collect(frame: pl.LazyFrame) -> pl.DataFrame:
    return frame.collect(engine=ENGINE)

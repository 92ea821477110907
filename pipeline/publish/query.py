"""A query's result as a polars frame, whatever DuckDB types it holds, and the time limit a
query runs under."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import polars as pl

# DuckDB types that polars holds as they are; any other comes as DuckDB's own text for it.
POLARS_HOLDS = frozenset({
    "boolean", "tinyint", "smallint", "integer", "bigint", "hugeint", "utinyint", "usmallint",
    "uinteger", "ubigint", "float", "double", "decimal", "varchar", "date", "time",
    "timestamp", "timestamp_s", "timestamp_ms", "timestamp_ns", "timestamp with time zone",
    "null",
})  # fmt: skip
NESTED = frozenset({"list", "array", "struct", "map"})


def _polars_holds(kind) -> bool:  # noqa: ANN001 (a DuckDBPyType)
    if kind.id in NESTED:
        return all(_polars_holds(child) for _, child in kind.children if not isinstance(child, int))
    return kind.id in POLARS_HOLDS


def query_frame(relation) -> pl.DataFrame:  # noqa: ANN001 (a DuckDB relation or None)
    """A query's result as a frame. Columns of types polars cannot hold as they are
    (intervals, unions, unsigned 128-bit integers, times with a zone, blobs, and anything
    holding them) come as DuckDB's own text for them, and so do dates and times past any
    calendar ('infinity'); the others keep their types."""
    if relation is None:  # a statement without a result
        return pl.DataFrame()
    holds = [_polars_holds(kind) for kind in relation.types]
    frame = _as_text(relation, holds).pl()
    # polars holds an infinite date, but cannot hand it to Python: run again with it as text.
    finite = [
        not isinstance(dtype, pl.Date | pl.Datetime)
        or frame[name].dt.year().null_count() == frame[name].null_count()
        for name, dtype in frame.schema.items()
    ]
    if not all(finite):
        frame = _as_text(relation, [h and f for h, f in zip(holds, finite, strict=True)]).pl()
    return frame


def _as_text(relation, keep: list[bool]):  # noqa: ANN001, ANN202 (DuckDB relations)
    """`relation` with the columns not in `keep` cast to DuckDB's text for them."""
    quoted = ['"' + column.replace('"', '""') + '"' for column in relation.columns]
    return relation.project(
        ", ".join(
            q if kept else f"CAST({q} AS VARCHAR) AS {q}"
            for q, kept in zip(quoted, keep, strict=True)
        )
    )


def flatten_nested(frame: pl.DataFrame) -> pl.DataFrame:
    """For CSV, which has no lists: a list of text becomes 'a; b', any other nested value JSON."""
    return frame.with_columns(
        pl.col(name).list.join("; ")
        if dtype == pl.List(pl.String)
        # {"v":...} with the value's JSON in place of the dots
        else pl.struct(pl.col(name).alias("v"))
        .struct.json_encode()
        .str.slice(5)
        .str.head(-1)
        .alias(name)
        for name, dtype in frame.schema.items()
        if dtype.is_nested()
    )


def spill_folder() -> tempfile.TemporaryDirectory:
    """A fresh folder for what a query spills to disk, removed when the query ends. It is
    outside the dataset, so that a large sort cannot fill the published run's folder; a
    killed query leaves it in the system's temporary folder, where it is cleaned like any."""
    return tempfile.TemporaryDirectory(prefix="flopsheet-query-", ignore_cleanup_errors=True)


@contextmanager
def time_limit(connection, seconds: float | None) -> Iterator[threading.Event]:  # noqa: ANN001
    """Interrupt what `connection` (a DuckDB connection) runs once `seconds` have passed (None
    or 0: never). Yields an event that is set when it did, so that the error DuckDB raises can
    be told from any other."""
    fired = threading.Event()
    if not seconds:
        yield fired
        return

    def stop() -> None:
        fired.set()
        connection.interrupt()

    # A timer thread, because DuckDB has no statement timeout of its own; the statement runs
    # with the GIL released, so the timer runs on time.
    timer = threading.Timer(seconds, stop)
    timer.daemon = True  # never keeps the process alive
    timer.start()
    try:
        yield fired
    finally:
        timer.cancel()
        timer.join()  # an interrupt in flight ends before the connection can be closed

"""Flags and notes: a note formatted on the rows it applies to reads as one formatted on all."""

from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from pipeline.estimate.annotate import (
    add_notes,
    annotate,
    finish_annotations,
    start_annotations,
    with_annotations,
    with_notes,
)
from pipeline.estimate.formatting import sci


def flagged() -> dict[str, tuple[pl.Expr, pl.Expr | None]]:
    x = pl.col("x")
    return {
        "big": (x > 100, pl.concat_str([pl.lit("x is "), sci(x)])),
        "small": (x < 1, pl.lit("x is small")),
        "odd": (pl.col("odd"), pl.concat_str([pl.lit("odd at "), sci(x * 3)])),
        "quiet": (x == 5, None),
    }


@given(st.lists(st.tuples(st.none() | st.floats(0.01, 1e6), st.none() | st.booleans())))
def test_with_annotations_equals_annotate(rows: list[tuple[float | None, bool | None]]) -> None:
    frame = start_annotations(
        pl.LazyFrame(
            {"x": [x for x, _ in rows], "odd": [odd for _, odd in rows]},
            schema={"x": pl.Float64, "odd": pl.Boolean},
        )
    )
    derivation = pl.concat_str([pl.lit("from "), pl.col("x").cast(pl.String)])
    everywhere = frame.with_columns(*annotate(flagged(), derivation))
    applied = with_annotations(frame, flagged(), derivation)
    expected = finish_annotations(everywhere).collect()
    assert finish_annotations(applied).collect().equals(expected)
    fragments = [(condition, note) for condition, note in flagged().values() if note is not None]
    everywhere = frame.with_columns(add_notes(*(pl.when(c).then(n) for c, n in fragments)))
    expected = finish_annotations(everywhere).collect()
    assert finish_annotations(with_notes(frame, *fragments)).collect().equals(expected)


def test_with_annotations_of_literal_notes_only_adds_no_columns() -> None:
    frame = start_annotations(pl.LazyFrame({"x": [0.5, 2.0]}))
    literal = {"small": (pl.col("x") < 1, pl.lit("x is small"))}
    result = finish_annotations(with_annotations(frame, literal)).collect()
    assert result.columns == ["x", "flags", "notes"]
    assert result["notes"].to_list() == ["x is small", ""]

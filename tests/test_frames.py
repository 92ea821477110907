"""pipeline/frames.py: a join set beside a frame reads as the left join it stands for."""

from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from pipeline.frames import join_beside

KEYS = st.none() | st.sampled_from(["a", "b", "c", "d"])


@given(st.lists(KEYS), st.sets(KEYS), st.booleans(), st.booleans())
def test_join_beside_is_a_left_join(keys, table_keys, nulls_equal, lazy) -> None:
    frame = pl.DataFrame(
        {"key": keys, "row": range(len(keys))}, schema={"key": pl.String, "row": pl.Int64}
    )
    table = pl.DataFrame(
        {
            "key": sorted(table_keys, key=str),
            "value": [str(k) * 2 for k in sorted(table_keys, key=str)],
        },
        schema={"key": pl.String, "value": pl.String},
    )
    expected = frame.join(
        table, on="key", how="left", maintain_order="left", nulls_equal=nulls_equal
    )
    given_frame = frame.lazy() if lazy else frame
    result = join_beside(given_frame, table.lazy(), "key", nulls_equal=nulls_equal)
    assert isinstance(result, pl.LazyFrame) == lazy
    result = result.collect() if lazy else result
    assert result.equals(expected)

"""validate_filled: the same verdict and failure cases as pandera's whole validation."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.estimates import EstimatesSchema
from schemas.systems import SystemsSchema
from schemas.validation import validate_filled


class Contract(pa.DataFrameModel):
    name: str = pa.Field(nullable=False)
    size: float = pa.Field(nullable=True, gt=0)
    count: pl.Int64 = pa.Field(nullable=True, ge=1)
    code: str = pa.Field(nullable=True, unique=True)
    share: float = pa.Field(nullable=True, le=1)

    @pa.dataframe_check(name="count_needs_size")
    def count_needs_size(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("count").is_null() | pl.col("size").is_not_null())

    class Config:
        strict = False


def _outcome(validate, model, frame):
    try:
        validate(model, frame)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases.select(pl.all().cast(pl.String))
        return cases.sort(pl.all(), nulls_last=True).rows()
    return None


def _whole(model, frame):
    return model.validate(frame, lazy=True)


def _filled(model, frame):
    return validate_filled(model, frame, lazy=True)


_cells = {
    "name": st.one_of(st.none(), st.sampled_from(["a", "b"])),
    "size": st.one_of(st.none(), st.sampled_from([-1.0, 0.0, 2.0])),
    "count": st.one_of(st.none(), st.sampled_from([0, 1, 3])),
    "code": st.one_of(st.none(), st.sampled_from(["x", "y"])),
    "share": st.one_of(st.none(), st.sampled_from([0.5, 2.0])),
}
_types = {"name": pl.String, "size": pl.Float64, "count": pl.Int64, "code": pl.String}


@st.composite
def _frames(draw):
    rows = draw(st.integers(0, 4))
    blank = draw(st.sets(st.sampled_from(list(_cells))))
    data = {
        column: [None if column in blank else draw(cell) for _ in range(rows)]
        for column, cell in _cells.items()
    }
    # A blank column of the wrong type must still be reported as such.
    share_type = draw(st.sampled_from([pl.Float64, pl.String]))
    return pl.DataFrame(data, schema={**_types, "share": share_type}, strict=False)


@settings(max_examples=100, deadline=None)
@given(_frames())
def test_same_failures_as_whole_validation(frame):
    assert _outcome(_filled, Contract, frame) == _outcome(_whole, Contract, frame)


def test_blank_columns_are_not_queried():
    frame = pl.DataFrame(
        {"name": ["a"], "size": [None], "count": [None], "code": [None], "share": [None]},
        schema={**_types, "share": pl.Float64},
    )
    assert validate_filled(Contract, frame).equals(frame)
    wrong = frame.with_columns(pl.col("share").cast(pl.String))
    assert _outcome(_filled, Contract, wrong) == _outcome(_whole, Contract, wrong)
    assert _outcome(_filled, Contract, wrong) is not None


@pytest.mark.parametrize("model", [SystemsSchema, EstimatesSchema])
def test_contracts_blank_frame(model):
    """A frame of the contract's columns, all blank, typed as declared: the same verdict
    (the non-nullable columns fail, on both paths)."""
    schema = model.to_schema()
    dtypes = {name: column.dtype.type for name, column in schema.columns.items()}
    frame = pl.DataFrame({name: [None, None] for name in dtypes}, schema=dtypes)
    assert _outcome(_filled, model, frame) == _outcome(_whole, model, frame)

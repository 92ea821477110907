"""Validating a frame against one of the contracts, without the checks that cannot fail.

Pandera runs each check of each column as a query of its own, about half a millisecond each
whatever the frame's size: most of the validation of a sheet that fills a dozen of the
contract's sixty columns is spent proving that blank columns are blank. A column whose every
cell is blank passes every check of a nullable column that ignores blanks, so for such a
column only its type is compared (here, against pandera's own reading of the type) and
pandera validates the others, and the frame-wide checks, as the whole contract would.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.engines.polars_engine import Engine


def validate_filled(
    model: type[pa.DataFrameModel], frame: pl.DataFrame, *, lazy: bool = False
) -> pl.DataFrame:
    """`model.validate(frame, lazy=lazy)`, skipping the blank columns that cannot fail it.
    Raises and reports as pandera does: a blank column of the wrong type is validated."""
    schema = model.to_schema()
    if schema.strict or schema.coerce:  # every column is checked or converted: nothing to skip
        return schema.validate(frame, lazy=lazy)
    nulls = frame.null_count().row(0, named=True) if frame.width else {}
    blank = [
        name
        for name, column in schema.columns.items()
        if nulls.get(name) == frame.height
        and _passes_when_blank(column)
        and _has_type(column, frame.schema[name])
    ]
    return (schema.remove_columns(blank) if blank else schema).validate(frame, lazy=lazy)


def _passes_when_blank(column: pa.Column) -> bool:
    """A column whose checks hold for any frame whose cells in it are all blank."""
    return (
        column.nullable
        and not column.unique
        and not column.coerce
        and not column.regex
        and not column.parsers
        and all(check.ignore_na for check in column.checks)
    )


def _has_type(column: pa.Column, dtype: pl.DataType) -> bool:
    try:
        return bool(column.dtype is None or column.dtype.check(Engine.dtype(dtype)))
    except (TypeError, ValueError):  # a type pandera does not read (pl.Null): let it report
        return False

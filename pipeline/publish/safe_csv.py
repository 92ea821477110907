"""CSV a spreadsheet opens as data: every CSV flopsheet writes (rejects.csv, `query` and `diff`
with `--format csv`) goes through `write_safe_csv`.

A spreadsheet may run a cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return as
a formula: `=HYPERLINK(...)` links anywhere, `+cmd|' /C calc'!A0` starts a program. Curators
open rejects.csv in a spreadsheet to fix rows, and the cells it holds are whatever the sheets
held. So, by OWASP's rule for CSV injection, a text cell that begins with one of those
characters is written with a single quote in front, which a spreadsheet takes as "this is
text" and does not show. Only the CSV form changes: Parquet and DuckDB keep the raw value.
Numeric columns are not text (a negative number stays a number) and are written as they are.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from pipeline.publish.query import flatten_nested

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# One anchored character class: a single scan of each cell, where a test per character was six.
FORMULA_PATTERN = "^[" + "".join(re.escape(start) for start in FORMULA_STARTS) + "]"
QUOTE = "'"


def neutralise(text: pl.Expr) -> pl.Expr:
    """`text` with a single quote in front of each value that a spreadsheet would run."""
    return pl.when(text.str.contains(FORMULA_PATTERN)).then(QUOTE + text).otherwise(text)


def neutralise_name(name: str) -> str:
    return QUOTE + name if name.startswith(FORMULA_STARTS) else name


def safe_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` as its CSV should hold it: nested values flattened to text (see
    `flatten_nested`), and the text cells that would be formulas neutralised."""
    frame = flatten_nested(frame)
    text = [
        name
        for name, dtype in frame.schema.items()
        if dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum)
    ]
    # Only a column holding such a cell is rewritten: rewriting is a copy of the column, and
    # the notes and sentences of a million rows are hundreds of megabytes that hold none.
    as_text = {name: pl.col(name).cast(pl.String) for name in text}
    held = frame.select(column.str.contains(FORMULA_PATTERN).any() for column in as_text.values())
    rewritten = {name for name in text if held[name].item()}
    return frame.with_columns(
        (neutralise(column) if name in rewritten else column).alias(name)
        for name, column in as_text.items()
        if name in rewritten or frame.schema[name] != pl.String
    )


def write_safe_csv(frame: pl.DataFrame, path: Path | None = None) -> str | None:
    """Write `frame` as CSV to `path`, or return it as text when `path` is None."""
    safe = safe_frame(frame)
    names = [neutralise_name(name) for name in frame.columns]
    if names == frame.columns:
        return safe.write_csv(path)
    # Column names are cells too (a sheet's headers are carried through to `estimates`), but
    # renaming could make two equal; polars writes them as a row of text instead.
    header = pl.DataFrame([pl.Series(f"c{i}", [n], pl.String) for i, n in enumerate(names)])
    text = header.write_csv(include_header=False) + safe.write_csv(include_header=False)
    if path is None:
        return text
    Path(path).write_bytes(text.encode())
    return None

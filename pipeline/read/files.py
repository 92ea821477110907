"""Reading spreadsheets: CSV, Excel (.xlsx) and Parquet, every cell as text.

Parsing happens later, column by column, so that a bad cell costs one row and never the
file. Each row keeps where it came from: `source_file` and `source_row`, the row number a
spreadsheet program shows (blank rows above the header and between rows count).
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from pipeline.errors import InputFileError
from pipeline.read import excel
from pipeline.read.columns import canonical_names, coalesce_mapped, column_uses, header_key
from pipeline.read.csv_text import csv_source
from pipeline.read.epoch import (
    derive_from_notes,
    epoch_column_map,
    is_epoch_export,
    with_epoch_spelling,
)
from schemas.estimates import RESERVED_OUTPUT_COLUMNS

READERS_BY_SUFFIX = {".csv": "csv", ".tsv": "csv", ".xlsx": "excel", ".parquet": "parquet"}
FIRST_DATA_ROW = 2


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


# A table wider than this is not a sheet of systems (one has a few dozen columns): refused
# before the columns are matched and checked, which takes minutes for 100,000 of them.
MAX_COLUMNS = 1_000


def _check_width(width: int, shown: Path) -> None:
    if width > MAX_COLUMNS:
        raise InputFileError(
            shown,
            f"the table has {width:,} columns; flopsheet reads at most {MAX_COLUMNS:,} "
            "(a sheet of systems has a few dozen: delete the columns past the table)",
        )


def _read_text_frame(path: Path, shown: Path) -> tuple[pl.DataFrame, int]:
    """The file's cells as text, and the spreadsheet row of its first data row; errors name
    `shown`, the file as the user gave it."""
    kind = READERS_BY_SUFFIX.get(path.suffix.lower())
    if kind is None:
        raise InputFileError(
            shown, f"unsupported file type {path.suffix!r} (expected .csv, .xlsx or .parquet)"
        )
    if not path.exists():
        raise InputFileError(shown, "file not found")
    if not path.is_file():
        raise InputFileError(shown, "not a file")
    first_data_row = FIRST_DATA_ROW
    try:
        if kind == "csv":
            separator = "\t" if path.suffix.lower() == ".tsv" else ","
            source, blank_lines = csv_source(path, shown, separator)
            first_data_row += blank_lines
            options = {"infer_schema": False, "separator": separator, "encoding": "utf8-lossy"}
            _check_width(pl.read_csv(source, n_rows=0, **options).width, shown)
            frame = pl.read_csv(source, truncate_ragged_lines=True, **options)
        elif kind == "excel":
            frame = excel.read_sheet(path)
            _check_width(frame.width, shown)
            first_data_row = excel.header_row(path) + 1
        else:
            _check_width(len(pl.read_parquet_schema(path)), shown)
            frame = pl.read_parquet(path)
    except excel.SheetTooLarge as error:
        raise InputFileError(shown, str(error)) from None
    except InputFileError:
        raise
    except Exception as error:  # every reader has its own error types; all mean "unreadable"
        raise InputFileError(shown, f"cannot read as {kind}: {_first_line(error)}") from None
    try:
        return frame.select(pl.all().cast(pl.String)), first_data_row
    except Exception as error:
        raise InputFileError(shown, _unplain_column(frame) or _first_line(error)) from None


def _unplain_column(frame: pl.DataFrame) -> str | None:
    """Which column holds values that are not cells (lists, durations, ...), in words."""
    for name, dtype in frame.schema.items():
        try:
            frame.select(pl.col(name).cast(pl.String))
        except Exception:
            return f"column {name!r} holds {dtype} values; expected plain cells (text or numbers)"
    return None


def read_table(
    path: Path,
    column_map: dict[str, str] | None = None,
    input_format: str = "auto",
    withhold: tuple[str, ...] = (),
    shown_as: Path | None = None,
) -> pl.DataFrame:
    """One file as text cells with canonical headers, plus `source_file` and `source_row`.

    `input_format` "auto" recognises an Epoch export by its headers; `withhold` holds
    patterns (regular expressions, searched in each header without regard to case): the
    columns they match are dropped before anything else sees them. `shown_as` is the name the rows and errors
    give the file (a run reads a snapshot of the user's file, and names the user's file)."""
    return read_table_and_columns(path, column_map, input_format, withhold, shown_as)[0]


def read_table_and_columns(
    path: Path,
    column_map: dict[str, str] | None = None,
    input_format: str = "auto",
    withhold: tuple[str, ...] = (),
    shown_as: Path | None = None,
) -> tuple[pl.DataFrame, list[dict]]:
    """`read_table`, and what each header became (`column_uses`)."""
    path = Path(path)
    shown = Path(shown_as or path)
    frame, first_data_row = _read_text_frame(path, shown)
    if frame.width == 0:
        raise InputFileError(shown, "the file has no columns")
    # Epoch's headers spelled loosely ("Model ", "training compute (flop)") are Epoch's, unless
    # the sheet names its systems in a `system` column: then it is flopsheet's own layout.
    own_layout = "system" in map(header_key, frame.columns)
    if input_format == "epoch" or (input_format == "auto" and not own_layout):
        spelled = with_epoch_spelling(frame)
        if input_format == "epoch" or is_epoch_export(spelled.columns):
            frame = spelled
    epoch = input_format == "epoch" or (input_format == "auto" and is_epoch_export(frame.columns))
    withheld = [c for c in frame.columns if any(re.search(p, c, re.I) for p in withhold)]
    frame = frame.drop(withheld)
    user_map = column_map or {}
    if epoch:
        column_map = {**epoch_column_map(frame, shown), **user_map}
    renames = canonical_names(frame.columns, shown, column_map, user_map)
    frame = coalesce_mapped(frame.rename(renames))
    if epoch:
        frame = derive_from_notes(frame.with_columns(pl.col(pl.String).str.strip_chars()))
    if "system" not in frame.columns:
        found = ", ".join(repr(h) for h in renames) or "none"
        # An Epoch export is known by its headers; one that lost some needs saying so.
        hint = "" if epoch or "model" not in map(header_key, renames) else ", or --format epoch"
        raise InputFileError(
            shown,
            f"no 'system' column (headers found: {found}); name the column of system names "
            f"'system' or map it with --columns{hint}",
        )
    reserved = {name: f"{name}_input" for name in frame.columns if name in RESERVED_OUTPUT_COLUMNS}
    # Names starting with "_" are the pipeline's working columns: a user's would collide with them.
    reserved |= {name: f"input{name}" for name in frame.columns if name.startswith("_")}
    clashes = sorted((old, new) for old, new in reserved.items() if new in frame.columns)
    if clashes:
        old, new = clashes[0]
        raise InputFileError(
            shown, f"column {old!r} would be renamed {new!r} (its name is flopsheet's), "
            f"but the sheet already has a column {new!r}: rename one of them",
        )  # fmt: skip
    frame = frame.rename(reserved)
    uses = column_uses({h: reserved.get(c, c) for h, c in renames.items()}, shown, withheld)
    frame = frame.with_columns(
        pl.lit(str(shown)).alias("source_file"),
        (pl.int_range(pl.len(), dtype=pl.Int64) + first_data_row).alias("source_row"),
    )
    cells = [c for c in frame.columns if c not in ("source_file", "source_row")]
    # Spreadsheet exports end with rows that hold nothing at all; they are not systems.
    blank = pl.all_horizontal(
        pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "") for c in cells
    )
    frame = frame.filter(~blank)
    if frame.height == 0:
        raise InputFileError(shown, "the table has no rows")
    return frame, uses

"""The files an option names (a column map, a priors file, a hardware table) and the files a run
copies: only regular files, and none larger than a cap, so that a FIFO, a device such as
/dev/zero or a runaway file is one line naming it, never a hang or a full disk."""

from __future__ import annotations

import json
import os
import stat
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import InputFileError

if TYPE_CHECKING:
    import polars as pl

# Far above any real file of each kind; a file past its cap is not one.
MAX_TABLE_BYTES = 10_000_000  # a column map, a priors file, a hardware table
MAX_SHEET_BYTES = 4 * 2**30  # a spreadsheet: a hundred million rows of papers fit in less


def check_regular_file(path: Path, what: str, max_bytes: int) -> None:
    try:
        status = os.stat(path)
    except FileNotFoundError:
        raise InputFileError(path, f"{what} not found") from None
    except OSError as error:
        raise InputFileError(path, f"cannot read: {error.strerror or error}") from None
    if stat.S_ISDIR(status.st_mode):
        raise InputFileError(path, "not a file")
    if not stat.S_ISREG(status.st_mode):
        raise InputFileError(path, f"not a regular file: a {what} is read from a file on disk")
    if status.st_size > max_bytes:
        raise InputFileError(
            path, f"is {status.st_size:,} bytes, more than a {what} can be ({max_bytes:,})"
        )


def read_small_text(path: Path, what: str, max_bytes: int = MAX_TABLE_BYTES) -> str:
    """The UTF-8 text of a regular file of at most `max_bytes`."""
    check_regular_file(path, what, max_bytes)
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)  # the file may have grown since it was checked
    except OSError as error:
        raise InputFileError(path, f"cannot read: {error.strerror or error}") from None
    if len(data) > max_bytes:
        raise InputFileError(path, f"is more than a {what} can be ({max_bytes:,} bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputFileError(
            path, f"not UTF-8 text: {error.reason} at byte {error.start}"
        ) from None


def read_toml(path: Path, what: str) -> dict:
    """A small TOML file; a broken or absurdly nested one is one line naming it."""
    text = read_small_text(path, what)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InputFileError(path, f"not a TOML {what}: {error}") from None
    except RecursionError:
        raise InputFileError(path, f"not a TOML {what}: nested too deeply") from None


def toml_number(path: Path, where: str, entry: dict, name: str, low: float, high: float) -> float:
    """`entry[name]`, a number in [low, high]; else one line naming the file, table and field."""
    value = entry.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise InputFileError(
            path, f"{where}: {name} = {value!r}, expected a number in [{low:g}, {high:g}]"
        )
    return float(value)


def toml_count(path: Path, where: str, entry: dict, name: str = "observations") -> int:
    """`entry[name]` (0 when absent), a whole number >= 0."""
    value = entry.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise InputFileError(path, f"{where}: {name} = {value!r}, expected a whole number >= 0")
    return value


def toml_tables(path: Path, document: dict, name: str) -> list[tuple[str, dict]] | None:
    """The `[[name]]` tables of a document, each with where it is ("name 2") for messages;
    None when there are none."""
    entries = document.get(name)
    if entries is None:
        return None
    if not isinstance(entries, list):
        raise InputFileError(path, f"{name}: expected [[{name}]] tables")
    tables = []
    for number, entry in enumerate(entries, start=1):
        where = f"{name} {number}"
        if not isinstance(entry, dict):
            raise InputFileError(path, f"{where}: expected a table")
        tables.append((where, entry))
    return tables


def toml_choice(path: Path, where: str, entry: dict, name: str, allowed: tuple[str, ...]) -> str:
    """`entry[name]`, one of `allowed`; else one line naming the file, table and field."""
    value = entry.get(name)
    if value not in allowed:
        raise InputFileError(
            path, f"{where}: {name} = {value!r}, expected one of {', '.join(allowed)}"
        )
    return value


def toml_table_lines(name: str, frame: pl.DataFrame) -> list[str]:
    """Each row of `frame` as a TOML `[[name]]` table of its columns in order: text as basic
    strings, integers as they are, other numbers to four significant figures (the figures the
    fits keep, so that a file read back holds what was used)."""

    def value(cell: object) -> str:
        if isinstance(cell, str):
            return toml_string(cell)
        return str(cell) if isinstance(cell, int) else f"{cell:.4g}"

    lines = []
    for row in frame.iter_rows(named=True):
        lines += ["", f"[[{name}]]", *(f"{key} = {value(cell)}" for key, cell in row.items())]
    return lines


def toml_string(text: str) -> str:
    """`text` as a TOML basic string. JSON's escapes are a subset of TOML's, and cover every
    character TOML requires escaped but DEL."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")

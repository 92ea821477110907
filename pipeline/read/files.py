"""Reading spreadsheets: CSV, Excel (.xlsx) and Parquet, every cell as text.

Parsing happens later, column by column, so that a bad cell costs one row and never the
file. Each row keeps where it came from: `source_file` and `source_row`, the row number a
spreadsheet program shows (blank rows above the header and between rows count).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from pipeline.errors import InputFileError
from pipeline.read import excel
from pipeline.read.columns import canonical_names, header_key
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


# Byte-order marks, UTF-32's first: its little-endian mark begins with UTF-16's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)


def _unmarked_encoding(data: bytes) -> tuple[str, str] | None:
    """UTF-16 or UTF-32 written without a byte-order mark, known by where its NUL bytes fall:
    a CSV is mostly ASCII (separators, digits, headers), whose code units are one byte of
    text and the rest zeros. Such text is also valid UTF-8, read as NUL-ridden cells."""
    sample = data[: min(len(data), 4096) // 4 * 4]
    if b"\0" not in sample:
        return None

    def nul_share(offset: int, step: int) -> float:
        part = sample[offset::step]
        return part.count(0) / len(part)

    if nul_share(3, 4) == 1 and nul_share(2, 4) > 0.9 and nul_share(0, 4) < 0.1:
        return "utf-32-le", "UTF-32 (little-endian, without a byte-order mark)"
    if nul_share(0, 4) == 1 and nul_share(1, 4) > 0.9 and nul_share(3, 4) < 0.1:
        return "utf-32-be", "UTF-32 (big-endian, without a byte-order mark)"
    if nul_share(1, 2) > 0.3 and nul_share(0, 2) < 0.05:
        return "utf-16-le", "UTF-16 (little-endian, without a byte-order mark)"
    if nul_share(0, 2) > 0.3 and nul_share(1, 2) < 0.05:
        return "utf-16-be", "UTF-16 (big-endian, without a byte-order mark)"
    return None


def _utf8_text(data: bytes, shown: Path) -> bytes:
    """The file's text as UTF-8. UTF-32 and UTF-16 (as some editors and exports write CSV)
    are known by a byte-order mark, or UTF-16 and UTF-32 without one by their NUL bytes. Any
    other line that is not UTF-8 is read as Windows-1252, the encoding of spreadsheet
    programs' CSV exports on Windows (every byte decodes): line by line, so that one pasted
    line in another encoding leaves the UTF-8 lines as they are."""
    found = next(((codec, name) for bom, codec, name in _BOMS if data.startswith(bom)), None)
    found = found or _unmarked_encoding(data)
    if found:
        codec, name = found
        try:
            data = data.decode(codec).removeprefix("\ufeff").encode("utf-8")
        except UnicodeDecodeError as error:
            raise InputFileError(
                shown, f"cannot read as {name}: {error.reason} at byte {error.start:,}"
            ) from None
    else:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            data = b"".join(_line_as_utf8(line) for line in data.splitlines(keepends=True))
    if (nul := data.find(b"\0")) >= 0:  # in no text, and a line of them would be a row
        line, column = _line_and_column(data, nul)
        raise InputFileError(
            shown,
            f"line {line}, column {column}: a NUL byte; expected text in UTF-8, UTF-16, UTF-32 "
            "or Windows-1252 (save the file as UTF-8)",
        )
    return data


def _line_as_utf8(line: bytes) -> bytes:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("cp1252", errors="replace").encode("utf-8")
    return line


def _leading_blank_lines(text: bytes) -> int:
    """Empty lines before a CSV's header: the reader skips them, a spreadsheet counts them."""
    blank = re.match(rb"(?:\r\n|\n|\r)*", text.removeprefix(codecs.BOM_UTF8))
    return len(re.findall(rb"\r\n|\n|\r", blank.group(0)))


_LINE_END = re.compile(rb"\r\n|\n|\r")
# A quoted cell, its quotes doubled inside; possessive, so that a long file takes one pass.
_QUOTED = rb'"[^"]*+(?:""[^"]*+)*+"'
_QUOTED_CELL = re.compile(_QUOTED)


class _Grammar:
    """CSV with one separator, as regular expressions: `records` and `last_record` match
    well-formed CSV (each cell quoted whole or holding no quote); `loose_records` and
    `loose_last_record` also take a quote inside an unquoted cell ('5" disk'), as text; and
    `respelling` finds what must be written again for the reader: such a cell, or a lone
    carriage return ending a line (quoted cells are matched to be passed over whole)."""

    def __init__(self, separator: bytes) -> None:
        sep = re.escape(separator)
        cell = rb"(?:" + _QUOTED + rb'|[^"' + sep + rb"\r\n]*+)"
        loose_cell = (
            rb"(?:" + _QUOTED + rb"(?=[" + sep + rb"\r\n]|\Z)"
            rb'|[^"' + sep + rb"\r\n][^" + sep + rb"\r\n]*+|)"
        )
        record = cell + rb"(?:" + sep + cell + rb")*+"
        loose_record = loose_cell + rb"(?:" + sep + loose_cell + rb")*+"
        line_end = rb"(?:\r\n|\n|\r)"
        self.separator = separator
        self.records = re.compile(rb"(?:" + record + line_end + rb")*+")
        self.last_record = re.compile(record + rb"\Z")
        self.loose_records = re.compile(rb"(?:" + loose_record + line_end + rb")*+")
        self.loose_last_record = re.compile(loose_record + rb"\Z")
        not_boundary = rb"[^" + sep + rb"\r\n]"
        self.respelling = re.compile(
            rb"(" + _QUOTED + rb")"
            rb"|(?<!" + not_boundary + rb')([^"' + sep + rb"\r\n][^\"" + sep + rb"\r\n]*+"
            rb'"' + not_boundary + rb"*+)"
            rb"|\r(?!\n)"
        )
        self.unquoted = re.compile(not_boundary + rb"*")

    def respelled(self, text: bytes) -> bytes:
        """Loose CSV made well-formed: a quote inside an unquoted cell is quoted as text, a lone
        carriage return (an old Mac line end, which the reader would run on through) is a line
        feed. `text` itself when it needs neither."""
        if b'"' not in text and re.search(rb"\r(?!\n)", text) is None:
            return text
        return self.respelling.sub(_respell, text)


def _respell(match: re.Match) -> bytes:
    if match.group(1):
        return match.group(1)
    if match.group(2):
        return b'"' + match.group(2).replace(b'"', b'""') + b'"'
    return b"\n"


def _canonical_csv(text: bytes, separator: bytes, shown: Path) -> bytes:
    """The CSV as the reader can take it, read as spreadsheet programs read it.

    A well-formed file passes in one regular-expression match, and unchanged but for lone
    carriage returns. Otherwise runs of records that are well-formed but for quotes inside
    unquoted cells are matched whole and respelled; a record that still does not fit (text
    after a closing quote, a quote that never closes) is read cell by cell."""
    grammar = _Grammar(separator)
    start = len(codecs.BOM_UTF8) if text.startswith(codecs.BOM_UTF8) else 0
    if b'"' not in text or grammar.last_record.match(
        text, grammar.records.match(text, start).end()
    ):
        if re.search(rb"\r(?!\n)", text) is None:
            return text
        return grammar.respelled(text[start:])
    parts, position = [], start
    while True:
        good = grammar.loose_records.match(text, position).end()
        parts.append(grammar.respelled(text[position:good]))
        if grammar.loose_last_record.match(text, good):
            parts.append(grammar.respelled(text[good:]))
            return b"".join(parts)
        record, position = _spreadsheet_record(text, good, grammar, shown)
        parts.append(record)


def _spreadsheet_record(
    text: bytes, position: int, grammar: _Grammar, shown: Path
) -> tuple[bytes, int]:
    """One record that breaks the grammar, from `position` to its line end, read as a
    spreadsheet program reads it, and written again well-formed; with where it ends.

    A quote that does not open a cell is text ('5" disk'). Text after a cell's closing quote
    is kept after the cell's text ('"Big" model' is 'Big model'), unless the quoted part ran
    over lines: then the quote most likely never meant to open a cell, and where lines end is
    unknown, so the file is refused rather than rows run together. A quoted cell that never
    closes is refused with the line where it opens."""
    separator = grammar.separator
    cells = []
    while True:
        if text.startswith(b'"', position):
            quoted = _QUOTED_CELL.match(text, position)
            if quoted is None:
                line, column = _line_and_column(text, position)
                raise InputFileError(
                    shown,
                    f"line {line}, column {column}: a quoted cell opens here and is never "
                    "closed; expected a closing '\"' (a quote inside a quoted cell is "
                    "written '\"\"')",
                )
            cell = quoted.group()[1:-1].replace(b'""', b'"')
            rest = grammar.unquoted.match(text, quoted.end()).end()
            if rest > quoted.end() and _LINE_END.search(cell):
                line, column = _line_and_column(text, position)
                closing_line, _ = _line_and_column(text, quoted.end() - 1)
                after = text[quoted.end() : min(rest, quoted.end() + 20)].decode(errors="replace")
                raise InputFileError(
                    shown,
                    f"line {line}, column {column}: the quoted cell opened here closes on line "
                    f"{closing_line} followed by {after!r}; expected a separator or the line's "
                    "end after a closing quote (a quote inside a quoted cell is written '\"\"')",
                )
            cells.append(cell + text[quoted.end() : rest])
            position = rest
        else:
            rest = grammar.unquoted.match(text, position).end()
            cells.append(text[position:rest])
            position = rest
        if text.startswith(separator, position):
            position += len(separator)
            continue
        line_end = _LINE_END.match(text, position)
        position = line_end.end() if line_end else position
        return separator.join(_quoted(cell, separator) for cell in cells) + b"\n", position


def _quoted(cell: bytes, separator: bytes) -> bytes:
    if re.search(rb'["\r\n]', cell) or separator in cell:
        return b'"' + cell.replace(b'"', b'""') + b'"'
    return cell


def _line_and_column(text: bytes, position: int) -> tuple[int, int]:
    """The line and column of a byte, as a text editor numbers them."""
    head = text[:position]
    line_start = max(head.rfind(b"\n"), head.rfind(b"\r")) + 1
    column = len(head[line_start:].decode("utf-8", errors="replace").removeprefix("\ufeff"))
    return len(_LINE_END.findall(head)) + 1, column + 1


def _csv_source(path: Path, shown: Path, separator: str) -> tuple[Path | bytes, int]:
    """What the CSV reader is given (the file itself when it needs nothing done) and how many
    blank lines stand above the header."""
    data = path.read_bytes()
    text = _utf8_text(data, shown)
    canonical = _canonical_csv(text, separator.encode(), shown)
    source = path if canonical is data else canonical
    return source, _leading_blank_lines(text)


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
            source, blank_lines = _csv_source(path, shown, separator)
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

    `input_format` "auto" recognises an Epoch export by its headers; `withhold` names
    columns dropped before anything else sees them. `shown_as` is the name the rows and errors
    give the file (a run reads a snapshot of the user's file, and names the user's file)."""
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
    frame = frame.drop([c for c in withhold if c in frame.columns])
    if epoch:
        column_map = {**epoch_column_map(frame, shown), **(column_map or {})}
    renames = canonical_names(frame.columns, shown, column_map)
    frame = frame.rename(renames)
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
    return frame


def read_inputs(
    paths: Sequence[Path],
    column_map: dict[str, str] | None = None,
    input_format: str = "auto",
    withhold: tuple[str, ...] = (),
) -> pl.DataFrame:
    """All input files stacked; columns missing from a file are null there."""
    if not paths:
        raise InputFileError("(no input)", "give at least one spreadsheet")
    frames = [read_table(Path(p), column_map, input_format, withhold) for p in paths]
    return pl.concat(frames, how="diagonal")

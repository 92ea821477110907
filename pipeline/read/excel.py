"""Reading an Excel workbook's first sheet as text cells, numbered as the sheet numbers them.

The reader (fastexcel, over calamine) returns error cells (#DIV/0!, #N/A) beside the table and
starts at the first row holding a value; both are put right here, so that a bad cell is rejected
for its value and each row keeps the number a spreadsheet program shows.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn
from xml.etree import ElementTree

import fastexcel
import polars as pl

_SHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RELATION_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


def _first_sheet(book: zipfile.ZipFile) -> str:
    """The part of the workbook that holds its first sheet, as the workbook names it."""
    workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))
    first = workbook.find(f"{_SHEET_NS}sheets/{_SHEET_NS}sheet")
    relations = ElementTree.fromstring(book.read("xl/_rels/workbook.xml.rels"))
    wanted = first.get(f"{_RELATION_NS}id")
    return _part(next(r.get("Target") for r in relations if r.get("Id") == wanted))


def _part(target: str) -> str:
    """A workbook relation's target as a name in the zip: relative to `xl/`, or absolute."""
    return target.lstrip("/") if target.startswith("/") else f"xl/{target}"


def header_row(path: Path) -> int:
    """The sheet row of the first sheet's header: the reader starts at the first row holding a
    value, a spreadsheet counts the empty rows above it. 1 when the workbook cannot tell."""
    try:
        with zipfile.ZipFile(path) as book, book.open(_first_sheet(book)) as xml:
            for _, element in ElementTree.iterparse(xml):
                if element.tag == f"{_SHEET_NS}row" and any(
                    cell.find(f"{_SHEET_NS}v") is not None
                    or cell.find(f"{_SHEET_NS}is") is not None
                    for cell in element
                ):
                    return int(element.get("r", "1"))
    except Exception:  # an odd but readable workbook: its rows are numbered from the top
        return 1
    return 1


# Excel's own grid: a reference past it is a damaged or crafted workbook, on which the reader
# (calamine) may hang or warn on stderr.
GRID_ROWS = 1_048_576
GRID_COLUMNS = 16_384
# The reader lays a sheet out as a dense grid from its first cell with a value to its last,
# before any check of ours: a stray cell at XFD1048576 asks for hundreds of gigabytes, and the
# process aborts. A sheet of papers is a few thousand rows by a few dozen columns.
MAX_CELLS = 5_000_000


# The reader sets aside room for as many shared strings as the workbook declares, before
# reading one: a declared 10^14 aborts the process. A workbook of papers holds thousands.
MAX_SHARED_STRINGS = 5_000_000


class SheetTooLarge(ValueError):
    """The first sheet is past Excel's grid or larger than MAX_CELLS; the message says which."""


_TAG = rb"<(?:[\w.-]+:)?"
_DIMENSION = re.compile(_TAG + rb"""dimension\s(?>[^>]*?\bref\s*=\s*["']([^"']*)["'])""")
# A cell with content: the reader skips `<c .../>`. Atomic and possessive, so that a crafted
# tag costs its length once.
_CELL = re.compile(_TAG + rb"c(?:\s[^>]*+)?(?<!/)>")
_CELL_REFERENCE = re.compile(
    _TAG + rb"""c\s(?>[^>]*?\br\s*=\s*["']\$?([A-Za-z]+)\$?([0-9]+)["'])[^>]*+(?<!/)>"""
)
# Row and cell tags in order, for a sheet that leaves cells' references out.
_ROW_OR_CELL = re.compile(_TAG + rb"(row|c)(?=[\s>/])([^>]*+)>")
_REFERENCE = re.compile(rb"""\br\s*=\s*["']\$?([A-Za-z]*)\$?([0-9]*)["']""")
_REFERENCE_TEXT = re.compile(rb"\$?([A-Za-z]+)\$?([0-9]+)")
# A tag longer than this is no sheet's: refused rather than buffered without end.
_MAX_TAG = 16 << 20
_SHARED_STRINGS = re.compile(_TAG + rb"""sst\s(?>[^>]*?\buniqueCount\s*=\s*["']\s*([0-9]+))""")


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + letter - 64
        if number > GRID_COLUMNS:  # past the grid already: a crafted one may be very long
            return GRID_COLUMNS + 1
    return number


def _row_number(digits: bytes) -> int:
    digits = digits.lstrip(b"0") or b"0"
    return int(digits) if len(digits) <= 7 else GRID_ROWS + 1


def _letters(column: int) -> str:
    letters = ""
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _past_grid(row: int, column: int) -> bool:
    return row > GRID_ROWS or column > GRID_COLUMNS or row < 1 or column < 1


def _refuse_past_grid(what: str) -> NoReturn:
    raise SheetTooLarge(
        f"the first sheet {what}, past Excel's grid (it ends at XFD{GRID_ROWS}): the workbook "
        "is damaged; save it again from a spreadsheet program"
    )


class _Extent:
    """The first and last row and column of the cells found so far, checked as they grow."""

    def __init__(self, what: str = "holds cells from") -> None:
        self.what = what
        self.rows: tuple[int, int] | None = None
        self.columns: tuple[int, int] = (0, 0)

    def add(self, rows: list[int], columns: list[int]) -> None:
        if not rows:
            return
        low_row, high_row = min(rows), max(rows)
        low_column, high_column = min(columns), max(columns)
        if self.rows is not None:
            low_row, high_row = min(low_row, self.rows[0]), max(high_row, self.rows[1])
            low_column = min(low_column, self.columns[0])
            high_column = max(high_column, self.columns[1])
        self.rows, self.columns = (low_row, high_row), (low_column, high_column)
        height, width = high_row - low_row + 1, high_column - low_column + 1
        if height * width > MAX_CELLS:
            span = f"{_letters(low_column)}{low_row}:{_letters(high_column)}{high_row}"
            raise SheetTooLarge(
                f"the first sheet {self.what} {span} ({height:,} rows by {width:,} "
                f"columns), more than the {MAX_CELLS:,} cells flopsheet reads: delete the "
                "rows and columns past the table"
            )


def _tag_chunks(xml) -> Iterator[bytes]:  # noqa: ANN001 (a zip member opened for reading)
    """The sheet's XML in pieces of about a megabyte, none ending inside a tag, so that a sheet
    of any size is read in little memory."""
    pending = bytearray()  # a tag begun in an earlier piece, if any
    while chunk := xml.read(1 << 20):
        read_from = len(pending)
        pending += chunk
        last_open = pending.rfind(b"<", read_from)
        if last_open >= 0:
            cut = len(pending) if pending.find(b">", last_open) >= 0 else last_open
        else:
            cut = 0 if read_from and b">" not in chunk else len(pending)
        if len(pending) - cut > _MAX_TAG:
            raise SheetTooLarge("the first sheet holds an XML tag over 16 MB long")
        yield bytes(pending[:cut])
        del pending[:cut]
    yield bytes(pending)


def check_size(path: Path) -> None:
    """Refuse, before the reader sees it, a first sheet past Excel's grid or over MAX_CELLS,
    by its declared dimension and by the cells it holds (streamed, never loaded whole).
    A workbook whose first sheet cannot be found is left to the reader to report."""
    try:
        book = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile):
        return
    with book:
        _check_shared_strings(book)
        try:
            sheet = _first_sheet(book)
            book.getinfo(sheet)
        except Exception:  # no workbook part, no relation, no such sheet: the reader says so
            return
        with book.open(sheet) as xml:
            every_cell_placed = _scan_references(xml)
        if not every_cell_placed:
            with book.open(sheet) as xml:
                _scan_in_order(xml)


def _check_shared_strings(book: zipfile.ZipFile) -> None:
    """Refuse a workbook declaring more shared strings than MAX_SHARED_STRINGS. The count is
    on the table's first tag; the table is wherever the workbook's relations put it, and where
    readers look for it without them."""
    parts = {"xl/sharedStrings.xml"}
    try:
        relations = ElementTree.fromstring(book.read("xl/_rels/workbook.xml.rels"))
        parts |= {
            _part(r.get("Target", "")) for r in relations
            if r.get("Type", "").endswith("/sharedStrings")
        }  # fmt: skip
    except Exception:  # no relations to read: the reader falls back on the usual place too
        pass
    for part in parts & set(book.namelist()):
        with book.open(part) as xml:
            declared = _SHARED_STRINGS.search(xml.read(1 << 16))
        digits = declared.group(1).lstrip(b"0") if declared else b""
        if len(digits) > 7 or int(digits or b"0") > MAX_SHARED_STRINGS:
            count = f"{int(digits):,}" if len(digits) <= 30 else "more than 10^30"
            raise SheetTooLarge(
                f"the workbook declares {count} distinct strings, more than the "
                f"{MAX_SHARED_STRINGS:,} flopsheet reads: the workbook is damaged; save it "
                "again from a spreadsheet program"
            )


def _scan_references(xml) -> bool:  # noqa: ANN001 (a zip member opened for reading)
    """Check the declared dimension and every cell's reference, a piece at a time in C (the
    regular expressions), not a cell at a time. False when some cell with a value has no
    reference: its place is then counted by `_scan_in_order`."""
    extent, dimension_seen, every_cell_placed = _Extent(), False, True
    for chunk in _tag_chunks(xml):
        if not dimension_seen and (dimension := _DIMENSION.search(chunk)):
            dimension_seen = True
            _check_dimension(dimension.group(1))
        references = _CELL_REFERENCE.findall(chunk)
        every_cell_placed = every_cell_placed and len(references) == len(_CELL.findall(chunk))
        if not references:
            continue
        letters, digits = zip(*references, strict=True)
        columns = {name: _column_number(name) for name in set(letters)}
        rows = {number: _row_number(number) for number in set(digits)}
        if max(columns.values()) > GRID_COLUMNS or max(rows.values()) > GRID_ROWS:
            name, number = next(
                (name, number) for name, number in references
                if _past_grid(rows[number], columns[name])
            )  # fmt: skip
            _refuse_past_grid(f"holds a cell at {(name + number).decode()[:40]}")
        extent.add(list(rows.values()), list(columns.values()))
    return every_cell_placed


def _check_dimension(reference: bytes) -> None:
    corners = [_REFERENCE_TEXT.fullmatch(corner) for corner in reference.split(b":")]
    if not corners or len(corners) > 2 or None in corners:
        return  # the reader does not rely on a dimension it cannot read
    rows = [_row_number(corner.group(2)) for corner in corners]
    columns = [_column_number(corner.group(1)) for corner in corners]
    if any(_past_grid(row, column) for row, column in zip(rows, columns, strict=True)):
        _refuse_past_grid(f"declares its size as {reference.decode()[:40]}")
    _Extent("declares its size as").add(rows, columns)


def _scan_in_order(xml) -> None:  # noqa: ANN001 (a zip member opened for reading)
    """Place each cell as the reader does when a sheet leaves references out: a row without
    one follows the row before, a cell without one the cell before."""
    extent, row, column = _Extent(), 0, 0
    for chunk in _tag_chunks(xml):
        rows, columns = [], []
        for tag, attributes in _ROW_OR_CELL.findall(chunk):
            reference = _REFERENCE.search(attributes)
            if tag == b"row":
                numbered = reference is not None and reference.group(2)
                row = _row_number(reference.group(2)) if numbered else row + 1
                column = 0
                continue
            column = (
                _column_number(reference.group(1))
                if reference and reference.group(1)
                else column + 1
            )
            if reference and reference.group(2):
                row = _row_number(reference.group(2))
            if _past_grid(max(row, 1), column):
                _refuse_past_grid(f"holds a cell at column {column:,} of row {max(row, 1):,}")
            if not attributes.endswith(b"/"):
                rows.append(max(row, 1))
                columns.append(column)
        extent.add(rows, columns)


# calamine's names for Excel's error values
_EXCEL_ERRORS = {
    "Div0": "#DIV/0!", "NA": "#N/A", "Name": "#NAME?", "Null": "#NULL!", "Num": "#NUM!",
    "Ref": "#REF!", "Value": "#VALUE!", "GettingData": "#GETTING_DATA",
}  # fmt: skip


def read_sheet(path: Path) -> pl.DataFrame:
    """The first sheet's cells as text, one read, the first row its header.

    Error cells (#DIV/0!, #N/A, ...) come back from the reader as errors beside the table;
    they are put back as their error text, so that the cell is rejected for its value instead
    of being read as missing. A header written twice is named as polars names a repeated CSV
    header, so that it is reported the same way. Blank rows are kept so that row numbers stay
    the sheet's (read_table drops them); a column with neither header nor value is spacing,
    and dropped."""
    check_size(path)
    sheet = fastexcel.read_excel(path).load_sheet(0, header_row=None, dtypes="string")
    table, errors = sheet.to_arrow_with_errors()
    cells = pl.DataFrame(pl.from_arrow(table))
    if cells.height == 0:
        raise ValueError("the first sheet is empty (only the first sheet is read)")
    by_column: dict[int, dict[int, str]] = {}
    for error in errors.errors if errors is not None else []:
        row, column = error.offset_position
        code = re.search(r"Error\((\w+)\)", error.detail)
        text = _EXCEL_ERRORS.get(code.group(1), f"#{code.group(1)}") if code else "#ERROR"
        by_column.setdefault(column, {})[row] = text
    cells = cells.with_columns(
        cells.to_series(column).scatter(list(rows), list(rows.values()))
        for column, rows in by_column.items()
    )
    frame = cells.slice(1).rename(dict(zip(cells.columns, _names(cells.row(0)), strict=True)))
    spacing = [
        name
        for name in frame.columns
        if name.startswith(UNNAMED) and frame[name].null_count() == frame.height
    ]
    return frame.drop(spacing)


UNNAMED = "__UNNAMED__"


def _names(header: tuple) -> list[str]:
    """Column names from the header row: a blank cell is unnamed, a repeat is `x_duplicated_0`."""
    names, seen = [], {}
    for index, cell in enumerate(header):
        name = cell.strip() if cell and cell.strip() else f"{UNNAMED}{index}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_duplicated_{seen[name] - 1}"
        else:
            seen[name] = 0
        names.append(name)
    return names

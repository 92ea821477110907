"""Reading an Excel workbook's first sheet as text cells, numbered as the sheet numbers them.

The reader (fastexcel, over calamine) returns error cells (#DIV/0!, #N/A) beside the table and
starts at the first row holding a value; both are put right here, so that a bad cell is rejected
for its value and each row keeps the number a spreadsheet program shows.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import fastexcel
import polars as pl

_SHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RELATION_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


def header_row(path: Path) -> int:
    """The sheet row of the first sheet's header: the reader starts at the first row holding a
    value, a spreadsheet counts the empty rows above it. 1 when the workbook cannot tell."""
    try:
        with zipfile.ZipFile(path) as book:
            workbook = ElementTree.fromstring(book.read("xl/workbook.xml"))
            first = workbook.find(f"{_SHEET_NS}sheets/{_SHEET_NS}sheet")
            relations = ElementTree.fromstring(book.read("xl/_rels/workbook.xml.rels"))
            wanted = first.get(f"{_RELATION_NS}id")
            target = next(r.get("Target") for r in relations if r.get("Id") == wanted)
            sheet = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            with book.open(sheet) as xml:
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


# calamine's names for Excel's error values
_EXCEL_ERRORS = {
    "Div0": "#DIV/0!", "NA": "#N/A", "Name": "#NAME?", "Null": "#NULL!", "Num": "#NUM!",
    "Ref": "#REF!", "Value": "#VALUE!", "GettingData": "#GETTING_DATA",
}  # fmt: skip


def read_sheet(path: Path) -> pl.DataFrame:
    """The first sheet's cells as text, one read. Error cells (#DIV/0!, #N/A, ...) come back
    from the reader as errors beside the table; they are put back as their error text, so that
    the cell is rejected for its value instead of being read as missing. Blank rows are kept so
    that row numbers stay the sheet's (read_table drops them); a column with neither header nor
    value is spacing, and dropped."""
    table, errors = fastexcel.read_excel(path).load_sheet(0, dtypes="string").to_arrow_with_errors()
    frame = pl.DataFrame(pl.from_arrow(table))
    if frame.width == 0:
        raise ValueError("the first sheet is empty (only the first sheet is read)")
    by_column: dict[int, dict[int, str]] = {}
    for error in errors.errors if errors is not None else []:
        row, column = error.offset_position
        code = re.search(r"Error\((\w+)\)", error.detail)
        text = _EXCEL_ERRORS.get(code.group(1), f"#{code.group(1)}") if code else "#ERROR"
        by_column.setdefault(column, {})[row] = text
    frame = frame.with_columns(
        frame.to_series(column).scatter(list(cells), list(cells.values()))
        for column, cells in by_column.items()
    )
    spacing = [
        name
        for name in frame.columns
        if re.fullmatch(r"__UNNAMED__\d+", name) and frame[name].null_count() == frame.height
    ]
    return frame.drop(spacing)

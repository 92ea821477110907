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
    """The first sheet's cells as text, one read, the first row its header.

    Error cells (#DIV/0!, #N/A, ...) come back from the reader as errors beside the table;
    they are put back as their error text, so that the cell is rejected for its value instead
    of being read as missing. A header written twice is named as polars names a repeated CSV
    header, so that it is reported the same way. Blank rows are kept so that row numbers stay
    the sheet's (read_table drops them); a column with neither header nor value is spacing,
    and dropped."""
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

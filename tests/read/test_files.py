"""Reading files: encodings, row numbers, blank rows, and usage errors of the console script."""

import datetime
import subprocess
import sys

import polars as pl
import pytest

from pipeline.read.files import read_table
from tests.conftest import REPO

CORPUS = REPO / "tests" / "corpus"


def test_windows_1252_csv_is_decoded_not_mangled():
    frame = read_table(CORPUS / "latin1_bytes.csv")
    assert "Café Net" in frame["system"].to_list()


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_its_byte_order_mark_is_decoded(tmp_path, encoding):
    sheet = tmp_path / "unicode.csv"
    text = "system,parameters\nCafé-LM,1B\n"
    sheet.write_bytes(
        ("\ufeff" if encoding != "utf-16" else "").encode(encoding) + text.encode(encoding)
    )
    frame = read_table(sheet)
    assert frame.select("system", "parameters").rows() == [("Café-LM", "1B")]


def test_one_line_in_another_encoding_leaves_the_utf8_lines_alone(tmp_path):
    sheet = tmp_path / "mixed.csv"
    sheet.write_bytes("system\nCafé-LM\n".encode() + b"Caf\xe9 Net\n")
    assert read_table(sheet)["system"].to_list() == ["Café-LM", "Café Net"]


def test_utf8_bom_and_crlf():
    frame = read_table(CORPUS / "bom_and_crlf.csv")
    assert frame.columns[0] == "system"
    assert frame["system"].to_list() == ["Good LM"]


def test_row_numbers_are_spreadsheet_rows_and_blank_rows_skipped(tmp_path):
    sheet = tmp_path / "s.csv"
    sheet.write_text("system,parameters\nA,1\n,\nB,2\n")
    frame = read_table(sheet)
    assert frame.select("system", "source_row").rows() == [("A", 2), ("B", 4)]


@pytest.mark.parametrize(
    "data",
    [
        b"\n\nsystem,parameters\nA,1\n\nB,2\n",
        b"\xef\xbb\xbf\r\n\r\nsystem,parameters\r\nA,1\r\n\r\nB,2\r\n",  # BOM, CRLF
        b"\n\nsystem,parameters\nA,1\n\nB,2 \xe9\n",  # decoded line by line
        "\n\nsystem,parameters\nA,1\n\nB,2\n".encode("utf-16"),
    ],
)
def test_row_numbers_count_blank_lines_above_a_csv_header(tmp_path, data):
    sheet = tmp_path / "s.csv"
    sheet.write_bytes(data)
    assert read_table(sheet).select("system", "source_row").rows() == [("A", 4), ("B", 6)]


def test_row_numbers_are_the_workbooks_rows_with_blank_rows_anywhere(tmp_path):
    import xlsxwriter

    path = tmp_path / "s.xlsx"
    with xlsxwriter.Workbook(path) as book:
        sheet = book.add_worksheet()
        sheet.write_row(2, 0, ["system", "parameters"])  # header on row 3
        sheet.write_row(3, 0, ["A", "1"])
        sheet.write_row(6, 0, ["B", "2"])  # after two blank rows
    assert read_table(path).select("system", "source_row").rows() == [("A", 4), ("B", 7)]


def test_excel_error_cells_are_rejected_not_read_as_blank(tmp_path):
    import xlsxwriter

    from pipeline.read.validate import validate

    path = tmp_path / "s.xlsx"
    with xlsxwriter.Workbook(path) as book:
        sheet = book.add_worksheet()
        # header on row 2, with a spacing column B; the last column holds an error too
        sheet.write_row(1, 0, ["system", None, "epochs", "organization", "parameters"])
        sheet.write_row(2, 0, ["A", None, 3, "OpenAI", "1B"])
        sheet.write(4, 0, "B")  # after a blank row
        sheet.write_formula(4, 2, "=1/0", None, "#DIV/0!")
        sheet.write(4, 3, "Lab")
        sheet.write_row(5, 0, ["C", None, 2])
        sheet.write_formula(5, 3, "=NA()", None, "#N/A")
        sheet.write(6, 0, "D")
        sheet.write_formula(6, 4, "=1/0", None, "#DIV/0!")
        dated = book.add_format({"num_format": "yyyy-mm-dd"})
        sheet.write_datetime(2, 5, datetime.datetime(2020, 5, 17), dated)  # a date cell
        sheet.write(1, 5, "publication_date")
    frame = read_table(path)
    assert "__UNNAMED__1" not in frame.columns
    systems, rejects = validate(frame)
    assert systems["system"].to_list() == ["A", "C"]
    assert systems["organization"].to_list() == ["OpenAI", "#N/A"]  # text, as Excel shows it
    assert systems["publication_date"][0] == datetime.date(2020, 5, 17)
    assert rejects.select("source_row", "column_name", "value").rows() == [
        (5, "epochs", "#DIV/0!"), (7, "parameters", "#DIV/0!"),
    ]  # fmt: skip


def test_a_parquet_column_of_lists_is_named(tmp_path):
    from pipeline.errors import InputFileError

    path = tmp_path / "t.parquet"
    pl.DataFrame({"system": ["A"], "tags": [[1, 2]]}).write_parquet(path)
    with pytest.raises(InputFileError, match="column 'tags' holds List"):
        read_table(path)


def test_a_header_written_twice_in_a_workbook_is_reported_as_in_a_csv(tmp_path):
    import xlsxwriter

    from pipeline.errors import InputFileError

    path = tmp_path / "s.xlsx"
    with xlsxwriter.Workbook(path) as book:
        sheet = book.add_worksheet()
        sheet.write_row(0, 0, ["system", "parameters", "parameters", "parameters_1"])
        sheet.write_row(1, 0, ["A", "1", "2", "3"])
    with pytest.raises(InputFileError, match="'parameters' and 'parameters' both mean"):
        read_table(path)


def test_an_empty_first_sheet_says_only_the_first_sheet_is_read(tmp_path):
    import xlsxwriter

    from pipeline.errors import InputFileError

    path = tmp_path / "s.xlsx"
    with xlsxwriter.Workbook(path) as book:
        book.add_worksheet()
        book.add_worksheet().write_row(0, 0, ["system"])
    with pytest.raises(InputFileError, match="the first sheet is empty"):
        read_table(path)


def test_typed_parquet_cells_become_text(tmp_path):
    path = tmp_path / "t.parquet"
    pl.DataFrame({"system": ["A"], "parameters": [1.5e9], "hardware_quantity": [8]}).write_parquet(
        path
    )
    frame = read_table(path)
    assert frame.schema["parameters"] == pl.String
    assert frame["hardware_quantity"].to_list() == ["8"]


@pytest.mark.parametrize(
    "args",
    [
        ["estimate"],
        ["calc", "ops", "--bogus", "1"],
        ["query", "select 1", "--format", "xml"],
        ["hardware", "show"],
        # an empty output path would write into the working directory
        ["estimate", "data/raw/systems.csv", "-o", ""],
        ["report", "--out", " "],
        ["estimate", "data/raw/systems.csv", "--priors", ""],
    ],
)
def test_usage_mistakes_are_one_line(args):
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", *args], capture_output=True, text=True, cwd=REPO
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")

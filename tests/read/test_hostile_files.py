"""Hostile files: odd line ends, encodings, quotes, blank lines, and sheets too large to read.
Each reads whole, as a spreadsheet program reads it, or is refused in one line; never a row
lost, a phantom row, a traceback, a hang or an aborted process."""

import csv
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.errors import InputFileError
from pipeline.read.files import MAX_COLUMNS, read_table
from tests.conftest import REPO


def read(tmp_path, data: bytes, name: str = "s.csv") -> list[tuple]:
    sheet = tmp_path / name
    sheet.write_bytes(data)
    return read_table(sheet).drop("source_file").rows()


def refusal(tmp_path, data: bytes, name: str = "s.csv") -> str:
    sheet = tmp_path / name
    sheet.write_bytes(data)
    with pytest.raises(InputFileError) as error:
        read_table(sheet)
    return error.value.problem


# --- line ends ---------------------------------------------------------------------------


def test_a_lone_carriage_return_ends_its_line(tmp_path):
    rows = read(tmp_path, b"system,parameters\r\nA,7B\nB,1B\rC,2B\n")
    assert rows == [("A", "7B", 2), ("B", "1B", 3), ("C", "2B", 4)]


def test_old_mac_line_ends_are_read_and_a_quoted_carriage_return_stays_in_its_cell(tmp_path):
    rows = read(tmp_path, b'system,notes_x\rA,"two\rlines"\rB,x\r')
    assert rows == [("A", "two\rlines", 2), ("B", "x", 3)]


@pytest.mark.parametrize("line_end", [b"\n", b"\r\n", b"\r"])
def test_row_numbers_count_every_blank_line_above_the_header(tmp_path, line_end):
    # more than the 64 KB once read to count them, whatever the line ends
    data = line_end * 70_000 + line_end.join([b"system,parameters", b"A,1", b"", b"B,2", b""])
    assert read(tmp_path, data) == [("A", "1", 70_002), ("B", "2", 70_004)]


def test_blank_lines_above_a_utf16_header_are_counted_after_decoding(tmp_path):
    data = ("\n" * 40_000 + "system\nA\n").encode("utf-16")
    assert read(tmp_path, data) == [("A", 40_002)]


# --- encodings ---------------------------------------------------------------------------

TEXT = "system,parameters\nCafé-LM,1B\nB,2B\n"
ROWS = [("Café-LM", "1B", 2), ("B", "2B", 3)]


@pytest.mark.parametrize(
    "encoded",
    [
        TEXT.encode("utf-16-le"),  # no byte-order mark
        TEXT.encode("utf-16-be"),
        TEXT.encode("utf-32"),  # with its mark, which begins as UTF-16's does
        b"\x00\x00\xfe\xff" + TEXT.encode("utf-32-be"),
        TEXT.encode("utf-32-le"),  # no mark
        TEXT.encode("utf-32-be"),
    ],
    ids=["utf16le", "utf16be", "utf32", "utf32be-bom", "utf32le", "utf32be"],
)
def test_utf16_and_utf32_are_decoded_without_a_phantom_row(tmp_path, encoded):
    assert read(tmp_path, encoded) == ROWS


def test_utf16_that_cannot_be_decoded_is_refused_naming_the_encoding(tmp_path):
    problem = refusal(tmp_path, TEXT.encode("utf-16-le") + b"\x00")
    assert problem.startswith("cannot read as UTF-16 (little-endian, without a byte-order mark)")


def test_a_nul_byte_is_refused_with_its_line(tmp_path):
    problem = refusal(tmp_path, b"system\nA\n\x00\nB\n")
    assert problem.startswith("line 3, column 1: a NUL byte")


# --- quotes ------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "separator"), [("s.csv", ","), ("s.tsv", "\t")])
def test_a_quote_inside_an_unquoted_cell_is_text(tmp_path, name, separator):
    lines = ["system,hardware,notes_x", 'A,5" disk,x', 'B,"y",1" and 2"', 'C,a"b"c,""']
    data = "\n".join(line.replace(",", separator) for line in lines).encode()
    assert read(tmp_path, data, name) == [
        ("A", '5" disk', "x", 2), ("B", "y", '1" and 2"', 3), ("C", 'a"b"c', "", 4),
    ]  # fmt: skip


def test_text_after_a_closing_quote_is_kept_after_the_cell(tmp_path):
    rows = read(tmp_path, b'system,notes_x\nA,"Big" model\nB,x\n')
    assert rows == [("A", "Big model", 2), ("B", "x", 3)]


def test_a_bare_quote_in_a_header_after_a_byte_order_mark(tmp_path):
    rows = read(tmp_path, b'\xef\xbb\xbf"system",size\r"A",1"\r\nB,2')
    assert rows == [("A", '1"', 2), ("B", "2", 3)]


def test_a_quoted_cell_that_never_closes_is_refused_with_where_it_opens(tmp_path):
    problem = refusal(tmp_path, b'system,notes_x\nA,x\nB,"open\nC,y\n')
    assert problem.startswith("line 3, column 3: a quoted cell opens here and is never closed")


def test_a_quoted_cell_running_over_lines_into_more_text_is_refused(tmp_path):
    problem = refusal(tmp_path, b'system,notes_x\nA,"open\nB,"x"\nC,y\n')
    assert problem.startswith("line 2, column 3: the quoted cell opened here closes on line 3")


def test_columns_are_counted_in_characters(tmp_path):
    problem = refusal(tmp_path, 'system,notes_x\nCafé,"é\n'.encode())
    assert problem.startswith("line 2, column 6:")


CELL_TEXT = st.text(alphabet='ab ",\r\n', max_size=8)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.lists(CELL_TEXT, min_size=1, max_size=3), max_size=6),
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
    line_end=st.sampled_from(["\n", "\r\n", "\r"]),
    bare=st.lists(st.text(alphabet='ab "', min_size=1, max_size=5), max_size=3),
)
def test_cells_are_read_as_pythons_csv_module_reads_them(rows, quoting, line_end, bare):
    """Written by the csv module with any line end, plus cells with quotes past their first
    character, written unquoted: the file reads back as the csv module (which reads as
    spreadsheet programs do) reads it, row for row and with the same row numbers."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, quoting=quoting, lineterminator=line_end)
    writer.writerow(["system", "notes_x"])
    writer.writerows(rows)
    quoted = [cell.replace('"', '""') for cell in bare]
    text = out.getvalue() + "".join(
        f'x{c},"{q}"{line_end}' for c, q in zip(bare, quoted, strict=True)
    )
    expected = [
        (padded[0], padded[1], number)
        for number, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1)
        if number > 1
        for padded in [(row + ["", ""])[:2]]
        if any(cell.strip() for cell in padded)
    ]
    with tempfile.TemporaryDirectory() as folder:
        sheet = Path(folder) / "s.csv"
        sheet.write_bytes(text.encode())
        try:
            frame = read_table(sheet)
        except InputFileError as error:
            assert not expected and "the table has no rows" in str(error)
            return
    got = [(a or "", b or "", row) for a, b, _, row in frame.rows()]
    assert got == expected


# --- size caps ---------------------------------------------------------------------------


def test_a_csv_wider_than_the_cap_is_refused_before_anything_else_reads_it(tmp_path):
    header = ",".join(["system", *(f"c{i}" for i in range(100_000))])
    problem = refusal(tmp_path, f"{header}\nA\n".encode())
    assert problem.startswith(
        f"the table has 100,001 columns; flopsheet reads at most {MAX_COLUMNS:,}"
    )


def test_a_table_at_the_cap_is_read(tmp_path):
    header = ",".join(["system", *(f"c{i}" for i in range(MAX_COLUMNS - 1))])
    assert read_table(_write(tmp_path / "s.csv", f"{header}\nA\n".encode())).height == 1


def test_a_parquet_file_wider_than_the_cap_is_refused(tmp_path):
    path = tmp_path / "t.parquet"
    pl.DataFrame({"system": ["A"], **{f"c{i}": ["1"] for i in range(MAX_COLUMNS)}}).write_parquet(
        path
    )
    with pytest.raises(InputFileError, match="1,001 columns"):
        read_table(path)


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.'
    'openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="'
    'application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/'
    'worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
    'spreadsheetml.worksheet+xml"/></Types>'
)
RELATIONS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
    '.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
    'openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/'
    'workbook.xml"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
    'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELATIONS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
    '.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
    'openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/'
    'sheet1.xml"/></Relationships>'
)
TABLE = [[("A1", "system"), ("B1", "parameters")], [("A2", "A"), ("B2", "7B")]]


def workbook(path, rows=TABLE, dimension: str | None = None, extra: str = "", strings=None):
    """A minimal valid .xlsx of one sheet: `rows` of (reference, text) cells, a reference of
    None leaving the cell's place to be counted; `extra` XML goes after the rows. `strings`,
    the XML of a shared-strings table, is added as one when given."""

    def cell(reference, text):
        where = f' r="{reference}"' if reference else ""
        return f'<c{where} t="inlineStr"><is><t>{text}</t></is></c>'

    def row(cells):
        numbers = {"".join(filter(str.isdigit, ref)) for ref, _ in cells if ref}
        where = f' r="{numbers.pop()}"' if len(numbers) == 1 else ""
        return f"<row{where}>" + "".join(cell(*c) for c in cells) + "</row>"

    declared = f'<dimension ref="{dimension}"/>' if dimension else ""
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats'
        f'.org/spreadsheetml/2006/main">{declared}<sheetData>'
        + "".join(row(cells) for cells in rows)
        + f"{extra}</sheetData></worksheet>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("[Content_Types].xml", CONTENT_TYPES)
        book.writestr("_rels/.rels", RELATIONS)
        book.writestr("xl/workbook.xml", WORKBOOK)
        book.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELATIONS)
        book.writestr("xl/worksheets/sheet1.xml", sheet)
        if strings is not None:
            book.writestr("xl/sharedStrings.xml", strings)
    return path


def validate_in_a_process(path) -> subprocess.CompletedProcess:
    """The reader aborts or hangs on these workbooks when they reach it: run apart, with a
    time limit, so that a regression fails this test instead of the test run."""
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "validate", str(path)],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("rows", "dimension", "message"),
    [
        # a stray cell out at the grid's far corner: the reader asked for 500 GB and aborted
        (TABLE + [[("XFD1048576", "x")]], "A1:B2",
         "holds cells from A1:XFD1048576 (1,048,576 rows by 16,384 columns), more than the "
         "5,000,000 cells"),
        # past the grid: the reader hung
        (TABLE + [[("ZZZZZ3", "x")]], None, "holds a cell at ZZZZZ3, past Excel's grid"),
        (TABLE + [[("A99999999", "x")]], None, "holds a cell at A99999999, past Excel's grid"),
        (TABLE, "A1:ZZZZZ99999999", "declares its size as A1:ZZZZZ99999999, past Excel's grid"),
        (TABLE, "A1:XFD1048576", "declares its size as A1:XFD1048576 (1,048,576 rows"),
    ],
    ids=["far-corner", "column-past-grid", "row-past-grid", "dimension-past-grid",
         "dimension-over-cap"],
)  # fmt: skip
def test_workbooks_the_reader_cannot_survive_are_refused_in_one_line(
    tmp_path, rows, dimension, message
):
    path = workbook(tmp_path / "crafted.xlsx", rows, dimension)
    result = validate_in_a_process(path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert "crafted.xlsx: the first sheet " in lines[0] and message in lines[0]


def test_a_workbook_declaring_too_many_shared_strings_is_refused_in_one_line(tmp_path):
    # the reader set aside room for 10^14 strings up front, and the process aborted
    strings = (
        '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
        'spreadsheetml/2006/main" count="1" uniqueCount="99999999999999"><si><t>x</t></si></sst>'
    )
    result = validate_in_a_process(workbook(tmp_path / "crafted.xlsx", strings=strings))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "crafted.xlsx: the workbook declares 99,999,999,999,999 distinct strings" in lines[0]


def test_cells_without_references_are_placed_as_the_reader_places_them(tmp_path):
    unplaced = [[(None, "system"), (None, "parameters")], [(None, "A"), (None, "7B")]]
    assert read_table(workbook(tmp_path / "ok.xlsx", unplaced))["system"].to_list() == ["A"]
    # a last row numbered 1,048,576, its five cells unnumbered: 5,242,880 cells from A1
    far = '<row r="1048576">' + '<c t="inlineStr"><is><t>x</t></is></c>' * 5 + "</row>"
    with pytest.raises(InputFileError, match="A1:E1048576 .* more than the 5,000,000 cells"):
        read_table(workbook(tmp_path / "far.xlsx", unplaced, extra=far))


def test_an_empty_cell_far_away_is_not_counted(tmp_path):
    # A formatted but empty cell: the reader skips it, and so does the check.
    extra = '<row r="1048576"><c r="XFD1048576" s="1"/></row>'
    path = workbook(tmp_path / "s.xlsx", extra=extra)
    assert read_table(path).select("system", "parameters").rows() == [("A", "7B")]


def test_a_workbook_within_the_caps_reads_as_before(tmp_path):
    rows = TABLE + [[("A5", "B"), ("B5", "1B"), ("D5", "x")]]
    path = workbook(tmp_path / "s.xlsx", rows, dimension="A1:D5")
    frame = read_table(path)
    assert frame.select("system", "parameters", "source_row").rows() == [
        ("A", "7B", 2), ("B", "1B", 5),
    ]  # fmt: skip


def test_a_workbook_wider_than_the_column_cap_is_refused(tmp_path):
    def letters(number):
        name = ""
        while number:
            number, rest = divmod(number - 1, 26)
            name = chr(65 + rest) + name
        return name

    header = [(f"{letters(i)}1", f"c{i}") for i in range(1, MAX_COLUMNS + 2)]
    path = workbook(tmp_path / "wide.xlsx", [[("A1", "system"), *header[1:]], [("A2", "A")]])
    with pytest.raises(InputFileError, match="1,001 columns; flopsheet reads at most 1,000"):
        read_table(path)

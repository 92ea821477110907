"""Whatever the bytes: `validate` ends in one line or a report, never a traceback, and where the
file can be read every row is either a system or a rejected row."""

import io
import json
import random

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from pipeline.cli.app import app
from pipeline.errors import EXIT_INPUT_FILE, EXIT_OK, EXIT_ROWS_REJECTED
from pipeline.read.validate import rejected_rows
from pipeline.run import read_sheets

runner = CliRunner()
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def check(path) -> None:
    result = runner.invoke(app, ["validate", str(path), "--json"])
    assert "Traceback" not in result.output
    assert result.exit_code in (EXIT_OK, EXIT_ROWS_REJECTED, EXIT_INPUT_FILE), result.output
    if result.exit_code == EXIT_INPUT_FILE:
        assert result.stderr.startswith("Error: ") and len(result.stderr.strip().splitlines()) == 1
        return
    report = json.loads(result.stdout)
    systems, rejects = read_sheets([path])
    assert report["rows_read"] == systems.height + rejected_rows(rejects)
    assert report["rows_rejected"] == rejected_rows(rejects)


@SETTINGS
@given(data=st.binary(max_size=400))
def test_random_bytes(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("bytes") / "sheet.csv"
    path.write_bytes(b"system,parameters,hardware\n" + data)
    check(path)


CELLS = st.sampled_from(
    ["7B", '"1,5"', '""', '"a\nb"', "x\r", '5" disk', "\t", "", "n/a", "\u200b"]
)


@SETTINGS
@given(
    rows=st.lists(st.lists(CELLS, min_size=1, max_size=4), max_size=8),
    separator=st.sampled_from([",", ";", "\t"]),
    line_end=st.sampled_from(["\n", "\r\n", "\r"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-32", "cp1252"]),
)
def test_random_csv_dialects(tmp_path_factory, rows, separator, line_end, encoding):
    header = separator.join(["system", "parameters", "epochs", "domain"])
    lines = [header, *(separator.join([f"s{i}", *row]) for i, row in enumerate(rows))]
    text = line_end.join(lines) + line_end
    path = tmp_path_factory.mktemp("dialect") / "sheet.csv"
    path.write_bytes(text.encode(encoding, errors="replace"))
    check(path)


def _workbook() -> bytes:
    buffer = io.BytesIO()
    pl.DataFrame({"system": ["A", "B"], "parameters": ["7B", "1e9"]}).write_excel(buffer)
    return buffer.getvalue()


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), flips=st.integers(1, 20))
def test_damaged_workbooks(tmp_path_factory, seed, flips):
    data = bytearray(_workbook())
    chance = random.Random(seed)
    for _ in range(flips):
        data[chance.randrange(len(data))] = chance.randrange(256)
    path = tmp_path_factory.mktemp("xlsx") / "sheet.xlsx"
    path.write_bytes(bytes(data))
    check(path)

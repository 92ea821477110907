"""Every CSV flopsheet writes opens in a spreadsheet as data: no cell runs as a formula, and
only the CSV form changes (Parquet and DuckDB keep the raw text)."""

import io
import json

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from pipeline.cli.app import app
from pipeline.publish.safe_csv import FORMULA_STARTS, write_safe_csv

runner = CliRunner()

# the sheet of the report: a system name and a bad cell that are formulas
FORMULA_SHEET = 'system,parameters\n=HYPERLINK("http://x"),lots\n@SUM(A1),7B\n'
LINK = '=HYPERLINK("http://x")'


def read_back(text: str) -> pl.DataFrame:
    return pl.read_csv(io.StringIO(text), infer_schema=False)


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_a_text_cell_that_would_run_gets_a_quote_in_front(start):
    frame = pl.DataFrame({"text": [f"{start}cmd|' /C calc'!A0", "plain", None, "a=b", ""]})
    assert read_back(write_safe_csv(frame))["text"].to_list() == [
        f"'{start}cmd|' /C calc'!A0", "plain", None, "a=b", "",
    ]  # fmt: skip


def test_numbers_stay_numbers_and_only_text_columns_change():
    frame = pl.DataFrame({
        "flop": [-1.5e20, 2.0], "row": [-3, 4], "text": ["-3", "+4"],
        "flags": [["=x", "y"], []], "kind": pl.Series(["@a", "b"], dtype=pl.Categorical),
    })  # fmt: skip
    assert write_safe_csv(frame).splitlines() == [
        "flop,row,text,flags,kind",
        "-1.5e+20,-3,'-3,'=x; y,'@a",
        '2.0,4,\'+4,"",b',
    ]
    assert frame["text"].to_list() == ["-3", "+4"]  # the frame itself is left as it was


def test_column_names_are_cells_too():
    frame = pl.DataFrame({"=cmd": ["x"], "'=cmd": ["y"], 'a"b': ["z"]})
    assert write_safe_csv(frame).splitlines() == ['\'=cmd,\'=cmd,"a""b"', "x,y,z"]
    # a frame whose names need nothing is written exactly as polars writes it
    plain = pl.DataFrame({"a": [1], "b": ["=1"]})
    assert write_safe_csv(plain) == plain.with_columns(pl.lit("'=1").alias("b")).write_csv()
    assert write_safe_csv(pl.DataFrame()) == pl.DataFrame().write_csv()


def test_to_a_file(tmp_path):
    frame = pl.DataFrame({"=a": ["@b"]})
    assert write_safe_csv(frame, tmp_path / "x.csv") is None
    assert (tmp_path / "x.csv").read_text() == "'=a\n'@b\n"


def test_rejects_and_query_csv_are_neutralised_and_the_data_keeps_the_raw_text(tmp_path):
    (tmp_path / "s.csv").write_text(FORMULA_SHEET)
    out = tmp_path / "o"
    result = runner.invoke(app, ["estimate", str(tmp_path / "s.csv"), "-o", str(out)])
    assert result.exit_code == 0, result.output

    rejects = read_back((out / "rejects.csv").read_text())
    assert rejects.select("system", "column_name", "value").rows() == [
        (f"'{LINK}", "parameters", "lots")
    ]
    assert pl.read_parquet(out / "estimates.parquet")["system"].to_list() == ["@SUM(A1)"]
    with duckdb.connect(str(out / "compute.duckdb"), read_only=True) as connection:
        assert connection.sql("SELECT system FROM rejects").fetchall() == [(LINK,)]
        assert connection.sql("SELECT system FROM estimates").fetchall() == [("@SUM(A1)",)]

    db = str(out / "compute.duckdb")
    sql = "SELECT system, parameters, -parameters AS negative, '-1' AS text FROM estimates"
    csv = runner.invoke(app, ["query", sql, "--db", db, "--format", "csv"])
    assert csv.exit_code == 0, csv.output
    assert csv.stdout.splitlines() == [
        "system,parameters,negative,text",
        "'@SUM(A1),7000000000.0,-7000000000.0,'-1",
    ]
    as_json = runner.invoke(app, ["query", "SELECT system FROM rejects", "--db", db, "-f", "json"])
    assert '"system": "=HYPERLINK(\\"http://x\\")"' in as_json.stdout  # JSON keeps the raw text


def test_diff_csv_is_neutralised(tmp_path):
    sheet = tmp_path / "s.csv"
    sheet.write_text("system,parameters,reported_compute_flop\n=1+2,7B,1e21\n-cmd,1B,2e20\n")
    out = tmp_path / "o"
    first = runner.invoke(app, ["refresh", str(sheet), "-o", str(out), "--no-report"])
    assert first.exit_code == 0, first.output
    sheet.write_text("system,parameters,reported_compute_flop\n=1+2,7B,5e21\n")
    second = runner.invoke(app, ["refresh", str(sheet), "-o", str(out), "--no-report"])
    assert second.exit_code == 0, second.output

    result = runner.invoke(app, ["diff", "-o", str(out), "--format", "csv"])
    assert result.exit_code == 0, result.output
    changes = read_back(result.stdout)
    assert changes.select("system", "change").rows() == [("'=1+2", "changed"), ("'-cmd", "removed")]
    assert float(changes["relative_change"][0]) == pytest.approx(4.0)
    raw = runner.invoke(app, ["diff", "-o", str(out), "--json"])
    assert [row["system"] for row in json.loads(raw.stdout)] == ["=1+2", "-cmd"]


def test_estimates_csv_is_the_estimates_table_safe_to_open(tmp_path):
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(
        "system,parameters,dataset_size,dataset_unit,hardware,hardware_quantity,training_time_hours\n"
        "@SUM(A1),7B,1e12,tokens,A100,64,100\n"
        "Plain,1B,,,,,\n"
    )
    for folder in ("one", "two"):
        result = runner.invoke(app, ["estimate", str(sheet), "-o", str(tmp_path / folder)])
        assert result.exit_code == 0, result.output
    first = (tmp_path / "one" / "estimates.csv").read_bytes()
    assert first == (tmp_path / "two" / "estimates.csv").read_bytes()
    csv = read_back(first.decode())
    parquet = pl.read_parquet(tmp_path / "one" / "estimates.parquet")
    assert csv.columns == parquet.columns and csv.height == parquet.height
    assert csv["system"].to_list() == ["'@SUM(A1)", "Plain"]
    # a list of flags is one cell, its items joined by "; "
    assert csv["flags"][0] == "; ".join(parquet["flags"][0]) and "; " in csv["flags"][0]

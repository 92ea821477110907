"""What the command line prints from data cannot drive the terminal: control characters are
escaped, a long cell is cut, JSON stays JSON; `query` prints a bounded number of rows and stops
at its time limit."""

import json
import time

import pytest
import typer
from typer.testing import CliRunner

from pipeline.cli.app import app
from pipeline.cli.common import CELL_CHARS, printable, user_errors
from pipeline.errors import InputFileError

runner = CliRunner()

OSC_TITLE = "\x1b]0;pwned\x07"  # retitles the terminal
CLEAR = "\x1b[2J"
# ESC, the 8-bit CSI, DEL, a right-to-left override, a line separator
TERMINAL_ACTS_ON = ("\x1b", "\x9b", "\x7f", "\u202e", "\u2028", "\x07")


def assert_inert(text: str) -> None:
    for char in TERMINAL_ACTS_ON:
        assert char not in text, repr(char)


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("dataset")
    sheet = folder / "s.csv"
    sheet.write_text("system,parameters\nplain,7B\n")
    result = runner.invoke(app, ["estimate", str(sheet), "-o", str(folder / "o")])
    assert result.exit_code == 0, result.output
    return str(folder / "o" / "compute.duckdb")


def test_printable_escapes_what_a_terminal_acts_on_and_keeps_any_script():
    assert printable(f"{OSC_TITLE}x\ty\nz\r") == "\\x1b]0;pwned\\x07x\\ty\\nz\\r"
    assert printable("\x9b\x7f\u202e\u2028") == "\\x9b\\x7f\\u202e\\u2028"
    assert printable("Ernie 文心 — naïve 🚀") == "Ernie 文心 — naïve 🚀"
    assert printable(None) == "" and printable(1.5) == "1.5"
    assert printable("a" * 10, limit=4) == "aaaa… (10 characters)"


def test_validate_prints_rejected_cells_escaped(tmp_path):
    sheet = tmp_path / "e.csv"
    sheet.write_text(f"system,parameters\n{OSC_TITLE}GPT,lots{CLEAR}\n")
    result = runner.invoke(app, ["validate", str(sheet)])
    assert result.exit_code == 1
    assert_inert(result.stdout)
    assert "\\x1b]0;pwn" in result.stdout and "\\x1b[2J" in result.stdout
    # JSON stays JSON, escaped by json itself, and gives the raw cells back
    as_json = runner.invoke(app, ["validate", str(sheet), "--json"])
    assert_inert(as_json.stdout)
    problem = json.loads(as_json.stdout)["problems"][0]
    assert problem["system"] == f"{OSC_TITLE}GPT" and problem["value"] == f"lots{CLEAR}"


def test_query_tables_escape_cells_and_headers_and_cut_a_50_mb_cell(db):
    sql = (
        "SELECT 'a' || chr(27) || ']0;x' || chr(7) || chr(155) || chr(127) || chr(8238) "
        "|| chr(8232) AS \"h\x1b[1m\", repeat('b', 50000000) AS big"
    )
    result = runner.invoke(app, ["query", sql, "--db", db])
    assert result.exit_code == 0, result.output
    assert_inert(result.stdout)
    assert "\\x1b]0;x\\x07\\x9b\\x7f\\u202e\\u2028" in result.stdout.replace("\n", "")
    assert "h\\x1b[1m" in result.stdout
    assert "… (50,000,000 characters)" in result.stdout.replace("\n", "").replace("│", "")
    assert len(result.stdout) < 20 * CELL_CHARS
    # the data itself is whole, and JSON escapes what json.dumps would leave as it is
    as_json = runner.invoke(app, ["query", sql, "--db", db, "--format", "json"])
    assert_inert(as_json.stdout)
    row = json.loads(as_json.stdout)[0]
    assert len(row["big"]) == 50_000_000
    assert row["h\x1b[1m"] == "a\x1b]0;x\x07\x9b\x7f\u202e\u2028"


def test_diff_and_refresh_tables_escape_system_names(tmp_path):
    sheet, out = tmp_path / "s.csv", str(tmp_path / "o")
    name = f"{OSC_TITLE}{CLEAR}GPT"
    sheet.write_text(f"system,reported_compute_flop\n{name},1e21\nother,1e20\n")
    assert runner.invoke(app, ["refresh", str(sheet), "-o", out, "--no-report"]).exit_code == 0
    sheet.write_text(f"system,reported_compute_flop\n{name},5e21\nother,1e20\n")
    wide = {"COLUMNS": "300"}  # so that no cell is folded over lines
    second = runner.invoke(app, ["refresh", str(sheet), "-o", out, "--no-report"], env=wide)
    assert second.exit_code == 0, second.output
    assert_inert(second.stdout)
    assert "\\x1b]0;pwned\\x07\\x1b[2JGPT" in second.stdout
    result = runner.invoke(app, ["diff", "-o", out], env=wide)
    assert result.exit_code == 0, result.output
    assert_inert(result.stdout)
    assert "\\x1b]0;pwned\\x07\\x1b[2JGPT" in result.stdout


def test_error_lines_are_one_line_with_cell_text_escaped(tmp_path, capsys):
    with pytest.raises(typer.Exit) as stopped, user_errors():
        raise InputFileError(f"{OSC_TITLE}.csv", f"header {CLEAR}\nmodel is not a column")
    assert stopped.value.exit_code == 2
    printed = capsys.readouterr().err
    assert_inert(printed)
    assert printed.strip().splitlines() == [
        "Error: \\x1b]0;pwned\\x07.csv: header \\x1b[2J\\nmodel is not a column"
    ]
    # and through a command: a file named with control characters
    result = runner.invoke(app, ["validate", str(tmp_path / f"{OSC_TITLE}\nx.csv")])
    assert result.exit_code == 2
    assert_inert(result.stderr)
    assert len(result.stderr.strip().splitlines()) == 1 and "\\x1b]0;pwned" in result.stderr


def test_query_prints_at_most_1000_rows_as_a_table_and_says_how_many_were_left_out(db):
    sql = "SELECT range AS n FROM range(2500)"
    table = runner.invoke(app, ["query", sql, "--db", db])
    assert table.exit_code == 0, table.output
    assert "│ 999 " in table.stdout and "│ 1000 " not in table.stdout
    assert "1,500 more rows left out" in table.stdout
    every = runner.invoke(app, ["query", sql, "--db", db, "--limit", "0"])
    assert "│ 2499 " in every.stdout and "left out" not in every.stdout
    # csv and json print every row unless told
    csv = runner.invoke(app, ["query", sql, "--db", db, "--format", "csv"])
    assert len(csv.stdout.splitlines()) == 2501 and not csv.stderr
    few = runner.invoke(app, ["query", sql, "--db", db, "--format", "csv", "--limit", "3"])
    assert few.stdout.splitlines() == ["n", "0", "1", "2"]
    assert few.stderr.strip() == "2,497 more rows left out (--limit 3)"
    as_json = runner.invoke(app, ["query", sql, "--db", db, "--format", "json", "--limit", "2"])
    assert json.loads(as_json.stdout) == [{"n": 0}, {"n": 1}]
    bad = runner.invoke(app, ["query", sql, "--db", db, "--limit", "-1"])
    assert bad.exit_code == 2


def test_query_stops_at_its_timeout_in_one_line(db):
    started = time.monotonic()
    sql = "SELECT count(*) FROM range(1000000000000)"  # minutes, even on many cores
    result = runner.invoke(app, ["query", sql, "--db", db, "--timeout", "0.5"])
    assert time.monotonic() - started < 20
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "Error: query stopped: it ran longer than its time limit of 0.5 s "
        "(flopsheet query --timeout)"
    ]
    quick = runner.invoke(app, ["query", "SELECT 1 AS one", "--db", db, "--timeout", "0"])
    assert quick.exit_code == 0 and "one" in quick.stdout

"""A corpus of malformed inputs: each ends in one clear line (file-level) or a quarantined row,
never a traceback, and the good rows always go on."""

import json

import polars as pl
import pytest
from typer.testing import CliRunner

from pipeline.cli.app import app
from pipeline.errors import EXIT_INPUT_FILE
from tests.conftest import REPO

CORPUS = REPO / "tests" / "corpus"
runner = CliRunner()

FILE_LEVEL = {
    "missing_system_column.csv": "no 'system' column",
    "empty.csv": "cannot read",
    "header_only.csv": "the table has no rows",
    "only_blank_rows.csv": "the table has no rows",
    "not_really_excel.xlsx": "cannot read as excel",
    "truncated.parquet": "cannot read as parquet",
    "unsupported.json": "unsupported file type",
    "two_headers_one_column.csv": "both mean 'parameters'",
    "working_column_clash.csv": "would be renamed 'input_notes'",
    "unterminated_quote.csv": "line 3, column 1: a quoted cell opens here and is never closed",
    "quote_swallows_lines.csv": "line 3, column 1: the quoted cell opened here closes on line 4",
    "too_many_columns.csv": "the table has 1,013 columns; flopsheet reads at most 1,000",
    "nul_byte.csv": "line 3, column 1: a NUL byte",
    "truncated_utf16.csv": "cannot read as UTF-16",
}

# file -> (rejected column, words of the reason)
ROW_LEVEL = {
    "unparseable_number.csv": ("parameters", "cannot be read: expected a number"),
    "negative_parameters.csv": ("parameters", "expected a positive number"),
    "zero_chips.csv": ("hardware_quantity", "expected a positive number"),
    "fractional_chips.csv": ("hardware_quantity", "expected a whole number"),
    "utilization_above_one.csv": ("utilization", "at most 1"),
    "utilization_above_100_percent.csv": ("utilization", "at most 100%"),
    "active_above_total.csv": ("active_parameters", "at most the total parameters"),
    "duplicate_system.csv": ("system", "duplicate system name; first used in"),
    "blank_system.csv": ("system", "a system name is required"),
    "impossible_date.csv": ("publication_date", "expected a date"),
    "unreadable_duration.csv": ("training_time_hours", "expected a duration"),
    "unknown_precision.csv": ("precision", "expected one of fp64"),
    "unknown_domain.csv": ("domain", "expected one of language"),
    "zero_epochs.csv": ("epochs", "expected a positive number"),
    "negative_duration.csv": ("training_time_hours", "expected a positive number"),
    "heads_not_dividing_width.csv": ("n_heads", "n_heads dividing d_model"),
    "shared_experts_without_experts.csv": ("shared_experts", "only in a mixture of experts"),
    "date_out_of_range.csv": ("publication_date", "from 1900 to 2100"),
    "compute_out_of_range.csv": ("reported_compute_flop", "from 1 to 1e40 FLOP"),
    "several_figures.csv": ("dataset_size", "holds several figures; expected one"),
    "times_sign_between_numbers.csv": ("parameters", "cannot be read: expected a number"),
}

CLEAN = {
    "ragged_rows.csv": 2,
    "embedded_newlines.csv": 2,
    "bom_and_crlf.csv": 1,
    "latin1_bytes.csv": 2,
    "messy_numbers.csv": 2,
    "lone_carriage_return.csv": 3,
    "mac_line_endings.csv": 2,
    "utf16_without_bom.csv": 2,
    "utf32_with_bom.csv": 2,
    "bare_quotes.csv": 3,
}


def test_corpus_is_complete():
    on_disk = {p.name for p in CORPUS.iterdir()}
    assert on_disk == set(FILE_LEVEL) | set(ROW_LEVEL) | set(CLEAN)
    assert len(on_disk) >= 20


@pytest.mark.parametrize(("name", "message"), sorted(FILE_LEVEL.items()))
def test_file_level_errors_are_one_line(tmp_path, name, message):
    result = runner.invoke(app, ["estimate", str(CORPUS / name), "-o", str(tmp_path)])
    assert result.exit_code == EXIT_INPUT_FILE, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert name in lines[0] and message in lines[0]
    assert not (tmp_path / "compute.duckdb").exists()


@pytest.mark.parametrize(("name", "expected"), sorted(ROW_LEVEL.items()))
def test_bad_rows_are_quarantined_and_good_rows_go_on(tmp_path, name, expected):
    column, reason = expected
    result = runner.invoke(app, ["estimate", str(CORPUS / name), "-o", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["rows_read"] == 2
    assert summary["rows_rejected"] == 1
    rejects = pl.read_csv(tmp_path / "rejects.csv", infer_schema=False)
    assert rejects["column_name"].to_list() == [column]
    assert reason in rejects["reason"][0]
    assert rejects["source_row"].to_list() == ["3"]
    assert rejects["source_file"][0].endswith(name)
    estimates = pl.read_parquet(tmp_path / "estimates.parquet")
    assert estimates["system"].to_list() == ["Good LM"]
    assert estimates["estimate_flop"][0] is not None

    strict = runner.invoke(app, ["estimate", str(CORPUS / name), "-o", str(tmp_path), "--strict"])
    assert strict.exit_code == 1
    checked = runner.invoke(app, ["validate", str(CORPUS / name), "--json"])
    assert checked.exit_code == 1
    assert json.loads(checked.stdout)["problems"][0]["column_name"] == column


@pytest.mark.parametrize(("name", "rows"), sorted(CLEAN.items()))
def test_messy_but_valid_files_read_whole(tmp_path, name, rows):
    result = runner.invoke(app, ["validate", str(CORPUS / name), "--json"])
    assert result.exit_code == 0, result.output
    assert f'"rows_read": {rows}' in result.stdout

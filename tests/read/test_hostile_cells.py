"""Hostile cells: a times sign between numbers, and cells too long to be values. Each is read
as what it says or rejected with its row; never misread, never minutes of parsing."""

import polars as pl
import pytest

from pipeline.read.files import read_table
from pipeline.read.parsing import (
    MAX_CELL_CHARS,
    PARSERS,
    parse_count,
    parse_duration_hours,
    parse_number,
    parse_utilization,
)
from pipeline.read.validate import validate
from tests.conftest import apply, raw_frame


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2 x 100", 200.0),
        ("2x100", 200.0),
        ("2 X 100", 200.0),
        ("5 × 1024", 5120.0),  # not 5e24: without a caret, "x 10" is not a power of ten
        ("2 x 10", 20.0),
        ("2 * 100", 200.0),
        ("0.1 x 3", 0.3),
        ("1e9 x 2", 2e9),
        ("1,000 x 2", 2000.0),
        ("~2 x 100", 200.0),
        ("3.1 x 10^23", 3.1e23),
        ("3.1 × 10^23", 3.1e23),
        ("3.1x10^23", 3.1e23),
        ("3.1 * 10^23", 3.1e23),
        ("3.1 x 10**23", 3.1e23),
        ("5 x 10^(3)", 5e3),
        ("1.5 × 10^-3", 1.5e-3),
    ],
)
def test_a_times_sign_between_plain_numbers_is_their_product(text, value):
    assert apply(parse_number, [text])[0] == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize(
    "text",
    ["2 x 100B", "2B x 100", "2 x 3 x 4", "8 x A100", "2 x", "x 2", "2 x 10^", "2 xx 3", "10^9"],
)
def test_anything_else_with_a_times_sign_is_unreadable_not_guessed(text):
    assert apply(parse_number, [text]) == [None]


def test_products_in_counts_durations_and_utilization():
    assert apply(parse_count, ["2 x 100", "5 × 1024", "2 x 0.5"]) == [200, 5120, 1]
    assert apply(parse_count, ["0.3 x 3"]) == [None]  # 0.9 chips
    assert apply(parse_duration_hours, ["2 x 100", "2 x 3 days"]) == [200.0, None]
    assert apply(parse_utilization, ["0.5 x 1", "2 x 20%"]) == [0.5, None]


def test_a_product_too_large_for_a_number_is_unreadable():
    assert apply(parse_number, ["1e200 x 1e200"]) == [None]


@pytest.mark.parametrize("kind", sorted(PARSERS))
def test_every_parser_gives_up_on_a_cell_over_the_cap_and_takes_one_at_it(kind):
    parse = PARSERS[kind]
    long = "1" * (MAX_CELL_CHARS + 1)
    assert apply(parse, [long]) == [None]
    if kind == "text":
        assert apply(parse, ["a" * MAX_CELL_CHARS]) == ["a" * MAX_CELL_CHARS]


def test_a_row_with_a_cell_over_the_cap_is_rejected_and_the_others_go_on():
    huge = "x" * (MAX_CELL_CHARS + 1)
    raw = raw_frame([
        {"system": "Good", "organization": "Lab", "parameters": "1B"},
        {"system": "Long name", "organization": huge, "parameters": "1B"},
        {"system": "Long number", "organization": "Lab", "parameters": "7" * (MAX_CELL_CHARS + 1)},
        {"system": huge, "organization": "Lab", "parameters": "1B"},
    ])  # fmt: skip
    systems, rejects = validate(raw)
    assert systems["system"].to_list() == ["Good"]
    by_row = {row: (column, reason) for row, column, reason in rejects.select(
        "source_row", "column_name", "reason").rows()}  # fmt: skip
    assert by_row[3] == (
        "organization",
        f"cannot be read: expected text of at most {MAX_CELL_CHARS:,} characters",
    )
    assert by_row[4][0] == "parameters" and "expected a number" in by_row[4][1]
    assert rejects.filter(pl.col("source_row") == 5)["column_name"].to_list()[0] == "system"
    assert rejects.select(pl.struct("source_row").n_unique()).item() == 3
    # the rejects keep the cell as written; printing it whole is another matter
    assert rejects.filter(pl.col("source_row") == 3)["value"][0] == huge


def test_a_50_megabyte_cell_costs_its_row_only(tmp_path):
    sheet = tmp_path / "s.csv"
    sheet.write_text(f"system,parameters\nA,7{'0' * 50_000_000}\nB,1B\n")
    systems, rejects = validate(read_table(sheet))
    assert systems["system"].to_list() == ["B"]
    assert rejects.select("source_row", "column_name").rows() == [(2, "parameters")]


@pytest.mark.parametrize(
    "column", ["architecture_parameters", "architecture_error", "architecture_config"]
)
def test_a_column_named_as_the_layer_counts_is_carried_through(tmp_path, column):
    """The layer-list counts join under working names: a sheet's own column of such a name
    neither breaks the run nor quarantines its rows."""
    import pipeline

    plain = "system,parameters,dataset_size,dataset_unit\nOne,1e9,2e10,tokens\n"
    (tmp_path / "plain.csv").write_text(plain)
    lines = plain.splitlines()
    (tmp_path / "carried.csv").write_text(f"{lines[0]},{column}\n{lines[1]},x\n")
    expected, _ = pipeline.read_sheets([tmp_path / "plain.csv"])
    systems, rejects = pipeline.read_sheets([tmp_path / "carried.csv"])
    assert rejects.height == 0
    assert systems[column].to_list() == ["x"]
    estimates = pipeline.estimate_systems(systems)
    assert (
        estimates["estimate_flop"].to_list()
        == pipeline.estimate_systems(expected)["estimate_flop"].to_list()
    )

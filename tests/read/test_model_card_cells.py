"""Cells copied from model cards: number words, a number with its unit, lower bounds, "4k" in
an architecture size, and a chip count in front of the chip's name. Each is read as what it
says, or rejected with one reason; the forms that parsed before parse as before."""

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pipeline
from pipeline.read.card_cells import bound_cell, chip_count, size_unit, without_bound
from pipeline.read.parsing import NUMBER_WORDS, parse_count, parse_number
from pipeline.read.validate import validate
from tests.conftest import apply, raw_frame

CHECKS = settings(max_examples=25, deadline=None)


def read(rows: list[dict[str, str | None]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    return validate(raw_frame([{"system": f"s{i}", **row} for i, row in enumerate(rows)]))


def one(row: dict[str, str | None]) -> dict:
    systems, rejects = read([row])
    assert rejects.height == 0, rejects.to_dicts()
    return systems.row(0, named=True)


# Number words


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3 trillion", 3e12),
        ("402 billion", 402e9),
        ("1.5 million", 1.5e6),
        ("2 thousand", 2e3),
        ("7B", 7e9),
        ("15T", 15e12),
        ("3 Trillion", 3e12),
        ("1 BILLION", 1e9),
        ("2 billions", 2e9),
        ("5 thousands", 5e3),
        ("1,500 million", 1.5e9),
        ("~2.5 million", 2.5e6),
        ("1.4trillion", 1.4e12),
    ],
)
def test_number_words_in_any_case_singular_or_plural(text, value):
    assert apply(parse_number, [text]) == [value]


@pytest.mark.parametrize(
    ("text", "value"),
    [("3e23", 3e23), ("1,000", 1000.0), ("175B", 175e9), ("1.75E+11", 1.75e11), ("60K", 60e3)],
)
def test_numbers_that_parsed_before_parse_as_before(text, value):
    assert apply(parse_number, [text]) == [value]


@pytest.mark.parametrize(
    "text", ["billion", "3 billon", "3 trillion tokens", "2 x 100 billion", "3 bn", "8 x A100"]
)
def test_misspelled_or_extra_words_stay_unreadable(text):
    assert apply(parse_number, [text]) == [None]


@CHECKS
@given(
    x=st.decimals(min_value="0.001", max_value="99999", places=3, allow_nan=False),
    word=st.sampled_from(sorted(NUMBER_WORDS)),
    plural=st.booleans(),
    upper=st.booleans(),
)
def test_a_number_and_its_word_round_trip(x, word, plural, upper):
    text = f"{x} {word}{'s' if plural else ''}"
    (value,) = apply(parse_number, [text.upper() if upper else text])
    assert value == pytest.approx(float(x) * NUMBER_WORDS[word], rel=1e-12)


# Lower bounds


@pytest.mark.parametrize(
    "text", ["15T+", ">15T", "> 15T", ">=15T", "≥ 15T", " 15T + ", ">15 trillion"]
)
def test_a_lower_bound_is_read_as_its_figure_and_named(text):
    row = one({"parameters": text})
    assert row["parameters"] == 15e12
    assert row["_lower_bounds"] == f"parameters '{text.strip()}'"


def test_bounds_of_several_columns_are_listed_in_column_order():
    row = one({"parameters": ">1T", "dataset_size": "15T+ tokens", "hardware_quantity": "1000+"})
    assert (row["parameters"], row["dataset_size"], row["hardware_quantity"]) == (1e12, 15e12, 1000)
    assert row["dataset_unit"] == "tokens"
    assert row["_lower_bounds"] == (
        "parameters '>1T', dataset_size '15T+ tokens', hardware_quantity '1000+'"
    )


@pytest.mark.parametrize("text", ["1e+23", "+5", "1.75E+11", "5e23"])
def test_a_plus_sign_of_a_number_is_no_bound(text):
    row = one({"reported_compute_flop": text, "parameters": ">1T"})
    assert row["_lower_bounds"] == "parameters '>1T'"
    assert apply(bound_cell, [text]) == [None]


def test_a_sheet_without_bounds_names_none():
    systems, _ = read([{"parameters": "7B"}, {"parameters": "1e+23"}, {}])
    assert systems["_lower_bounds"].to_list() == [None, None, None]


@pytest.mark.parametrize("text", [">", "+", ">=", "> abc", "15T++"])
def test_a_bound_mark_without_a_figure_is_unreadable(text):
    _, rejects = read([{"parameters": text}])
    assert rejects.select("column_name", "value").row(0) == ("parameters", text)
    assert rejects["reason"][0].startswith("cannot be read: expected a number")


def test_a_bound_is_read_by_the_sheet_not_by_the_bare_number_parser():
    # Other callers of parse_number (evaluating Epoch's figures) read one plain figure.
    assert apply(parse_number, [">15T", "15T+"]) == [None, None]
    assert apply(without_bound, [">15T", "15T+ tokens", "1e+23"]) == ["15T", "15T tokens", "1e+23"]


# A number with its unit


@pytest.mark.parametrize(
    ("size", "unit", "value"),
    [
        ("402 billion tokens", "tokens", 4.02e11),
        ("7B tokens", "tokens", 7e9),
        ("1.5 million samples", "examples", 1.5e6),
        ("1.2M images", "images", 1.2e6),
        ("300B Words", "words", 3e11),
        ("1,000,000 sequences", "sequences", 1e6),
        ("1e9 token", "tokens", 1e9),
    ],
)
def test_a_dataset_size_with_its_unit_fills_a_blank_unit(size, unit, value):
    row = one({"dataset_size": size})
    assert (row["dataset_size"], row["dataset_unit"]) == (value, unit)


def test_a_given_unit_that_agrees_stands():
    row = one({"dataset_size": "402 billion tokens", "dataset_unit": "Token"})
    assert (row["dataset_size"], row["dataset_unit"]) == (4.02e11, "tokens")


def test_a_given_unit_that_disagrees_rejects_the_row_with_one_reason():
    systems, rejects = read(
        [{"dataset_size": "402 billion tokens", "dataset_unit": "images"}, {"dataset_size": "5"}]
    )
    assert systems["system"].to_list() == ["s1"]
    (problem,) = rejects.to_dicts()
    assert problem["source_row"] == 2
    assert (problem["column_name"], problem["value"]) == ("dataset_size", "402 billion tokens")
    assert problem["reason"] == (
        "names the unit 'tokens' but dataset_unit is 'images': "
        "expected the same unit as dataset_unit, or dataset_unit blank"
    )


@pytest.mark.parametrize("size", ["12 parrots", "tokens", "402 billion tokens please"])
def test_a_size_with_an_unknown_unit_stays_unreadable(size):
    _, rejects = read([{"dataset_size": size}])
    assert rejects.select("column_name", "value").row(0) == ("dataset_size", size)


def test_a_unit_is_taken_from_dataset_size_only():
    assert apply(size_unit, ["402 billion tokens", "15T+ tokens", "3e23", None]) == [
        "tokens",
        "tokens",
        None,
        None,
    ]
    _, rejects = read([{"parameters": "7B tokens"}])
    assert rejects["column_name"].to_list() == ["parameters"]


# "4k" in an architecture size


@pytest.mark.parametrize("column", ["seq_len", "d_model", "d_ff", "vocab_size"])
def test_k_is_1024_in_an_architecture_size(column):
    systems, rejects = read([{column: "4k"}, {column: "32K"}, {column: "4096"}, {column: "4,096"}])
    assert rejects.height == 0
    assert systems[column].to_list() == [4096, 32768, 4096, 4096]


def test_a_spelled_out_thousand_is_1000_even_in_an_architecture_size():
    assert one({"seq_len": "4 thousand"})["seq_len"] == 4000


@pytest.mark.parametrize("column", ["parameters", "hardware_quantity", "dataset_size"])
def test_k_stays_1000_for_parameters_chips_and_data(column):
    assert one({column: "4k"})[column] == 4000


@CHECKS
@given(n=st.integers(min_value=1, max_value=512))
def test_sizes_in_k_are_powers_of_two_multiples(n):
    row = one({"seq_len": f"{n}k", "parameters": f"{n}k"})
    assert (row["seq_len"], row["parameters"]) == (n * 1024, n * 1000)


# A chip count in front of the chip's name


@pytest.mark.parametrize(
    ("cell", "count", "chip"),
    [
        ("96xA100-80G", 96, "A100-80G"),
        ("96 x A100", 96, "A100"),
        ("96 X A100", 96, "A100"),
        ("1,920 H100-80G", 1920, "H100-80G"),
        ("1920× H100 SXM", 1920, "H100 SXM"),
        ("1920 × H100 SXM", 1920, "H100 SXM"),
        ("8*V100", 8, "V100"),
        ("2048 TPU v4", 2048, "TPU v4"),
        ("8 Xeon", 8, "Xeon"),  # the x of a name is no times sign
    ],
)
def test_a_count_before_the_chip_fills_a_blank_quantity(cell, count, chip):
    row = one({"hardware": cell})
    assert (row["hardware_quantity"], row["hardware"]) == (count, chip)


@pytest.mark.parametrize(
    "cell",
    ["A100", "TPU v4", "V100", "H100 SXM5 80GB", "2080 Ti", "1080 Ti", "NVIDIA A100 SXM4\n80 GB",
     "TPUv4", "MI250X", "0 x A100", "96 x A100, 16 x V100", "8 x 8", "4090"],
)  # fmt: skip
def test_chip_names_with_digits_or_several_chips_keep_their_cell(cell):
    row = one({"hardware": cell, "hardware_quantity": "4"})
    assert (row["hardware"], row["hardware_quantity"]) == (cell.strip(), 4)
    assert apply(chip_count, [cell]) == [None]


def test_a_given_quantity_that_agrees_stands():
    assert one({"hardware": "1,920 H100", "hardware_quantity": "1920"})["hardware_quantity"] == 1920


def test_a_given_quantity_that_disagrees_rejects_the_row_with_one_reason():
    systems, rejects = read([{}, {"hardware": "96xA100-80G", "hardware_quantity": "64"}])
    assert systems["system"].to_list() == ["s0"]
    (problem,) = rejects.to_dicts()
    assert problem["source_row"] == 3
    assert (problem["column_name"], problem["value"]) == ("hardware", "96xA100-80G")
    assert problem["reason"] == (
        "names 96 chips but hardware_quantity is 64: "
        "expected the same chip count as hardware_quantity, or hardware_quantity blank"
    )


@CHECKS
@given(
    counts=st.lists(st.integers(min_value=1, max_value=10**6), min_size=1, max_size=20),
    chip=st.sampled_from(["A100", "H100-80G", "TPU v4", "V100 SXM2", "A100 40GB"]),
    form=st.sampled_from(["{n}x{chip}", "{n} x {chip}", "{n:,} {chip}", "{n}× {chip}"]),
)
def test_count_and_chip_split_whatever_the_count(counts, chip, form):
    systems, rejects = read([{"hardware": form.format(n=n, chip=chip)} for n in counts])
    assert rejects.height == 0
    assert systems["hardware_quantity"].to_list() == counts
    assert set(systems["hardware"]) == {chip}


def test_counts_are_whole_and_start_at_one():
    assert apply(chip_count, ["1,920 H100", "1,92 H100", "1.5 A100", "012 A100"]) == [
        1920,
        None,
        None,
        None,
    ]
    assert apply(parse_count, ["1,920"]) == [1920]


# Through the reader


def test_model_card_cells_through_read_sheets(tmp_path):
    sheet = tmp_path / "cards.csv"
    sheet.write_text(
        "system,parameters,dataset_size,dataset_unit,hardware,hardware_quantity,seq_len,d_model\n"
        'Card LM,405 billion,15T+ tokens,,"16,384 H100-80G",,8k,16k\n'
        "Plain LM,7B,1e12,tokens,A100,64,2048,4096\n"
        "Clash LM,7B,402 billion tokens,images,96xA100,64,,\n",
        encoding="utf-8",
    )
    systems, rejects = pipeline.read_sheets([sheet])
    rows = {row["system"]: row for row in systems.rows(named=True)}
    card, plain = rows["Card LM"], rows["Plain LM"]
    assert (card["parameters"], card["dataset_size"]) == (405e9, 15e12)
    assert (card["dataset_unit"], card["_lower_bounds"]) == ("tokens", "dataset_size '15T+ tokens'")
    assert (card["hardware"], card["hardware_quantity"]) == ("H100-80G", 16384)
    assert (card["seq_len"], card["d_model"]) == (8192, 16384)
    assert (plain["hardware"], plain["hardware_quantity"]) == ("A100", 64)
    assert (plain["seq_len"], plain["_lower_bounds"]) == (2048, None)
    assert rejects.select("source_row", "column_name", "value").rows() == [
        (4, "dataset_size", "402 billion tokens"),
        (4, "hardware", "96xA100"),
    ]  # fmt: skip

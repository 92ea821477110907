import pytest

from pipeline.read.parsing import (
    is_missing,
    parse_count,
    parse_date,
    parse_domain,
    parse_duration_hours,
    parse_number,
    parse_precision,
    parse_unit,
    parse_utilization,
)
from tests.conftest import apply


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("175000000000", 175e9),
        ("1.75e11", 175e9),
        ("1.75E+11", 175e9),
        ("175B", 175e9),
        ("175 B", 175e9),
        ("175b", 175e9),
        ("1.4T", 1.4e12),
        ("25.6M", 25.6e6),
        ("60K", 60e3),
        ("2G", 2e9),
        ("3P", 3e15),
        ("1,000,000", 1e6),
        ("1 000 000", 1e6),
        ("  42  ", 42.0),
        (".5", 0.5),
        ("3.14 x 10^23", 3.14e23),
        ("3.14×10^23", 3.14e23),
        ("~1e5", 1e5),
        ("-5", -5.0),
        ("1,000.5", 1000.5),
    ],
)
def test_numbers_in_every_accepted_form(text, value):
    assert apply(parse_number, [text])[0] == pytest.approx(value)


@pytest.mark.parametrize(
    "text",
    ["abc", "1.2.3", "12 parrots", "1e", "B", "1,5e", "10^9", "1,5", "1,00", "12,34,5", "1e400"],
)
def test_unreadable_numbers_are_null(text):
    assert apply(parse_number, [text]) == [None]


@pytest.mark.parametrize("text", ["", "n/a", "N/A", "unknown", "?", "-", "  ", None, "Unknown"])
def test_missing_value_spellings(text):
    assert apply(is_missing, [text]) == [True]


def test_suffixes_and_percentages_give_exact_values():
    assert apply(parse_number, ["8.3B", "1.4T"]) == [8.3e9, 1.4e12]
    assert apply(parse_utilization, ["56.5%", "41%"]) == [0.565, 0.41]


def test_present_values_are_not_missing():
    assert apply(is_missing, ["0", "x", "1e9"]) == [False, False, False]


@pytest.mark.parametrize(
    ("text", "count"), [("1024", 1024), ("1,024", 1024), ("1K", 1000), ("8.0", 8)]
)
def test_counts(text, count):
    assert apply(parse_count, [text]) == [count]


@pytest.mark.parametrize("text", ["2.5", "eight", "1e40"])
def test_fractional_or_huge_counts_are_null(text):
    assert apply(parse_count, [text]) == [None]


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("504", 504.0),
        ("504 hours", 504.0),
        ("504h", 504.0),
        ("2.5 hrs", 2.5),
        ("21 days", 504.0),
        ("1 day", 24.0),
        ("3 weeks", 504.0),
        ("90 min", 1.5),
        ("5400 seconds", 1.5),
        ("1,000 hours", 1000.0),
        ("2 months", 1461.0),
        ("1 year", 8766.0),
    ],
)
def test_durations(text, hours):
    assert apply(parse_duration_hours, [text])[0] == pytest.approx(hours)


@pytest.mark.parametrize("text", ["10 parsecs", "a week", "days"])
def test_unreadable_durations_are_null(text):
    assert apply(parse_duration_hours, [text]) == [None]


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2020-05-28", "2020-05-28"),
        ("2020-05", "2020-05-01"),
        ("2020", "2020-01-01"),
        ("2020-5-8", "2020-05-08"),
        ("2020-05-28 00:00:00", "2020-05-28"),
        ("2020-05-28T00:00:00Z", "2020-05-28"),
        ("2020-01-02 00:00:00.000000+00:00", "2020-01-02"),
        ("1957-01", "1957-01-01"),
        ("2020-05-17 23:59", "2020-05-17"),
    ],
)
def test_dates(text, iso):
    assert str(apply(parse_date, [text])[0]) == iso


@pytest.mark.parametrize(
    "text",
    [
        "2020-13",
        "2020-02-30",
        "May 2020",
        "28/05/2020",
        "0000",
        "2202-01-01",
        "2020-05-17 25:00",
        "99999",
    ],
)
def test_bad_dates_are_null(text):
    assert apply(parse_date, [text]) == [None]


@pytest.mark.parametrize(
    ("text", "value"), [("0.4", 0.4), ("40%", 0.4), ("46.2 %", 0.462), ("1", 1.0), ("150%", 1.5)]
)
def test_utilization_fraction_or_percent(text, value):
    assert apply(parse_utilization, [text])[0] == pytest.approx(value)


@pytest.mark.parametrize(
    ("text", "precision"),
    [
        ("FP32", "fp32"),
        ("float32", "fp32"),
        ("TF32", "tf32"),
        ("fp16", "fp16"),
        ("half", "fp16"),
        ("Mixed precision", "fp16"),
        ("mixed", "fp16"),
        ("BF16", "bf16"),
        ("bfloat16", "bf16"),
        ("FP8", "fp8"),
        ("int8", "int8"),
        ("double", "fp64"),
    ],
)
def test_precision_aliases(text, precision):
    assert apply(parse_precision, [text]) == [precision]


def test_unknown_precision_is_null():
    assert apply(parse_precision, ["fp4.5"]) == [None]


@pytest.mark.parametrize(
    ("text", "domain"),
    [
        ("Language", "language"),
        ("NLP", "language"),
        ("Vision", "vision"),
        ("Language, Vision", "multimodal"),
        ("Games", "games"),
        ("Speech", "speech"),
        ("Image generation", "vision"),
        ("Mathematics,Language", "language"),
        ("Mathematics", "other"),
        ("Vision,Image generation", "vision"),
        ("Language,Multimodal,Vision,Video,Audio,Mathematics", "multimodal"),
    ],
)
def test_domains(text, domain):
    assert apply(parse_domain, [text]) == [domain]


def test_unknown_domain_is_null():
    assert apply(parse_domain, ["astrology"]) == [None]


def test_units_are_normalised():
    assert apply(parse_unit, [" Tokens", "word", "Images", "samples"]) == [
        "tokens",
        "words",
        "images",
        "examples",
    ]


def test_flag_words_answer_only_their_own_column():
    from pipeline.read.validate import validate
    from tests.conftest import raw_frame

    systems, rejects = validate(
        raw_frame([
            {"system": "a", "gated_mlp": "SwiGLU", "causal": "decoder", "tied_embeddings": "no"},
            {"system": "b", "gated_mlp": "causal"},  # a word of another column
            {"system": "c", "mixture_of_experts": "MoE", "causal": "bidirectional"},
        ])
    )  # fmt: skip
    a = systems.filter(systems["system"] == "a").row(0, named=True)
    assert (a["gated_mlp"], a["causal"], a["tied_embeddings"]) == (True, True, False)
    c = systems.filter(systems["system"] == "c").row(0, named=True)
    assert (c["mixture_of_experts"], c["causal"]) == (True, False)
    assert rejects.filter(rejects["system"] == "b")["column_name"].to_list() == ["gated_mlp"]


def test_parsing_once_per_distinct_value_gives_what_parsing_each_row_gives(monkeypatch):
    from pipeline.read import validate as validation
    from tests.conftest import raw_frame

    cells = [
        {"system": "", "domain": "NLP, vision", "parameters": "175B", "hardware_quantity": "1,024",
         "training_time_hours": "34 days", "publication_date": "2020-05", "precision": "mixed",
         "utilization": "41%", "gated_mlp": "swiglu", "dataset_unit": "Tokens"},
        {"system": "", "domain": "Language", "parameters": "lots", "hardware_quantity": "2.5",
         "training_time_hours": "forever", "publication_date": "2020-13-01", "precision": "fp12",
         "utilization": "150%", "gated_mlp": "causal", "dataset_unit": None},
        {"system": "", "domain": None, "parameters": "3.1 x 10^23", "hardware_quantity": "8",
         "training_time_hours": "90 min", "publication_date": "2019", "precision": None,
         "utilization": "0.3", "gated_mlp": "no", "dataset_unit": "image"},
    ]  # fmt: skip
    rows = [{**cells[i % 3], "system": f"s{i}"} for i in range(12_000)]
    raw = raw_frame(rows)
    by_value, failures_by_value = validation.parse_cells(raw)
    monkeypatch.setattr(validation, "DISTINCT_SAMPLE", 10**9)  # every row parsed on its own
    by_row, failures_by_row = validation.parse_cells(raw)
    assert by_value.equals(by_row)
    assert failures_by_value.sort("_row", "column").equals(failures_by_row.sort("_row", "column"))
    assert failures_by_value.height == 4_000 * 6  # the second row's six unreadable cells

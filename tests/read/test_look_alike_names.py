"""System names that a reader cannot tell apart are one system: the later row is a duplicate,
and its reason shows both spellings."""

import pytest

from pipeline.read.validate import validate
from tests.conftest import raw_frame


@pytest.mark.parametrize(
    "twin, shown",
    [
        ("gpt-3", "gpt-3"),  # case
        ("ＧＰＴ-3", "ＧＰＴ-3"),  # full-width letters
        ("GPT\u200b-3", "GPT\\u200b-3"),  # a zero-width space
        ("GPT\u20103", "GPT\u20103"),  # U+2010, the typographic hyphen
        ("GPT\u20113", "GPT\u20113"),  # U+2011, a non-breaking hyphen
        ("\ufeffGPT-3", "\\ufeffGPT-3"),  # a byte-order mark pasted in front
    ],
)
def test_look_alike_names_are_one_system(twin, shown):
    rows = [{"system": "GPT-3", "parameters": "175B"}, {"system": twin, "parameters": "1B"}]
    systems, rejects = validate(raw_frame(rows))
    assert systems["system"].to_list() == ["GPT-3"]
    (reason,) = rejects["reason"].to_list()
    assert reason.startswith("duplicate system name; first used in test.csv row 2")
    if twin != "GPT-3":
        assert reason.endswith(f"as 'GPT-3' (here '{shown}')")


def test_dashes_and_decomposed_letters_fold_too():
    rows = [
        {"system": "Caf\u00e9 LM\u20102"},  # é composed, a U+2010 hyphen
        {"system": "Cafe\u0301 LM-2"},  # e + combining accent, an ASCII hyphen
    ]
    systems, rejects = validate(raw_frame(rows))
    assert systems.height == 1 and rejects.height == 1


def test_exact_duplicates_keep_their_reason():
    rows = [{"system": "X"}, {"system": "X"}]
    _, rejects = validate(raw_frame(rows))
    assert rejects["reason"].to_list() == ["duplicate system name; first used in test.csv row 2"]

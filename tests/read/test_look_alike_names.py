"""System names that a reader cannot tell apart are one system: the later row is a duplicate,
and its reason shows both spellings."""

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.read.validate import validate
from schemas.systems import INVISIBLE, system_key
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


# The definition the key's shortcut (ASCII names skip the Unicode steps) must agree with.
def _every_step(system: pl.Expr) -> pl.Expr:
    return (
        system.str.normalize("NFKC")
        .str.replace_all(f"[{INVISIBLE}]", "")
        .str.replace_all("[\u2010-\u2015\u2212]", "-")
        .str.strip_chars()
        .str.to_lowercase()
    )


LOOK_ALIKE_PARTS = ["GPT", "-", " ", "\u3000", "ﬁ", "Ｌ", "é", "e\u0301", "ß", "ǅ", "①", "\u00ad",
                    "\u200b", "\u2212", "\u2013", "\ufeff", "Ⅻ", "x", "3"]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.text(max_size=12),
            st.lists(st.sampled_from(LOOK_ALIKE_PARTS), max_size=6).map("".join),
        ),
        max_size=30,
    )
)
def test_the_key_is_every_step_applied_to_every_name(names):
    frame = pl.DataFrame({"system": names}, schema={"system": pl.String})
    fast = frame.select(system_key(pl.col("system"))).to_series()
    full = frame.select(_every_step(pl.col("system"))).to_series()
    assert fast.to_list() == full.to_list()

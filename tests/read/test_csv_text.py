"""The well-formed CSV test of csv_text.py: one fast pass, equal to reading cell by cell."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from pipeline.read.csv_text import _QUOTED, _Grammar


def cell_by_cell(separator: bytes) -> re.Pattern:
    """The definition, written the slow way: records of cells, each quoted whole or holding no
    quote, separated by `separator`, each record ending a line but the last."""
    sep = re.escape(separator)
    cell = rb"(?:" + _QUOTED + rb'|[^"' + sep + rb"\r\n]*+)"
    record = cell + rb"(?:" + sep + cell + rb")*+"
    return re.compile(rb"(?:" + record + rb"(?:\r\n|\n|\r))*+" + record + rb"\Z")


@given(
    st.sampled_from([b",", b";", b"\t"]),
    st.lists(st.sampled_from([b"a", b"1", b'"', b'""', b"\n", b"\r", b"\r\n", b",", b";", b"\t"])),
)
def test_well_formed_is_the_cell_by_cell_grammar(separator: bytes, pieces: list[bytes]) -> None:
    text = b"".join(pieces)
    fast = _Grammar(separator).well_formed.match(text) is not None
    assert fast == (cell_by_cell(separator).match(text) is not None)


def test_well_formed_examples() -> None:
    grammar = _Grammar(b",")
    for text in (b'a,"b,c"\n"d ""e"""', b'"x"\r\n"y\ny",z', b"", b'""'):
        assert grammar.well_formed.match(text), text
    for text in (b'5" disk,a', b'"Big" model,a', b'a,"open', b'a"b"'):
        assert not grammar.well_formed.match(text), text

"""The range a training compute figure can take, shared by both methods: a figure outside it
comes from a cell off by orders of magnitude, or past the float range, and is not used."""

from __future__ import annotations

import polars as pl

from pipeline.estimate.formatting import sci
from schemas.systems import PLAUSIBLE_FLOP, PLAUSIBLE_FLOP_TEXT

# The ending of the out-of-range note; the calculators find it in a row's notes to say why it
# failed.
OUT_OF_RANGE_NOTE = (
    f", outside {PLAUSIBLE_FLOP_TEXT}: an input is off by orders of magnitude, so it was not used"
)


def plausible(flop: pl.Expr) -> pl.Expr:
    """`flop` where it lies in PLAUSIBLE_FLOP, else null (NaN and infinity included)."""
    return pl.when(flop.is_between(*PLAUSIBLE_FLOP)).then(flop)


def out_of_range(raw: str, method: str) -> tuple[pl.Expr, pl.Expr]:
    """The out-of-range flag and note of one method whose unchecked figure is `raw`."""
    figure = pl.col(raw)
    size = (
        pl.when(figure.is_finite() & (figure > 0))
        .then(pl.concat_str([sci(figure), pl.lit(" FLOP")]))
        .when(figure.is_finite())
        .then(pl.lit("less than the smallest float"))
        .otherwise(pl.lit("more than a float holds"))
    )
    return (
        figure.is_not_null() & plausible(figure).is_null(),
        pl.concat_str([
            pl.lit(f"{method} comes to "), size, pl.lit(OUT_OF_RANGE_NOTE),
        ]),
    )  # fmt: skip

"""Number formatting as polars expressions, for the `notes` and `summary` columns.

Kept in polars (not Python f-strings) so that a million rows are annotated in one pass and
the calculators print exactly what the batch job writes. A value a format names more than
once is computed once (`shared`): polars evaluates every copy of an expression it is given.
"""

from __future__ import annotations

import polars as pl

from pipeline.frames import shared


def _fixed(scaled_integer: pl.Expr, places: int) -> pl.Expr:
    if places == 0:
        return scaled_integer.cast(pl.String)
    base = 10**places
    whole = (scaled_integer // base).cast(pl.String)
    fraction = (scaled_integer % base).cast(pl.String).str.zfill(places)
    return pl.concat_str([whole, pl.lit("."), fraction])


def sci(value: pl.Expr) -> pl.Expr:
    """6.5e10 style: a mantissa with one decimal, 'e', the exponent. Positive values only."""
    return _scientific(value, 1)


def as_given(value: pl.Expr) -> pl.Expr:
    """1.75e11 style with every digit the figure has (175B is 1.75e11, 6,053,381,344 is
    6.053381344e9, 3e11 is 3.0e11): for figures a user gave, which a sentence repeats as given.
    Positive values only."""
    # Rounded to 12 decimals: what division by a power of ten adds in the last bits goes.
    return _scientific(value, 12)


def _scientific(value: pl.Expr, decimals: int) -> pl.Expr:
    def with_exponent(value: pl.Expr, exponent: pl.Expr) -> pl.Expr:
        mantissa = (value / pl.lit(10.0).pow(exponent)).round(decimals)
        return shared(with_mantissa, exponent=exponent, mantissa=mantissa)

    def with_mantissa(exponent: pl.Expr, mantissa: pl.Expr) -> pl.Expr:
        carry = mantissa >= 10  # 9.96 rounds to 10.0: write 1.0e(n+1)
        return shared(written, carry=carry, exponent=exponent, mantissa=mantissa)

    def written(carry: pl.Expr, exponent: pl.Expr, mantissa: pl.Expr) -> pl.Expr:
        exponent = pl.when(carry).then(exponent + 1).otherwise(exponent)
        mantissa = pl.when(carry).then((mantissa / 10).round(decimals)).otherwise(mantissa)
        # A float rounded to its decimals prints as its shortest form: "6.5", "1.0".
        return pl.concat_str(
            [mantissa.cast(pl.String), pl.lit("e"), exponent.cast(pl.Int64, strict=False)]
        )

    return shared(with_exponent, value=value, exponent=value.abs().log10().floor())


def fixed(value: pl.Expr, places: int = 2) -> pl.Expr:
    """0.30 style: exactly `places` decimals."""
    return _fixed((value * 10**places).round().cast(pl.Int64, strict=False), places)


def short(value: pl.Expr) -> pl.Expr:
    """8, 2.5, 0.35, or 1.2e6 for large values: what a person would write."""

    def written(value: pl.Expr) -> pl.Expr:
        trimmed = value.round(2).cast(pl.String).str.strip_suffix(".0")
        return pl.when(value >= 1e6).then(sci(value)).otherwise(trimmed)

    return shared(written, value=value)


def plural(count: pl.Expr, singular: str, plural_form: str | None = None) -> pl.Expr:
    word = (
        pl.when(count == 1).then(pl.lit(singular)).otherwise(pl.lit(plural_form or singular + "s"))
    )
    return pl.concat_str([short(count), pl.lit(" "), word])


def duration(hours: pl.Expr) -> pl.Expr:
    """'36 hours', '3 days', '2.5 days'."""
    return pl.when(hours < 48).then(plural(hours, "hour")).otherwise(plural(hours / 24, "day"))

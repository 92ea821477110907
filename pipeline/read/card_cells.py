"""Model-card cells: what a cell copied from a model card carries besides its value.

`pipeline.read.validate.parse_cells` reads these forms, column at a time, alongside the
parsers of `pipeline.read.parsing` (which read "3 trillion" and "15T" as numbers):

- a lower bound, `15T+` or `>15T`, in any number or count column: read as its figure, the
  column and cell named in `_lower_bounds` (the estimate's flag `value_is_lower_bound`);
- a dataset size with its unit, `402 billion tokens`: the unit fills a blank `dataset_unit`;
- a chip count before the chip's name, `96xA100-80G`, `1,920 H100`: the count fills a blank
  `hardware_quantity`, the name stays in `hardware`;
- an architecture size with a k, `4k`: 4096, where the column is a count of a shape
  (`schemas.systems.ARCHITECTURE_COLUMNS`); k stays 1000 for parameters, chips and data.

A cell that says what another column says must agree with it: a count or unit that differs
from a given `hardware_quantity` or `dataset_unit` rejects the row, naming both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial

import polars as pl

from pipeline.estimate.hardware import MULTIPLE_HARDWARE_PATTERN
from pipeline.read.parsing import (
    EXPECTED,
    SUFFIX_MULTIPLIERS,
    UNIT_ALIASES,
    parse_count,
    parse_number,
    parse_unit,
)
from schemas.systems import ARCHITECTURE_COLUMNS

Parser = Callable[[pl.Expr], pl.Expr]

# Widths, heads, vocabularies and context lengths are powers of two or near them: a paper's
# "4k context" is 4096 tokens. A spelled-out "4 thousand" still means 4000.
ARCHITECTURE_SIZES = frozenset(c for c, kind in ARCHITECTURE_COLUMNS.items() if kind == "count")
SIZE_MULTIPLIERS = {**SUFFIX_MULTIPLIERS, "k": 1024.0}

# ">15T", ">= 15T", "≥15T" before the figure; "15T+" or "15T+ tokens" after it. A "+" with
# digits after it is an exponent's sign ("1e+23") and not a bound.
_BOUND_BEFORE = r"^\s*(?:>=?|≥)\s*"
_BOUND_AFTER = r"(?i)\+(\s*[a-z]*\s*)$"

# The units a dataset size may name, as `dataset_unit` spells them; longest first so that
# "samples" is not read as "sample" and a stray "s".
_UNIT_WORDS = sorted({*UNIT_ALIASES, *UNIT_ALIASES.values()}, key=len, reverse=True)
_SIZE_WITH_UNIT = rf"(?is)^(.+?)\s*({'|'.join(_UNIT_WORDS)})\s*$"

# The word a count of training tokens may end with.
_TOKENS_WORD = r"(?i)\s*tokens?\s*$"

# A count, then a times sign or a space, then a name that starts with a letter. The letter x
# is a times sign only glued to the count ("96xA100") or standing alone ("96 x A100"), so that
# "8 Xeon" is eight Xeons. A count starts at 1; thousands separators as in number cells.
_COUNT = r"[1-9]\d{0,2}(?:,\d{3})+|[1-9]\d*"
_CHIPS = rf"(?is)^\s*({_COUNT})(?:\s*[×*]\s*|x\s*|\s+x\s+|\s+)([a-z].*?)\s*$"
# What cannot start the name after a count: a word that finishes a model number ("1080 Ti"
# is one chip, not 1080 of them), or a lone x whose other side is no name ("8 x 8").
_NOT_A_NAME = r"(?i)^(?:ti|super|xtx?|x)\b"


def without_bound(cell: pl.Expr) -> pl.Expr:
    """The cell without the marks of a lower bound (">15T" and "15T+" are "15T")."""
    return cell.str.replace(_BOUND_BEFORE, "").str.replace(_BOUND_AFTER, "${1}")


def bound_cell(cell: pl.Expr) -> pl.Expr:
    """The cell, trimmed, where it is marked as a lower bound; null elsewhere."""
    marked = cell.str.contains(_BOUND_BEFORE) | cell.str.contains(_BOUND_AFTER)
    return pl.when(marked).then(cell.str.strip_chars())


def _size_parts(cell: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(the cell without its unit, the unit as `dataset_unit` reads it) of a dataset size;
    the cell itself and a null unit where it names none."""
    parts = cell.str.extract_groups(_SIZE_WITH_UNIT)
    unit = parts.struct.field("2")
    number = pl.when(unit.is_not_null()).then(parts.struct.field("1")).otherwise(cell)
    return number, parse_unit(unit)


def size_unit(cell: pl.Expr) -> pl.Expr:
    """The unit a dataset size cell names ("402 billion tokens": tokens), or null."""
    return _size_parts(without_bound(cell))[1]


def _chip_parts(cell: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(count, name) of a hardware cell naming a count first; (null, the cell) otherwise.
    A cell naming several chip types keeps its text: its counts are not one chip count."""
    parts = cell.str.extract_groups(_CHIPS)
    count, name = parts.struct.field("1"), parts.struct.field("2")
    split = ~name.str.contains(_NOT_A_NAME) & ~name.str.contains(MULTIPLE_HARDWARE_PATTERN)
    split = split.fill_null(False)
    return pl.when(split).then(parse_count(count)), pl.when(split).then(name).otherwise(cell)


def chip_count(cell: pl.Expr) -> pl.Expr:
    """The chip count a hardware cell names before the chip ("96 x A100": 96), or null."""
    return _chip_parts(cell)[0]


@dataclass(frozen=True)
class CardForms:
    """Which columns of a sheet hold model-card forms: the number and count columns with a
    mark of a lower bound somewhere, and whether a dataset size names a unit or a hardware
    cell a count. Rewriting every cell would make a sheet of plain numbers half again as slow
    to parse; a column without a mark is parsed as it always was."""

    bounds: tuple[str, ...] = ()
    unit: bool = False
    chips: bool = False
    sizes: tuple[str, ...] = ()


def card_forms(raw: pl.DataFrame, kinds: Mapping[str, str]) -> CardForms:
    """The forms the cells of `raw` (text cells, columns of `kinds`) may hold."""
    numeric = [c for c, kind in kinds.items() if kind in ("number", "count")]
    # Searches far cheaper than rewriting every cell; a "+" is looked at only at the end, as
    # exponents ("1e+23") fill exports.
    marks = [
        (pl.col(c).str.contains_any([">", "≥"]) | pl.col(c).str.contains(_BOUND_AFTER))
        .any()
        .alias(c)
        for c in numeric
    ]
    checks = [
        *marks,
        *(
            [pl.col("dataset_size").str.contains_any(_UNIT_WORDS, ascii_case_insensitive=True)
             .any().alias("_unit")]
            if "dataset_size" in kinds else []
        ),
        *(
            [pl.col("hardware").str.contains(r"^\s*[1-9]").any().alias("_chips")]
            if "hardware" in kinds else []
        ),
    ]  # fmt: skip
    found = raw.select(checks).row(0, named=True) if checks else {}
    return CardForms(
        bounds=tuple(c for c in numeric if found.get(c)),
        unit=bool(found.get("_unit")),
        chips=bool(found.get("_chips")),
        sizes=tuple(c for c, kind in kinds.items() if kind == "count" and c in ARCHITECTURE_SIZES),
    )


def card_parsers(forms: CardForms, parsers: Mapping[str, Parser]) -> dict[str, Parser]:
    """`parsers` (column -> parser of its cells) reading the model-card forms too."""
    read: dict[str, Parser] = dict(parsers)
    if "training_tokens" in read:  # "402 billion tokens": the unit is the column's own
        parse_tokens = read["training_tokens"]
        read["training_tokens"] = lambda cell: parse_tokens(cell.str.replace(_TOKENS_WORD, ""))
    for column in forms.sizes:
        read[column] = partial(parse_number, multipliers=SIZE_MULTIPLIERS)
    for column in forms.bounds:
        read[column] = lambda cell, parse=read[column]: parse(without_bound(cell))
    if forms.unit:
        parse = read["dataset_size"]
        read["dataset_size"] = lambda cell: parse(_size_parts(cell)[0])
    if forms.chips:
        parse_chip = read["hardware"]
        read["hardware"] = lambda cell: parse_chip(_chip_parts(cell)[1])
    return read


def card_facts(forms: CardForms) -> dict[str, tuple[str, Parser]]:
    """Working columns read from the cells as written, alongside their values: name ->
    (column read, reader). `settle_card_cells` turns them into values and reasons."""
    facts = {f"_bound_{column}": (column, bound_cell) for column in forms.bounds}
    if forms.unit:
        facts["_card_unit"] = ("dataset_size", size_unit)
    if forms.chips:
        facts["_card_chips"] = ("hardware", chip_count)
    return facts


def settle_card_cells(frame: pl.LazyFrame, forms: CardForms) -> pl.LazyFrame:
    """After parsing: the counts and units the cells named fill their blank columns,
    `_lower_bounds` names the cells read as lower bounds, and `_card_reason_<column>` says
    where a cell disagrees with the column it repeats. The working columns are dropped."""
    facts = card_facts(forms)
    bounds = [
        pl.when(pl.col(fact).is_not_null() & pl.col(column).is_not_null()).then(
            pl.concat_str([pl.lit(f"{column} '"), pl.col(fact), pl.lit("'")])
        )
        for fact, (column, _) in facts.items()
        if fact.startswith("_bound_")
    ]
    listed = pl.concat_str(bounds, separator=", ", ignore_nulls=True) if bounds else pl.lit("")
    reasons = []
    if "_card_chips" in facts:
        chips, given = pl.col("_card_chips"), pl.col("hardware_quantity")
        reasons.append(
            pl.when(chips.is_not_null() & given.is_not_null() & (chips != given))
            .then(pl.concat_str([
                pl.lit("names "), chips.cast(pl.String), pl.lit(" chips but hardware_quantity is "),
                given.cast(pl.String), pl.lit(f": expected {EXPECTED['chip_count']}"),
            ]))
            .alias("_card_reason_hardware")
        )  # fmt: skip
    if "_card_unit" in facts:
        unit, given = pl.col("_card_unit"), pl.col("dataset_unit")
        reasons.append(
            pl.when(unit.is_not_null() & given.is_not_null() & (unit != given))
            .then(pl.concat_str([
                pl.lit("names the unit '"), unit, pl.lit("' but dataset_unit is '"), given,
                pl.lit(f"': expected {EXPECTED['size_unit']}"),
            ]))
            .alias("_card_reason_dataset_size")
        )  # fmt: skip
    fills = []
    if "_card_chips" in facts:
        fills.append(pl.coalesce("hardware_quantity", "_card_chips").alias("hardware_quantity"))
    if "_card_unit" in facts:
        named = pl.when(pl.col("dataset_size").is_not_null()).then(pl.col("_card_unit"))
        fills.append(pl.coalesce(pl.col("dataset_unit"), named).alias("dataset_unit"))
    return (
        frame.with_columns(pl.when(listed != "").then(listed).alias("_lower_bounds"), *reasons)
        .with_columns(fills)
        .drop(facts)
    )


def card_failures(parsed: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(`parsed` without its `_card_reason_*` columns, their reasons as [_row, column,
    reason])."""
    columns = [c for c in parsed.columns if c.startswith("_card_reason_")]
    failures = pl.DataFrame(schema={"_row": pl.Int64, "column": pl.String, "reason": pl.String})
    if columns:
        failures = (
            parsed.select(
                pl.int_range(pl.len(), dtype=pl.Int64).alias("_row"),
                *(pl.col(c).alias(c.removeprefix("_card_reason_")) for c in columns),
            )
            .unpivot(index="_row", variable_name="column", value_name="reason")
            .filter(pl.col("reason").is_not_null())
        )
    return parsed.drop(columns), failures

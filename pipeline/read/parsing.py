"""Cell parsers: polars expressions that turn text cells into typed values.

Every cell is read as text and parsed here, column at a time. A parser returns null for a
cell it cannot read; `pipeline.read.validate` tells a missing cell from an unreadable one.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from pipeline.frames import shared
from schemas.systems import DOMAINS, PRECISIONS, TRAINING_STAGES

MISSING_TOKENS = ("", "n/a", "na", "unknown", "?", "-", "–", "—", "none", "null", "nan")

# Model cards spell the multiplier out ("3 trillion", "1.5 million"); a word is always decimal.
NUMBER_WORDS = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
SUFFIX_MULTIPLIERS = {
    "": 1.0, "k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12, "p": 1e15,
    **{word + plural: value for word, value in NUMBER_WORDS.items() for plural in ("", "s")},
}  # fmt: skip
# Longest first, so that the whole word is taken and not its first letter.
_SUFFIXES = sorted(filter(None, SUFFIX_MULTIPLIERS), key=len, reverse=True)
SUFFIX_PATTERN = "(?:" + "|".join(_SUFFIXES) + ")?"
# Publication years outside are typos (0000, 2202 for 2022): machine learning begins in the 1950s.
DATE_YEARS = (1900, 2100)

# A cell longer than this is not a value a paper reports (a pasted page, a corrupted export):
# its row is rejected before any pattern runs over it, and a text column says why.
MAX_CELL_CHARS = 100_000

# Commas only as thousands separators: "1,000,000" yes; "1,5" (a decimal comma) and "1,00" no.
THOUSANDS = r"^[^,]*?\d{1,3}(?:,\d{3})+(?:[^,\d][^,]*)?$"

HOURS_PER_UNIT = {
    "": 1.0,
    "s": 1 / 3600,
    "sec": 1 / 3600,
    "secs": 1 / 3600,
    "second": 1 / 3600,
    "seconds": 1 / 3600,
    "min": 1 / 60,
    "mins": 1 / 60,
    "minute": 1 / 60,
    "minutes": 1 / 60,
    "h": 1.0,
    "hr": 1.0,
    "hrs": 1.0,
    "hour": 1.0,
    "hours": 1.0,
    "d": 24.0,
    "day": 24.0,
    "days": 24.0,
    "w": 168.0,
    "wk": 168.0,
    "wks": 168.0,
    "week": 168.0,
    "weeks": 168.0,
    "mo": 730.5,
    "month": 730.5,
    "months": 730.5,
    "y": 8766.0,
    "yr": 8766.0,
    "yrs": 8766.0,
    "year": 8766.0,
    "years": 8766.0,
}

# Spellings papers use for number formats. "mixed" and "half" are mixed-precision training on
# 16-bit tensor units, whose peak is the same for fp16 and bf16 on every chip in the table.
PRECISION_ALIASES = {
    **{p: p for p in PRECISIONS},
    "float64": "fp64",
    "double": "fp64",
    "float32": "fp32",
    "single": "fp32",
    "full": "fp32",
    "tensorfloat32": "tf32",
    "float16": "fp16",
    "half": "fp16",
    "mixed": "fp16",
    "mixedprecision": "fp16",
    "amp": "fp16",
    "fp16mixed": "fp16",
    "bfloat16": "bf16",
    "bf16mixed": "bf16",
    "float8": "fp8",
    "e4m3": "fp8",
    "e5m2": "fp8",
    # block-scaled formats run at their element type's peak
    "mxfp8": "fp8",
    "float4": "fp4",
    "e2m1": "fp4",
    "nvfp4": "fp4",
    "mxfp4": "fp4",
    "int8": "int8",
}

DOMAIN_ALIASES = {
    **{d: d for d in DOMAINS},
    "nlp": "language",
    "text": "language",
    "image": "vision",
    "images": "vision",
    "computervision": "vision",
    "cv": "vision",
    "video": "vision",
    "audio": "speech",
    "game": "games",
    "gameplaying": "games",
    "multimodality": "multimodal",
    "bio": "biology",
    "recommender": "recommendation",
    "recsys": "recommendation",
    "robot": "robotics",
    "imagegeneration": "vision",
    "3dmodeling": "vision",
    "medicine": "biology",
    "mathematics": "other",
    "earthscience": "other",
    "materialsscience": "other",
    "search": "other",
    "driving": "robotics",
}

# Spellings of the training stages, keyed as `_lookup` compares them (lower case, letters and
# digits only).
STAGE_ALIASES = {
    **{stage.replace("-", ""): stage for stage in TRAINING_STAGES},
    "pretraining": "pre-training", "pretrain": "pre-training", "pretrained": "pre-training",
    "continuedpretraining": "continued-pre-training", "midtraining": "continued-pre-training",
    "finetune": "fine-tuning", "finetuning": "fine-tuning", "sft": "fine-tuning",
    "supervisedfinetuning": "fine-tuning", "instructiontuning": "fine-tuning",
    "rl": "reinforcement-learning", "rlhf": "reinforcement-learning",
    "reinforcementlearning": "reinforcement-learning", "rlvr": "reinforcement-learning",
    "posttraining": "post-training",
    "merge": "merge", "merging": "merge", "modelmerge": "merge", "initialisingweights": "merge",
    "initializingweights": "merge", "initialization": "merge", "initialisation": "merge",
    "syntheticdata": "synthetic-data", "syntheticdatageneration": "synthetic-data",
    "datageneration": "synthetic-data",
    "teacher": "distillation-teacher", "distillationteacher": "distillation-teacher",
    "rewardmodel": "reward-model", "valuemodel": "reward-model", "rewardmodelling": "reward-model",
}  # fmt: skip

UNIT_ALIASES = {
    "token": "tokens",
    "word": "words",
    "image": "images",
    "example": "examples",
    "sample": "examples",
    "samples": "examples",
    "datapoint": "examples",
    "datapoints": "examples",
    "sequence": "sequences",
    "frame": "frames",
    "game": "games",
    "step": "steps",
}

EXPECTED = {
    "number": "a number such as 1.75e11, 175B or 1,000,000",
    "count": "a whole number such as 1024",
    "duration": 'a duration: hours as a number, or a number with a unit such as "21 days", "3 weeks", "90 min"',
    "date": f"a date as YYYY-MM-DD, YYYY-MM or YYYY, from {DATE_YEARS[0]} to {DATE_YEARS[1]}",
    "domain": "one of " + ", ".join(DOMAINS),
    "precision": "one of " + ", ".join(PRECISIONS) + " (or mixed, half, bfloat16, float32, ...)",
    "utilization": 'a fraction in (0, 1] or a percentage such as "40%"',
    "flag": "yes or no (true/false, 1/0)",
    "text": f"text of at most {MAX_CELL_CHARS:,} characters",
    "unit": f"a unit of at most {MAX_CELL_CHARS:,} characters, such as tokens or images",
    # Not kinds: what a cell that repeats another column must agree on (card_cells.py).
    "chip_count": "the same chip count as hardware_quantity, or hardware_quantity blank",
    "size_unit": "the same unit as dataset_unit, or dataset_unit blank",
    "stage": "a training stage: one of " + ", ".join(TRAINING_STAGES),
}

_NUMBER = r"([+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)"


def within_cap(cell: pl.Expr) -> pl.Expr:
    """The cell, or null when it is longer than MAX_CELL_CHARS."""
    return pl.when(cell.str.len_chars() <= MAX_CELL_CHARS).then(cell)


def is_missing(cell: pl.Expr) -> pl.Expr:
    """Blank cells and the usual spellings of 'not known'."""
    return cell.is_null() | cell.str.strip_chars().str.to_lowercase().is_in(MISSING_TOKENS)


def _number_and_unit(
    cell: pl.Expr, unit_pattern: str, use: Callable[[pl.Expr, pl.Expr], pl.Expr]
) -> pl.Expr:
    """`use(number, lower-case unit text)` of a cell; both null when it is not number + unit.

    Spaces and thousands separators go first; one case-insensitive pattern then takes an
    optional "~", the number, an optional "x 10^k" or "x b" and the unit, so "3.1 x 10^23" is
    3.1e23 and "2 x 100" is 200. A power of ten needs its caret: "5 x 1024" is 5120, not 5e24.
    A product is of two plain numbers only; "2 x 100B" is unreadable rather than guessed at.
    """
    cell = within_cap(cell)
    squeezed = cell.str.replace_all(r"[\s,_'\u00a0\u2009]", "")
    parts = squeezed.str.extract_groups(
        rf"(?i)^[~≈]?{_NUMBER}(?:[x×*](?:10(?:\^|\*\*)\(?([+-]?\d+)\)?|{_NUMBER}))?({unit_pattern})$"
    )
    misplaced_comma = cell.str.contains(",", literal=True) & ~cell.str.contains(THOUSANDS)

    def read(parts: pl.Expr, misplaced_comma: pl.Expr) -> pl.Expr:
        mantissa, power, times = (parts.struct.field(g) for g in ("1", "2", "3"))
        unit = parts.struct.field("4").str.to_lowercase()
        left, right = (part.cast(pl.Float64, strict=False) for part in (mantissa, times))
        product = (left * right).round_sig_figs(15)
        exponent = pl.concat_str([mantissa, pl.lit("e"), power]).cast(pl.Float64, strict=False)
        number = (
            pl.when(times.is_not_null())
            .then(pl.when(unit == "").then(product))
            .when(power.is_null())
            .then(left)
            .otherwise(exponent)
        )
        return shared(use, number=pl.when(~misplaced_comma).then(number), unit=unit)

    return shared(read, parts=parts, misplaced_comma=misplaced_comma)


def _scaled(number: pl.Expr, factor: pl.Expr) -> pl.Expr:
    """number x factor, rounded to 15 significant digits so that 8.3B is 8.3e9 and 41% is
    0.41, not 8300000000.000001 and 0.41000000000000003."""

    def scaled(value: pl.Expr, factor: pl.Expr) -> pl.Expr:
        scaled = pl.when(factor == 1).then(value).otherwise((value * factor).round_sig_figs(15))
        return pl.when(scaled.is_finite()).then(scaled)

    return shared(scaled, value=number.cast(pl.Float64, strict=False), factor=factor)


def parse_number(cell: pl.Expr, multipliers: dict[str, float] = SUFFIX_MULTIPLIERS) -> pl.Expr:
    """Plain or scientific numbers, thousands separators, suffixes K, M, B/G, T, P and the
    words thousand, million, billion, trillion ("3 trillion"). `multipliers` gives another
    meaning to a suffix (an architecture size's k is 1024: `pipeline.read.card_cells`)."""

    def scale(number: pl.Expr, unit: pl.Expr) -> pl.Expr:
        return _scaled(
            number, unit.replace_strict(multipliers, default=None, return_dtype=pl.Float64)
        )

    return _number_and_unit(cell, SUFFIX_PATTERN, scale)


def parse_count(cell: pl.Expr) -> pl.Expr:
    """A whole number (chips): "1,024", "1024", "1.0", "1K"; 2.5 is not a count."""
    return whole_number(parse_number(cell))


def whole_number(value: pl.Expr) -> pl.Expr:
    """A parsed number that is whole, as an integer; null otherwise."""
    return shared(
        lambda value: pl.when(value == value.floor()).then(value).cast(pl.Int64, strict=False),
        value=value,
    )


def parse_duration_hours(cell: pl.Expr) -> pl.Expr:
    """Hours as a number, or a number with a unit: "21 days", "3 weeks", "90 min"."""

    def scale(number: pl.Expr, unit: pl.Expr) -> pl.Expr:
        return _scaled(
            number, unit.replace_strict(HOURS_PER_UNIT, default=None, return_dtype=pl.Float64)
        )

    return _number_and_unit(cell, "[a-z]*", scale)


def parse_date(cell: pl.Expr) -> pl.Expr:
    """YYYY-MM-DD, YYYY-MM or YYYY. A time of day after the date (as Excel and Parquet
    timestamps give it, with or without a time zone) is ignored."""
    cell = within_cap(cell)
    parts = cell.str.strip_chars().str.extract_groups(
        r"^(\d{4})(?:[-/](\d{1,2}))?(?:[-/](\d{1,2}))?"
        r"(?:[ T](?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
    )

    def read(parts: pl.Expr) -> pl.Expr:
        year = parts.struct.field("1")
        month = parts.struct.field("2").fill_null("1").str.zfill(2)
        day = parts.struct.field("3").fill_null("1").str.zfill(2)
        return pl.concat_str([year, month, day], separator="-").str.to_date(
            "%Y-%m-%d", strict=False
        )

    def in_years(date: pl.Expr) -> pl.Expr:
        return pl.when(date.dt.year().is_between(*DATE_YEARS)).then(date)

    return shared(in_years, date=shared(read, parts=parts))


def parse_utilization(cell: pl.Expr) -> pl.Expr:
    """A fraction (0.4) or a percentage ("40%"). Range is checked by the schema, not here."""

    def scale(number: pl.Expr, unit: pl.Expr) -> pl.Expr:
        return _scaled(number, pl.when(unit == "%").then(pl.lit(0.01)).otherwise(pl.lit(1.0)))

    return _number_and_unit(cell, "%?", scale)


def _lookup(cell: pl.Expr, aliases: dict[str, str]) -> pl.Expr:
    key = within_cap(cell).str.to_lowercase().str.replace_all(r"[^a-z0-9]", "")
    return key.replace_strict(aliases, default=None, return_dtype=pl.String)


def parse_precision(cell: pl.Expr) -> pl.Expr:
    return _lookup(cell, PRECISION_ALIASES)


def parse_stage(cell: pl.Expr) -> pl.Expr:
    return _lookup(cell, STAGE_ALIASES)


def parse_domain(cell: pl.Expr) -> pl.Expr:
    """One domain, or several joined by commas: several distinct ones make 'multimodal'.
    'other' gives way to a named domain ("Mathematics, Language" is language)."""
    cell = within_cap(cell)
    parts = cell.str.replace_all(r"[;/&+]", ",").str.split(",")
    mapped = parts.list.eval(_lookup(pl.element(), DOMAIN_ALIASES))
    distinct = mapped.list.unique(maintain_order=True)
    named = distinct.list.eval(pl.element().filter(pl.element() != "other"))
    distinct = pl.when(named.list.len() > 0).then(named).otherwise(distinct)
    any_unknown = mapped.list.eval(pl.element().is_null()).list.any()
    return (
        pl.when(cell.is_null() | any_unknown)
        .then(None)
        .when(distinct.list.len() == 1)
        .then(distinct.list.first())
        .otherwise(pl.lit("multimodal"))
    )


def parse_unit(cell: pl.Expr) -> pl.Expr:
    """Dataset units, lower-cased, singular spellings made plural."""
    unit = within_cap(cell).str.strip_chars().str.to_lowercase()
    return unit.replace(UNIT_ALIASES)


def parse_text(cell: pl.Expr) -> pl.Expr:
    """Text cells lose surrounding white space (Epoch exports end some names with newlines)."""
    return within_cap(cell).str.strip_chars()


TRUE_WORDS = ("true", "yes", "y", "1", "t", "x")
FALSE_WORDS = ("false", "no", "n", "0", "f")
# A flag column also takes the words that describe it (a gated MLP: "swiglu"), and only its own:
# "causal" answers `causal`, not `gated_mlp`.
FLAG_WORDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "gated_mlp": (("gated", "swiglu", "geglu", "glu"), ("dense", "ungated")),
    "tied_embeddings": (("tied", "shared"), ("untied",)),
    "causal": (("causal", "decoder", "autoregressive"), ("bidirectional", "encoder")),
    "mixture_of_experts": (("moe", "sparse"), ("dense",)),
}


def parse_flag(cell: pl.Expr, column: str | None = None) -> pl.Expr:
    """Yes/no cells: true/false, yes/no, y/n, 1/0 (any case), or the words that describe
    `column` (`FLAG_WORDS`); anything else is null."""
    true_words, false_words = FLAG_WORDS.get(column or "", ((), ()))
    word = within_cap(cell.cast(pl.String)).str.strip_chars().str.to_lowercase()
    return (
        pl.when(word.is_in(TRUE_WORDS + true_words))
        .then(pl.lit(True))
        .when(word.is_in(FALSE_WORDS + false_words))
        .then(pl.lit(False))
        .otherwise(pl.lit(None, dtype=pl.Boolean))
    )


PARSERS: dict[str, Callable[[pl.Expr], pl.Expr]] = {
    "text": parse_text,
    "unit": parse_unit,
    "number": parse_number,
    "count": parse_count,
    "duration": parse_duration_hours,
    "date": parse_date,
    "domain": parse_domain,
    "precision": parse_precision,
    "utilization": parse_utilization,
    "flag": parse_flag,
    "stage": parse_stage,
}

# The type each kind of cell parses to (a blank column is typed nulls of it).
KIND_DTYPES: dict[str, pl.DataType] = {
    "text": pl.String(), "unit": pl.String(), "number": pl.Float64(), "count": pl.Int64(),
    "duration": pl.Float64(), "date": pl.Date(), "domain": pl.String(),
    "precision": pl.String(), "utilization": pl.Float64(), "flag": pl.Boolean(),
    "stage": pl.String(),
}  # fmt: skip

"""The hardware table: loading it, resolving the names papers use, and choosing the peak.

Names resolve by key: lower-case, vendor words dropped, punctuation and spaces dropped
("NVIDIA Tesla V100-SXM2" and "v100 sxm2" share a key), a memory size spelled as model cards
spell it read as the table spells it ("A100-80G" and "A100 80GB" share a key). A name that
matches no alias that way is tried again without its memory size ("A100 80GB" -> "A100").
"""

from __future__ import annotations

from pathlib import Path

import pandera.polars as pa
import polars as pl

from pipeline.errors import InputFileError
from pipeline.frames import collect, join_beside
from pipeline.read.files import FIRST_DATA_ROW
from pipeline.read.small_files import read_small_text
from pipeline.resources import HARDWARE_TABLE
from schemas.hardware import PEAK_COLUMNS, HardwareSchema

VENDOR_WORDS = (
    "nvidia", "google", "cloud", "amd", "instinct", "radeon", "intel", "habana",
    "huawei", "amazon", "aws", "tesla", "geforce", "gpus?", "accelerators?",
)  # fmt: skip

# Separators of a cell naming several chip types ("V100, A100"); such a row has no method 2.
# What separates chip names in one cell: "V100, A100", "TPU v3 + v4", "A100 / H100". A line
# break is not: spreadsheet users wrap one long name onto two lines ("NVIDIA A100 SXM4\n80 GB").
MULTIPLE_HARDWARE_PATTERN = r",|;|\+|&|\band\b|\s/\s"

# precision -> peaks to try in order, each (table column, label of the format used)
PEAK_CHOICES: dict[str | None, list[tuple[str, str]]] = {
    None: [("tensor_16bit", "fp16/bf16 tensor"), ("fp32", "fp32")],
    "fp16": [("tensor_16bit", "fp16/bf16 tensor"), ("fp16", "fp16"), ("fp32", "fp32")],
    "bf16": [("tensor_16bit", "fp16/bf16 tensor"), ("fp16", "fp16"), ("fp32", "fp32")],
    "tf32": [("tf32", "tf32"), ("fp32", "fp32")],
    # fp32 on NVIDIA tensor cores and TPUs: see `table_peak`.
    "fp32": [("fp32", "fp32"), ("tf32", "tf32"), ("tensor_16bit", "fp16/bf16 tensor")],
    "fp64": [("fp64", "fp64"), ("fp32", "fp32")],
    "fp8": [("fp8", "fp8"), ("tensor_16bit", "fp16/bf16 tensor")],
    "fp4": [("fp4", "fp4"), ("fp8", "fp8"), ("tensor_16bit", "fp16/bf16 tensor")],
    "int8": [("int8", "int8"), ("fp8", "fp8"), ("tensor_16bit", "fp16/bf16 tensor")],
}


# A memory size after a separator: "80GB", "-80G", " 40 GiB", "(80G)". Glued to the model
# number it is part of the name: the A10G is its own chip.
_MEMORY = r"(^|[\s\-_/(])(\d+)\s*g(?:i?b)?\b"
# Model cards' spellings of a memory size ("80G", "40GiB") rather than the table's "80GB".
CARD_MEMORY = r"(?i)(?:^|[\s\-_/(])\d+\s*g(?:ib)?\b"
# Keys of a form factor (board and interconnect), which sets a chip's peaks: "H100 PCIe" is
# one row, "H100 SXM5" another.
FORM_KEYS = r"sxm\d*|pcie|nvl(?:ink)?|dgxs|oam"


def strip_memory_size(name: pl.Expr) -> pl.Expr:
    return name.str.to_lowercase().str.replace_all(_MEMORY + r"\)?", "")


def hardware_key(name: pl.Expr) -> pl.Expr:
    vendors = r"\b(?:" + "|".join(VENDOR_WORDS) + r")\b"
    return (
        name.str.to_lowercase()
        .str.replace_all(_MEMORY, "${1}${2}gb")
        .str.replace_all(vendors, "")
        .str.replace_all(r"[^a-z0-9]", "")
    )


# Peak columns a table may leave out (added since tables were first written).
OPTIONAL_PEAK_COLUMNS = ("fp4_flop_per_second",)


def load_hardware(path: Path = HARDWARE_TABLE) -> pl.DataFrame:
    """Read and validate the hardware table. The table is reference data every estimate rests
    on, so a broken one is a file-level error naming the row, column and value."""
    text = read_small_text(Path(path), "hardware table")
    try:
        frame = pl.read_csv(text.encode(), infer_schema=False)
    except Exception as error:
        raise InputFileError(path, f"cannot read the hardware table: {error}") from None
    # A table written before a format's column existed has no peak for it.
    frame = frame.with_columns(
        pl.lit(None, pl.String).alias(c) for c in OPTIONAL_PEAK_COLUMNS if c not in frame.columns
    )
    missing = [c for c in HardwareSchema.to_schema().columns if c not in frame.columns]
    if missing:
        raise InputFileError(path, f"hardware table lacks the columns {', '.join(missing)}")
    if frame.height == 0:
        raise InputFileError(path, "hardware table has no rows")
    peak_columns = list(PEAK_COLUMNS.values())
    typed = frame.with_columns(
        pl.col(peak_columns).str.strip_chars().cast(pl.Float64, strict=False),
        pl.col("release_date").str.strip_chars().str.to_date("%Y-%m-%d", strict=False),
    )
    for column in [*peak_columns, "release_date"]:
        unread = (frame[column].str.strip_chars() != "") & typed[column].is_null()
        if unread.any():
            index = unread.arg_true()[0]
            expected = (
                "a date as YYYY-MM-DD" if column == "release_date" else "a number such as 3.12e14"
            )
            raise InputFileError(
                path,
                f"hardware table row {index + FIRST_DATA_ROW}, column {column}: "
                f"{frame[column][index]!r} is not {expected}",
            )
    try:
        typed = HardwareSchema.validate(typed, lazy=True)
    except pa.errors.SchemaErrors as errors:
        raise InputFileError(path, _first_schema_failure(errors, typed)) from None
    _check_aliases_unique(typed, path)
    return typed


def _first_schema_failure(errors: pa.errors.SchemaErrors, typed: pl.DataFrame) -> str:
    """One line for the first broken rule of the table: its row, column, value and check."""
    case = errors.failure_cases.row(0, named=True)
    index, column = case.get("index"), case.get("column")
    if case["check"] == "column_in_schema":
        known = ", ".join(HardwareSchema.to_schema().columns)
        return f"hardware table has a column {case['failure_case']!r}; expected only {known}"
    if index is None:
        return f"hardware table breaks its rule {case['check']}"
    if column not in typed.columns:
        return f"hardware table row {int(index) + FIRST_DATA_ROW} breaks its rule {case['check']}"
    return (
        f"hardware table row {int(index) + FIRST_DATA_ROW}, column {column}: "
        f"{typed[column][int(index)]!r} breaks its rule {case['check']}"
    )


def alias_frame(hardware: pl.DataFrame) -> pl.DataFrame:
    """One row per (alias, chip): the name itself and every `|`-separated alias."""
    return (
        hardware.select(
            "name",
            pl.concat_list(pl.col("name"), pl.col("aliases").fill_null("").str.split("|")).alias(
                "alias"
            ),
        )
        .with_row_index("table_order")
        .explode("alias")
        .with_columns(pl.col("alias").str.strip_chars())
        .filter(pl.col("alias") != "")
        .with_columns(
            hardware_key(pl.col("alias")).alias("key"),
            hardware_key(strip_memory_size(pl.col("alias"))).alias("short_key"),
        )
    )


def _check_aliases_unique(hardware: pl.DataFrame, path: Path) -> None:
    aliases = alias_frame(hardware).unique(["key", "name"])
    clashes = aliases.filter(pl.col("key").is_duplicated()).sort("key", "name")
    if clashes.height:
        pairs = "; ".join(
            f"{row['alias']!r} -> {row['name']}" for row in clashes.head(6).iter_rows(named=True)
        )
        raise InputFileError(path, f"hardware aliases resolve to two chips: {pairs}")


def alias_maps(hardware: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(exact key -> name, key without memory size -> name). A short key that several chips
    share goes to the chip that lists it without a memory size, else the first in the table."""
    aliases = alias_frame(hardware)
    exact = aliases.unique("key", keep="first", maintain_order=True).select("key", "name")
    short = (
        aliases.with_columns((pl.col("key") == pl.col("short_key")).alias("bare"))
        .sort(["short_key", "bare", "table_order"], descending=[False, True, False])
        .unique("short_key", keep="first", maintain_order=True)
        .select(pl.col("short_key").alias("key"), "name")
    )
    return exact, short


def form_counts(hardware: pl.DataFrame) -> pl.DataFrame:
    """`name` -> `forms`: how many rows of the table are its chip, in any form factor or
    memory size (3 for each A100 row: SXM4 40 GB, SXM4 80 GB, PCIe)."""
    family = hardware_key(strip_memory_size(pl.col("name"))).str.replace_all(FORM_KEYS, "")
    return hardware.select("name", pl.len().over(family).alias("forms"))


def match_names(names: pl.LazyFrame, hardware: pl.DataFrame) -> pl.LazyFrame:
    """For each distinct `hardware` name: `hardware_matched`, `_hardware_multiple`,
    `_hardware_form_assumed`, peaks."""
    exact, short = alias_maps(hardware)
    # One chip named twice ("TPU v4, TPU v4") is one chip.
    parts = (
        pl.col("hardware")
        .str.replace_all(MULTIPLE_HARDWARE_PATTERN, "\x1f")
        .str.split("\x1f")
        .list.eval(pl.element().str.strip_chars().filter(hardware_key(pl.element()) != ""))
    )
    kinds = parts.list.eval(hardware_key(pl.element())).list.n_unique()
    name = pl.when(kinds == 1).then(parts.list.first()).otherwise(pl.col("hardware"))
    keyed = names.with_columns(
        hardware_key(name).alias("_key"),
        hardware_key(strip_memory_size(name)).alias("_short_key"),
        (kinds > 1).fill_null(False).alias("_hardware_multiple"),
        (name.str.contains(CARD_MEMORY) & ~hardware_key(name).str.contains(FORM_KEYS))
        .fill_null(False)
        .alias("_card_without_form"),
    )
    keyed = keyed.join(
        exact.lazy().rename({"key": "_key", "name": "_exact"}), on="_key", how="left"
    ).join(
        short.lazy().rename({"key": "_short_key", "name": "_short"}), on="_short_key", how="left"
    )
    keyed = keyed.with_columns(
        pl.when(~pl.col("_hardware_multiple"))
        .then(pl.coalesce("_exact", "_short"))
        .alias("hardware_matched")
    ).drop("_key", "_short_key", "_exact", "_short")
    peaks = hardware.select(
        pl.col("name").alias("hardware_matched"),
        pl.col("type").alias("_hardware_type"),
        pl.col("manufacturer").alias("_hardware_maker"),
        *(pl.col(column).alias(f"_peak_{fmt}") for fmt, column in PEAK_COLUMNS.items()),
        pl.col("release_date").dt.year().alias("_hardware_year"),
    )
    forms = form_counts(hardware).rename({"name": "hardware_matched", "forms": "_forms"})
    # The table's default form of a chip is the row its bare name is an alias of (see
    # HARDWARE.md). It is flagged for the names read by their model-card memory spelling only:
    # a bare "H100" or "A100 80GB" resolved to the same row before, unflagged, and still does.
    assumed = pl.col("_card_without_form") & (pl.col("_forms") > 1).fill_null(False)
    return (
        keyed.join(peaks.lazy(), on="hardware_matched", how="left")
        .join(forms.lazy(), on="hardware_matched", how="left")
        .with_columns(assumed.alias("_hardware_form_assumed"))
        .drop("_card_without_form", "_forms")
    )


def form_assumed_flag() -> dict[str, tuple[pl.Expr, pl.Expr]]:
    """The flag `hardware_form_assumed` and its note, for the `annotate` of the hardware
    method: where a hardware estimate used the table's peak of a chip whose form was assumed."""
    used = (
        pl.col("_hardware_form_assumed")
        & pl.col("hardware_flop").is_not_null()
        & pl.col("peak_flop_per_second").is_null()
    )
    note = pl.concat_str([
        pl.lit("hardware '"), pl.col("hardware"), pl.lit("' names no form factor: "),
        pl.col("hardware_matched"), pl.lit(", the table's default for it, assumed"),
    ])  # fmt: skip
    return {"hardware_form_assumed": (used, note)}


def resolve_hardware(frame: pl.LazyFrame | pl.DataFrame, hardware: pl.DataFrame) -> pl.LazyFrame:
    """Add `hardware_matched` (table name), `_hardware_multiple` and the chip's `_peak_*`.

    Names are matched once per distinct spelling, then joined back to the rows."""
    frame = frame.lazy()
    distinct = frame.select("hardware").unique()
    return join_beside(frame, match_names(distinct, hardware), "hardware", nulls_equal=True)


def table_peak(precision: pl.Expr) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(peak FLOP/s, format label, fell_back) for each row's precision, from the `_peak_*`
    columns `resolve_hardware` joined. Precision blank: 16-bit tensor peak, else fp32 (a
    default, not a fallback). A stated precision the chip lacks falls back, and says so."""
    # fp32 training runs its matrix products where the chip's frameworks send them by default:
    # on NVIDIA tensor cores as tf32 (Ampere and later: Epoch counts A100 fp32 training at 156
    # TFLOP/s), and on a TPU's matrix units, which take bf16 (its fp32 figure is the vector
    # units'). Other makers' frameworks keep fp32 as fp32.
    fp32 = precision == "fp32"
    as_tf32 = (
        fp32
        & (pl.col("_hardware_maker").str.to_lowercase() == "nvidia")
        & pl.col("_peak_tf32").is_not_null()
    )
    on_tpu = fp32 & (pl.col("_hardware_type") == "tpu") & pl.col("_peak_tensor_16bit").is_not_null()
    peak = (
        pl.when(as_tf32).then(pl.col("_peak_tf32")).when(on_tpu).then(pl.col("_peak_tensor_16bit"))
    )
    label = (
        pl.when(as_tf32).then(pl.lit("tf32 tensor (fp32 by framework default)"))
        .when(on_tpu).then(pl.lit("bf16 matrix units (fp32 on a TPU)"))
    )  # fmt: skip
    fallback = pl.when(as_tf32 | on_tpu).then(pl.lit(False))
    for wanted, choices in PEAK_CHOICES.items():
        applies = precision.is_null() if wanted is None else precision == wanted
        for rank, (fmt, fmt_label) in enumerate(choices):
            condition = applies & pl.col(f"_peak_{fmt}").is_not_null()
            peak = peak.when(condition).then(pl.col(f"_peak_{fmt}"))
            label = label.when(condition).then(pl.lit(fmt_label))
            substitute = rank > 0 and wanted is not None and fmt != wanted
            fallback = fallback.when(condition).then(pl.lit(substitute))
    return peak.otherwise(None), label.otherwise(None), fallback.otherwise(False)


def fastest_peak_by_year(hardware: pl.DataFrame) -> pl.DataFrame:
    """`year` -> `fastest_peak`: the highest floating-point peak of any chip in the table
    released by the end of that year, for every year from the first chip's to the last's."""
    float_peaks = [column for fmt, column in PEAK_COLUMNS.items() if fmt != "int8"]
    chips = hardware.filter(pl.col("release_date").is_not_null()).select(
        pl.col("release_date").dt.year().alias("year"),
        pl.max_horizontal(float_peaks).alias("peak"),
    )
    if chips.height == 0:  # a table without release dates bounds nothing
        return pl.DataFrame(schema={"year": pl.Int32, "fastest_peak": pl.Float64})
    first, last = chips["year"].min(), chips["year"].max()
    years = pl.DataFrame({"year": pl.int_range(first, last + 1, eager=True, dtype=pl.Int32)})
    best = (
        chips.group_by("year").agg(pl.col("peak").max()).with_columns(pl.col("year").cast(pl.Int32))
    )
    return (
        years.join(best, on="year", how="left")
        .sort("year")
        .select("year", pl.col("peak").cum_max().forward_fill().alias("fastest_peak"))
    )


def search_hardware(hardware: pl.DataFrame, text: str) -> pl.DataFrame:
    """The chips whose name or one of whose aliases contains `text`, as names match."""
    wanted = hardware_key(pl.lit(text))
    names = alias_frame(hardware).filter(pl.col("key").str.contains(wanted, literal=True))["name"]
    return hardware.filter(pl.col("name").is_in(names.implode()))


def lookup(name: str, hardware: pl.DataFrame) -> dict | None:
    """The table row a single name resolves to (for `hardware show` and the calculators)."""
    resolved = collect(resolve_hardware(pl.DataFrame({"hardware": [name]}), hardware))
    matched = resolved["hardware_matched"][0]
    if matched is None:
        return None
    return hardware.filter(pl.col("name") == matched).row(0, named=True)

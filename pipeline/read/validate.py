"""Parsing and validation: text cells in, typed systems and quarantined rows out.

Two passes, both over whole columns: each cell is parsed by the parser of its column's kind
(`pipeline.read.parsing`); the typed frame is then checked against `schemas.systems.SystemsSchema`
with Pandera. A row that fails either pass goes to `rejects` with the file, row, system,
column, value and reason; every other row goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path

import pandera.polars as pa
import polars as pl

from pipeline.architecture.files import cells_by_sheet, fill_from_configs, layer_list_frame
from pipeline.frames import collect, join_beside
from pipeline.read.card_cells import (
    card_facts,
    card_failures,
    card_forms,
    card_parsers,
    settle_card_cells,
)
from pipeline.read.parsing import (
    EXPECTED,
    KIND_DTYPES,
    PARSERS,
    is_missing,
    parse_flag,
    parse_number,
    parse_stage,
    whole_number,
)
from schemas.systems import (
    CANONICAL_COLUMNS,
    FRAME_CHECKS,
    INVISIBLE,
    PLAUSIBLE_FLOP_TEXT,
    SystemsSchema,
    stage_or_default,
    system_key,
)
from schemas.validation import validate_filled

# A row whose system (and training stage) an earlier row already names; its reason goes on to
# name that row.
DUPLICATE_SYSTEM = "duplicate system name"
REJECT_SCHEMA = {
    "source_file": pl.String,
    "source_row": pl.Int64,
    "system": pl.String,
    "column_name": pl.String,
    "value": pl.String,
    "reason": pl.String,
}

# What a failed Pandera column check means, by the check's name before its arguments.
CHECK_REASONS = {
    "greater_than": "expected a positive number",
    "less_than_or_equal_to": "expected at most 1 (a fraction), or at most 100%",
    "not_nullable": "a system name is required",
    "str_length": "a system name is required",
    "isin": "expected one of the documented values",
}
# Checks whose meaning depends on the column, by "column:check".
COLUMN_CHECK_REASONS = {
    "reported_compute_flop:in_range": f"expected a compute figure from {PLAUSIBLE_FLOP_TEXT}",
    "base_model_compute_flop:in_range": f"expected a compute figure from {PLAUSIBLE_FLOP_TEXT}",
    "finetune_compute_flop:in_range": f"expected 0 (no such stage) or {PLAUSIBLE_FLOP_TEXT}",
    "post_training_compute_flop:in_range": f"expected 0 (no such stage) or {PLAUSIBLE_FLOP_TEXT}",
}


def parse_cells(raw: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(typed frame, parse failures as [_row, column, reason]). Unknown columns stay text."""
    # A canonical column the sheet lacks is blank: typed nulls, nothing to parse.
    present = {c: kind for c, kind in CANONICAL_COLUMNS.items() if c in raw.columns}
    absent = {c: kind for c, kind in CANONICAL_COLUMNS.items() if c not in raw.columns}
    checked = [c for c, kind in present.items() if kind in EXPECTED]
    # Each column's parser runs once; its value and its failure mask both come from it.
    # A count is a number first, then checked whole in a second step: one copy of the number
    # parser per column keeps the query small.
    counts = [c for c, kind in present.items() if kind == "count"]
    first = {c: parse_number if c in counts else PARSERS[kind] for c, kind in present.items()}
    first.update(
        {c: partial(parse_flag, column=c) for c, kind in present.items() if kind == "flag"}
    )
    forms = card_forms(raw, present)
    first = card_parsers(forms, first)
    first = {c: _by_distinct_values(raw, c, parse) for c, parse in first.items()}
    # What the cells say besides their values (a lower bound, a unit, a chip count).
    facts = {
        name: _by_distinct_values(raw, column, read)(pl.col(column))
        for name, (column, read) in card_facts(forms).items()
    }
    parsed = collect(
        raw.lazy()
        .with_columns(
            *(is_missing(pl.col(c)).alias(f"_missing_{c}") for c in present),
            *(parse(pl.col(c)).alias(f"_parsed_{c}") for c, parse in first.items()),
            *(fact.alias(name) for name, fact in facts.items()),
        )
        .with_columns(whole_number(pl.col(f"_parsed_{c}")).alias(f"_parsed_{c}") for c in counts)
        .with_columns(
            *(
                pl.when(pl.col(f"_missing_{c}")).then(None).otherwise(pl.col(f"_parsed_{c}")).alias(c)
                for c in present
            ),
            *(
                (~pl.col(f"_missing_{c}") & pl.col(f"_parsed_{c}").is_null()).alias(f"_failed_{c}")
                for c in checked
            ),
            *(pl.lit(None, dtype=KIND_DTYPES[kind]).alias(c) for c, kind in absent.items()),
        )
        .drop(pl.selectors.starts_with("_missing_", "_parsed_"))
        .pipe(settle_card_cells, forms)
    )  # fmt: skip
    reasons = {c: f"cannot be read: expected {EXPECTED[CANONICAL_COLUMNS[c]]}" for c in checked}
    empty = pl.DataFrame(schema={"_row": pl.Int64, "column": pl.String, "reason": pl.String})
    failures = (
        parsed.select(
            pl.int_range(pl.len(), dtype=pl.Int64).alias("_row"),
            *(pl.col(f"_failed_{c}").alias(c) for c in checked),
        )
        .unpivot(index="_row", variable_name="column", value_name="_failed")
        .filter(pl.col("_failed"))
        .select("_row", "column", pl.col("column").replace_strict(reasons).alias("reason"))
        if checked
        else empty
    )
    typed, disagreements = card_failures(parsed.drop(f"_failed_{c}" for c in checked))
    return typed, _name_lists(pl.concat([empty, failures, disagreements]), raw)


# Several figures in one number cell ("14180000,14180000"), told from a decimal comma ("1,5")
# and from thousands separators by a part longer than three digits.
SEVERAL_NUMBERS = r"^\s*\d[\d.eE+]*(?:\s*[,;]\s*\d[\d.eE+]*)+\s*$"


def _name_lists(failures: pl.DataFrame, raw: pl.DataFrame) -> pl.DataFrame:
    """A number cell that failed because it lists several figures says so."""
    numbers = [c for c, kind in CANONICAL_COLUMNS.items() if kind in ("number", "count")]
    marked = []
    for column in failures.filter(pl.col("column").is_in(numbers))["column"].unique().to_list():
        rows = failures.filter(pl.col("column") == column)["_row"]
        cells = raw[column].gather(rows)
        listed = cells.str.contains(SEVERAL_NUMBERS) & cells.str.contains(r"\d{4}")
        marked.append(pl.DataFrame({"_row": rows, "column": column, "_listed": listed}))
    if not marked:
        return failures
    return (
        failures.join(pl.concat(marked), on=["_row", "column"], how="left", maintain_order="left")
        .with_columns(
            pl.when(pl.col("_listed"))
            .then(pl.lit("holds several figures; expected one (choose the one for this row)"))
            .otherwise(pl.col("reason"))
            .alias("reason")
        )
        .drop("_listed")
    )


# A column whose first rows repeat their values this much is parsed once per distinct value.
DISTINCT_SAMPLE = 10_000
DISTINCT_SHARE = 0.2


def _by_distinct_values(
    raw: pl.DataFrame, column: str, parse: Callable[[pl.Expr], pl.Expr]
) -> Callable[[pl.Expr], pl.Expr]:
    """`parse`, or the same parse run once per distinct cell and looked up for each row when
    the column repeats its values (domains, units, chip counts, dates): a million rows of a
    dozen spellings are a dozen parses."""
    sample = raw[column].head(DISTINCT_SAMPLE)
    if raw.height < DISTINCT_SAMPLE or sample.n_unique() > DISTINCT_SHARE * sample.len():
        return parse
    cells = raw.select(pl.col(column).unique().drop_nulls())
    if cells.height > DISTINCT_SHARE * raw.height:  # only the first rows repeated
        return parse
    parsed = cells.select(parse(pl.col(column)).alias("_parsed"))["_parsed"]
    return lambda cell: cell.replace_strict(cells[column], parsed, default=None)


def schema_failures(typed: pl.DataFrame) -> pl.DataFrame:
    """Rows breaking SystemsSchema, as [_row, column, reason]."""
    try:
        validate_filled(SystemsSchema, typed, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases.filter(pl.col("index").is_not_null())
    else:
        cases = pl.DataFrame(schema={"check": pl.String, "column": pl.String, "index": pl.Int32})
    check = cases["check"]
    frame_check = check.is_in(list(FRAME_CHECKS))
    reason_by_check = {name: reason for name, (_, reason) in FRAME_CHECKS.items()}
    column_by_check = {name: column for name, (column, _) in FRAME_CHECKS.items()}
    check_kind = pl.col("check").str.extract(r"^([a-z_]+)")
    reason_of_frame_check = (
        pl.when(pl.col("check") == "system_unique")
        .then(pl.lit(DUPLICATE_SYSTEM))
        .otherwise(pl.concat_str([pl.lit("expected "), pl.col("check").replace_strict(reason_by_check, default=None)]))
    )  # fmt: skip
    return cases.select(
        pl.col("index").cast(pl.Int64).alias("_row"),
        pl.when(frame_check)
        .then(pl.col("check").replace_strict(column_by_check, default=None))
        .otherwise(pl.col("column"))
        .alias("column"),
        pl.when(frame_check)
        .then(reason_of_frame_check)
        .otherwise(
            pl.concat_str([pl.col("column"), pl.lit(":"), check_kind])
            .replace_strict(COLUMN_CHECK_REASONS, default=None)
            .fill_null(check_kind.replace_strict(CHECK_REASONS, default="breaks " + pl.col("check")))
        )
        .alias("reason"),
    )  # fmt: skip


# The counts of a row's layer list, carried to the estimators (not published as columns), and
# its problem and config, under working names: a sheet's own column named as one of the
# layer-list frame's is a column like any other, carried through.
LAYER_COLUMNS = {
    "architecture_parameters": "_layers_parameters",
    "architecture_forward_flop_per_example": "_layers_forward_flop",
    "architecture_sequence_length": "_layers_sequence_length",
    "architecture_breakdown": "_layers_breakdown",
    "architecture_error": "_layers_error",
    "architecture_config": "_layers_config",
}


def count_layer_lists(
    typed: pl.DataFrame,
    sheet_folders: Mapping[str, Path] | None = None,
    layer_copies: Mapping[Path, Path] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Count each sheet's distinct `architecture_file` cells once; (typed with the counts,
    problems): a file that cannot be read or counted quarantines its rows with the file's own
    message."""
    counts = pl.concat(
        [
            layer_list_frame([], errors="record").with_columns(pl.lit(None, pl.String).alias("source_file")),
            *(
                layer_list_frame(cells, folders, errors="record", copies=layer_copies)
                .with_columns(pl.lit(source).alias("source_file"))
                for source, folders, cells in cells_by_sheet(typed, sheet_folders or {})
            ),
        ]
    ).rename(LAYER_COLUMNS)  # fmt: skip
    joined = join_beside(typed.with_row_index("_row"), counts, ["source_file", "architecture_file"])
    problems = joined.filter(pl.col("_layers_error").is_not_null()).select(
        pl.col("_row").cast(pl.Int64),
        pl.lit("architecture_file").alias("column"),
        pl.col("_layers_error").alias("reason"),
    )
    # A cell naming a Hugging Face config.json fills the row's blank transformer columns.
    return fill_from_configs(joined.drop("_row", "_layers_error"), "_layers_config"), problems


def validate(
    raw: pl.DataFrame,
    sheet_folders: Mapping[str, Path] | None = None,
    layer_copies: Mapping[Path, Path] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(systems that pass, rejects). Input rows = passing rows + distinct rejected rows.
    Layer lists named by `architecture_file` are looked for in the folder of the row's sheet
    (`sheet_folders`: source_file -> folder), then among the shipped ones, and read from their
    snapshot in `layer_copies` when a run has one."""
    typed, parse_failed = parse_cells(raw)
    typed, layer_failed = count_layer_lists(typed, sheet_folders, layer_copies)
    problems = pl.concat([parse_failed, schema_failures(typed), layer_failed])
    with_row = raw.with_row_index("_row").with_columns(pl.col("_row").cast(pl.Int64))
    rejects = _describe(problems, with_row)
    bad_rows = problems["_row"].unique()
    systems = (
        typed.with_row_index("_row")
        .filter(~pl.col("_row").cast(pl.Int64).is_in(bad_rows.implode()))
        .drop("_row")
    )
    return systems, rejects


def rejected_rows(rejects: pl.DataFrame) -> int:
    """How many rows `rejects` quarantined: it holds one row per problem, a row may have several."""
    if rejects.height == 0:
        return 0
    return rejects.select(pl.struct("source_file", "source_row").n_unique()).item()


def _visible(text: pl.Expr) -> pl.Expr:
    """`text` with its invisible characters written as escapes (U+200B as \\u200b)."""
    for character in INVISIBLE:
        text = text.str.replace_all(character, f"\\u{ord(character):04x}", literal=True)
    return text


def _row_key(raw: pl.DataFrame) -> pl.Expr:
    """What makes a row a duplicate of an earlier one: its system and its training stage."""
    stage = parse_stage(pl.col("stage")) if "stage" in raw.columns else pl.lit(None, pl.String)
    return pl.concat_str([system_key(pl.col("system")), stage_or_default(stage)], separator="\0")


def _describe(problems: pl.DataFrame, raw: pl.DataFrame) -> pl.DataFrame:
    """Give each problem its file, row, system and the cell's text as the user wrote it."""
    if problems.height == 0:
        return pl.DataFrame(schema=REJECT_SCHEMA)
    # A frame check may name a column the sheet does not have (its cell was blank).
    columns = [c for c in problems["column"].unique().to_list() if c in raw.columns]
    duplicate = pl.col("reason") == DUPLICATE_SYSTEM
    has_duplicates = problems.select(duplicate.any()).item()
    everything = raw
    raw = raw.filter(pl.col("_row").is_in(problems["_row"].unique().implode()))
    cells = raw.select(
        "_row",
        pl.struct(
            [pl.col(c).cast(pl.String) for c in columns] or [pl.lit(None, pl.String).alias("_")]
        ).alias("_cells"),
        "source_file",
        "source_row",
        pl.col("system").str.strip_chars().alias("system"),
        _row_key(raw).alias("_key"),
    )
    joined = problems.join(cells, on="_row", how="left")
    value = pl.lit(None, dtype=pl.String)
    for column in columns:
        value = (
            pl.when(pl.col("column") == column)
            .then(pl.col("_cells").struct.field(column))
            .otherwise(value)
        )
    # Only a duplicate's reason names the first use of its name: the keys of every row are
    # worked out only when there is one.
    named = everything if has_duplicates else everything.clear()
    first_use = (
        named.filter(_row_key(named).is_first_distinct())
        .select(
            _row_key(named).alias("_key"),
            pl.concat_str([pl.lit("; first used in "), pl.col("source_file"), pl.lit(" row "),
                           pl.col("source_row").cast(pl.String)]).alias("_first"),
            pl.col("system").str.strip_chars().alias("_first_spelling"),
        )
    )  # fmt: skip
    joined = joined.join(first_use, on="_key", how="left")
    # A look-alike of the first name gives both spellings, with what cannot be seen spelled out.
    spelled = (
        pl.when(pl.col("_first_spelling") != pl.col("system"))
        .then(pl.concat_str([
            pl.lit(" as '"), _visible(pl.col("_first_spelling")), pl.lit("' (here '"),
            _visible(pl.col("system")), pl.lit("')"),
        ]))
        .otherwise(pl.lit(""))
    )  # fmt: skip
    return (
        joined.select(
            "source_file",
            "source_row",
            "system",
            pl.col("column").alias("column_name"),
            value.alias("value"),
            pl.when(duplicate)
            .then(pl.concat_str([pl.col("reason"), pl.col("_first"), spelled]))
            .otherwise(pl.col("reason"))
            .alias("reason"),
        )
        .unique(["source_file", "source_row", "column_name", "reason"])
        .sort("source_file", "source_row", "column_name", "reason")
    )

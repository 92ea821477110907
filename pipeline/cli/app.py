"""The `flopsheet` command line: a thin layer over the library.

Every library error becomes one readable line on stderr and an exit code:
0 done, 1 rows rejected (validate, estimate --strict) or a failed query, 2 a file-level or
input error.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from pipeline import calculators
from pipeline.calibrate import DEFAULT_MIN_OBSERVATIONS
from pipeline.errors import EXIT_INPUT_FILE, EXIT_ROWS_REJECTED, FlopsheetError, is_engine_panic
from pipeline.estimate.hardware import (
    DEFAULT_HARDWARE_PATH,
    alias_frame,
    hardware_key,
    load_hardware,
    lookup,
)
from pipeline.estimate.priors import DEFAULT_PRIORS_PATH
from pipeline.publish.dataset import Published
from pipeline.publish.diff import DEFAULT_THRESHOLD
from pipeline.publish.history import diff_runs
from pipeline.read.columns import load_column_map
from pipeline.refresh import DEFAULT_KEEP, PUBLISHED_FILES, REPORT_DIR, REPORT_HTML
from pipeline.refresh import refresh as refresh_dataset
from pipeline.run import STAGES, run_validate
from pipeline.version import __version__

app = typer.Typer(
    help="flopsheet: estimate the training compute of ML systems from a spreadsheet of papers.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
    add_completion=False,
)
calc_app = typer.Typer(
    help="Epoch's two compute calculators, for one system.", no_args_is_help=True
)
hardware_app = typer.Typer(
    help="The hardware table: accelerators and their peaks.", no_args_is_help=True
)
app.add_typer(calc_app, name="calc")
app.add_typer(hardware_app, name="hardware")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


DEFAULT_OUTPUT_DIR = Path("data/processed")


def named_path(value: str | Path) -> Path:
    """An output path must name something: an empty one would mean the working directory."""
    if isinstance(value, str) and not value.strip():
        raise typer.BadParameter("is empty; give a file or folder name")
    return Path(value)


LONG_INPUT_BYTES = 5_000_000

InputsArgument = Annotated[
    list[Path], typer.Argument(help="Spreadsheets: .csv, .xlsx or .parquet.", show_default=False)
]
ColumnsOption = Annotated[
    Path | None,
    typer.Option("--columns", help="TOML file mapping your headers to canonical column names."),
]
HardwareTableOption = Annotated[
    Path,
    typer.Option("--hardware-table", help="Hardware table CSV to use instead of the shipped one."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def _named_priors(value: str) -> str:
    if not value.strip():
        raise typer.BadParameter("is empty; give a priors file or 'seed'")
    return value


PriorsOption = Annotated[
    str,
    typer.Option(
        "--priors",
        parser=_named_priors,
        help="Utilization priors (TOML from `flopsheet calibrate`), or 'seed' for the fixed "
        "0.30 language / 0.40 other.",
    ),
]


class InputFormat(StrEnum):
    auto = "auto"
    canonical = "canonical"
    epoch = "epoch"


FormatOption = Annotated[
    InputFormat,
    typer.Option(
        "--format",
        help="Spreadsheet layout: flopsheet's canonical columns, an Epoch AI database export, "
        "or auto (an Epoch export is recognised by its headers).",
    ),
]


@contextmanager
def user_errors() -> Iterator[None]:
    """One line and an exit code for every error; a traceback only with FLOPSHEET_DEBUG=1."""
    try:
        yield
    except FlopsheetError as error:
        err.print(f"Error: {error}", markup=False)
        raise typer.Exit(error.exit_code) from None
    except (typer.Exit, typer.Abort):
        raise
    except OSError as error:  # an output folder that cannot be made or written, and the like
        where = error.filename or "file system"
        err.print(f"Error: {where}: {error.strerror or error}", markup=False)
        raise typer.Exit(1) from None
    except BaseException as error:
        if os.environ.get("FLOPSHEET_DEBUG") or not (
            isinstance(error, Exception) or is_engine_panic(error)
        ):
            raise
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        err.print(f"Error: {type(error).__name__}: {first}", markup=False)
        raise typer.Exit(1) from None


def _cells(values: tuple) -> list[Text]:
    """Table cells as plain text: a system named "[red]" is not rich markup."""
    return [Text("" if value is None else str(value)) for value in values]


def _print_json(data: object) -> None:
    out.print_json(json.dumps(data, default=str, ensure_ascii=False), indent=2)


def _rejects_table(rejects: pl.DataFrame, limit: int = 50) -> Table:
    table = Table(title=f"Rejected rows ({rejects.height} problems)", show_lines=False)
    for column in rejects.columns:
        table.add_column(column, overflow="fold")
    for row in rejects.head(limit).iter_rows():
        table.add_row(*_cells(row))
    if rejects.height > limit:
        table.caption = f"... {rejects.height - limit} more: see rejects.csv or --json"
    return table


@contextmanager
def _stage_progress(inputs: list[Path]) -> Iterator[Callable[[str], None]]:
    size = sum(p.stat().st_size for p in inputs if p.is_file())
    show = err.is_terminal and size >= LONG_INPUT_BYTES
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
        console=err, transient=True, disable=not show,
    )  # fmt: skip
    with progress:
        task = progress.add_task("starting", total=len(STAGES))

        def on_stage(stage: str) -> None:
            progress.update(task, description=stage, completed=STAGES.index(stage))

        yield on_stage
        progress.update(task, completed=len(STAGES))


@app.command()
def estimate(
    inputs: InputsArgument,
    output_dir: Annotated[
        Path,
        typer.Option(
            "--output-dir", "-o", parser=named_path, help="Where the outputs are written."
        ),
    ] = DEFAULT_OUTPUT_DIR,
    columns: ColumnsOption = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 when any row was rejected.")
    ] = False,
    hardware_table: HardwareTableOption = DEFAULT_HARDWARE_PATH,
    input_format: FormatOption = InputFormat.auto,
    priors: PriorsOption = str(DEFAULT_PRIORS_PATH),
    as_json: JsonOption = False,
) -> None:
    """Estimate training compute for every system in the spreadsheets.

    Writes DIR/compute.duckdb (tables estimates, rejects, hardware, metadata, runs,
    estimate_history), DIR/estimates.parquet and DIR/rejects.csv, published like `refresh`
    (a run folder in DIR/runs, switched in by one rename). Bad rows are quarantined in rejects with
    their reason; the others are estimated. Exit 0 when it ran (1 with --strict and rejected
    rows), 2 when a file cannot be used.

    Examples:

        flopsheet estimate data/raw/systems.csv

        flopsheet estimate mine.xlsx more.csv --columns headers.toml -o out/
    """
    with user_errors():
        column_map = load_column_map(columns) if columns else None
        # Published exactly as `refresh` publishes (a run folder, one rename), always run.
        with _stage_progress(inputs) as on_stage:
            result = refresh_dataset(
                inputs, output_dir, force=True, column_map=column_map,
                hardware_path=hardware_table, on_stage=on_stage, input_format=input_format.value,
                priors_path=priors,
            )  # fmt: skip
        summary = result.summary
        published = Published(*(output_dir / name for name in PUBLISHED_FILES))
        if as_json:
            outputs = {k: str(v) for k, v in vars(published).items()}
            _print_json({**summary, "run_id": result.run_id, "outputs": outputs})
        else:
            _print_summary(summary, published)
    if strict and summary["rows_rejected"]:
        raise typer.Exit(EXIT_ROWS_REJECTED)


def _print_summary(summary: dict, published: object) -> None:
    table = Table(title="flopsheet estimate", show_header=False)
    table.add_column("what")
    table.add_column("rows", justify="right")
    table.add_row("rows read", str(summary["rows_read"]))
    table.add_row("estimated", str(summary["rows_estimated"]))
    for source, count in summary["by_source"].items():
        if source != "none":
            table.add_row(f"  by {source}", str(count))
    table.add_row("no estimate (insufficient inputs)", str(summary["rows_without_estimate"]))
    table.add_row("rejected", str(summary["rows_rejected"]))
    table.add_row("flagged", str(summary["rows_flagged"]))
    out.print(table)
    for label, path in vars(published).items():
        out.print(f"{label}: {path}")
    if summary["rows_rejected"]:
        out.print(f"{summary['rows_rejected']} rows rejected: see {published.rejects}")


@app.command()
def validate(
    inputs: InputsArgument,
    columns: ColumnsOption = None,
    input_format: FormatOption = InputFormat.auto,
    as_json: JsonOption = False,
) -> None:
    """Read and validate spreadsheets without estimating or writing anything.

    Prints the problems found, one line per bad cell. Exit 1 when any row fails, 2 when a file
    cannot be used.

    Example:

        flopsheet validate data/raw/systems.csv
    """
    with user_errors():
        column_map = load_column_map(columns) if columns else None
        rows_read, rejects = run_validate(inputs, column_map, input_format.value)
        rejected = rejects.select(pl.struct("source_file", "source_row").n_unique()).item()
        if as_json:
            _print_json(
                {"rows_read": rows_read, "rows_rejected": rejected, "problems": rejects.to_dicts()}
            )
        elif rejects.height:
            out.print(_rejects_table(rejects))
            out.print(f"{rejected} of {rows_read} rows rejected")
        else:
            out.print(f"all {rows_read} rows valid")
    if rejected:
        raise typer.Exit(EXIT_ROWS_REJECTED)


def _print_calculation(result: calculators.Calculation, as_json: bool) -> None:
    if as_json:
        _print_json(result.as_dict())
        return
    out.print(f"[bold]{result.flop:.2e} FLOP[/bold]  ({result.flop:,.0f})")
    out.print(f"formula:  {result.formula}", markup=False)
    if result.flags:
        out.print(f"flags:    {', '.join(result.flags)}", markup=False)
    out.print(f"sentence: {result.sentence}", markup=False)


@calc_app.command("ops")
def calc_ops(
    forward_flop: Annotated[
        str | None, typer.Option("--forward-flop", help="FLOP of one forward pass on one example.")
    ] = None,
    connections: Annotated[
        str | None, typer.Option(help="Connections (weights reused count each use).")
    ] = None,
    parameters: Annotated[
        str | None, typer.Option(help="Parameters of a language model (6ND; needs --tokens).")
    ] = None,
    active_parameters: Annotated[
        str | None,
        typer.Option("--active-parameters", help="Parameters used per token (mixture of experts)."),
    ] = None,
    examples: Annotated[str | None, typer.Option(help="Examples (datapoints) per epoch.")] = None,
    tokens: Annotated[str | None, typer.Option(help="Tokens per epoch.")] = None,
    epochs: Annotated[str | None, typer.Option(help="Passes over the data (default 1).")] = None,
    as_json: JsonOption = False,
    hardware_table: HardwareTableOption = DEFAULT_HARDWARE_PATH,
) -> None:
    """Counting operations: FLOP = 3 x forward FLOP x examples x epochs (6ND for language models).

    Examples:

        flopsheet calc ops --forward-flop 1e9 --examples 1e6 --epochs 10

        flopsheet calc ops --parameters 70B --tokens 1.4T
    """  # fmt: skip
    with user_errors():
        result = calculators.counting_operations(
            load_hardware(hardware_table), forward_flop=forward_flop, connections=connections,
            parameters=parameters, active_parameters=active_parameters, examples=examples,
            tokens=tokens, epochs=epochs,
        )  # fmt: skip
        _print_calculation(result, as_json)


@calc_app.command("hardware")
def calc_hardware(
    hardware: Annotated[
        str | None, typer.Option("--hardware", help="Accelerator name, e.g. 'A100' or 'TPU v3'.")
    ] = None,
    peak: Annotated[
        str | None, typer.Option(help="Peak FLOP/s per chip (instead of the table).")
    ] = None,
    precision: Annotated[
        str | None,
        typer.Option(
            help="Number format: fp32, tf32, fp16, bf16, fp8, ... (default: 16-bit tensor peak)."
        ),
    ] = None,
    chips: Annotated[str | None, typer.Option(help="Number of chips.")] = None,
    time: Annotated[
        str | None, typer.Option(help="Training time: hours, or e.g. '21 days'.")
    ] = None,
    chip_hours: Annotated[
        str | None, typer.Option("--chip-hours", help="Chip-hours (instead of --chips and --time).")
    ] = None,
    utilization: Annotated[
        str | None,
        typer.Option(
            help="Utilization: 0.4 or '40%' (default: the shipped prior for the domain and chip).",
        ),
    ] = None,
    domain: Annotated[str | None, typer.Option(help="Domain, for the default utilization.")] = None,
    as_json: JsonOption = False,
    hardware_table: HardwareTableOption = DEFAULT_HARDWARE_PATH,
) -> None:
    """Hardware time: FLOP = seconds x chips x peak FLOP/s x utilization.

    Examples:

        flopsheet calc hardware --hardware "NVIDIA A100 SXM4 80 GB" --chips 8 --time "3 days"

        flopsheet calc hardware --hardware "TPU v3" --chip-hours 1.2e5 --precision bf16 --utilization 40%
    """  # fmt: skip
    with user_errors():
        result = calculators.hardware_time(
            load_hardware(hardware_table), chip=hardware, peak=peak, precision=precision,
            chips=chips, time=time, chip_hours=chip_hours, utilization=utilization, domain=domain,
        )  # fmt: skip
        _print_calculation(result, as_json)


LIST_COLUMNS = {
    "name": "name",
    "type": "type",
    "release_date": "released",
    "tensor_16bit_flop_per_second": "16-bit tensor",
    "tf32_flop_per_second": "tf32",
    "fp32_flop_per_second": "fp32",
    "fp8_flop_per_second": "fp8",
}


def _flops(value: object) -> str:
    return "" if value is None else f"{value:.3g}"


@hardware_app.command("list")
def hardware_list(
    search: Annotated[
        str | None, typer.Option(help="Only chips whose name or alias contains this text.")
    ] = None,
    as_json: JsonOption = False,
    hardware_table: HardwareTableOption = DEFAULT_HARDWARE_PATH,
) -> None:
    """List the accelerators in the hardware table (dense peak FLOP/s per chip).

    Example:

        flopsheet hardware list --search a100
    """  # fmt: skip
    with user_errors():
        table_frame = load_hardware(hardware_table)
        if search:
            aliases = alias_frame(table_frame)
            wanted = hardware_key(pl.lit(search))
            names = aliases.filter(pl.col("key").str.contains(wanted, literal=True))["name"]
            table_frame = table_frame.filter(pl.col("name").is_in(names.implode()))
        if as_json:
            _print_json(table_frame.to_dicts())
            return
        table = Table(title=f"Hardware ({table_frame.height} chips, dense FLOP/s per chip)")
        for label in LIST_COLUMNS.values():
            table.add_column(
                label, justify="left" if label in ("name", "type", "released") else "right"
            )
        for row in table_frame.select(list(LIST_COLUMNS)).iter_rows(named=True):
            table.add_row(
                *_cells((row["name"], row["type"], row["release_date"])),
                *(_flops(row[c]) for c in list(LIST_COLUMNS)[3:]),
            )  # fmt: skip
        out.print(table)


@hardware_app.command("show")
def hardware_show(
    name: Annotated[str, typer.Argument(help="A chip name or alias, e.g. 'V100' or 'TPUv3'.")],
    as_json: JsonOption = False,
    hardware_table: HardwareTableOption = DEFAULT_HARDWARE_PATH,
) -> None:
    """Show one accelerator: every peak, its aliases and its datasheet.

    Example:

        flopsheet hardware show "Tesla V100-SXM2-16GB"
    """  # fmt: skip
    with user_errors():
        table_frame = load_hardware(hardware_table)
        row = lookup(name, table_frame)
        if row is None:
            raise calculators.CalculatorInputError(
                calculators.unknown_hardware_message(name, table_frame)
            )
        if as_json:
            _print_json(row)
            return
        table = Table(title=Text(row["name"]), show_header=False)
        table.add_column("field")
        table.add_column("value", overflow="fold")
        for key, value in row.items():
            shown = (
                _flops(value)
                if key.endswith("_per_second")
                else ("" if value is None else str(value))
            )
            table.add_row(key, Text(shown))
        out.print(table)


DEFAULT_SYSTEMS = Path("data/raw/systems.csv")


@app.command()
def refresh(
    inputs: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Spreadsheets (default: data/raw/systems.csv in the working folder).", show_default=False
        ),
    ] = None,
    output_dir: Annotated[
        Path,
        typer.Option(
            "--output-dir",
            "-o",
            parser=named_path,
            help="The dataset folder kept between runs.",
        ),
    ] = DEFAULT_OUTPUT_DIR,
    force: Annotated[bool, typer.Option("--force", help="Run even when nothing changed.")] = False,
    keep: Annotated[int, typer.Option("--keep", min=1, help="Run folders to keep.")] = DEFAULT_KEEP,
    wait: Annotated[
        float,
        typer.Option(
            "--wait", min=0, help="Seconds to wait for a running refresh instead of exiting 3."
        ),
    ] = 0.0,
    columns: ColumnsOption = None,
    threshold: Annotated[
        float,
        typer.Option(
            "--threshold", min=0, help="Relative change of an estimate that counts as changed."
        ),
    ] = DEFAULT_THRESHOLD,
    hardware_table: HardwareTableOption = DEFAULT_HARDWARE_PATH,
    input_format: FormatOption = InputFormat.auto,
    priors: PriorsOption = str(DEFAULT_PRIORS_PATH),
    as_json: JsonOption = False,
    report: Annotated[
        bool,
        typer.Option(
            "--report/--no-report",
            help="Write the HTML report of the published run to DIR/report/ (see `report`).",
        ),
    ] = True,
) -> None:
    """Refresh the dataset unattended: skip when nothing changed, publish atomically, keep history.

    Each run works in DIR/runs/<run_id>/ with a copy of its inputs and their checksums; the
    published files are switched to it in one rename. Exit 0 published or skipped, 2 an input
    file cannot be used, 3 another refresh holds the lock, 1 any other failure.

    Examples:

        flopsheet refresh

        flopsheet refresh papers.xlsx -o /srv/flopsheet --keep 30 --wait 600
    """  # fmt: skip
    with user_errors():
        column_map = load_column_map(columns) if columns else None
        result = refresh_dataset(
            inputs or [DEFAULT_SYSTEMS], output_dir, force=force, keep=keep, wait_seconds=wait,
            column_map=column_map, hardware_path=hardware_table, threshold=threshold,
            input_format=input_format.value, priors_path=priors, report=report,
        )  # fmt: skip
        for warning in result.warnings:  # the dataset is published all the same: exit 0
            err.print(f"warning: {warning}", markup=False)
        if as_json:
            _print_json(
                {
                    **result.record, "status": result.status, "run_id": result.run_id,
                    "warnings": result.warnings,
                }
            )  # fmt: skip
            return
        if result.status == "skipped":
            out.print(
                f"skipped: inputs unchanged since run {result.run_id} (use --force to run anyway)"
            )
            return
        record = result.record
        out.print(
            f"published run {result.run_id}: {record['rows_read']} rows read, "
            f"{record['rows_estimated']} estimated, {record['rows_rejected']} rejected, "
            f"{record['rows_flagged']} flagged"
        )
        out.print(
            f"changes: {record['added']} added, {record['removed']} removed, {record['changed']} changed"
        )
        first_run = record["added"] == record["rows_read"] - record["rows_rejected"]
        if result.diff is not None and result.diff.height and not first_run:
            out.print(_diff_table(result.diff, limit=10))
        if report and not result.warnings:
            out.print(f"report: {output_dir / REPORT_DIR / REPORT_HTML}")


def _diff_table(diff: pl.DataFrame, limit: int | None = None) -> Table:
    table = Table(title=f"{diff.height} systems differ")
    columns = [
        "change",
        "system",
        "old_estimate_flop",
        "new_estimate_flop",
        "old_source",
        "new_source",
        "old_flags",
        "new_flags",
    ]
    for column in columns:
        table.add_column(column, overflow="fold")
    shown = diff if limit is None else diff.head(limit)
    for row in shown.select(columns).iter_rows(named=True):
        table.add_row(*_cells(tuple(
            _flops(v) if k.endswith("_flop") else v for k, v in row.items()
        )))  # fmt: skip
    if limit is not None and diff.height > limit:
        table.caption = f"... {diff.height - limit} more: flopsheet diff"
    return table


@app.command()
def diff(
    run_a: Annotated[
        str | None, typer.Argument(help="Older run id (or a unique prefix).", show_default=False)
    ] = None,
    run_b: Annotated[
        str | None, typer.Argument(help="Newer run id (or a unique prefix).", show_default=False)
    ] = None,
    output_dir: Annotated[
        Path,
        typer.Option(
            "--output-dir", "-o", parser=named_path, help="The dataset folder kept by refresh."
        ),
    ] = DEFAULT_OUTPUT_DIR,
    threshold: Annotated[
        float,
        typer.Option(
            "--threshold", min=0, help="Relative change of an estimate that counts as changed."
        ),
    ] = DEFAULT_THRESHOLD,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.")
    ] = OutputFormat.table,
    as_json: JsonOption = False,
) -> None:
    """Systems added, removed and changed between two published runs (default: the last two).

    Examples:

        flopsheet diff

        flopsheet diff 20261101T020000 20261128T020000 --threshold 0.1 --format csv
    """  # fmt: skip
    with user_errors():
        changes = diff_runs(output_dir, run_a, run_b, threshold)
        fmt = OutputFormat.json if as_json else output_format
        if fmt is OutputFormat.json:
            _print_json(changes.to_dicts())
        elif fmt is OutputFormat.csv:
            sys.stdout.write(changes.write_csv())
        else:
            out.print(_diff_table(changes))


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="A SQL query.")],
    db: Annotated[
        Path, typer.Option("--db", parser=named_path, help="The DuckDB database.")
    ] = DEFAULT_OUTPUT_DIR / "compute.duckdb",
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="Output format.")
    ] = OutputFormat.table,
) -> None:
    """Run SQL against the published database (read-only, no access to other files).

    Tables: estimates, rejects, hardware, metadata.

    Examples:

        flopsheet query "SELECT system, estimate_flop FROM estimates ORDER BY estimate_flop DESC LIMIT 5"

        flopsheet query "SELECT estimate_source, count(*) FROM estimates GROUP BY 1" --format csv
    """  # fmt: skip
    import duckdb

    if not sql.strip():
        raise typer.BadParameter("is empty; give a SQL query", param_hint="'SQL'")
    with user_errors():
        if not db.is_file():
            err.print(f"Error: {db}: database not found; run `flopsheet estimate` first")
            raise typer.Exit(EXIT_INPUT_FILE)
        try:
            # Read-only, and no file access beyond the database: `COPY ... TO`, `read_csv` and
            # `ATTACH` cannot write or read other files.
            no_files = {"enable_external_access": False}
            connection = duckdb.connect(str(db), read_only=True, config=no_files)
        except duckdb.Error as error:  # not a database, or one this DuckDB cannot read
            first = str(error).strip().splitlines()[0]
            err.print(f"Error: {db}: cannot open the database: {first}", markup=False)
            raise typer.Exit(EXIT_INPUT_FILE) from None
        try:
            with connection:
                frame = _query_frame(connection.sql(sql))
        except duckdb.Error as error:
            err.print(f"Error: {str(error).strip().splitlines()[0]}", markup=False)
            raise typer.Exit(1) from None
        if output_format is OutputFormat.csv:
            sys.stdout.write(_flatten_nested(frame).write_csv())
        elif output_format is OutputFormat.json:
            _print_json(frame.to_dicts())
        else:
            table = Table()
            for column in frame.columns:
                table.add_column(column, overflow="fold")
            for row in frame.iter_rows():
                table.add_row(*_cells(row))
            out.print(table)


@app.command()
def report(
    db: Annotated[
        Path, typer.Option("--db", parser=named_path, help="The DuckDB database.")
    ] = DEFAULT_OUTPUT_DIR / "compute.duckdb",
    out_dir: Annotated[
        Path,
        typer.Option("--out", parser=named_path, help="Folder for report.html and the charts."),
    ] = DEFAULT_OUTPUT_DIR / REPORT_DIR,
    as_json: JsonOption = False,
) -> None:
    """Write an HTML report of the database: one self-contained page, and each chart as PNG and SVG.

    The page (OUT/report.html) opens offline: compute against publication date with fitted
    doubling times, method 1 against method 2, implied utilization against the priors, counts
    by source, confidence and flag, the rows that need attention (sortable, filterable) and what
    the last refresh changed. `refresh` writes it to DIR/report/ after each publish. Exit 2 when
    the database is missing or unreadable, or OUT is a file.

    Examples:

        flopsheet report

        flopsheet report --db /srv/flopsheet/compute.duckdb --out /srv/www/flopsheet
    """  # fmt: skip
    from pipeline.report.page import write_report  # altair and vl-convert load only here

    with user_errors():
        files = write_report(db, out_dir)
        if as_json:
            _print_json({"report": str(files.html), "charts": [str(p) for p in files.charts]})
            return
        out.print(f"report: {files.html}", markup=False)
        out.print(f"charts: {len(files.charts)} files (PNG and SVG) in {files.html.parent}")


def _flatten_nested(frame: pl.DataFrame) -> pl.DataFrame:
    """CSV has no lists: a list of text becomes 'a; b', any other nested value JSON."""
    return frame.with_columns(
        pl.col(name).list.join("; ")
        if dtype == pl.List(pl.String)
        # {"v":...} with the value's JSON in place of the dots
        else pl.struct(pl.col(name).alias("v"))
        .struct.json_encode()
        .str.slice(5)
        .str.head(-1)
        .alias(name)
        for name, dtype in frame.schema.items()
        if dtype.is_nested()
    )


# DuckDB types that polars holds as they are; any other comes as DuckDB's own text for it.
POLARS_HOLDS = frozenset({
    "boolean", "tinyint", "smallint", "integer", "bigint", "hugeint", "utinyint", "usmallint",
    "uinteger", "ubigint", "float", "double", "decimal", "varchar", "date", "time",
    "timestamp", "timestamp_s", "timestamp_ms", "timestamp_ns", "timestamp with time zone",
    "null",
})  # fmt: skip
NESTED = frozenset({"list", "array", "struct", "map"})


def _polars_holds(kind) -> bool:  # noqa: ANN001 (a DuckDBPyType)
    if kind.id in NESTED:
        return all(_polars_holds(child) for _, child in kind.children if not isinstance(child, int))
    return kind.id in POLARS_HOLDS


def _query_frame(relation) -> pl.DataFrame:  # noqa: ANN001 (a DuckDB relation or None)
    """A query's result as a frame. Columns of types polars cannot hold as they are
    (intervals, unions, unsigned 128-bit integers, times with a zone, blobs, and anything
    holding them) come as DuckDB's own text for them, and so do dates and times past any
    calendar ('infinity'); the others keep their types."""
    if relation is None:  # a statement without a result
        return pl.DataFrame()
    holds = [_polars_holds(kind) for kind in relation.types]
    frame = _as_text(relation, holds).pl()
    # polars holds an infinite date, but cannot hand it to Python: run again with it as text.
    finite = [
        not isinstance(dtype, pl.Date | pl.Datetime)
        or frame[name].dt.year().null_count() == frame[name].null_count()
        for name, dtype in frame.schema.items()
    ]
    if not all(finite):
        frame = _as_text(relation, [h and f for h, f in zip(holds, finite, strict=True)]).pl()
    return frame


def _as_text(relation, keep: list[bool]):  # noqa: ANN001, ANN202 (DuckDB relations)
    """`relation` with the columns not in `keep` cast to DuckDB's text for them."""
    quoted = ['"' + column.replace('"', '""') + '"' for column in relation.columns]
    return relation.project(
        ", ".join(
            q if kept else f"CAST({q} AS VARCHAR) AS {q}"
            for q, kept in zip(quoted, keep, strict=True)
        )
    )


@app.command()
def evaluate(
    export: Annotated[
        Path,
        typer.Argument(help="An Epoch AI export (CSV) with its `Training compute (FLOP)` column."),
    ],
    report: Annotated[
        Path,
        typer.Option(
            "--report",
            parser=named_path,
            help="Folder for evaluation.md and evaluation.parquet.",
        ),
    ] = DEFAULT_OUTPUT_DIR / "evaluation",
    priors: PriorsOption = str(DEFAULT_PRIORS_PATH),
    as_json: JsonOption = False,
) -> None:
    """Measure agreement with Epoch's own figures: estimate the export with its compute
    withheld, then compare. Metric: |log10(ours / Epoch's)|. Also measured: how often the
    90% interval holds Epoch's figure, and the same figures with the seed's fixed utilization
    priors (seed_*), to show what calibrated priors change.

    Examples:

        flopsheet evaluate ../shared/data/epoch/notable_ai_models_2025-12.csv

        flopsheet evaluate export.csv --report out/eval --json
    """  # fmt: skip
    from pipeline.evaluate import evaluate as run_evaluation
    from pipeline.evaluate import write_report

    with user_errors():
        evaluation = run_evaluation(export, priors)
        path = write_report(evaluation, report)
        if as_json:
            _print_json({**evaluation.summary, "report": str(path)})
            return
        table = Table(title=f"Agreement with Epoch: {export.name}", show_header=False)
        table.add_column("measure")
        table.add_column("value", justify="right")
        for key, value in evaluation.summary.items():
            if key != "export":
                table.add_row(key, f"{value:.3f}" if isinstance(value, float) else str(value))
        out.print(table)
        out.print(f"report: {path}")


@app.command()
def calibrate(
    inputs: InputsArgument,
    out_path: Annotated[
        Path | None,
        typer.Option(
            "--out", parser=named_path, help="Write the priors here (default: print them)."
        ),
    ] = None,
    min_observations: Annotated[
        int, typer.Option("--min-observations", min=1, help="Fewest observations for a group.")
    ] = DEFAULT_MIN_OBSERVATIONS,
    hardware_table: HardwareTableOption = DEFAULT_HARDWARE_PATH,
    input_format: FormatOption = InputFormat.auto,
    as_json: JsonOption = False,
) -> None:
    """Learn utilization priors by domain and chip generation from spreadsheets.

    Observations are utilizations reported by papers and, where both methods apply, the
    implied utilization (ops / chip-seconds x peak) when it is plausible. Groups with fewer
    than --min-observations are left out; lookups fall back to broader groups. The result is
    a TOML file for `flopsheet estimate --priors`.

    Examples:

        flopsheet calibrate papers.csv --out priors.toml

        flopsheet estimate papers.csv --priors priors.toml
    """
    from pipeline.calibrate import calibrate as run_calibration

    with user_errors():
        calibration = run_calibration(
            inputs, hardware_table, min_observations=min_observations,
            input_format=input_format.value,
        )  # fmt: skip
        text = calibration.toml()
        if out_path is not None:
            out_path.parent.mkdir(parents=True, exist_ok=True)
            out_path.write_text(text, encoding="utf-8")
        if as_json:
            _print_json(
                {"priors": calibration.priors.to_dicts(),
                 "observations": calibration.observations.height,
                 "out": None if out_path is None else str(out_path)}
            )  # fmt: skip
        elif out_path is None:
            out.print(text, markup=False, highlight=False, end="")
        else:
            out.print(
                f"{calibration.priors.height} priors from "
                f"{calibration.observations.height} observations: {out_path}"
            )


def _version(value: bool) -> None:
    if value:
        out.print(f"flopsheet {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """flopsheet: estimate the training compute of ML systems from a spreadsheet of papers."""


# Click's UsageError (unknown option, missing argument, bad choice), reached through the one
# click exception typer exports, so that it works whether typer uses click or its own copy.
UsageError = typer.BadParameter.__mro__[1]


def run() -> None:
    """The console script: usage mistakes too end in one line (click would print a panel)."""
    try:
        code = app(prog_name="flopsheet", standalone_mode=False)
    except UsageError as error:
        err.print(f"Error: {error.format_message()} (see flopsheet --help)", markup=False)
        sys.exit(error.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        sys.exit(130)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    sys.exit(code if isinstance(code, int) else 0)

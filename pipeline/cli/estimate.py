"""`flopsheet estimate` and `flopsheet validate`."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipeline.cli.common import (
    DEFAULT_OUTPUT_DIR,
    DEFAULT_PRIORS,
    ColumnsOption,
    FormatOption,
    HardwareTableOption,
    InputFormat,
    InputsArgument,
    JsonOption,
    OutputDirOption,
    PriorsOption,
    err,
    frame_table,
    out,
    print_json,
    print_line,
    print_warnings,
    sources,
    user_errors,
)
from pipeline.defaults import STAGES
from pipeline.errors import EXIT_ROWS_REJECTED
from pipeline.resources import HARDWARE_TABLE

LONG_INPUT_BYTES = 5_000_000


class StageClock:
    """Seconds spent in each stage of a run, from the moments the run announces them."""

    def __init__(self) -> None:
        self.started: list[tuple[str, float]] = []
        self.ended = 0.0

    def start(self, stage: str) -> None:
        self.started.append((stage, time.perf_counter()))

    def seconds(self) -> dict[str, float]:
        ends = [at for _, at in self.started[1:]] + [self.ended or time.perf_counter()]
        spent: dict[str, float] = {}
        for (stage, at), end in zip(self.started, ends, strict=True):
            spent[stage] = round(spent.get(stage, 0.0) + end - at, 3)
        return spent


@contextmanager
def _stage_progress(inputs: list[Path], clock: StageClock) -> Iterator[Callable[[str], None]]:
    size = sum(p.stat().st_size for p in inputs if p.is_file())
    show = err.is_terminal and size >= LONG_INPUT_BYTES
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
        console=err, transient=True, disable=not show,
    )  # fmt: skip
    with progress:
        task = progress.add_task("starting", total=len(STAGES))

        def on_stage(stage: str) -> None:
            clock.start(stage)
            progress.update(task, description=stage, completed=STAGES.index(stage))

        yield on_stage
        clock.ended = time.perf_counter()
        progress.update(task, completed=len(STAGES))


def estimate(
    inputs: InputsArgument,
    output_dir: OutputDirOption = DEFAULT_OUTPUT_DIR,
    columns: ColumnsOption = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 when any row was rejected.")
    ] = False,
    hardware_table: HardwareTableOption = HARDWARE_TABLE,
    input_format: FormatOption = InputFormat.auto,
    priors: PriorsOption = DEFAULT_PRIORS,
    as_json: JsonOption = False,
) -> None:
    """Estimate training compute for every system in the spreadsheets.

    Writes DIR/compute.duckdb (tables estimates, compute_by_rule, rejects, hardware, metadata, runs,
    estimate_history), DIR/estimates.parquet, DIR/estimates.csv and DIR/rejects.csv, published
    like `refresh` (a run folder in DIR/runs, switched in by one rename). Bad rows are
    quarantined in rejects with their reason; the others are estimated. Exit 0 when it ran (1 with --strict and rejected
    rows), 2 when a file cannot be used.

    Examples:

        flopsheet estimate data/raw/systems.csv

        flopsheet estimate mine.xlsx more.csv --columns headers.toml -o out/
    """
    with user_errors():
        from pipeline.publish.dataset import (
            DATABASE_NAME,
            ESTIMATES_CSV_NAME,
            PARQUET_NAME,
            REJECTS_NAME,
        )
        from pipeline.refresh import refresh_dataset

        run_sources = sources(inputs, columns, input_format, hardware_table, priors)
        clock = StageClock()
        with _stage_progress(inputs, clock) as on_stage:
            published = refresh_dataset(run_sources, output_dir, force=True, on_stage=on_stage)
        print_warnings(published.warnings)
        summary = published.summary
        names = {
            "database": DATABASE_NAME, "parquet": PARQUET_NAME, "csv": ESTIMATES_CSV_NAME,
            "rejects": REJECTS_NAME,
        }  # fmt: skip
        outputs = {label: output_dir / name for label, name in names.items()}
        if as_json:
            paths = {label: str(path) for label, path in outputs.items()}
            timings = {"stage_seconds": clock.seconds()}
            print_json({**summary, "run_id": published.run_id, "outputs": paths, **timings})
        else:
            _print_summary(summary, outputs)
    if strict and summary["rows_rejected"]:
        raise typer.Exit(EXIT_ROWS_REJECTED)


def _print_summary(summary: dict, outputs: dict[str, Path]) -> None:
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
    if summary.get("rows_of_later_stages"):
        table.add_row("later training stages (folded into their systems)",
                      str(summary["rows_of_later_stages"]))  # fmt: skip
    table.add_row("flagged", str(summary["rows_flagged"]))
    out.print(table)
    for label, path in outputs.items():
        print_line(out, f"{label}: {path}")
    if summary["rows_rejected"]:
        print_line(out, f"{summary['rows_rejected']} rows rejected: see {outputs['rejects']}")
    _print_columns(summary["columns"])
    if summary["rows_read"] > summary["rows_rejected"] and not summary["rows_estimated"]:
        print_line(out, NOTHING_ESTIMABLE)


# Said when no row could be estimated: what each method needs.
NOTHING_ESTIMABLE = (
    "no row could be estimated: counting operations needs parameters (or connections, "
    "forward_flop_per_example, a transformer's shape) with dataset_size or training_tokens; "
    "hardware time needs hardware with hardware_quantity and training_time_hours, or chip_hours; "
    "or give reported_compute_flop"
)


def _print_columns(uses: list[dict]) -> None:
    """One line of the headers read as canonical columns (`header -> column` where they are
    spelled otherwise), one of those carried through unread, with the closest column name."""
    read = dict.fromkeys(
        u["column"] if u["header"] == u["column"] else f"{u['header']} -> {u['column']}"
        for u in uses if u["read"]
    )  # fmt: skip
    unread = dict.fromkeys(
        repr(u["header"]) + (f" (closest column: {u['closest']})" if u["closest"] else "")
        for u in uses if not u["read"] and not u.get("withheld")
    )  # fmt: skip
    withheld = dict.fromkeys(repr(u["header"]) for u in uses if u.get("withheld"))
    if read:
        print_line(out, f"columns read: {', '.join(read)}")
    if unread:
        print_line(out, f"columns not read, carried through as they are: {', '.join(unread)}")
    if withheld:
        print_line(out, f"columns withheld from estimation: {', '.join(withheld)}")


def _rejects_table(rejects, limit: int = 50) -> Table:  # noqa: ANN001 (a polars frame)
    table = frame_table(rejects.head(limit), title=f"Rejected rows ({rejects.height} problems)")
    if rejects.height > limit:
        table.caption = f"... {rejects.height - limit} more: see rejects.csv or --json"
    return table


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
        from pipeline.read.validate import rejected_rows
        from pipeline.read.validate import validate as validate_rows
        from pipeline.run import read_raw_and_columns

        run_sources = sources(inputs, columns, input_format)
        raw, uses = read_raw_and_columns(run_sources)
        systems, rejects = validate_rows(raw, run_sources.sheet_folders)
        rejected = rejected_rows(rejects)
        rows_read = systems.height + rejected
        if as_json:
            print_json({
                "rows_read": rows_read, "rows_rejected": rejected,
                "problems": rejects.to_dicts(), "columns": uses,
            })  # fmt: skip
        else:
            if rejects.height:
                out.print(_rejects_table(rejects))
                out.print(f"{rejected} of {rows_read} rows rejected")
            else:
                out.print(f"all {rows_read} rows valid")
            _print_columns(uses)
    if rejected:
        raise typer.Exit(EXIT_ROWS_REJECTED)

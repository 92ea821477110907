"""The commands on a published dataset: `refresh`, `diff`, `query` and `report`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from pipeline.cli.common import (
    DATASET_HELP,
    DEFAULT_DATABASE,
    DEFAULT_OUTPUT_DIR,
    DEFAULT_PRIORS,
    ColumnsOption,
    DatabaseOption,
    FormatOption,
    HardwareTableOption,
    InputFormat,
    JsonOption,
    OutputFormat,
    OutputFormatOption,
    PriorsOption,
    ThresholdOption,
    cells,
    err,
    flops,
    frame_table,
    named_path,
    out,
    print_frame,
    print_json,
    print_line,
    print_warnings,
    sources,
    user_errors,
)
from pipeline.defaults import DEFAULT_KEEP, DEFAULT_THRESHOLD
from pipeline.resources import HARDWARE_TABLE

DEFAULT_SYSTEMS = Path("data/raw/systems.csv")
DEFAULT_QUERY_TIMEOUT = 60.0  # seconds: a mistaken cross join ends, the queries of the docs do not
TABLE_ROWS = 1000  # rows `query` prints as a table, unless --limit says otherwise
DIFF_COLUMNS = (
    "change", "system", "old_estimate_flop", "new_estimate_flop", "old_source", "new_source",
    "old_flags", "new_flags",
)  # fmt: skip


def refresh(
    inputs: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Spreadsheets (default: data/raw/systems.csv in the working folder).",
            show_default=False,
        ),
    ] = None,
    output_dir: Annotated[
        Path,
        typer.Option(
            "--output-dir", "-o", parser=named_path, help="The dataset folder kept between runs."
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
    threshold: ThresholdOption = DEFAULT_THRESHOLD,
    hardware_table: HardwareTableOption = HARDWARE_TABLE,
    input_format: FormatOption = InputFormat.auto,
    priors: PriorsOption = DEFAULT_PRIORS,
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
        from pipeline.refresh import REPORT_DIR, refresh_dataset
        from pipeline.report import REPORT_HTML

        run_sources = sources(
            inputs or [DEFAULT_SYSTEMS], columns, input_format, hardware_table, priors
        )
        result = refresh_dataset(
            run_sources, output_dir, force=force, keep=keep, wait_seconds=wait,
            threshold=threshold, report=report,
        )  # fmt: skip
        print_warnings(result.warnings)  # the dataset is published all the same: exit 0
        if as_json:
            print_json(
                {**result.record, "status": result.status, "run_id": result.run_id,
                 "warnings": result.warnings}
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
        if report and not any(w.startswith("report not written") for w in result.warnings):
            print_line(out, f"report: {output_dir / REPORT_DIR / REPORT_HTML}")


def _diff_table(diff, limit: int | None = None) -> Table:  # noqa: ANN001 (a polars frame)
    table = Table(title=f"{diff.height} systems differ")
    for column in DIFF_COLUMNS:
        table.add_column(column, overflow="fold")
    shown = diff if limit is None else diff.head(limit)
    for row in shown.select(DIFF_COLUMNS).iter_rows(named=True):
        table.add_row(*cells(tuple(
            flops(v) if k.endswith("_flop") else v for k, v in row.items()
        )))  # fmt: skip
    if limit is not None and diff.height > limit:
        table.caption = f"... {diff.height - limit} more: flopsheet diff"
    return table


def diff(
    run_a: Annotated[
        str | None, typer.Argument(help="Older run id (or a unique prefix).", show_default=False)
    ] = None,
    run_b: Annotated[
        str | None, typer.Argument(help="Newer run id (or a unique prefix).", show_default=False)
    ] = None,
    output_dir: Annotated[
        Path,
        typer.Option("--output-dir", "-o", "--db", parser=named_path, help=DATASET_HELP),
    ] = DEFAULT_OUTPUT_DIR,
    threshold: ThresholdOption = DEFAULT_THRESHOLD,
    output_format: OutputFormatOption = OutputFormat.table,
    as_json: JsonOption = False,
) -> None:
    """Systems added, removed and changed between two published runs (default: the last two).

    Examples:

        flopsheet diff

        flopsheet diff 20261101T020000 20261128T020000 --threshold 0.1 --format csv
    """  # fmt: skip
    with user_errors():
        from pipeline.publish.dataset import Dataset

        changes = Dataset(output_dir).diff(run_a, run_b, threshold)
        fmt = OutputFormat.json if as_json else output_format
        print_frame(changes, fmt, lambda: out.print(_diff_table(changes)))


def query(
    sql: Annotated[str, typer.Argument(help="A SQL query.")],
    db: DatabaseOption = DEFAULT_DATABASE,
    output_format: OutputFormatOption = OutputFormat.table,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            min=0,
            help="Seconds the query may run before it is stopped (exit 1); 0 for no limit.",
        ),
    ] = DEFAULT_QUERY_TIMEOUT,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            min=0,
            help=f"Rows to print, 0 for all (default: {TABLE_ROWS} as a table, all as csv or "
            "json). A line says how many were left out.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run SQL against the published database (read-only, no access to other files).

    Tables: estimates, compute_by_rule, rejects, hardware, metadata, runs, estimate_history.
    The configuration is locked (SET is refused) and DuckDB spills to a temporary folder of its
    own, never into the dataset. Exit 1 when the query fails or runs past --timeout, 2 when the database is missing.

    Examples:

        flopsheet query "SELECT system, estimate_flop FROM estimates ORDER BY estimate_flop DESC LIMIT 5"

        flopsheet query "SELECT estimate_source, count(*) FROM estimates GROUP BY 1" --format csv
    """  # fmt: skip
    if not sql.strip():
        raise typer.BadParameter("is empty; give a SQL query", param_hint="'SQL'")
    with user_errors():
        from pipeline.publish.dataset import Dataset

        frame = Dataset(db).query(sql, timeout=timeout or None)
        if limit is None:
            limit = TABLE_ROWS if output_format is OutputFormat.table else 0
        shown = frame.head(limit) if limit else frame
        left_out = frame.height - shown.height

        def table() -> None:
            rows = frame_table(shown)
            if left_out:
                rows.caption = f"... {left_out:,} more rows left out: --limit 0 prints them all"
            out.print(rows)

        print_frame(shown, output_format, table)
        if left_out and output_format is not OutputFormat.table:
            # on stderr, so that what stdout holds stays CSV or JSON
            print_line(err, f"{left_out:,} more rows left out (--limit {limit})")


def report(
    db: DatabaseOption = DEFAULT_DATABASE,
    out_dir: Annotated[
        Path,
        typer.Option("--out", parser=named_path, help="Folder for report.html and the charts."),
    ] = DEFAULT_OUTPUT_DIR / "report",
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
    with user_errors():
        from pipeline.report.page import write_report  # altair and vl-convert load only here

        files = write_report(db, out_dir)
        if as_json:
            print_json({"report": str(files.html), "charts": [str(p) for p in files.charts]})
            return
        out.print(f"report: {files.html}", markup=False)
        out.print(f"charts: {len(files.charts)} files (PNG and SVG) in {files.html.parent}")

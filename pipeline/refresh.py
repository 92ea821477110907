"""Unattended refreshes: locked, idempotent, atomic, with a history of runs and estimates.

One path publishes every dataset, `flopsheet estimate`'s included:
1. take the lock on the output folder, repair the run log, remove what killed runs left;
2. snapshot the inputs into a new run folder (each file read and hashed once, as it is copied);
3. the run key comes from the copies: unchanged since the published run, the refresh skips;
4. read, validate and estimate the copies (`run.run_in_memory`);
5. write the outputs and the database inside the run folder, then publish it with one rename.
The folder's layout is `pipeline.publish.runs`'; the database's is `pipeline.publish.dataset`'s.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipeline.defaults import DEFAULT_KEEP, DEFAULT_THRESHOLD
from pipeline.errors import is_engine_panic
from pipeline.estimate.hardware import load_hardware
from pipeline.estimate.priors import PriorsChoice, load_learned
from pipeline.estimate.rule_table import compute_by_rule_parts
from pipeline.publish import runs
from pipeline.publish.dataset import (
    DATABASE_NAME,
    ESTIMATES_CSV_NAME,
    PARQUET_NAME,
    REJECTS_NAME,
    earlier_runs,
    previous_estimates,
    write_database,
)
from pipeline.publish.diff import diff_counts, diff_estimates
from pipeline.publish.lock import output_lock
from pipeline.publish.safe_csv import write_safe_csv
from pipeline.publish.snapshot import Snapshot, may_name_layer_lists, named_layer_lists
from pipeline.report import REPORT_HTML
from pipeline.resources import HARDWARE_TABLE
from pipeline.run import RunResult, read_raw_and_columns, run_in_memory
from pipeline.settings import DEFAULT_SETTINGS, Settings
from pipeline.sources import Sources

REPORT_DIR = "report"  # in each run folder, and DIR/report links to the current one


@dataclass
class RefreshResult:
    status: str  # published, skipped
    run_id: str | None
    record: dict = field(default_factory=dict)
    diff: pl.DataFrame | None = None
    result: RunResult | None = None  # the estimates of a published run
    warnings: list[str] = field(default_factory=list)  # damaged log lines, an unwritten report

    @property
    def summary(self) -> dict:
        return self.result.summary if self.result else {}


def refresh_dataset(
    inputs: Iterable[Path | str] | Sources,
    output_dir: Path | str,
    *,
    columns: Mapping[str, str] | None = None,
    input_format: str = "auto",
    hardware_table: Path | str = HARDWARE_TABLE,
    priors: PriorsChoice | Path | str = PriorsChoice(),
    force: bool = False,
    keep: int = DEFAULT_KEEP,
    wait_seconds: float = 0.0,
    settings: Settings = DEFAULT_SETTINGS,
    threshold: float = DEFAULT_THRESHOLD,
    on_stage: Callable[[str], None] = lambda stage: None,
    report: bool = False,
) -> RefreshResult:
    """Publish the sheets (paths with the options after them, or a `Sources`) into
    `output_dir`, or skip when nothing changed since the published run (unless `force`)."""
    sources = (
        inputs
        if isinstance(inputs, Sources)
        else Sources.of(inputs, columns, input_format, hardware_table, priors)
    )
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    with output_lock(output_dir, wait_seconds):
        runs.pause("locked")
        warnings = runs.repair_log(output_dir)
        runs.clean_debris(output_dir)
        record: dict = {
            "started_at": runs.timestamp(),
            "inputs": [{"file": str(p), "sha256": None} for p in sources.inputs],
        }
        incoming = runs.incoming_run_dir(output_dir)
        try:
            runs.check_nothing_in_the_way(output_dir)
            snapshot = Snapshot.take(sources, incoming)
            # The cells, when read here for the layer lists they name, are handed to the run in
            # this list: taken out of it, they go once validated (1M rows: about 0.5 GB).
            cells: list[tuple[pl.DataFrame, list[dict]]] = []
            if "architecture_file" in sources.columns.values() or any(
                may_name_layer_lists(copy) for copy in snapshot.sheet_copies
            ):
                on_stage("read")
                with snapshot.naming_originals():
                    cells.append(read_raw_and_columns(sources, snapshot.sheet_copies))
                snapshot.add_layer_lists(named_layer_lists(cells[0][0], sources.sheet_folders))
            key = snapshot.key(sources, settings)
        except BaseException as error:  # Ctrl-C too: the copies go, and failures are logged
            shutil.rmtree(incoming, ignore_errors=True)
            if isinstance(error, Exception) or is_engine_panic(error):
                failed = {**record, "run_id": runs.new_run_id(output_dir, "0" * 8)}
                runs.log_failure(output_dir, failed, error)
            raise
        last = runs.published_record(output_dir)
        if last is not None and last["key"] == key and not force:
            shutil.rmtree(incoming, ignore_errors=True)
            cells.clear()  # read for the key only; the report does not need them
            runs.link_published_files(output_dir)  # put back links a clean-up removed
            skipped = RefreshResult("skipped", last["run_id"], last, warnings=warnings)
            if report and not (output_dir / REPORT_DIR / REPORT_HTML).is_file():
                skipped.warnings += write_run_report(output_dir)  # the last try failed
            return skipped
        run_id, snapshot.run_dir = runs.name_run(output_dir, incoming, key)
        run_dir = snapshot.run_dir
        record.update(run_id=run_id, key=key)
        try:
            diff, result = _run(
                sources, snapshot, cells, output_dir, record, settings, threshold, on_stage
            )
        except BaseException as error:
            # Once `current` points at the run, it is the published dataset: keep it.
            if runs.current_run_dir(output_dir) != run_dir.resolve():
                shutil.rmtree(run_dir, ignore_errors=True)
            if isinstance(error, Exception) or is_engine_panic(error):
                runs.log_failure(output_dir, record, error)
            raise
        runs.prune(output_dir, keep)
        result.run_id, result.output_dir = run_id, output_dir
        published = RefreshResult("published", run_id, record, diff, result, warnings)
        if report:
            published.warnings += write_run_report(output_dir)
        return published


def _run(
    sources: Sources,
    snapshot: Snapshot,
    cells: list[tuple[pl.DataFrame, list[dict]]],
    output_dir: Path,
    record: dict,
    settings: Settings,
    threshold: float,
    on_stage: Callable[[str], None],
) -> tuple[pl.DataFrame, RunResult]:
    """Estimate, write and publish one run inside its folder; fills in `record`."""
    run_dir = snapshot.run_dir
    snapshot.write_checksums()
    record["inputs"] = snapshot.record(snapshot.sheets)
    if snapshot.layers:
        record["layer_lists"] = snapshot.record(snapshot.layers)
    with snapshot.naming_originals():
        if not cells:
            on_stage("read")
            cells.append(read_raw_and_columns(sources, snapshot.sheet_copies))
        hardware = load_hardware(snapshot.path(snapshot.hardware))
        chosen = snapshot.path(snapshot.priors) if snapshot.priors else sources.priors
        result = run_in_memory(
            sources, settings, on_stage, read=cells.pop(), hardware=hardware,
            learned=load_learned(chosen), layer_copies=snapshot.layer_copies,
        )  # fmt: skip
    runs.pause("estimated")
    on_stage("publish")
    estimates, rejects, summary = result.estimates, result.rejects, result.summary
    previous = runs.previous_database(output_dir)
    before = previous_estimates(previous)
    empty = estimates.clear().select("system", "estimate_flop", "estimate_source", "flags")
    diff = diff_estimates(before if before is not None else empty, estimates, threshold)
    del before  # the previous run's estimates: as many rows as this run's
    record.update(
        rows_read=summary["rows_read"], rows_estimated=summary["rows_estimated"],
        rows_rejected=summary["rows_rejected"], rows_flagged=summary["rows_flagged"],
        **diff_counts(diff), status="published",
    )  # fmt: skip
    record["ended_at"] = runs.timestamp()
    logged, _ = runs.read_run_log(output_dir)
    runs_table = runs.runs_table([*logged, record], earlier_runs(previous))

    estimates.write_parquet(run_dir / PARQUET_NAME, compression="zstd", statistics=True)
    # The CSV files are written while the database is built: the two are independent, and
    # each leaves a core idle part of the time (1M rows: about 0.8 s less than one by one).
    # Leaving the block waits for the CSV files, whatever the database did.
    with ThreadPoolExecutor(max_workers=1) as writer:
        csv_files = writer.submit(_write_csv_files, estimates, rejects, run_dir)
        staged = run_dir / f".{DATABASE_NAME}.tmp"
        tables = {
            "estimates": estimates, "compute_by_rule": compute_by_rule_parts(estimates),
            "rejects": rejects, "hardware": hardware,
            "metadata": snapshot.provenance(sources, settings), "runs": runs_table,
        }  # fmt: skip
        write_database(
            staged, tables, previous, record["run_id"], {"estimates": run_dir / PARQUET_NAME}
        )
        csv_files.result()
    runs.pause("written")
    staged.rename(run_dir / DATABASE_NAME)
    runs.write_record(run_dir, record)
    runs.publish_run(output_dir, run_dir)
    runs.append_run_log(output_dir, record)
    return diff, result


def _write_csv_files(estimates: pl.DataFrame, rejects: pl.DataFrame, run_dir: Path) -> None:
    write_safe_csv(estimates, run_dir / ESTIMATES_CSV_NAME)
    write_safe_csv(rejects, run_dir / REJECTS_NAME)


# ---------------------------------------------------------------------------------------------
# The report (pipeline/report), made once a run is published. The dataset is already published
# when it runs, so a failure here is a warning in the result: never a failed run, and never a
# reason to take the new dataset back.


def write_run_report(output_dir: Path) -> list[str]:
    """Write the published run's report into runs/<run_id>/report/ and make DIR/report a link
    to current/report. The link is made first: until the report is written, and if it can't be,
    DIR/report shows no report rather than the previous run's. Returns the warnings."""
    link = output_dir / REPORT_DIR
    try:
        if link.is_dir() and not link.is_symlink():  # left by `flopsheet report --out DIR/report`
            shutil.rmtree(link)
        runs.link(f"{runs.CURRENT}/{REPORT_DIR}", link)
        from pipeline.report.page import write_report  # altair and vl-convert load only when needed

        run_dir = runs.current_run_dir(output_dir)
        write_report(run_dir / DATABASE_NAME, run_dir / REPORT_DIR)
    except Exception as error:
        text = runs.error_text(error).strip()
        return [f"report not written: {text.splitlines()[0] if text else text}"]
    return []

"""The folder a dataset is published in, and the runs it keeps.

    DIR/runs/<run_id>/          one run: its inputs (copied) with checksums, its outputs
    DIR/current -> runs/<id>    the published run; replaced atomically by rename
    DIR/compute.duckdb -> current/compute.duckdb   (and estimates.parquet, rejects.csv)
    DIR/runs.jsonl              one line per finished run, published or failed
    DIR/.lock                   held (flock) by the running refresh

A run writes only inside its own directory. Publishing is one rename of `current`, so a
reader sees the previous dataset or the new one, all three files together, never a mix.
A killed run leaves a run directory that was never published; the next run removes it.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from pipeline.errors import FlopsheetError, InputFileError
from pipeline.publish.dataset import (
    DATABASE_NAME,
    ESTIMATES_CSV_NAME,
    PARQUET_NAME,
    REJECTS_NAME,
)

RUNS_DIR = "runs"
RUN_LOG = "runs.jsonl"
CURRENT = "current"
RUN_RECORD = "run.json"
PUBLISHED_FILES = (DATABASE_NAME, PARQUET_NAME, ESTIMATES_CSV_NAME, REJECTS_NAME)
INCOMING_PREFIX = ".incoming-"  # a run's folder until its key, and so its id, is known


def now() -> datetime:
    return datetime.now(UTC)


def timestamp() -> str:
    return f"{now():%Y-%m-%dT%H:%M:%S.%fZ}"


def pause(point: str) -> None:
    """Fault-injection hook for the crash tests: FLOPSHEET_TEST_PAUSE=point:seconds."""
    wanted = os.environ.get("FLOPSHEET_TEST_PAUSE", "")
    name, _, seconds = wanted.partition(":")
    if name == point:
        print(f"paused at {point}", file=sys.stderr, flush=True)
        time.sleep(float(seconds or 60))


def error_text(error: BaseException) -> str:
    return str(error) if isinstance(error, FlopsheetError) else f"{type(error).__name__}: {error}"


# ---------------------------------------------------------------------------------------------
# The run log


def read_run_log(output_dir: Path) -> tuple[list[dict], list[str]]:
    """(the log's records, a warning for each damaged line skipped). A line cut short (a full
    disk) or edited by hand is damaged; the rest still counts."""
    records, damaged = _read_log(output_dir)
    warnings = [f"{output_dir / RUN_LOG} line {n} is damaged and was skipped" for n in damaged]
    return records, warnings


def _read_log(output_dir: Path) -> tuple[list[dict], list[int]]:
    path = output_dir / RUN_LOG
    if not path.exists():
        return [], []
    records, damaged = [], []
    for number, line in enumerate(path.read_bytes().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            record = None
        if isinstance(record, dict) and all(
            isinstance(record.get(key), str) for key in ("run_id", "status")
        ):
            records.append(record)
        else:
            damaged.append(number)
    return records, damaged


def append_run_log(output_dir: Path, record: dict) -> None:
    with open(output_dir / RUN_LOG, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def log_failure(output_dir: Path, record: dict, error: BaseException) -> None:
    failed = {**record, "status": "failed", "ended_at": timestamp(), "message": error_text(error)}
    append_run_log(output_dir, failed)


def published_record(output_dir: Path) -> dict | None:
    """The record of the run `current` points to: the published run, whatever the log says."""
    current = current_run_dir(output_dir)
    if current is None or not (current / RUN_RECORD).exists():
        return None
    return json.loads((current / RUN_RECORD).read_text())


def repair_log(output_dir: Path) -> list[str]:
    """A run killed after it was published but before it was logged gets its log line now.
    Returns the warnings about damaged lines."""
    records, warnings = read_run_log(output_dir)
    record = published_record(output_dir)
    if record is not None and record["run_id"] not in {r["run_id"] for r in records}:
        append_run_log(output_dir, record)
    return warnings


# ---------------------------------------------------------------------------------------------
# Run folders


def current_run_dir(output_dir: Path) -> Path | None:
    link = output_dir / CURRENT
    return link.resolve() if link.is_symlink() and link.resolve().is_dir() else None


def previous_database(output_dir: Path) -> Path | None:
    current = current_run_dir(output_dir)
    database = None if current is None else current / DATABASE_NAME
    return database if database is not None and database.exists() else None


def clean_debris(output_dir: Path) -> list[str]:
    """Remove what killed runs left: run directories never published, temporary files."""
    removed = []
    current = current_run_dir(output_dir)
    records, damaged = _read_log(output_dir)
    published = {r["run_id"] for r in records if r["status"] == "published"}
    runs = output_dir / RUNS_DIR
    for run_dir in sorted(runs.iterdir()) if runs.exists() else []:
        if run_dir == current or run_dir.name in published:
            continue
        # A damaged log line may have been a published run's: keep every run that finished.
        if damaged and (run_dir / RUN_RECORD).exists():
            continue
        shutil.rmtree(run_dir, ignore_errors=True)
        removed.append(str(run_dir))
    for leftover in output_dir.glob(".*.tmp*"):
        leftover.unlink(missing_ok=True)
        removed.append(str(leftover))
    return removed


def prune(output_dir: Path, keep: int) -> None:
    current = current_run_dir(output_dir)
    finished = sorted(p for p in (output_dir / RUNS_DIR).iterdir() if (p / RUN_RECORD).exists())
    for run_dir in finished[: max(0, len(finished) - keep)]:
        if run_dir != current:
            shutil.rmtree(run_dir, ignore_errors=True)


def incoming_run_dir(output_dir: Path) -> Path:
    """A fresh folder for a run whose id is not known yet (see `name_run`)."""
    folder = output_dir / RUNS_DIR / f"{INCOMING_PREFIX}{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def new_run_id(output_dir: Path, key: str) -> str:
    stamp_time = now()  # milliseconds, so that run ids sort in the order the runs started
    stamp = f"{stamp_time:%Y%m%dT%H%M%S}.{stamp_time.microsecond // 1000:03d}Z"
    run_id = f"{stamp}-{key[:8]}"
    suffix = 1
    while (output_dir / RUNS_DIR / run_id).exists():
        suffix += 1
        run_id = f"{stamp}-{key[:8]}-{suffix}"
    return run_id


def name_run(output_dir: Path, incoming: Path, key: str) -> tuple[str, Path]:
    """Give the incoming run its id, now that its key is known: (run id, its folder)."""
    run_id = new_run_id(output_dir, key)
    run_dir = output_dir / RUNS_DIR / run_id
    os.rename(incoming, run_dir)
    return run_id, run_dir


def write_record(run_dir: Path, record: dict) -> None:
    (run_dir / RUN_RECORD).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


# ---------------------------------------------------------------------------------------------
# Publishing: links into the current run


def link(target: str, path: Path) -> None:
    """Point `path` at `target`, atomically replacing whatever `path` was."""
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    temporary.unlink(missing_ok=True)
    os.symlink(target, temporary)
    os.replace(temporary, path)


def publish_run(output_dir: Path, run_dir: Path) -> None:
    pause("publishing")
    link(f"{RUNS_DIR}/{run_dir.name}", output_dir / CURRENT)
    link_published_files(output_dir)


def check_nothing_in_the_way(output_dir: Path) -> None:
    """A folder where a published link goes cannot be replaced by it: say so before the run,
    not after it has switched `current`."""
    for name in (CURRENT, *PUBLISHED_FILES):
        path = output_dir / name
        if path.is_dir() and not path.is_symlink():
            raise InputFileError(path, "a folder is where this link to the published run goes")


def link_published_files(output_dir: Path) -> None:
    """DIR/compute.duckdb and the others are links into `current`; make them so again."""
    for name in PUBLISHED_FILES:
        path = output_dir / name
        wanted = f"{CURRENT}/{name}"
        if not (path.is_symlink() and os.readlink(path) == wanted):
            link(wanted, path)


# ---------------------------------------------------------------------------------------------
# The `runs` table

RUNS_SCHEMA = {
    "run_id": pl.String, "key": pl.String, "status": pl.String, "started_at": pl.String,
    "ended_at": pl.String, "input_files": pl.List(pl.String), "input_sha256": pl.List(pl.String),
    "rows_read": pl.Int64, "rows_estimated": pl.Int64, "rows_rejected": pl.Int64,
    "rows_flagged": pl.Int64, "systems_added": pl.Int64, "systems_removed": pl.Int64,
    "systems_changed": pl.Int64, "message": pl.String,
}  # fmt: skip


def runs_table(records: list[dict], earlier: pl.DataFrame | None) -> pl.DataFrame:
    """The `runs` table: the logged runs, plus the runs the previous database listed that the
    log has lost (a damaged line is skipped when the log is read), so every published run
    stays in it."""
    rows = [
        {
            "run_id": r["run_id"], "key": r.get("key"), "status": r["status"],
            "started_at": r["started_at"], "ended_at": r.get("ended_at"),
            "input_files": [i["file"] for i in r.get("inputs", [])],
            "input_sha256": [i["sha256"] for i in r.get("inputs", [])],
            "rows_read": r.get("rows_read"), "rows_estimated": r.get("rows_estimated"),
            "rows_rejected": r.get("rows_rejected"), "rows_flagged": r.get("rows_flagged"),
            "systems_added": r.get("added"), "systems_removed": r.get("removed"),
            "systems_changed": r.get("changed"), "message": r.get("message"),
        }
        for r in records
    ]  # fmt: skip
    logged = pl.DataFrame(rows, schema=RUNS_SCHEMA).with_columns(
        pl.col("started_at", "ended_at").str.to_datetime("%Y-%m-%dT%H:%M:%S%.fZ", time_zone="UTC")
    )
    if earlier is None:
        return logged
    lost = earlier.filter(~pl.col("run_id").is_in(logged["run_id"].implode()))
    if lost.height == 0:
        return logged
    # An older database's table may lack a column or two: those are blank for its runs.
    shared = [c for c in lost.columns if c in logged.schema]
    lost = lost.select(pl.col(c).cast(logged.schema[c]) for c in shared)
    both = pl.concat([logged, lost], how="diagonal_relaxed")
    return both.select(logged.columns).sort("started_at", "run_id")

"""Unattended refreshes: locked, idempotent, atomic, with a history of runs and estimates.

Layout of an output directory kept by `flopsheet refresh`:

    DIR/runs/<run_id>/          one run: its inputs (copied) with checksums, its outputs
    DIR/current -> runs/<id>    the published run; replaced atomically by rename
    DIR/compute.duckdb -> current/compute.duckdb   (and estimates.parquet, rejects.csv)
    DIR/runs.jsonl              one line per finished run, published or failed
    DIR/.lock                   held (flock) by the running refresh

A run writes only inside its own directory. Publishing is one rename of `current`, so a
reader sees the previous dataset or the new one, all three files together, never a mix.
A killed run leaves a run directory that was never published; the next run removes it.
The lock is an flock on DIR/.lock: the kernel drops it when its process dies, so a lock
left by a killed process is taken over by the next run with no guesswork.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from pipeline.architecture.layers import ArchitectureFileError, resolve_architecture
from pipeline.errors import FlopsheetError, InputFileError, is_engine_panic
from pipeline.estimate.hardware import DEFAULT_HARDWARE_PATH, load_hardware
from pipeline.estimate.priors import DEFAULT_PRIORS_PATH, SEED
from pipeline.publish.dataset import (
    DATABASE_NAME,
    PARQUET_NAME,
    REJECTS_NAME,
    file_sha256,
    priors_fingerprint,
    provenance,
    write_database,
)
from pipeline.publish.diff import DEFAULT_THRESHOLD, diff_counts, diff_estimates
from pipeline.publish.history import change_column
from pipeline.publish.lock import EXIT_LOCKED, LockedError, output_lock  # noqa: F401 (re-exported)
from pipeline.read.columns import header_key
from pipeline.read.files import read_inputs
from pipeline.run import run_estimate, spreadsheet_dirs
from pipeline.settings import DEFAULT_SETTINGS, Settings
from pipeline.version import __version__

RUNS_DIR = "runs"
RUN_LOG = "runs.jsonl"
CURRENT = "current"
RUN_RECORD = "run.json"
PUBLISHED_FILES = (DATABASE_NAME, PARQUET_NAME, REJECTS_NAME)
DEFAULT_KEEP = 10
PRIORS_COPY = "priors.toml"
LAYERS_COPY_DIR = "architectures"
HISTORY_COLUMNS = ("run_id", "system", "estimate_flop", "estimate_source", "flags")


@dataclass
class RefreshResult:
    status: str  # published, skipped
    run_id: str | None
    record: dict = field(default_factory=dict)
    diff: pl.DataFrame | None = None
    summary: dict = field(default_factory=dict)  # the estimate's counts (published runs)
    warnings: list[str] = field(default_factory=list)  # e.g. a report that was not written


def _now() -> datetime:
    return datetime.now(UTC)


def _timestamp() -> str:
    return f"{_now():%Y-%m-%dT%H:%M:%S.%fZ}"


def _pause(point: str) -> None:
    """Fault-injection hook for the crash tests: FLOPSHEET_TEST_PAUSE=point:seconds."""
    wanted = os.environ.get("FLOPSHEET_TEST_PAUSE", "")
    name, _, seconds = wanted.partition(":")
    if name == point:
        print(f"paused at {point}", file=sys.stderr, flush=True)
        time.sleep(float(seconds or 60))


PACKAGE_ROOT = Path(__file__).resolve().parent.parent
# Libraries whose version can change what a run computes or writes.
COMPUTING_LIBRARIES = ("polars", "duckdb", "pandera", "pyarrow")


@functools.cache
def code_fingerprint(root: Path = PACKAGE_ROOT) -> str:
    """SHA-256 of flopsheet's own source (`pipeline/` and `schemas/` under `root`) and of the
    versions of the libraries that compute and write: a change to either changes what a run
    computes, with or without a new flopsheet version."""
    digest = hashlib.sha256()
    for library in COMPUTING_LIBRARIES:
        digest.update(f"{library} {importlib.metadata.version(library)}\n".encode())
    for path in sorted((*root.glob("pipeline/*.py"), *root.glob("schemas/*.py"))):
        digest.update(f"{path.relative_to(root).as_posix()}\n".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def run_key(
    inputs: Sequence[Path],
    hardware_path: Path,
    settings: Settings,
    column_map: dict[str, str] | None = None,
    input_format: str = "auto",
    priors_path: Path | str = DEFAULT_PRIORS_PATH,
) -> str:
    """Hash of everything a run depends on: input bytes, hardware table, utilization priors,
    settings, the column map, the input format, and the flopsheet version and code."""
    return _run_key_and_layer_lists(
        inputs, hardware_path, settings, column_map, input_format, priors_path
    )[0]


def _run_key_and_layer_lists(
    inputs: Sequence[Path],
    hardware_path: Path,
    settings: Settings,
    column_map: dict[str, str] | None,
    input_format: str,
    priors_path: Path | str,
) -> tuple[str, list[Path]]:
    """The run key, and the layer-list files the sheets name (which it covers): a run
    snapshots the same files without reading the sheets again."""
    digest = hashlib.sha256()
    parts = [
        __version__,
        code_fingerprint(),
        json.dumps(settings.as_dict(), sort_keys=True),
        json.dumps(column_map or {}, sort_keys=True),
        input_format,
        _hardware_sha256(hardware_path),
        priors_fingerprint(priors_path),
    ]
    for path in inputs:
        if not Path(path).is_file():
            raise InputFileError(path, "not a file" if Path(path).exists() else "file not found")
        try:
            parts.append(f"{Path(path).name}:{file_sha256(Path(path))}")
        except OSError as error:
            raise InputFileError(path, f"cannot read: {error.strerror or error}") from None
    # The layer lists a sheet names are inputs too: editing one must not be skipped.
    layer_files = architecture_files(inputs, column_map, input_format)
    parts += [f"{layer_file}:{file_sha256(layer_file)}" for layer_file in layer_files]
    digest.update("\n".join(parts).encode())
    return digest.hexdigest(), layer_files


def _hardware_sha256(path: Path) -> str:
    try:
        return file_sha256(path)
    except FileNotFoundError:
        raise InputFileError(path, "hardware table not found") from None
    except OSError as error:
        raise InputFileError(path, f"cannot read the hardware table: {error.strerror}") from None


def _may_name_layer_lists(path: Path) -> bool:
    """Whether the sheet's headers include the layer-list column (True when in doubt)."""
    try:
        if path.suffix.lower() == ".parquet":
            headers = list(pl.read_parquet_schema(path))
        elif path.suffix.lower() in (".csv", ".tsv"):
            separator = "\t" if path.suffix.lower() == ".tsv" else ","
            headers = pl.read_csv(
                path, n_rows=0, infer_schema=False, separator=separator, encoding="utf8-lossy"
            ).columns
        else:
            return True
    except Exception:
        return True
    return any(header_key(h) == header_key("architecture_file") for h in headers)


def architecture_files(
    inputs: Sequence[Path], column_map: dict[str, str] | None, input_format: str
) -> list[Path]:
    """The layer-list files the sheets name and that exist (a missing or bad one is the run's
    to reject, row by row), ordered by file name first so that a run's copies are numbered the
    same wherever the project and the sheets live."""
    mapped = "architecture_file" in (column_map or {}).values()
    if not mapped and not any(_may_name_layer_lists(Path(p)) for p in inputs):
        return []  # spares reading a large sheet twice
    raw = read_inputs(inputs, column_map, input_format)
    if "architecture_file" not in raw.columns:
        return []
    search_dirs = spreadsheet_dirs(inputs)
    found = set()
    for cell in raw["architecture_file"].drop_nulls().unique().to_list():
        if cell.strip() and not cell.strip().startswith("{"):
            try:
                found.add(resolve_architecture(cell, search_dirs))
            except ArchitectureFileError:
                continue
    return sorted(found, key=lambda path: (path.name, str(path)))


def read_run_log(output_dir: Path, warn: bool = False) -> list[dict]:
    """The run log's records; with `warn`, a warning for each damaged line skipped."""
    records, damaged = _read_log(output_dir)
    for number in damaged if warn else []:
        print(f"warning: {output_dir / RUN_LOG} line {number} is damaged and was skipped",
              file=sys.stderr)  # fmt: skip
    return records


def _read_log(output_dir: Path) -> tuple[list[dict], list[int]]:
    """(records, numbers of the damaged lines). A line cut short (a full disk) or edited by
    hand is damaged; the rest still counts."""
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


def _append_run_log(output_dir: Path, record: dict) -> None:
    with open(output_dir / RUN_LOG, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _published_record(output_dir: Path) -> dict | None:
    """The record of the run `current` points to: the published run, whatever the log says."""
    current = _current_run_dir(output_dir)
    if current is None or not (current / RUN_RECORD).exists():
        return None
    return json.loads((current / RUN_RECORD).read_text())


def _repair_log(output_dir: Path) -> None:
    """A run killed after it was published but before it was logged gets its log line now."""
    logged = {r["run_id"] for r in read_run_log(output_dir, warn=True)}
    record = _published_record(output_dir)
    if record is not None and record["run_id"] not in logged:
        _append_run_log(output_dir, record)


def _current_run_dir(output_dir: Path) -> Path | None:
    link = output_dir / CURRENT
    return link.resolve() if link.is_symlink() and link.resolve().is_dir() else None


def clean_debris(output_dir: Path) -> list[str]:
    """Remove what killed runs left: run directories never published, temporary files."""
    removed = []
    current = _current_run_dir(output_dir)
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


def _prune(output_dir: Path, keep: int) -> None:
    current = _current_run_dir(output_dir)
    finished = sorted(p for p in (output_dir / RUNS_DIR).iterdir() if (p / RUN_RECORD).exists())
    for run_dir in finished[: max(0, len(finished) - keep)]:
        if run_dir != current:
            shutil.rmtree(run_dir, ignore_errors=True)


def _copy_in(source: Path, target: Path) -> str:
    """Copy `source` to `target`; the copy's SHA-256. A copy, not a hard link: a link would
    change with the next in-place edit of the spreadsheet and the run would lose its bytes."""
    shutil.copyfile(source, target)
    return file_sha256(target)


def _snapshot_inputs(
    inputs: Sequence[Path],
    hardware_path: Path,
    priors_path: Path | str,
    run_dir: Path,
    layer_files: Sequence[Path] = (),
) -> tuple[list[dict], list[dict]]:
    """Copy each input, the layer lists the sheets name, the hardware table and the priors
    into the run with their checksums: (inputs, layer lists), each as [{file, copy, sha256}]."""
    folder = run_dir / "inputs"
    folder.mkdir()

    def copied(path: Path, target: Path) -> dict:
        sha256 = _copy_in(Path(path), target)
        return {"file": str(path), "copy": str(target.relative_to(run_dir)), "sha256": sha256}

    snapshot = [
        copied(path, folder / f"{index:02d}-{Path(path).name}") for index, path in enumerate(inputs)
    ]
    layers = []
    if layer_files:
        (folder / LAYERS_COPY_DIR).mkdir()
        layers = [
            copied(path, folder / LAYERS_COPY_DIR / f"{index:02d}-{Path(path).name}")
            for index, path in enumerate(layer_files)
        ]
    sums = {"hardware.csv": _copy_in(Path(hardware_path), folder / "hardware.csv")}
    if str(priors_path) != SEED:  # the run key has already found it readable
        sums[PRIORS_COPY] = _copy_in(Path(priors_path), folder / PRIORS_COPY)
    (folder / "SHA256SUMS").write_text(
        "".join(
            f"{item['sha256']}  {Path(item['copy']).relative_to('inputs')}\n"
            for item in (*snapshot, *layers)
        )
        + "".join(f"{sha256}  {name}\n" for name, sha256 in sums.items())
    )
    return snapshot, layers


def _previous_database(output_dir: Path) -> Path | None:
    current = _current_run_dir(output_dir)
    database = None if current is None else current / DATABASE_NAME
    return database if database is not None and database.exists() else None


def _previous_estimates(database: Path | None) -> pl.DataFrame | None:
    if database is None:
        return None
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.sql(
            "SELECT system, estimate_flop, estimate_source, flags FROM estimates"
        ).pl()


def _write_history(staged: Path, previous: Path | None, run_id: str) -> None:
    """estimate_history = the previous run's history + what this run changed: systems added or
    whose estimate, source or flags changed, with their new values, and systems removed, with
    nulls. Storage grows with the changes, not with runs x rows; `estimates_as_of` rebuilds
    any run's estimates. Copied inside DuckDB, with no round trip through Python."""
    columns = ", ".join(HISTORY_COLUMNS[1:])
    with duckdb.connect(str(staged)) as connection:
        connection.execute("SET enable_progress_bar = false")
        connection.execute(
            f"CREATE TABLE estimate_history AS SELECT ?::VARCHAR AS run_id, {columns}, "
            "'added' AS change FROM estimates LIMIT 0",
            [run_id],
        )
        if previous is None:
            connection.execute(
                f"INSERT INTO estimate_history SELECT ?::VARCHAR, {columns}, 'added' "
                "FROM estimates",
                [run_id],
            )
            return
        connection.execute(f"ATTACH '{previous}' AS previous (READ_ONLY)")
        # A history written before changes were kept holds whole runs: each is a snapshot,
        # and a published run that kept no rows (every row rejected) gets an empty marker.
        change = change_column(connection, "previous")
        connection.execute(
            f"INSERT INTO estimate_history SELECT run_id, {columns}, {change} "
            "FROM previous.estimate_history"
        )
        previous_tables = {row[0] for row in connection.sql(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'previous'"
        ).fetchall()}  # fmt: skip
        if change != "change" and "runs" in previous_tables:
            connection.execute(
                "INSERT INTO estimate_history SELECT run_id, NULL, NULL, NULL, NULL, 'snapshot' "
                "FROM previous.runs WHERE status = 'published' AND run_id NOT IN "
                "(SELECT run_id FROM previous.estimate_history)"
            )
        differs = " OR ".join(f"e.{c} IS DISTINCT FROM p.{c}" for c in HISTORY_COLUMNS[2:])
        connection.execute(
            f"INSERT INTO estimate_history "
            f"SELECT ?::VARCHAR, e.system, e.estimate_flop, e.estimate_source, e.flags, "
            f"CASE WHEN p.system IS NULL THEN 'added' ELSE 'changed' END "
            f"FROM estimates e LEFT JOIN previous.estimates p ON e.system = p.system "
            f"WHERE p.system IS NULL OR {differs} "
            f"UNION ALL SELECT ?::VARCHAR, p.system, NULL, NULL, NULL, 'removed' "
            f"FROM previous.estimates p ANTI JOIN estimates e ON e.system = p.system",
            [run_id, run_id],
        )
        connection.execute("DETACH previous")


def _runs_table(records: list[dict]) -> pl.DataFrame:
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
    schema = {
        "run_id": pl.String, "key": pl.String, "status": pl.String, "started_at": pl.String,
        "ended_at": pl.String, "input_files": pl.List(pl.String), "input_sha256": pl.List(pl.String),
        "rows_read": pl.Int64, "rows_estimated": pl.Int64, "rows_rejected": pl.Int64,
        "rows_flagged": pl.Int64, "systems_added": pl.Int64, "systems_removed": pl.Int64,
        "systems_changed": pl.Int64, "message": pl.String,
    }  # fmt: skip
    return pl.DataFrame(rows, schema=schema).with_columns(
        pl.col("started_at", "ended_at").str.to_datetime("%Y-%m-%dT%H:%M:%S%.fZ", time_zone="UTC")
    )


def _with_earlier_runs(logged: pl.DataFrame, previous: Path | None) -> pl.DataFrame:
    """`logged` plus the runs the previous database listed that the log has lost (a damaged
    line is skipped when the log is read): every published run stays in the `runs` table."""
    if previous is None:
        return logged
    with duckdb.connect(str(previous), read_only=True) as connection:
        tables = {row[0] for row in connection.sql("SHOW TABLES").fetchall()}
        if "runs" not in tables:
            return logged
        earlier = connection.sql("SELECT * FROM runs").pl()
    lost = earlier.filter(~pl.col("run_id").is_in(logged["run_id"].implode()))
    if lost.height == 0:
        return logged
    # An older database's table may lack a column or two: those are blank for its runs.
    shared = [c for c in lost.columns if c in logged.schema]
    lost = lost.select(pl.col(c).cast(logged.schema[c]) for c in shared)
    both = pl.concat([logged, lost], how="diagonal_relaxed")
    return both.select(logged.columns).sort("started_at", "run_id")


def _link(target: str, link: Path) -> None:
    """Point `link` at `target`, atomically replacing whatever `link` was."""
    temporary = link.with_name(f".{link.name}.tmp-{os.getpid()}")
    temporary.unlink(missing_ok=True)
    os.symlink(target, temporary)
    os.replace(temporary, link)


def _publish_run(output_dir: Path, run_dir: Path) -> None:
    _pause("publishing")
    _link(f"{RUNS_DIR}/{run_dir.name}", output_dir / CURRENT)
    _link_published_files(output_dir)


def _check_nothing_in_the_way(output_dir: Path) -> None:
    """A folder where a published link goes cannot be replaced by it: say so before the run,
    not after it has switched `current`."""
    for name in (CURRENT, *PUBLISHED_FILES):
        path = output_dir / name
        if path.is_dir() and not path.is_symlink():
            raise InputFileError(path, "a folder is where this link to the published run goes")


def _link_published_files(output_dir: Path) -> None:
    """DIR/compute.duckdb and the others are links into `current`; make them so again."""
    for name in PUBLISHED_FILES:
        link = output_dir / name
        wanted = f"{CURRENT}/{name}"
        if not (link.is_symlink() and os.readlink(link) == wanted):
            _link(wanted, link)


def _new_run_id(output_dir: Path, key: str) -> str:
    now = _now()  # milliseconds, so that run ids sort in the order the runs started
    stamp = f"{now:%Y%m%dT%H%M%S}.{now.microsecond // 1000:03d}Z"
    run_id = f"{stamp}-{key[:8]}"
    suffix = 1
    while (output_dir / RUNS_DIR / run_id).exists():
        suffix += 1
        run_id = f"{stamp}-{key[:8]}-{suffix}"
    return run_id


def refresh(
    inputs: Sequence[Path],
    output_dir: Path,
    *,
    force: bool = False,
    keep: int = DEFAULT_KEEP,
    wait_seconds: float = 0.0,
    column_map: dict[str, str] | None = None,
    hardware_path: Path = DEFAULT_HARDWARE_PATH,
    settings: Settings = DEFAULT_SETTINGS,
    threshold: float = DEFAULT_THRESHOLD,
    on_stage: Callable[[str], None] = lambda stage: None,
    input_format: str = "auto",
    priors_path: Path | str = DEFAULT_PRIORS_PATH,
    report: bool = False,
) -> RefreshResult:
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    with output_lock(output_dir, wait_seconds):
        _pause("locked")
        _repair_log(output_dir)
        clean_debris(output_dir)
        (output_dir / RUNS_DIR).mkdir(exist_ok=True)
        record: dict = {
            "started_at": _timestamp(),
            "inputs": [{"file": str(p), "sha256": None} for p in inputs],
        }
        try:
            _check_nothing_in_the_way(output_dir)
            key, layer_files = _run_key_and_layer_lists(
                inputs, hardware_path, settings, column_map, input_format, priors_path
            )
        except Exception as error:
            _fail(output_dir, {**record, "run_id": _new_run_id(output_dir, "0" * 8)}, error)
            raise
        last = _published_record(output_dir)
        if last is not None and last["key"] == key and not force:
            _link_published_files(output_dir)  # put back links a clean-up or `estimate` removed
            skipped = RefreshResult("skipped", last["run_id"], last)
            if report and not (output_dir / REPORT_DIR / REPORT_HTML).is_file():
                skipped.warnings += write_run_report(output_dir)  # the last try failed
            return skipped
        run_id = _new_run_id(output_dir, key)
        run_dir = output_dir / RUNS_DIR / run_id
        run_dir.mkdir()
        record.update(run_id=run_id, key=key)
        try:
            diff, summary = _run(
                inputs, output_dir, run_dir, record, column_map, hardware_path, settings, threshold,
                on_stage, input_format, priors_path, layer_files,
            )  # fmt: skip
        except BaseException as error:
            # Once `current` points at the run, it is the published dataset: keep it.
            if _current_run_dir(output_dir) != run_dir.resolve():
                shutil.rmtree(run_dir, ignore_errors=True)
            if isinstance(error, Exception) or is_engine_panic(error):
                _fail(output_dir, record, error)
            raise
        _prune(output_dir, keep)
        result = RefreshResult("published", run_id, record, diff, summary)
        if report:
            result.warnings += write_run_report(output_dir)
        return result


def _fail(output_dir: Path, record: dict, error: BaseException) -> None:
    message = (
        str(error) if isinstance(error, FlopsheetError) else f"{type(error).__name__}: {error}"
    )
    _append_run_log(
        output_dir, {**record, "status": "failed", "ended_at": _timestamp(), "message": message}
    )


def _run(
    inputs, output_dir, run_dir, record, column_map, hardware_path, settings, threshold, on_stage,
    input_format, priors_path, layer_files,
):  # fmt: skip
    """Estimate, write and publish one run inside `run_dir`; fills in `record`.
    Returns the diff against the previous run and the estimate's summary."""
    # The layer lists are read from the run's copies: the run holds every byte it counted.
    snapshot, layers = _snapshot_inputs(inputs, hardware_path, priors_path, run_dir, layer_files)
    record["inputs"] = snapshot
    if layers:
        record["layer_lists"] = layers
    layer_copies = {Path(item["file"]): run_dir / item["copy"] for item in layers}
    copies = [run_dir / item["copy"] for item in snapshot]
    hardware_copy = run_dir / "inputs" / "hardware.csv"
    priors_copy = SEED if str(priors_path) == SEED else run_dir / "inputs" / PRIORS_COPY
    try:
        result = run_estimate(
            copies, None, column_map, hardware_copy, settings, on_stage, input_format,
            priors_path=priors_copy,
            search_dirs=spreadsheet_dirs(inputs), layer_copies=layer_copies,
        )  # fmt: skip
    except InputFileError as error:  # name the file the user gave, not the run's copy
        originals = {str(c): i["file"] for c, i in zip(copies, snapshot, strict=True)}
        originals[str(priors_copy)] = str(priors_path)
        originals[str(hardware_copy)] = str(hardware_path)
        originals.update({str(copy): str(file) for file, copy in layer_copies.items()})
        original = originals.get(str(error.path), error.path)
        raise InputFileError(original, error.problem) from None
    # Rows name the file the user gave, not its copy, so runs over the same bytes are identical.
    originals = {str(copy): item["file"] for copy, item in zip(copies, snapshot, strict=True)}
    estimates = result.estimates.with_columns(pl.col("source_file").replace(originals))
    reason = pl.col("reason")
    for copy, original in originals.items():  # "duplicate system name; first used in <file>"
        reason = reason.str.replace_all(copy, original, literal=True)
    rejects = result.rejects.with_columns(pl.col("source_file").replace(originals), reason)
    _pause("estimated")

    previous_database = _previous_database(output_dir)
    previous = _previous_estimates(previous_database)
    empty = estimates.clear().select("system", "estimate_flop", "estimate_source", "flags")
    diff = diff_estimates(previous if previous is not None else empty, estimates, threshold)
    summary = result.summary
    record.update(
        rows_read=summary["rows_read"], rows_estimated=summary["rows_estimated"],
        rows_rejected=summary["rows_rejected"], rows_flagged=summary["rows_flagged"],
        **diff_counts(diff), status="published",
    )  # fmt: skip
    record["ended_at"] = _timestamp()
    runs = _with_earlier_runs(_runs_table([*read_run_log(output_dir), record]), previous_database)

    estimates.write_parquet(run_dir / PARQUET_NAME, compression="zstd", statistics=True)
    rejects.write_csv(run_dir / REJECTS_NAME)
    staged = run_dir / f".{DATABASE_NAME}.tmp"
    write_database(
        staged,
        {
            "estimates": estimates, "rejects": rejects, "hardware": load_hardware(hardware_copy),
            "metadata": provenance(inputs, hardware_path, settings, priors_path), "runs": runs,
        },
    )  # fmt: skip
    _write_history(staged, previous_database, record["run_id"])
    _pause("written")
    _check_database(staged, estimates.height, rejects.height)
    os.replace(staged, run_dir / DATABASE_NAME)
    (run_dir / RUN_RECORD).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    _publish_run(output_dir, run_dir)
    _append_run_log(output_dir, record)
    return diff, summary


def _check_database(path: Path, estimates: int, rejects: int) -> None:
    """The staged database opens and holds what was written, before anyone can see it."""
    with duckdb.connect(str(path), read_only=True) as connection:
        counts = connection.execute(
            "SELECT (SELECT count(*) FROM estimates), (SELECT count(*) FROM rejects)"
        ).fetchone()
    if counts != (estimates, rejects):
        raise FlopsheetError(
            f"{path}: staged database holds {counts}, expected {(estimates, rejects)}"
        )


# ---------------------------------------------------------------------------------------------
# The report (pipeline/report.py), made once a run is published. The dataset is already
# published when it runs, so a failure here is a warning in the result: never a failed run, and
# never a reason to take the new dataset back.

REPORT_DIR = "report"
REPORT_HTML = "report.html"


def write_run_report(output_dir: Path) -> list[str]:
    """Write the published run's report into runs/<run_id>/report/ and make DIR/report a link
    to current/report. The link is made first: until the report is written, and if it can't be,
    DIR/report shows no report rather than the previous run's. Returns the warnings."""
    link = output_dir / REPORT_DIR
    try:
        if link.is_dir() and not link.is_symlink():  # left by `flopsheet report --out DIR/report`
            shutil.rmtree(link)
        _link(f"{CURRENT}/{REPORT_DIR}", link)
        from pipeline.report.page import write_report  # altair and vl-convert load only when needed

        run_dir = _current_run_dir(output_dir)
        write_report(run_dir / DATABASE_NAME, run_dir / REPORT_DIR)
    except Exception as error:
        text = (
            str(error) if isinstance(error, FlopsheetError) else f"{type(error).__name__}: {error}"
        )
        return [f"report not written: {text.strip().splitlines()[0] if text.strip() else text}"]
    return []

"""A published dataset and its DuckDB database: the one place that knows the tables and opens
DuckDB.

Tables: `estimates` (one row per system), `rejects` (one row per problem of a quarantined
row), `hardware` (the hardware table the run used), `metadata` (key-value provenance),
`runs` (every run of the folder, published or failed) and `estimate_history` (what each
published run changed). Readers get a `Dataset`; a run writes its database with
`write_database`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import duckdb
import polars as pl

from pipeline.defaults import DEFAULT_THRESHOLD
from pipeline.errors import FlopsheetError, InputFileError, InputValueError, QueryError
from pipeline.publish.diff import diff_estimates
from pipeline.publish.query import query_frame, spill_folder, time_limit

DATABASE_NAME = "compute.duckdb"
PARQUET_NAME = "estimates.parquet"
# The estimates for spreadsheets: lists as "a; b" (`flatten_nested`), formulas neutralised.
ESTIMATES_CSV_NAME = "estimates.csv"
REJECTS_NAME = "rejects.csv"
HISTORY_COLUMNS = ("run_id", "system", "estimate_flop", "estimate_source", "flags")
ESTIMATES_ORDER = "system"
REJECTS_ORDER = "source_file, source_row, system"

# A run's estimates from the history: the last row of each system up to that run, from the
# last whole-run snapshot on (histories written before changes were kept hold snapshots), less
# the systems removed. Run ids begin with the run's UTC start time, so they sort in run order;
# the history needs no other table (a run the `runs` table lost still counts).
AS_OF_SQL = """
WITH history AS (
    SELECT run_id, system, estimate_flop, estimate_source, flags, {change} AS change
    FROM {database}estimate_history WHERE run_id <= $run
),
since AS (SELECT coalesce(max(run_id), '') AS run_id FROM history WHERE change = 'snapshot')
SELECT system, estimate_flop, estimate_source, flags FROM history
WHERE run_id >= (SELECT run_id FROM since)
QUALIFY row_number() OVER (PARTITION BY system ORDER BY run_id DESC) = 1
    AND change != 'removed' AND system IS NOT NULL
ORDER BY system
"""


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class Dataset:
    """A published flopsheet dataset, read-only: an output folder or its `compute.duckdb`."""

    def __init__(self, path: Path | str) -> None:
        path = Path(path)
        # A folder (existing or not) holds the database; a file is the database itself.
        is_database = path.is_file() or path.suffix == Path(DATABASE_NAME).suffix
        self.database = path if is_database else path / DATABASE_NAME

    def _connect(
        self, external_access: bool = True, temp_directory: Path | None = None
    ) -> duckdb.DuckDBPyConnection:
        """A read-only connection. `temp_directory` is where DuckDB spills: by default it is
        a folder next to the database, inside the published run."""
        if not self.database.is_file():
            raise InputFileError(
                self.database, "database not found; run `flopsheet estimate` first"
            )
        config = {} if temp_directory is None else {"temp_directory": str(temp_directory)}
        try:
            connection = duckdb.connect(str(self.database), read_only=True, config=config)
        except duckdb.Error as error:  # not a database, or one this DuckDB cannot read
            raise InputFileError(
                self.database, f"cannot open as a DuckDB database: {_first_line(error)}"
            ) from None
        if not external_access:
            # Set once connected, not in `config`: there, whether the temp directory is
            # accepted depends on the order DuckDB applies the options in.
            connection.execute("SET enable_external_access = false")
        return connection

    def tables(self) -> set[str]:
        with self._connect() as connection:
            return _tables(connection)

    def columns(self, table: str) -> list[str]:
        with self._connect() as connection:
            return [row[0] for row in connection.sql(f'DESCRIBE "{table}"').fetchall()]

    def table(self, name: str, order_by: str | None = None) -> pl.DataFrame:
        order = f" ORDER BY {order_by}" if order_by else ""
        with self._connect() as connection:
            return connection.sql(f'SELECT * FROM "{name}"{order}').pl()

    def estimates(self) -> pl.DataFrame:
        return self.table("estimates", ESTIMATES_ORDER)

    def compute_by_rule(self) -> pl.DataFrame:
        """Each system's compute under each accounting rule, with the probability of being
        above each of the rule's thresholds; a database written before rules has none, and
        says so in one line."""
        if "compute_by_rule" not in self.tables():
            raise FlopsheetError(
                f"{self.database}: has no compute_by_rule table; run `flopsheet estimate` again"
            )
        return self.table("compute_by_rule", "system, rule, threshold_flop")

    def rejects(self) -> pl.DataFrame:
        return self.table("rejects", REJECTS_ORDER)

    def metadata(self) -> dict[str, str]:
        """The provenance facts (`key` -> `value`); empty for a database without them."""
        if "metadata" not in self.tables():
            return {}
        return dict(self.table("metadata").iter_rows())

    def runs(self) -> pl.DataFrame:
        """Every run the folder logged, in the order they started."""
        return self.table("runs", "started_at, run_id")

    def published_runs(self) -> list[str]:
        if "runs" not in self.tables():
            return []
        with self._connect() as connection:
            return _published_runs(connection)

    def estimates_as_of(self, run_id: str) -> pl.DataFrame:
        """`system, estimate_flop, estimate_source, flags` as published by run `run_id`."""
        with self._connect() as connection:
            sql = AS_OF_SQL.format(change=_change_column(connection), database="")
            return connection.sql(sql, params={"run": run_id}).pl()

    def diff(
        self,
        run_a: str | None = None,
        run_b: str | None = None,
        threshold: float = DEFAULT_THRESHOLD,
    ) -> pl.DataFrame:
        """Changes from run_a to run_b (run ids or unique prefixes; default: the last two
        published runs)."""
        if "estimate_history" not in self.tables():
            raise InputFileError(
                self.database, "has no run history; it was written by `estimate`, not `refresh`"
            )
        runs = self.published_runs()
        if run_a is None and run_b is None:
            if len(runs) < 2:
                raise FlopsheetError(
                    f"{self.database}: {len(runs)} published run(s); a diff needs two"
                )
            run_a, run_b = runs[-2], runs[-1]
        elif run_b is None:
            run_a, run_b = _resolve(run_a, runs), runs[-1]
        else:
            run_a, run_b = _resolve(run_a, runs), _resolve(run_b, runs)
        return diff_estimates(self.estimates_as_of(run_a), self.estimates_as_of(run_b), threshold)

    def query(self, sql: str, timeout: float | None = None) -> pl.DataFrame:
        """The result of `sql`, run read-only with no access to other files (`COPY ... TO`,
        `read_csv` and `ATTACH` are refused) and the configuration locked (`SET` is refused).
        DuckDB spills to a temporary folder of the query's own, removed when it ends, never
        into the dataset. `timeout`: seconds before the query is stopped (None: no limit). A
        failed or stopped statement raises `QueryError`."""
        with (
            spill_folder() as spill,
            self._connect(external_access=False, temp_directory=Path(spill)) as connection,
        ):
            connection.execute("SET enable_progress_bar = false")  # it would draw on stdout
            # Last, after every setting of ours: from here no statement can change one (spill
            # into the dataset, lift the memory limit, enable file logging, which aborts the
            # process when files are out of reach).
            connection.execute("SET lock_configuration = true")
            with time_limit(connection, timeout) as stopped:
                try:
                    return query_frame(connection.sql(sql))
                except duckdb.Error as error:
                    if stopped.is_set():
                        raise QueryError(
                            f"query stopped: it ran longer than its time limit of {timeout:g} s "
                            "(flopsheet query --timeout)"
                        ) from None
                    raise QueryError(_first_line(error)) from None


def _tables(connection: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in connection.sql("SHOW TABLES").fetchall()}


def _published_runs(connection: duckdb.DuckDBPyConnection) -> list[str]:
    rows = connection.sql(
        "SELECT run_id FROM runs WHERE status = 'published' ORDER BY started_at, run_id"
    ).fetchall()
    return [row[0] for row in rows]


def _resolve(run: str, runs: list[str]) -> str:
    matches = [r for r in runs if r.startswith(run)]
    if len(matches) != 1:
        found = "no published run starts" if not matches else f"{len(matches)} runs start"
        raise InputValueError(f"run {run!r}: {found} with it (runs: {', '.join(runs[-5:])})")
    return matches[0]


def _change_column(connection: duckdb.DuckDBPyConnection, database: str | None = None) -> str:
    """SQL for a history row's `change`: the column, or 'snapshot' in a history written
    before changes were kept, where each run holds all its rows."""
    columns = {
        row[0]
        for row in connection.sql(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = 'estimate_history' "
            "AND database_name = coalesce($database, current_database())",
            params={"database": database},
        ).fetchall()
    }
    return "change" if "change" in columns else "'snapshot'"


# ---------------------------------------------------------------------------------------------
# Writing a run's database


def write_database(
    path: Path,
    tables: Mapping[str, pl.DataFrame | Iterable[pl.DataFrame]],
    previous: Path | None,
    run_id: str,
    written: Mapping[str, Path] | None = None,
) -> None:
    """Write `tables` (each a frame, or its rows in consecutive parts) and the history of run
    `run_id` into a new database at `path`, then check that it opens and holds what was
    written, before anyone can see it. `previous` is the database of the run published before,
    whose history this one continues. A table in `written` is already in that Parquet file (the
    run's own): DuckDB reads the file, in parallel, where handing it the frame through Arrow
    took half as long again (1M estimates: 3.9 s against 5.8 s)."""
    written = written or {}
    path.unlink(missing_ok=True)
    try:
        with duckdb.connect(str(path)) as connection:
            connection.execute("SET enable_progress_bar = false")  # never on the user's terminal
            for name, frame in tables.items():
                if name in written:
                    connection.execute(
                        f'CREATE TABLE "{name}" AS SELECT * FROM read_parquet(?, hive_partitioning = false)',
                        [str(written[name])],
                    )
                    _release_cache(connection)
                    continue
                # A table given in parts is stored part by part, each made once the one
                # before is stored (so only one is in memory).
                parts = [frame] if isinstance(frame, pl.DataFrame) else frame
                for index, part in enumerate(parts):
                    # Arrow's string views are polars' own strings, handed over without a
                    # copy; the oldest Arrow layout would copy every text column first.
                    connection.register(
                        "_frame", part.to_arrow(compat_level=pl.CompatLevel.newest())
                    )
                    connection.execute(
                        f'INSERT INTO "{name}" SELECT * FROM _frame'
                        if index
                        else f'CREATE TABLE "{name}" AS SELECT * FROM _frame'
                    )
                    connection.unregister("_frame")
            _write_history(connection, previous, run_id)
    except duckdb.Error as error:  # a full disk, a folder that cannot be written
        raise FlopsheetError(f"{path}: cannot write the database: {_first_line(error)}") from None
    _check_database(path, {name: tables[name].height for name in ("estimates", "rejects")})


def _release_cache(connection: duckdb.DuckDBPyConnection) -> None:
    """Let go of the memory DuckDB keeps of a table it has stored: the blocks are written, and
    holding them beside the tables still to be made is the publish stage's peak (1M estimates:
    about 0.6 GB). Lowering the limit evicts them; DuckDB reads them back if a query needs them.
    (Before DuckDB 2.0, RESET reported the default but left the low limit in force.)"""
    connection.execute("SET memory_limit = '64MB'")
    connection.execute("RESET memory_limit")


def earlier_runs(previous: Path | None) -> pl.DataFrame | None:
    """The `runs` table of the previous database, if it has one."""
    if previous is None or "runs" not in Dataset(previous).tables():
        return None
    return Dataset(previous).table("runs")


def previous_estimates(previous: Path | None) -> pl.DataFrame | None:
    if previous is None:
        return None
    with Dataset(previous)._connect() as connection:
        return connection.sql(
            "SELECT system, estimate_flop, estimate_source, flags FROM estimates"
        ).pl()


def _write_history(
    connection: duckdb.DuckDBPyConnection, previous: Path | None, run_id: str
) -> None:
    """estimate_history = the previous run's history + what this run changed: systems added or
    whose estimate, source or flags changed, with their new values, and systems removed, with
    nulls. Storage grows with the changes, not with runs x rows; `estimates_as_of` rebuilds
    any run's estimates. Copied inside DuckDB, with no round trip through Python."""
    columns = ", ".join(HISTORY_COLUMNS[1:])
    connection.execute(
        f"CREATE TABLE estimate_history AS SELECT ?::VARCHAR AS run_id, {columns}, "
        "'added' AS change FROM estimates LIMIT 0",
        [run_id],
    )
    if previous is None:
        connection.execute(
            f"INSERT INTO estimate_history SELECT ?::VARCHAR, {columns}, 'added' FROM estimates",
            [run_id],
        )
        return
    connection.execute("ATTACH ? AS previous (READ_ONLY)", [str(previous)])
    # A history written before changes were kept holds whole runs: each is a snapshot,
    # and a published run that kept no rows (every row rejected) gets an empty marker.
    change = _change_column(connection, "previous")
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


def _check_database(path: Path, expected: dict[str, int]) -> None:
    with duckdb.connect(str(path), read_only=True) as connection:
        counts = {
            name: connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
            for name in expected
        }
    if counts != expected:
        raise FlopsheetError(f"{path}: staged database holds {counts}, expected {expected}")

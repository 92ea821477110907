"""Reading the history a refreshed dataset keeps: its runs and each run's estimates."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from pipeline.errors import FlopsheetError, InputFileError, InputValueError
from pipeline.publish.dataset import DATABASE_NAME
from pipeline.publish.diff import DEFAULT_THRESHOLD, diff_estimates


def _published_runs(connection: duckdb.DuckDBPyConnection) -> list[str]:
    rows = connection.sql(
        "SELECT run_id FROM runs WHERE status = 'published' ORDER BY started_at, run_id"
    ).fetchall()
    return [row[0] for row in rows]


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


def change_column(connection: duckdb.DuckDBPyConnection, database: str | None = None) -> str:
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


def estimates_as_of(connection: duckdb.DuckDBPyConnection, run_id: str) -> pl.DataFrame:
    """`system, estimate_flop, estimate_source, flags` as published by run `run_id`."""
    sql = AS_OF_SQL.format(change=change_column(connection), database="")
    return connection.sql(sql, params={"run": run_id}).pl()


def _resolve(run: str, runs: list[str]) -> str:
    matches = [r for r in runs if r.startswith(run)]
    if len(matches) != 1:
        found = "no published run starts" if not matches else f"{len(matches)} runs start"
        raise InputValueError(f"run {run!r}: {found} with it (runs: {', '.join(runs[-5:])})")
    return matches[0]


def diff_runs(
    output_dir: Path,
    run_a: str | None = None,
    run_b: str | None = None,
    threshold: float = DEFAULT_THRESHOLD,
) -> pl.DataFrame:
    """Changes from run_a to run_b (default: the last two published runs)."""
    database = Path(output_dir) / DATABASE_NAME
    if not database.exists():
        raise InputFileError(database, "database not found; run `flopsheet refresh` first")
    with duckdb.connect(str(database), read_only=True) as connection:
        tables = {row[0] for row in connection.sql("SHOW TABLES").fetchall()}
        if "estimate_history" not in tables:
            raise InputFileError(
                database, "has no run history; it was written by `estimate`, not `refresh`"
            )
        runs = _published_runs(connection)
        if run_a is None and run_b is None:
            if len(runs) < 2:
                raise FlopsheetError(f"{database}: {len(runs)} published run(s); a diff needs two")
            run_a, run_b = runs[-2], runs[-1]
        elif run_b is None:
            run_a, run_b = _resolve(run_a, runs), runs[-1]
        else:
            run_a, run_b = _resolve(run_a, runs), _resolve(run_b, runs)
        old = estimates_as_of(connection, run_a)
        new = estimates_as_of(connection, run_b)
    return diff_estimates(old, new, threshold)

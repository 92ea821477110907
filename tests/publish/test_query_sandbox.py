"""`Dataset.query` cannot write into the dataset or change how it runs: it spills to a folder of
its own, its configuration is locked, and it stops at its time limit."""

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from pipeline import refresh_dataset as refresh
from pipeline.errors import QueryError
from pipeline.publish.dataset import Dataset
from tests.conftest import REPO

SYSTEMS = REPO / "data" / "raw" / "systems.csv"
# A window over a sort of a million strings: far more than 20 MB, so DuckDB spills.
BIG_SORT = (
    "SELECT sum(hash(s, r)) FROM (SELECT s, row_number() OVER (ORDER BY s) AS r "
    "FROM (SELECT md5(range::VARCHAR) AS s FROM range(1000000)))"
)


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("dataset")
    refresh([SYSTEMS], folder)
    return folder


def files_under(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*")}


def test_a_query_spills_to_a_folder_of_its_own_outside_the_dataset(out, tmp_path, monkeypatch):
    system_tmp = tmp_path / "tmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    connect = Dataset._connect

    def small_memory(self, *args, **kwargs):  # before the lock: what a big query meets
        connection = connect(self, *args, **kwargs)
        connection.execute("SET memory_limit = '20MB'; SET threads = 1")
        return connection

    monkeypatch.setattr(Dataset, "_connect", small_memory)
    before = files_under(out)
    seen_in_dataset, spilled = set(), set()
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen_in_dataset.update(files_under(out) - before)
            spilled.update(p for p in system_tmp.rglob("*") if p.is_file())
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        assert Dataset(out).query(BIG_SORT).height == 1
    finally:
        done.set()
        watcher.join()
    assert spilled, "the query was meant to spill"
    assert all(p.parent.name.startswith("flopsheet-query-") for p in spilled)
    assert not seen_in_dataset
    assert not list(system_tmp.iterdir())  # removed when the query ended


def test_the_spill_folder_is_removed_after_a_failed_query(out, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    found = Dataset(out).query("SELECT current_setting('temp_directory') AS t")["t"][0]
    assert Path(found).parent == tmp_path and not Path(found).exists()
    assert not Path(found).is_relative_to(out)
    with pytest.raises(QueryError):
        Dataset(out).query("SELECT nonsense")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "sql",
    [
        "SET memory_limit = '100GB'",
        "SET max_temp_directory_size = '1TB'",
        "SET temp_directory = '{out}'",
        "RESET temp_directory",
        "PRAGMA memory_limit = '100GB'",
        "SET lock_configuration = false",
        "SET enable_external_access = true",
        "CALL enable_logging()",
        "SELECT 1; SET threads = 64",
    ],
)
def test_the_configuration_is_locked(out, sql):
    with pytest.raises(QueryError, match="the configuration has been locked") as raised:
        Dataset(out).query(sql.format(out=out))
    assert "\n" not in str(raised.value)


def test_file_logging_is_refused_in_one_line_not_an_abort(out, tmp_path):
    """It aborts the process when DuckDB cannot reach files (exit 134): run apart, so that an
    abort would fail this test rather than end the test run."""
    log = tmp_path / "log.csv"
    for sql in (
        f"CALL enable_logging(storage='file', storage_path='{log}')",
        f"CALL enable_logging(storage='file', storage_config={{'path': '{tmp_path}'}})",
        f"SELECT * FROM enable_logging(storage='file', storage_path='{log}')",
    ):
        result = subprocess.run(
            [sys.executable, "-m", "pipeline", "query", sql, "--db", str(out / "compute.duckdb")],
            cwd=REPO, capture_output=True, text=True, timeout=120,
            env={**os.environ, "FLOPSHEET_DEBUG": ""},
        )  # fmt: skip
        assert result.returncode == 1, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: ") and "locked" in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_a_query_stops_at_its_time_limit(out):
    started = time.monotonic()
    with pytest.raises(QueryError, match=r"time limit of 0.5 s") as raised:
        # a trillion rows: minutes, even on many cores
        Dataset(out).query("SELECT count(*) FROM range(1000000000000)", timeout=0.5)
    assert time.monotonic() - started < 20
    assert "\n" not in str(raised.value)
    # a query within its limit, and one without any
    assert Dataset(out).query("SELECT 1 AS one", timeout=30)["one"].to_list() == [1]
    assert Dataset(out).query("SELECT 2 AS two", timeout=None)["two"].to_list() == [2]

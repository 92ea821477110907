"""`make bench`'s pieces: the synthetic sheets it times and the naive script it times against.
(The benchmark measures speed; these tests only check that what it measures is what it says.)"""

import csv
import subprocess
import sys

import polars as pl

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import bench  # noqa: E402


def test_a_synthetic_sheet_is_the_same_each_time_with_its_share_of_bad_rows():
    sheet = bench.synthetic(500)
    assert sheet.equals(bench.synthetic(500))
    assert sheet.height == 500 and sheet["system"].n_unique() == 500
    bad = pl.any_horizontal(
        pl.col(column) == value for column, value in bench.BAD_CELLS
    )  # one broken cell in every 1 / BAD_SHARE rows
    assert sheet.filter(bad).height == 500 * bench.BAD_SHARE


def test_the_naive_script_writes_both_figures_for_every_row(tmp_path):
    sheet, out = tmp_path / "sheet.csv", tmp_path / "naive.csv"
    sheet.write_text(
        "system,parameters,dataset_size,epochs,hardware,chip_hours\n"
        "a,7e9,1.4e12,1,NVIDIA A100 SXM4 80 GB,82432\n"
        "b,lots,,,,\n"
    )
    subprocess.run([sys.executable, str(bench.NAIVE), str(sheet), str(out)], check=True)
    with out.open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert [row["system"] for row in rows] == ["a", "b"]
    assert float(rows[0]["operations_flop"]) == 6 * 7e9 * 1.4e12
    assert float(rows[0]["hardware_flop"]) > 0
    assert rows[1]["operations_flop"] == rows[1]["hardware_flop"] == ""


def test_the_start_up_floor_times_imports_and_help():
    libraries, help_seconds = bench.start_up_floor(1)
    assert 0 < libraries < 60 and 0 < help_seconds < 60

"""The default dataset against its golden file, and byte-identical outputs run after run.

After an intended change of the estimates, regenerate with:
    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py
and review the diff of tests/golden/estimates.csv like any other change.
"""

import os
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from pipeline.cli.app import app
from pipeline.publish.dataset import Dataset
from pipeline.run import estimate_files
from tests.conftest import REPO

SYSTEMS = REPO / "data" / "raw" / "systems.csv"
GOLDEN = Path(__file__).parent / "golden" / "estimates.csv"
runner = CliRunner()
GOLDEN_COLUMNS = [
    "system", "ops_rule", "ops_flop", "hardware_matched", "precision_used", "utilization_used",
    "hardware_flop", "implied_utilization", "estimate_flop", "estimate_low_flop",
    "estimate_high_flop", "confidence", "estimate_source", "flags", "notes", "summary",
    "eu_cumulative_flop", "eu_cumulative_probability_above_1e25", "within_eu_margin",
    "sb53_flop", "sb53_probability_above_1e26", "notification",
]  # fmt: skip


def golden_view(estimates: pl.DataFrame) -> pl.DataFrame:
    return estimates.select(GOLDEN_COLUMNS).with_columns(
        pl.col(pl.Float64).map_batches(lambda s: s.round_sig_figs(6)),
        pl.col("flags").list.join(" "),
    )


def test_default_dataset_matches_golden_file(tmp_path):
    result = estimate_files([SYSTEMS], tmp_path)
    assert result.rejects.height == 0
    view = golden_view(result.estimates)
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        view.write_csv(GOLDEN)
    expected = pl.read_csv(GOLDEN, infer_schema=False)
    actual = pl.read_csv(view.write_csv().encode(), infer_schema=False)
    assert actual.columns == expected.columns
    for column in expected.columns:
        assert actual[column].to_list() == expected[column].to_list(), column


def test_default_dataset_has_every_kind_of_row(tmp_path):
    estimates = estimate_files([SYSTEMS]).estimates
    sources = set(estimates["estimate_source"].drop_nulls())
    assert sources == {"reported", "weighted_mean", "ops", "hardware"}
    assert estimates.height >= 50
    assert set(estimates["ops_rule"].drop_nulls()) == {
        "forward_flop",
        "architecture",
        "connections",
        "6ND",
        "parameters",
    }
    assert set(estimates["confidence"].drop_nulls()) == {"Confident", "Likely", "Speculative"}


def test_outputs_are_byte_identical_between_runs(tmp_path):
    """Through the path users take: `flopsheet estimate` into two folders."""
    for folder in ("a", "b"):
        result = runner.invoke(app, ["estimate", str(SYSTEMS), "-o", str(tmp_path / folder)])
        assert result.exit_code == 0, result.output
    for name in ("estimates.parquet", "rejects.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    tables = [Dataset(tmp_path / folder).estimates() for folder in ("a", "b")]
    assert tables[0].equals(tables[1])

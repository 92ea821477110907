"""`flopsheet thresholds` and the calculators' `--rule`, through typer's CliRunner."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from typer.testing import CliRunner

from pipeline.cli.app import app

runner = CliRunner()

SHEET = """system,organization,domain,stage,hardware,hardware_quantity,training_time_hours,utilization,parameters,dataset_size,dataset_unit,epochs,reported_compute_flop
Big,Lab,language,,NVIDIA H100 SXM5,16000,1440,0.4,,,,,
Big,Lab,language,reinforcement learning,,,,,,,,,2e24
Mid,Lab,language,,,,,,7e10,1.5e13,tokens,1,
=Formula,Lab,language,,,,,,7e10,1.5e13,tokens,1,
"""


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    folder = tmp_path_factory.mktemp("thresholds")
    sheet = folder / "sheet.csv"
    sheet.write_text(SHEET)
    result = runner.invoke(app, ["estimate", str(sheet), "--output-dir", str(folder / "out")])
    assert result.exit_code == 0, result.output
    assert re.search(
        r"later training stages \(folded into their systems\)\s*│\s*1\b", result.output
    )
    return folder / "out" / "compute.duckdb"


def test_lists_the_systems_likely_above(database):
    result = runner.invoke(app, ["thresholds", "--db", str(database), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {(r["system"], r["rule"], r["threshold_flop"]) for r in rows} == {
        ("Big", "epoch", 1e23), ("Big", "epoch", 1e25), ("Big", "eu-parameter-updates", 1e23),
        ("Big", "eu-cumulative", 1e25), ("Mid", "epoch", 1e23), ("Mid", "eu-parameter-updates", 1e23),
        ("=Formula", "epoch", 1e23), ("=Formula", "eu-parameter-updates", 1e23),
    }  # fmt: skip
    big = next(r for r in rows if r["system"] == "Big" and r["rule"] == "eu-cumulative")
    assert big["estimate_flop"] == pytest.approx(3.2825917e25 + 2e24, rel=1e-6)
    assert big["probability_above"] > 0.85
    assert big["stages_counted"] == "pre-training, reinforcement-learning"


def test_one_rule_and_a_lower_probability(database):
    result = runner.invoke(
        app, ["thresholds", "--db", str(database), "--rule", "eu-cumulative",
              "--min-probability", "0", "--format", "csv"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert {r["rule"] for r in rows} == {"eu-cumulative"}
    assert len(rows) == 3
    # A name that a spreadsheet would run as a formula is written as text.
    assert "'=Formula" in {r["system"] for r in rows}


def test_table_and_errors(database, tmp_path):
    result = runner.invoke(app, ["thresholds", "--db", str(database), "--rule", "sb53"])
    assert result.exit_code == 0
    assert "No system is that likely" in result.output
    bad = runner.invoke(app, ["thresholds", "--db", str(database), "--rule", "eu"])
    assert bad.exit_code == 2 and "'eu' is not a rule" in bad.output
    missing = runner.invoke(app, ["thresholds", "--db", str(tmp_path / "none.duckdb")])
    assert missing.exit_code == 2 and "database not found" in missing.output


def test_calculators_plan_ahead_with_a_rule():
    result = runner.invoke(
        app, ["calc", "hardware", "--hardware", "H100", "--chips", "16000", "--time", "60 days",
              "--utilization", "40%", "--rule", "eu-cumulative", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    calculation = json.loads(result.output)
    assert [t["rule"] for t in calculation["thresholds"]] == ["eu-cumulative"]
    assert calculation["thresholds"][0]["probability_above"] > 0.95
    assert calculation["low"] < calculation["flop"] < calculation["high"]
    text = runner.invoke(app, ["calc", "ops", "--parameters", "3.8e9", "--tokens", "3.3e12"])
    assert "P(above 1e+23) under eu-parameter-updates: 0.3" in text.output

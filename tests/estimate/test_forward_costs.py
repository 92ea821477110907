"""The forward cost per parameter: its rule on one-row frames, its fit, its TOML tables."""

from __future__ import annotations

import math

import polars as pl
import pytest
from typer.testing import CliRunner

from pipeline.cli.app import app
from pipeline.estimate.annotate import finish_annotations, start_annotations
from pipeline.estimate.chain import estimate
from pipeline.estimate.forward_costs import (
    ANY,
    FORWARD_COLUMNS,
    MIN_FORWARD_SIGMA,
    fit_forward_costs,
    forward_cost_observations,
)
from pipeline.estimate.ops import ops_method
from pipeline.estimate.predictive import fit_spreads
from pipeline.estimate.priors import Learned, load_learned, seed_priors
from pipeline.read.small_files import toml_table_lines
from pipeline.settings import DEFAULT_SETTINGS
from tests.conftest import systems_frame

runner = CliRunner()
TABLE = pl.DataFrame(
    [("vision", 200.0, 2.0, 40), (ANY, 50.0, 3.0, 90)], schema=FORWARD_COLUMNS, orient="row"
)
IMAGES = {"parameters": "25M", "dataset_size": "1.28M", "dataset_unit": "images"}


def ops_row(forward_costs=TABLE, **cells):
    frame = start_annotations(systems_frame([{"system": "s", **cells}]).lazy())
    frame = ops_method(frame, DEFAULT_SETTINGS, Learned(forward_costs=forward_costs))
    return finish_annotations(frame).collect().row(0, named=True)


def test_non_token_data_gets_k_times_parameters_per_example():
    row = ops_row(domain="vision", epochs="90", **IMAGES)
    assert row["ops_rule"] == "parameters"
    assert row["ops_flop"] == pytest.approx(3 * 200 * 25e6 * 1.28e6 * 90)
    assert "forward_flop_from_parameters" in row["flags"]
    assert "epochs_assumed" not in row["flags"]
    assert row["notes"].startswith("3 x 2.0e2 FLOP per parameter x 2.5e7 params x 1.3e6 images")
    assert "as learned for vision (90% range x/27)" in row["notes"]


def test_a_domain_without_its_own_k_takes_the_pooled_one():
    row = ops_row(domain="speech", **IMAGES)
    assert row["ops_flop"] == pytest.approx(3 * 50 * 25e6 * 1.28e6)
    assert "as learned for all domains" in row["notes"]
    assert "epochs_assumed" in row["flags"]


def test_without_a_table_or_with_token_data_the_rule_does_not_apply():
    assert ops_row(forward_costs=None, domain="vision", **IMAGES)["ops_rule"] is None
    assert "parameters_not_connections" in ops_row(forward_costs=None, domain="vision", **IMAGES)["flags"]  # fmt: skip
    tokens = ops_row(
        domain="language", parameters="1e9", dataset_size="2e10", dataset_unit="tokens"
    )
    assert tokens["ops_rule"] == "6ND"
    # a stated forward cost or connections come first
    given = ops_row(domain="vision", connections="1e9", **IMAGES)
    assert given["ops_rule"] == "connections"


def test_the_fit_is_the_median_and_robust_spread_per_domain():
    log_k = [math.log(100.0) + d for d in (-1.0, -0.5, 0.0, 0.5, 1.0)] * 2
    observations = pl.DataFrame({
        "system": [f"v{i}" for i in range(10)] + ["g1", "g2"],
        "domain": ["vision"] * 10 + ["games"] * 2,
        "log_k": log_k + [0.0, 0.0],
    })  # fmt: skip
    fitted = {r["domain"]: r for r in fit_forward_costs(observations).iter_rows(named=True)}
    assert set(fitted) == {"vision", ANY}  # two games rows are too few for a k of their own
    assert fitted["vision"]["k"] == pytest.approx(100.0, rel=1e-3)
    assert fitted["vision"]["sigma"] == pytest.approx(1.4826 * 0.5, rel=1e-3)
    assert fitted[ANY]["observations"] == 12
    one = pl.DataFrame({"system": ["a"], "domain": ["vision"], "log_k": [1.0]})
    assert fit_forward_costs(one)["sigma"][0] == MIN_FORWARD_SIGMA
    assert fit_forward_costs(one.clear()) is None


def test_observations_are_the_figure_over_the_count_at_k_one():
    estimates = pl.DataFrame({"system": ["a", "b"], "domain": ["vision", None],
                              "ops_rule": ["parameters", "6ND"], "ops_flop": [1e18, 1e20]})  # fmt: skip
    figures = pl.DataFrame({"system": ["a", "b"], "_figure": [1e20, 1e20]})
    observed = forward_cost_observations(estimates, figures)
    assert observed["system"].to_list() == ["a"]
    assert observed["log_k"][0] == pytest.approx(math.log(100))


def test_the_tables_round_trip_through_a_priors_file(tmp_path):
    path = tmp_path / "priors.toml"
    prior = '[[prior]]\ndomain = "*"\ngeneration = "*"\nutilization = 0.4\nsigma = 0.3\n'
    path.write_text(prior + "\n".join(toml_table_lines("forward", TABLE)) + "\n")
    learned = load_learned(path)
    assert learned.forward_costs.equals(TABLE)
    assert learned.spreads is None


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('domain = "vision"\nk = -1\nsigma = 1', "forward 1: k = -1, expected a number in [1e-06, 1e+09]"),
        ('domain = "moon"\nk = 1\nsigma = 1', "forward 1: domain = 'moon', expected one of"),
        ('domain = "vision"\nk = 1\nsigma = "wide"', "forward 1: sigma = 'wide', expected a number"),
    ],
)  # fmt: skip
def test_a_broken_forward_table_is_one_line(tmp_path, table, message):
    path = tmp_path / "priors.toml"
    prior = '[[prior]]\ndomain = "*"\ngeneration = "*"\nutilization = 0.4\nsigma = 0.3\n'
    path.write_text(prior + "[[forward]]\n" + table + "\n")
    sheet = tmp_path / "s.csv"
    sheet.write_text("system,parameters\na,1e9\n")
    result = runner.invoke(app, ["estimate", str(sheet), "--priors", str(path)])
    assert result.exit_code != 0
    assert message in result.stderr and result.stderr.count("\n") == 1


def test_a_row_by_parameters_alone_is_never_confident(shipped_hardware):
    systems = systems_frame([
        {"system": "s", "domain": "vision", "epochs": "1", **IMAGES,
         "hardware": "NVIDIA A100 SXM4 40 GB", "hardware_quantity": "8",
         "training_time_hours": "1", "utilization": "0.4"},
    ])  # fmt: skip
    # a spread that would call any estimate Confident, and k that matches the hardware
    residuals = pl.DataFrame({"source": ["weighted_mean"] * 30 + ["ops"] * 30,
                              "sigma": [1.0] * 60, "residual": [0.0, 0.001] * 30})  # fmt: skip
    hardware_flop = 3600 * 8 * 312e12 * 0.4
    k = hardware_flop / (3 * 25e6 * 1.28e6)
    table = pl.DataFrame([(ANY, k, 0.5, 10)], schema=FORWARD_COLUMNS, orient="row")
    learned = Learned(seed_priors(), fit_spreads(residuals), forward_costs=table)
    row = estimate(systems, shipped_hardware, learned=learned).row(0, named=True)
    assert row["ops_rule"] == "parameters" and row["estimate_source"] == "weighted_mean"
    assert row["confidence"] == "Likely"

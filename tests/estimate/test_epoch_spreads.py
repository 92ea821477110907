"""The spread of assumed epochs by domain and unit: its lookup, its fit, its TOML tables, and
what it changes for a language model counted in tokens."""

from __future__ import annotations

import math

import polars as pl
import pytest
from typer.testing import CliRunner

from pipeline.cli.app import app
from pipeline.estimate.annotate import finish_annotations, start_annotations
from pipeline.estimate.chain import estimate
from pipeline.estimate.epoch_spreads import (
    ANY,
    EPOCH_SPREAD_COLUMNS,
    MAX_UNIT_CHARS,
    MIN_EPOCH_OBSERVATIONS,
    MIN_EPOCH_SIGMA,
    epoch_observations,
    fit_epoch_spreads,
)
from pipeline.estimate.ops import ops_method
from pipeline.estimate.priors import Learned, load_learned
from pipeline.estimate.uncertainty import Z90, factor_sigma
from pipeline.read.small_files import toml_table_lines
from pipeline.settings import DEFAULT_SETTINGS
from tests.conftest import systems_frame

runner = CliRunner()
TABLE = pl.DataFrame(
    [("language", "tokens", 0.2, 40), ("vision", "images", 2.0, 12)],
    schema=EPOCH_SPREAD_COLUMNS, orient="row",
)  # fmt: skip
PRIOR = '[[prior]]\ndomain = "*"\ngeneration = "*"\nutilization = 0.4\nsigma = 0.3\n'
TOKENS = {
    "domain": "language",
    "parameters": "1e9",
    "dataset_size": "2e10",
    "dataset_unit": "tokens",
}


def ops_sigma(table, **cells):
    frame = start_annotations(systems_frame([{"system": "s", **cells}]).lazy())
    frame = ops_method(frame, DEFAULT_SETTINGS, Learned(epoch_spreads=table))
    return finish_annotations(frame).collect()["_ops_sigma"][0]


def test_a_row_takes_its_groups_spread_and_others_the_setting():
    spread_6nd = factor_sigma(DEFAULT_SETTINGS.spread_6nd)
    assert ops_sigma(TABLE, **TOKENS) == pytest.approx(math.hypot(spread_6nd, 0.2))
    # a blank unit read as tokens is in the tokens group, beside its own spread
    blank = ops_sigma(TABLE, **{**TOKENS, "dataset_unit": None})
    assumed_tokens = factor_sigma(DEFAULT_SETTINGS.spread_tokens_assumed)
    assert blank == pytest.approx(math.sqrt(spread_6nd**2 + 0.2**2 + assumed_tokens**2))
    setting = factor_sigma(DEFAULT_SETTINGS.spread_epochs_assumed)
    for table in (None, TABLE.head(0)):
        assert ops_sigma(table, **TOKENS) == pytest.approx(math.hypot(spread_6nd, setting))
    # a group not learned keeps the setting; a (*, *) row, where given, is every other group's
    speech = {**TOKENS, "domain": "speech"}
    assert ops_sigma(TABLE, **speech) == pytest.approx(math.hypot(spread_6nd, setting))
    pooled = pl.concat(
        [TABLE, pl.DataFrame([(ANY, ANY, 0.0, 0)], schema=EPOCH_SPREAD_COLUMNS, orient="row")]
    )
    assert ops_sigma(pooled, **speech) == pytest.approx(spread_6nd)
    # reported epochs assume nothing
    assert ops_sigma(TABLE, **TOKENS, epochs="3") == pytest.approx(spread_6nd)


def test_a_blank_unit_not_counted_in_tokens_is_not_the_tokens_group():
    cells = {"domain": "language", "forward_flop_per_example": "1e9", "dataset_size": "1e6"}
    setting = factor_sigma(DEFAULT_SETTINGS.spread_epochs_assumed)
    backward = factor_sigma(DEFAULT_SETTINGS.spread_backward_ratio)
    assert ops_sigma(TABLE, **cells) == pytest.approx(math.hypot(backward, setting))


def test_observations_are_counts_with_one_epoch_assumed():
    systems = ["a", "b", "c", "d", "e", "f"]
    estimates = pl.DataFrame({
        "system": systems, "domain": ["language", "vision", "vision", None, "vision", "games"],
        "dataset_unit": [None, "images", "images", "images", "x" * (MAX_UNIT_CHARS + 1), None],
        "ops_rule": ["6ND", "forward_flop", "parameters", "forward_flop", "forward_flop", "forward_flop"],
        "flags": [["epochs_assumed", "tokens_assumed"]] + [["epochs_assumed"]] * 5,
        "ops_flop": [1e20] + [1e18] * 5, "ops_high_flop": [1e20 * math.exp(Z90 * 0.3)] + [1e18] * 5,
    })  # fmt: skip
    figures = pl.DataFrame({"system": systems, "_figure": [2e20] + [1e20] * 5})
    observed = epoch_observations(estimates, figures)
    # The rule by parameters learned its k with the epochs in it: it observes nothing here. A
    # row of no stated domain or unit is in no group (ten of them would otherwise make a
    # (*, *) spread for every group), nor is a unit longer than a priors file holds.
    assert observed.select("system", "domain", "unit").rows() == [
        ("a", "language", "tokens"),
        ("b", "vision", "images"),
    ]
    assert observed["log_ratio"].to_list() == pytest.approx([math.log(2), math.log(100)])
    assert observed["other_sigma"].to_list() == pytest.approx([0.3, 0.0])


def test_the_fit_takes_the_other_assumptions_out_and_needs_enough_rows():
    n = MIN_EPOCH_OBSERVATIONS
    rows = [("language", "tokens", r, 0.6) for r in [1.0, -1.0] * n]
    rows += [("vision", "images", 3.0, 0.0)] * (n - 1)  # one row short of a group
    rows += [("games", "examples", 0.01, 0.5)] * n  # closer than the other assumptions allow
    observations = pl.DataFrame(
        rows, schema=["domain", "unit", "log_ratio", "other_sigma"], orient="row"
    )
    fitted = {(d, u): s for d, u, s, _ in fit_epoch_spreads(observations).iter_rows()}
    assert fitted == pytest.approx(
        {
            ("games", "examples"): MIN_EPOCH_SIGMA,
            ("language", "tokens"): math.sqrt(1.4826**2 - 0.36),
        },
        rel=1e-3,  # kept to four significant figures
    )
    assert fit_epoch_spreads(observations.head(n - 1)) is None


def test_the_tables_round_trip_through_a_priors_file(tmp_path):
    path = tmp_path / "priors.toml"
    # a unit is free text: quotes, backslashes and control characters are escaped
    odd = pl.DataFrame(
        [("speech", 'hours "of" a\\b\n\x00\x7f\t', 2.702, 11)],
        schema=EPOCH_SPREAD_COLUMNS, orient="row",
    )  # fmt: skip
    table = pl.concat([TABLE, odd])
    path.write_text(PRIOR + "\n".join(toml_table_lines("epochs", table)) + "\n")
    assert load_learned(path).epoch_spreads.equals(table)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('domain = "language"\nunit = "tokens"\nsigma = -1', "epochs 1: sigma = -1, expected a number in [0, 50]"),
        ('domain = "moon"\nunit = "tokens"\nsigma = 1', "epochs 1: domain = 'moon', expected one of"),
        ('domain = "language"\nunit = 3\nsigma = 1', "epochs 1: unit = 3, expected a unit of at most"),
    ],
)  # fmt: skip
def test_a_broken_epochs_table_is_one_line(tmp_path, table, message):
    path = tmp_path / "priors.toml"
    path.write_text(PRIOR + "[[epochs]]\n" + table + "\n")
    sheet = tmp_path / "s.csv"
    sheet.write_text("system,parameters\na,1e9\n")
    result = runner.invoke(app, ["estimate", str(sheet), "--priors", str(path)])
    assert result.exit_code != 0
    assert message in result.stderr and result.stderr.count("\n") == 1


def test_a_token_count_outweighs_an_assumed_utilization(shipped_hardware):
    """A model card's cells for an 8B language model over 15T tokens, epochs not stated, and
    its chip-hours: with the shipped spreads the count of operations holds the estimate near
    6ND, where one x5 spread for every assumed epoch let the hardware time pull it 2x high."""
    cells = {"system": "s", "domain": "language", "parameters": "8e9", "dataset_size": "15e12",
             "dataset_unit": "tokens", "hardware": "H100 SXM5", "chip_hours": "1.3e6"}  # fmt: skip
    learned = load_learned()
    row = estimate(systems_frame([cells]), shipped_hardware, learned=learned).row(0, named=True)
    six_nd = 6 * 8e9 * 15e12
    assert row["estimate_source"] == "weighted_mean" and row["hardware_flop"] > 2 * six_nd
    assert row["estimate_flop"] / six_nd < 1.25
    unlearned = Learned(learned.priors, learned.spreads, learned.forward_costs)
    before = estimate(systems_frame([cells]), shipped_hardware, learned=unlearned)
    assert before["estimate_flop"][0] / six_nd > 1.8

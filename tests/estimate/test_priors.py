"""Utilization priors: lookup with fallbacks, calibration, the priors file, and their effect."""

import json
import math
import re

import polars as pl
import pytest
from typer.testing import CliRunner

from pipeline.cli.app import app
from pipeline.errors import InputFileError
from pipeline.estimate.chain import estimate
from pipeline.estimate.priors import (
    ANY,
    PRIORS_FILE,
    Learned,
    calibrate_priors,
    load_priors,
    priors_toml,
    seed_priors,
    sigma_of_range,
)
from pipeline.evaluate import evaluate
from tests.conftest import EPOCH_DIR, REPO, systems_frame

runner = CliRunner()
EXPORTS = ["notable_ai_models_2025-03.csv", "notable_ai_models_2025-12.csv"]


def hardware_row(table, priors, **cells):
    cells = {"system": "s", "hardware": "A100", "hardware_quantity": "8",
             "training_time_hours": "100", "precision": "bf16", **cells}  # fmt: skip
    return estimate(systems_frame([cells]), table, learned=Learned(priors)).row(0, named=True)


def observations(rows):
    return pl.DataFrame(
        rows, schema={"domain": pl.String, "generation": pl.String, "observed_utilization": float},
        orient="row",
    )  # fmt: skip


def test_seed_priors_are_epochs_defaults_with_the_reported_range():
    seed = seed_priors()
    language = seed.filter(pl.col("domain") == "language").row(0, named=True)
    other = seed.filter(pl.col("domain") == ANY).row(0, named=True)
    assert (language["utilization"], other["utilization"]) == (0.30, 0.40)
    assert language["sigma"] == pytest.approx(math.log(3) / (2 * 1.6448536269514722))
    assert sigma_of_range(0.2, 0.6) == pytest.approx(language["sigma"])


def test_lookup_prefers_the_most_specific_prior(tiny_hardware):
    priors = pl.DataFrame(
        [("language", "2020-2022", 0.5, 0.2, 0.3, 0.6, 12), ("language", ANY, 0.45, 0.2, 0.3, 0.6, 20),
         (ANY, "2020-2022", 0.35, 0.2, 0.2, 0.5, 15), (ANY, ANY, 0.25, 0.3, 0.1, 0.5, 40)],
        schema=seed_priors().schema, orient="row",
    )  # fmt: skip
    a100 = hardware_row(tiny_hardware, priors, domain="language")
    assert a100["utilization_used"] == 0.5  # language on a 2020 chip
    assert "prior for language on 2020-2022 chips" in a100["notes"]
    v100 = hardware_row(tiny_hardware, priors, domain="language", hardware="V100")
    assert v100["utilization_used"] == 0.45  # language, no 2016-2019 prior
    vision = hardware_row(tiny_hardware, priors, domain="vision")
    assert vision["utilization_used"] == 0.35  # any domain on a 2020 chip
    unknown = hardware_row(tiny_hardware, priors, domain="vision", hardware="V100")
    assert unknown["utilization_used"] == 0.25
    reported = hardware_row(tiny_hardware, priors, utilization="0.6")
    assert reported["utilization_source"] == "reported"
    assert "utilization_assumed" in a100["flags"] and "utilization_assumed" not in reported["flags"]


def test_the_prior_spread_widens_the_hardware_interval(tiny_hardware):
    narrow, wide = seed_priors(), seed_priors().with_columns(pl.col("sigma") * 3)
    a = hardware_row(tiny_hardware, narrow, domain="language")
    b = hardware_row(tiny_hardware, wide, domain="language")
    assert a["hardware_flop"] == b["hardware_flop"]
    assert (
        b["hardware_high_flop"] / b["hardware_flop"] > a["hardware_high_flop"] / a["hardware_flop"]
    )


def test_calibration_keeps_groups_with_enough_observations():
    rows = [("language", "2020-2022", u) for u in (0.3, 0.4, 0.5)] * 4  # 12
    rows += [("vision", "2016-2019", 0.2)] * 3  # too few for any group of its own
    priors = calibrate_priors(observations(rows), min_observations=10)
    keys = set(zip(priors["domain"], priors["generation"], strict=True))
    assert keys == {("language", "2020-2022"), ("language", ANY), (ANY, "2020-2022"), (ANY, ANY)}
    language = priors.filter(pl.col("domain") == "language", pl.col("generation") != ANY)
    assert language["utilization"][0] == pytest.approx(0.4)
    assert language["observations"][0] == 12
    overall = priors.filter(pl.col("domain") == ANY, pl.col("generation") == ANY)
    assert overall["observations"][0] == 15


def test_calibration_with_no_observations_falls_back_to_the_seed():
    priors = calibrate_priors(observations([]))
    assert priors.height == 1 and priors["utilization"][0] == 0.40


def test_calibrate_with_no_observations_keeps_the_seed(tmp_path):
    sheet = tmp_path / "s.csv"
    sheet.write_text("system,parameters\na,1e9\n")
    out = tmp_path / "p.toml"
    result = runner.invoke(app, ["calibrate", str(sheet), "--out", str(out)])
    assert result.exit_code == 0, result.output
    priors = load_priors(out)
    assert priors.select("domain", "utilization").rows() == [("language", 0.3), (ANY, 0.4)]
    assert "observations: none" in out.read_text()


def estimate_with_priors(tmp_path, name: str, text: str | None):
    """`flopsheet estimate` of the shipped sheet with a priors file holding `text` (None: a
    file that does not exist)."""
    priors = tmp_path / name
    if text is not None:
        priors.write_text(text)
    sheet = str(REPO / "data" / "raw" / "systems.csv")
    result = runner.invoke(
        app, ["estimate", sheet, "-o", str(tmp_path / "o"), "--priors", str(priors)]
    )
    return priors, result


def test_a_priors_error_names_the_users_file_not_the_runs_copy(tmp_path):
    bad, result = estimate_with_priors(
        tmp_path, "mine.toml", '[[prior]]\ndomain = "language"\nutilization = 0.3\nsigma = 0.3\n'
    )
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {bad}: no fallback prior")


def test_a_written_priors_file_reads_back(tmp_path):
    rows = [("language", "2020-2022", u) for u in (0.3, 0.4, 0.5)] * 4
    priors = calibrate_priors(observations(rows))
    path = tmp_path / "priors.toml"
    path.write_text(priors_toml(Learned(priors), ["a test"]))
    again = load_priors(path)
    assert again.select("domain", "generation").equals(priors.select("domain", "generation"))
    assert again["utilization"].to_list() == pytest.approx(priors["utilization"].to_list(), 1e-3)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("not toml [", "not a TOML priors file"),
        ("[meta]\nx = 1\n", "no [[prior]] tables"),
        ('[[prior]]\ndomain = "language"\nutilization = 0.3\nsigma = 0.3\n', "no fallback prior"),
        ("[[prior]]\nutilization = 1.5\nsigma = 0.3\n", "utilization = 1.5"),
        ('[[prior]]\nutilization = 0.3\nsigma = "wide"\n', "sigma = 'wide'"),
        (
            "[[prior]]\nutilization = 0.3\nsigma = 0.3\n[[prior]]\nutilization = 0.4\nsigma = 0.3\n",
            "given twice",
        ),
        ('[[prior]]\nutilization = 0.3\nsigma = 0.3\ndomain = "nlp"\n', "domain = 'nlp'"),
        ('[[prior]]\nutilization = 0.3\nsigma = 0.3\ngeneration = "2020-2023"\n', "generation"),
        (
            "[[prior]]\nutilization = 0.3\nsigma = 0.3\nlow = 0.5\nhigh = 0.2\n",
            "low = 0.5 is above utilization = 0.3",
        ),
        ("[[prior]]\nutilization = 0.3\nsigma = 0.3\nhigh = 0.2\n", "high = 0.2 is below"),
        ("[[prior]]\nutilization = 0.3\nsigma = 0.3\nobservations = true\n", "observations"),
        (
            "[[prior]]\nutilization = 0.3\nsigma = 0.3\nobservations = 99999999999999999999\n",
            "observations",
        ),
    ],
)
def test_a_bad_priors_file_is_a_file_error_naming_the_problem(tmp_path, text, problem):
    path = tmp_path / "p.toml"
    path.write_text(text)
    with pytest.raises(InputFileError, match=re.escape(problem)):
        load_priors(path)


def test_estimate_with_a_bad_priors_file_is_one_line_and_exit_2(tmp_path):
    _, result = estimate_with_priors(
        tmp_path, "p.toml", "[[prior]]\nutilization = 2\nsigma = 0.3\n"
    )
    assert result.exit_code == 2
    assert "utilization = 2" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    _, missing = estimate_with_priors(tmp_path, "no.toml", None)
    assert missing.exit_code == 2 and "priors file not found" in missing.stderr


def test_priors_are_part_of_the_run(tmp_path):
    sheet = str(REPO / "data" / "raw" / "systems.csv")
    out = tmp_path / "o"
    first = runner.invoke(app, ["refresh", sheet, "-o", str(out), "--json"])
    assert json.loads(first.stdout)["status"] == "published"
    same = runner.invoke(app, ["refresh", sheet, "-o", str(out), "--json"])
    assert json.loads(same.stdout)["status"] == "skipped"
    seed = runner.invoke(app, ["refresh", sheet, "-o", str(out), "--priors", "seed", "--json"])
    assert json.loads(seed.stdout)["status"] == "published"  # other priors: another run
    assert "priors.toml" not in (out / "current" / "inputs" / "SHA256SUMS").read_text()
    first_run = out / "runs" / json.loads(first.stdout)["run_id"]
    assert "priors.toml" in (first_run / "inputs" / "SHA256SUMS").read_text()
    assert (first_run / "inputs" / "priors.toml").read_bytes() == PRIORS_FILE.read_bytes()


def test_calibrate_reproduces_the_shipped_priors(tmp_path):
    out = tmp_path / "priors.toml"
    inputs = [str(EPOCH_DIR / n) for n in (*EXPORTS, "frontier_ai_models_2025-12.csv")]
    result = runner.invoke(app, ["calibrate", *inputs, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text() == PRIORS_FILE.read_text()


@pytest.mark.parametrize("name", EXPORTS)
def test_calibrated_priors_do_no_worse_than_the_seed_and_intervals_hold(name):
    summary = evaluate(EPOCH_DIR / name).summary
    # The seed has no forward cost per parameter: its estimated rows are the other rules'.
    assert summary["other_rules_within_2x"] >= summary["seed_estimated_within_2x"]
    assert summary["all_rows_within_2x"] >= summary["seed_all_rows_within_2x"]
    assert summary["estimated_of_those"] > summary["seed_estimated_of_those"]
    # the 90% intervals hold Epoch's figure for at least 80% of estimated rows
    assert summary["estimated_interval_coverage"] >= 0.80
    assert summary["seed_estimated_interval_coverage"] <= 0.95  # not loose either

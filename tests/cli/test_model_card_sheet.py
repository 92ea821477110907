"""A sheet as a new user builds it from 25 open models' cards and Hugging Face configs, with
the cards' own headers and cell forms: one run estimates it, every header is accounted for,
and each counted model lands near 6ND on its card's own token count."""

import json

import polars as pl
import pytest
from typer.testing import CliRunner

from pipeline.cli.app import app
from tests.conftest import REPO

runner = CliRunner()
FOLDER = REPO / "tests" / "data" / "hf_configs"
SHEET, COLUMN_MAP = FOLDER / "model_cards.csv", FOLDER / "model_cards_columns.toml"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cards")
    result = runner.invoke(
        app, ["estimate", str(SHEET), "--columns", str(COLUMN_MAP), "-o", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), pl.read_parquet(out / "estimates.parquet")


def test_one_run_reads_every_row_and_accounts_for_every_header(run):
    summary, estimates = run
    assert (summary["rows_read"], summary["rows_rejected"], estimates.height) == (25, 0, 25)
    header = SHEET.read_text().splitlines()[0].split(",")
    uses = {u["header"]: u for u in summary["columns"]}
    assert list(uses) == header
    unread = {h for h, u in uses.items() if not u["read"]}
    assert unread == {"Context length", "Licence"}  # a context window is not seq_len
    assert uses["config.json"]["column"] == "architecture_file"
    assert uses["Training tokens"]["column"] == "training_tokens"


def test_every_model_with_a_token_count_is_counted_near_6nd(run):
    _, estimates = run
    counted = estimates.filter(pl.col("training_tokens").is_not_null())
    assert counted.height == 19 and counted["ops_rule"].to_list() == ["architecture"] * 19
    per_token = pl.coalesce("active_parameters", "parameters")
    ratio = counted.select(
        "system", (pl.col("estimate_flop") / (6 * per_token * pl.col("training_tokens"))).alias("r")
    )
    assert ratio.filter((pl.col("r") < 0.5) | (pl.col("r") > 2)).height == 0, ratio
    # the shapes' counts agree with the cards' parameters: nothing to flag but the "15T+"
    flagged = counted.filter(pl.col("flags").list.len() > 0)
    assert flagged.select("system", "flags").rows() == [("Llama 3 8B", ["value_is_lower_bound"])]


def test_the_cards_cell_forms_are_read(run):
    _, estimates = run
    rows = {r["system"]: r for r in estimates.to_dicts()}
    assert rows["GPT-J-6B"]["training_tokens"] == 402e9  # "402 billion tokens"
    assert rows["Gemma 2 9B"]["training_tokens"] == 8e12  # "8 trillion"
    assert rows["Falcon-7B"]["training_tokens"] == 1.5e12  # "1,500B"
    assert rows["Llama 2 7B"]["seq_len"] == 4096  # "4k"
    assert rows["Llama 3 8B"]["training_tokens"] == 15e12  # "15T+", a lower bound
    # models whose cards give no token count are kept, with what would estimate them
    assert rows["Mixtral 8x7B"]["estimate_flop"] is None
    assert "insufficient_inputs" in rows["Mixtral 8x7B"]["flags"]

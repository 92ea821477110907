"""The command line through typer's CliRunner: outputs, exit codes, one-line errors."""

import json
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from pipeline.cli.app import app
from tests.conftest import REPO

runner = CliRunner()
SYSTEMS = str(REPO / "data" / "raw" / "systems.csv")


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    result = runner.invoke(app, ["estimate", SYSTEMS, "--output-dir", str(out)])
    assert result.exit_code == 0, result.output
    return out, result


def test_estimate_writes_every_output(published):
    out, result = published
    visible = {p.name for p in out.iterdir() if not p.name.startswith(".")}
    published = {"compute.duckdb", "estimates.parquet", "estimates.csv", "rejects.csv"}
    assert visible == published | {"current", "runs", "runs.jsonl"}
    # published like refresh: links into the run folder that `current` names
    assert all((out / name).resolve().parent == (out / "current").resolve() for name in published)
    assert (out / ".lock").exists()  # estimate and refresh never write one folder at once
    for words in ["rows read", "estimated", "by weighted_mean", "rejected", "flagged"]:
        assert words in result.stdout


def test_database_has_the_tables(published):
    out, _ = published
    with duckdb.connect(str(out / "compute.duckdb"), read_only=True) as con:
        tables = {
            r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()
        }
        assert tables == {
            "estimates",
            "compute_by_rule",
            "rejects",
            "hardware",
            "metadata",
            "runs",
            "estimate_history",
        }
        n = con.execute("select count(*) from estimates").fetchone()[0]
        flags_type = con.execute(
            "select data_type from information_schema.columns "
            "where table_name='estimates' and column_name='flags'"
        ).fetchone()[0]
    assert n == pl.read_parquet(out / "estimates.parquet").height
    assert flags_type == "VARCHAR[]"


def test_metadata_traces_outputs_to_input_bytes(published):
    out, _ = published
    result = runner.invoke(
        app,
        [
            "query",
            "select key, value from metadata",
            "--db",
            str(out / "compute.duckdb"),
            "--format",
            "json",
        ],
    )
    keys = {row["key"] for row in json.loads(result.stdout)}
    assert f"input:{SYSTEMS}" in keys
    assert "settings" in keys


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_query_formats(published, fmt):
    out, _ = published
    sql = "select system, estimate_flop, flags from estimates order by system limit 3"
    result = runner.invoke(
        app, ["query", sql, "--db", str(out / "compute.duckdb"), "--format", fmt]
    )
    assert result.exit_code == 0, result.output
    if fmt == "json":
        rows = json.loads(result.stdout)
        assert len(rows) == 3 and isinstance(rows[0]["flags"], list)
    elif fmt == "csv":
        assert result.stdout.splitlines()[0] == "system,estimate_flop,flags"


def test_query_results_of_any_type(published):
    db = str(published[0] / "compute.duckdb")
    sql = """SELECT [1, 2] AS "a""b", {'x': 1} AS s, ['p', 'q'] AS t"""
    result = runner.invoke(app, ["query", sql, "--db", db, "--format", "csv"])
    assert result.stdout.splitlines() == ['"a""b",s,t', '"[1,2]","{""x"":1}",p; q']
    # intervals and unions, which polars cannot hold, come as DuckDB's text for them
    sql = "SELECT INTERVAL 1 DAY AS i, union_value(n := 2) AS u, 1 AS n, {'a': 1} AS s"
    result = runner.invoke(app, ["query", sql, "--db", db, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [{"i": "1 day", "u": "2", "n": 1, "s": {"a": 1}}]
    sql = "SELECT 340282366920938463463374607431768211455::UHUGEINT AS big, 'ab'::BLOB AS b, 2 AS n"
    result = runner.invoke(app, ["query", sql, "--db", db, "--format", "csv"])
    assert result.stdout.splitlines() == ["big,b,n", "340282366920938463463374607431768211455,ab,2"]
    # a date past any calendar, which polars holds but cannot hand to Python
    sql = "SELECT 'infinity'::DATE AS d, DATE '2020-01-02' AS ok"
    result = runner.invoke(app, ["query", sql, "--db", db, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [{"d": "infinity", "ok": "2020-01-02"}]
    empty = runner.invoke(app, ["query", " ", "--db", db])
    assert empty.exit_code == 2 and "give a SQL query" in empty.stderr


def test_query_is_read_only(published):
    out, _ = published
    result = runner.invoke(
        app, ["query", "drop table estimates", "--db", str(out / "compute.duckdb")]
    )
    assert result.exit_code == 1
    assert "read-only" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "sql",
    [
        "COPY estimates TO '{tmp}/leak.csv'",
        "SELECT * FROM read_csv('{tmp}/leak.csv')",
        "ATTACH '{tmp}/other.duckdb' AS other",
    ],
)
def test_query_touches_no_other_file(published, tmp_path, sql):
    out, _ = published
    if "read_csv" in sql:
        (tmp_path / "leak.csv").write_text("a\n1\n")
    result = runner.invoke(
        app, ["query", sql.format(tmp=tmp_path), "--db", str(out / "compute.duckdb")]
    )
    assert result.exit_code == 1
    assert "disabled" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "other.duckdb").exists()
    assert "COPY" not in sql or not (tmp_path / "leak.csv").exists()


def test_query_bad_sql_is_one_line(published):
    out, _ = published
    result = runner.invoke(app, ["query", "selec nonsense", "--db", str(out / "compute.duckdb")])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")


def test_query_on_a_file_that_is_not_a_database_is_exit_2(tmp_path):
    bad = tmp_path / "bad.duckdb"
    bad.write_bytes(b"not a database" * 100)
    result = runner.invoke(app, ["query", "select 1", "--db", str(bad)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {bad}: cannot open as a DuckDB database: ")


def test_query_missing_database(tmp_path):
    result = runner.invoke(app, ["query", "select 1", "--db", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 2
    assert "database not found" in result.stderr


def test_estimate_json_summary_counts_add_up(tmp_path):
    result = runner.invoke(app, ["estimate", SYSTEMS, "-o", str(tmp_path), "--json"])
    summary = json.loads(result.stdout)
    assert (
        summary["rows_read"]
        == summary["rows_estimated"] + summary["rows_without_estimate"] + summary["rows_rejected"]
    )
    assert sum(summary["by_source"].values()) == summary["rows_read"] - summary["rows_rejected"]
    # Each stage's seconds, in the order the run went through them (what `make bench` reads).
    assert list(summary["stage_seconds"]) == ["read", "validate", "estimate", "publish"]
    assert all(seconds >= 0 for seconds in summary["stage_seconds"].values())


def test_missing_input_file(tmp_path):
    result = runner.invoke(app, ["estimate", str(tmp_path / "nope.csv"), "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"Error: {tmp_path / 'nope.csv'}: file not found"


@pytest.mark.parametrize(
    ("headers", "mapping"),
    [
        ("Model,Params,Tokens seen", '"Model" = "system"\n"Params" = "parameters"\n'
         '"Tokens seen" = "dataset_size"\n'),
        # any script; matched ignoring case, spaces and punctuation
        ("模型,参数,Données (jetons)", '"模型" = "system"\n"参数" = "parameters"\n'
         '"données (JETONS)" = "dataset_size"\n'),
    ],
)  # fmt: skip
def test_column_map(tmp_path, headers, mapping):
    sheet = tmp_path / "mine.csv"
    sheet.write_text(f"{headers},Domain\nTiny LM,1e9,2e10,language\n")
    (tmp_path / "map.toml").write_text("[columns]\n" + mapping)
    result = runner.invoke(
        app,
        ["estimate", str(sheet), "--columns", str(tmp_path / "map.toml"), "-o", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    frame = pl.read_parquet(tmp_path / "estimates.parquet")
    assert frame["ops_flop"][0] == pytest.approx(6 * 1e9 * 2e10)


def test_column_map_to_unknown_column_is_a_file_error(tmp_path):
    mapping = tmp_path / "map.toml"
    mapping.write_text('[columns]\n"Model" = "name_of_thing"\n')
    result = runner.invoke(app, ["validate", SYSTEMS, "--columns", str(mapping)])
    assert result.exit_code == 2
    assert "not a canonical column" in result.stderr


def test_headers_match_loosely_and_extra_columns_are_carried(tmp_path):
    sheet = tmp_path / "loose.csv"
    sheet.write_text(
        "System,Forward FLOP per example,DATASET SIZE,Epochs,My Comment\nNet,1e9,1e6,2,hello\n"
    )
    result = runner.invoke(app, ["estimate", str(sheet), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    frame = pl.read_parquet(tmp_path / "estimates.parquet")
    assert frame["ops_flop"][0] == pytest.approx(6e15)
    assert frame["My Comment"].to_list() == ["hello"]


def test_columns_named_like_working_columns_are_carried_under_another_name(tmp_path):
    # "_row" and "_hardware_maker" are names the pipeline uses for its own working columns
    sheet = tmp_path / "under.csv"
    sheet.write_text(
        "system,hardware,hardware_quantity,training_time_hours,precision,_row,_hardware_maker\n"
        "Net,A100,8,10,fp32,x,AMD\n"
    )
    result = runner.invoke(app, ["estimate", str(sheet), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    row = pl.read_parquet(tmp_path / "estimates.parquet").row(0, named=True)
    assert (row["input_row"], row["input_hardware_maker"]) == ("x", "AMD")
    assert row["precision_used"].startswith("tf32")  # the chip's own maker, not the user's column


def test_figures_outside_the_plausible_range_are_dropped_with_a_reason(tmp_path):
    sheet = tmp_path / "range.csv"
    sheet.write_text(
        "system,peak_flop_per_second,chip_hours,parameters,dataset_size,dataset_unit,"
        "reported_compute_flop\n"
        "Good,1e14,100,,,,\n"
        "Tiny,1e-200,1e-200,,,,\n"
        "Huge,1e14,100,1e200,1e200,tokens,\n"
        "Reported,,,,,,1e308\n"
    )
    result = runner.invoke(app, ["estimate", str(sheet), "-o", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["system"]: r for r in pl.read_parquet(tmp_path / "estimates.parquet").to_dicts()}
    assert rows["Good"]["estimate_flop"] == pytest.approx(rows["Huge"]["estimate_flop"])
    assert (
        rows["Tiny"]["estimate_flop"] is None and "hardware_out_of_range" in rows["Tiny"]["flags"]
    )
    assert "less than the smallest float" in rows["Tiny"]["notes"]
    huge = rows["Huge"]
    assert huge["ops_flop"] is None and huge["ops_rule"] is None
    assert "ops_out_of_range" in huge["flags"] and "more than a float holds" in huge["notes"]
    rejects = pl.read_csv(tmp_path / "rejects.csv")
    assert rejects["system"].to_list() == ["Reported"]
    assert rejects["reason"][0] == "expected a compute figure from 1 to 1e40 FLOP"


def test_several_inputs_and_formats(tmp_path):
    frame = pl.read_csv(SYSTEMS, infer_schema=False)
    first, second = frame.head(30), frame.slice(30)
    first.write_excel(tmp_path / "a.xlsx")
    second.write_parquet(tmp_path / "b.parquet")
    result = runner.invoke(
        app,
        [
            "estimate",
            str(tmp_path / "a.xlsx"),
            str(tmp_path / "b.parquet"),
            "-o",
            str(tmp_path),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows_read"] == frame.height
    from_csv = runner.invoke(app, ["estimate", SYSTEMS, "-o", str(tmp_path / "csv"), "--json"])
    out = pl.read_parquet(tmp_path / "estimates.parquet")
    ref = pl.read_parquet(tmp_path / "csv" / "estimates.parquet")
    assert from_csv.exit_code == 0
    assert out["estimate_flop"].to_list() == ref["estimate_flop"].to_list()


def test_validate_clean_file():
    result = runner.invoke(app, ["validate", SYSTEMS])
    assert result.exit_code == 0
    assert "rows valid" in result.stdout


def test_hardware_list_and_search():
    result = runner.invoke(app, ["hardware", "list", "--search", "a100", "--json"])
    assert result.exit_code == 0
    names = [row["name"] for row in json.loads(result.stdout)]
    assert names and all("A100" in n for n in names)
    assert runner.invoke(app, ["hardware", "list"]).exit_code == 0


def test_hardware_show():
    result = runner.invoke(app, ["hardware", "show", "Tesla V100-SXM2-16GB", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["tensor_16bit_flop_per_second"] == pytest.approx(125e12)


def test_hardware_show_unknown():
    result = runner.invoke(app, ["hardware", "show", "H1000"])
    assert result.exit_code == 2
    assert "not in the hardware table" in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["estimate"],
        ["validate"],
        ["query"],
        ["calc", "ops"],
        ["calc", "hardware"],
        ["hardware", "list"],
        ["hardware", "show"],
        ["refresh"],
        ["diff"],
    ],
)
def test_every_command_documents_itself_with_examples(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.stdout


def test_python_dash_m_runs_the_same_app():
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "--version"], capture_output=True, text=True, cwd=REPO
    )
    assert result.returncode == 0 and result.stdout.startswith("flopsheet ")


def test_format_epoch_on_a_canonical_sheet_is_a_file_error():
    result = runner.invoke(app, ["validate", "--format", "epoch", SYSTEMS])
    assert result.exit_code == 2
    assert "not an Epoch export" in result.stderr
    assert "looked for 'Model'" in result.stderr


def test_format_is_checked_by_the_option(tmp_path):
    result = runner.invoke(app, ["estimate", "--format", "xls", SYSTEMS, "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert "xls" in result.stderr


def test_format_canonical_reads_the_canonical_sheet(tmp_path):
    result = runner.invoke(app, ["estimate", "--format", "canonical", SYSTEMS, "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output


def test_headers_as_model_cards_and_configs_name_them(tmp_path):
    sheet = tmp_path / "cards.csv"
    sheet.write_text(
        "system,num_hidden_layers,hidden_size,num_attention_heads,num_key_value_heads,"
        "intermediate_size,vocab_size,seq_len,gated_mlp,Tokens seen,Parameters\n"
        "Llama-like,32,4096,32,8,14336,128256,8192,yes,15T,8.03B\n"
    )
    result = runner.invoke(app, ["estimate", str(sheet), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    row = pl.read_parquet(tmp_path / "out" / "estimates.parquet").row(0, named=True)
    assert (row["n_layers"], row["d_model"], row["n_kv_heads"]) == (32, 4096, 8)
    assert row["ops_rule"] == "architecture" and row["training_tokens"] == 15e12
    assert row["flags"] == []  # the shape's count agrees with the stated parameters


def test_every_header_is_accounted_for_with_the_closest_name_of_an_unread_one(tmp_path):
    sheet = tmp_path / "typos.csv"
    sheet.write_text("system,hidden_size,Paramters,Datset size,Abstract\nA,4096,1e9,1e10,x\n")
    result = runner.invoke(app, ["validate", str(sheet), "--json"])
    uses = {u["header"]: u for u in json.loads(result.stdout)["columns"]}
    assert uses["hidden_size"]["column"] == "d_model" and uses["hidden_size"]["read"]
    assert (uses["Paramters"]["read"], uses["Paramters"]["closest"]) == (False, "parameters")
    assert uses["Datset size"]["closest"] == "dataset_size"
    assert uses["Abstract"]["closest"] is None and not uses["Abstract"]["read"]
    assert all(u["file"] == str(sheet) for u in uses.values())

    printed = runner.invoke(app, ["estimate", str(sheet), "-o", str(tmp_path / "out")]).stdout
    assert "columns read: system, hidden_size -> d_model" in printed
    assert (
        "columns not read, carried through as they are: 'Paramters' (closest column: "
        "parameters), 'Datset size' (closest column: dataset_size), 'Abstract'"
    ) in printed
    assert "no row could be estimated: counting operations needs parameters" in printed
    summary = json.loads(
        runner.invoke(app, ["estimate", str(sheet), "-o", str(tmp_path / "j"), "--json"]).stdout
    )
    assert [u["header"] for u in summary["columns"]] == list(uses)


def test_a_column_map_coalesces_headers_first_non_blank_in_map_order(tmp_path):
    sheet = tmp_path / "hours.csv"
    sheet.write_text(
        "system,GPU hours,Chip hours (est),A100 hours,hardware\n"
        "A,,1000,,A100\nB,500,900,,A100\nC, ,,200,A100\n"
    )
    column_map = tmp_path / "map.toml"
    column_map.write_text(
        '[columns]\n"GPU hours" = "chip_hours"\n"A100 hours" = "chip_hours"\n'
        '"Chip hours (est)" = "chip_hours"\n'
    )
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["estimate", str(sheet), "--columns", str(column_map), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    chip_hours = pl.read_parquet(out / "estimates.parquet")["chip_hours"].to_list()
    assert chip_hours == [1000, 500, 200]
    assert "GPU hours -> chip_hours, Chip hours (est) -> chip_hours, A100 hours -> chip_hours" in (
        result.stdout
    )
    # without the map, two headers of one column are still an error
    twice = tmp_path / "twice.csv"
    twice.write_text("system,chip_hours,Chip hours\nA,1,2\n")
    refused = runner.invoke(app, ["validate", str(twice)])
    assert refused.exit_code == 2 and "both mean 'chip_hours'" in refused.stderr


@pytest.mark.parametrize("name", ["--db", "--output-dir", "-o"])
@pytest.mark.parametrize(
    "command",
    [["query", "SELECT count(*) AS n FROM estimates", "--format", "json"],
     ["thresholds", "--format", "json"]],
)  # fmt: skip
def test_commands_reading_a_dataset_name_it_alike(published, name, command):
    out, _ = published
    by_folder = runner.invoke(app, [*command, name, str(out)])
    by_file = runner.invoke(app, [*command, name, str(out / "compute.duckdb")])
    assert by_folder.exit_code == 0, by_folder.output
    assert by_folder.stdout == by_file.stdout
    # diff takes the same names (one published run here: it says a diff needs two)
    assert "a diff needs two" in runner.invoke(app, ["diff", name, str(out)]).stderr


def test_a_project_file_sets_inputs_output_folder_column_map_and_priors(tmp_path, monkeypatch):
    (tmp_path / "papers.csv").write_text("Model,Parameters,Training tokens\nA,7B,1T\n")
    (tmp_path / "headers.toml").write_text('[columns]\n"Model" = "system"\n')
    (tmp_path / "flopsheet.toml").write_text(
        '[project]\ninputs = ["papers.csv"]\noutput_dir = "out"\ncolumns = "headers.toml"\n'
        'priors = "seed"\n'
    )
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["estimate", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["rows_estimated"] == 1
    assert summary["outputs"]["parquet"] == str(Path("out") / "estimates.parquet")
    # paths stay as written: the outputs do not depend on where the project folder is
    parquet = pl.read_parquet(tmp_path / "out" / "estimates.parquet")
    assert parquet["source_file"].to_list() == ["papers.csv"]
    assert json.loads(runner.invoke(app, ["refresh", "--json"]).stdout)["status"] == "skipped"
    # what the command line gives wins over the file
    elsewhere = runner.invoke(app, ["estimate", "-o", str(tmp_path / "other"), "--json"])
    assert json.loads(elsewhere.stdout)["outputs"]["parquet"].startswith(str(tmp_path / "other"))


def test_a_broken_project_file_is_one_line(tmp_path, monkeypatch):
    (tmp_path / "flopsheet.toml").write_text('[project]\ninput = ["papers.csv"]\n')
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["estimate"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"Error: {tmp_path / 'flopsheet.toml'}: unknown key 'input' "
        "(expected: inputs, output_dir, columns, priors)"
    )


def test_query_prints_ndjson_and_markdown(published):
    out, _ = published
    sql = "SELECT 'a|b' AS text, ['x', 'y'] AS items, 2 AS n UNION ALL SELECT 'c', [], 3"
    ndjson = runner.invoke(app, ["query", sql, "-o", str(out), "--format", "ndjson"]).stdout
    assert [json.loads(line) for line in ndjson.splitlines()] == [
        {"text": "a|b", "items": ["x", "y"], "n": 2}, {"text": "c", "items": [], "n": 3},
    ]  # fmt: skip
    markdown = runner.invoke(app, ["query", sql, "-o", str(out), "--format", "markdown"]).stdout
    assert markdown.splitlines() == [
        "| text | items | n |", "|---|---|---|", "| a\\|b | x; y | 2 |", "| c |  | 3 |",
    ]  # fmt: skip
    thresholds = runner.invoke(app, ["thresholds", "-o", str(out), "--format", "ndjson"])
    assert thresholds.exit_code == 0 and all(
        json.loads(line) for line in thresholds.stdout.splitlines()
    )


def test_a_mapped_header_given_twice_or_a_name_with_nul_is_one_line(tmp_path):
    twice = tmp_path / "twice.csv"
    twice.write_text("system,Params,Params\nA,1,2\n")
    column_map = tmp_path / "map.toml"
    column_map.write_text('[columns]\n"Params" = "parameters"\n')
    result = runner.invoke(app, ["validate", str(twice), "--columns", str(column_map)])
    assert result.exit_code == 2 and "both mean 'parameters'" in result.stderr
    nul = tmp_path / "nul.parquet"
    pl.DataFrame({"system": ["A"], "parameters\x007": ["1"]}).write_parquet(nul)
    result = runner.invoke(app, ["validate", str(nul)])
    assert result.exit_code == 2
    assert (
        result.stderr.strip()
        == f"Error: {nul}: column name 'parameters\\x007' holds a NUL character"
    )


def test_a_sheet_read_from_standard_input_is_named_dash(tmp_path):
    csv_text = "system,parameters,dataset_size,dataset_unit,epochs\nA,7B,1T,tokens,1\nB,lots,,,\n"
    runs = []
    for folder in ("one", "two"):
        result = runner.invoke(app, ["estimate", "-", "-o", str(tmp_path / folder)], input=csv_text)
        assert result.exit_code == 0, result.output
        runs.append((tmp_path / folder / "estimates.parquet").read_bytes())
    assert runs[0] == runs[1]  # the same bytes in, the same outputs: no temporary name leaks
    estimates = pl.read_parquet(tmp_path / "one" / "estimates.parquet")
    assert estimates["source_file"].to_list() == ["-"]
    rejects = pl.read_csv(tmp_path / "one" / "rejects.csv")
    assert rejects["source_file"].to_list() == ["'-"]  # a CSV cell starting "-" gets its quote
    # a Parquet file on standard input is known by its first bytes
    parquet = tmp_path / "sheet.parquet"
    pl.DataFrame({"system": ["P"], "parameters": ["1B"]}).write_parquet(parquet)
    result = runner.invoke(app, ["validate", "-", "--json"], input=parquet.read_bytes())
    assert result.exit_code == 0 and json.loads(result.stdout)["rows_read"] == 1
    twice = runner.invoke(app, ["validate", "-", "-"], input=csv_text)
    assert twice.exit_code == 2 and "standard input can be read once" in twice.stderr
    empty = runner.invoke(app, ["validate", "-"], input="")
    assert empty.exit_code == 2 and empty.stderr.startswith("Error: -: ")


@pytest.mark.parametrize("output_format", ["csv", "ndjson", "markdown"])
def test_hardware_list_prints_every_format(output_format):
    result = runner.invoke(app, ["hardware", "list", "--search", "a100", "-f", output_format])
    assert result.exit_code == 0, result.output
    assert "NVIDIA A100 SXM4 40 GB" in result.stdout
    if output_format == "ndjson":
        assert all(json.loads(line)["name"] for line in result.stdout.splitlines())


def test_a_sheet_on_standard_input_finds_layer_lists_in_the_working_folder(tmp_path, monkeypatch):
    layers = REPO / "tests" / "data" / "architectures"
    listed = layers / "tiny_convnet.json"
    (tmp_path / listed.name).write_bytes(listed.read_bytes())
    monkeypatch.chdir(tmp_path)
    sheet = f"system,architecture_file,dataset_size,epochs\nA,{listed.name},1e6,1\n"
    by_file = tmp_path / "sheet.csv"
    by_file.write_text(sheet)
    piped = runner.invoke(app, ["validate", "-", "--json"], input=sheet)
    named = runner.invoke(app, ["validate", str(by_file.name), "--json"])
    assert json.loads(named.stdout)["rows_rejected"] == 0
    assert json.loads(piped.stdout)["rows_rejected"] == 0, piped.stdout


def test_an_output_folder_named_like_a_partition_changes_no_column(tmp_path):
    """DuckDB reads the estimates from the run's Parquet file: a folder named `system=x` in
    the path is a name, not a partition whose value replaces every row's system."""
    out = tmp_path / "system=oops" / "year=2026"
    result = runner.invoke(app, ["estimate", SYSTEMS, "-o", str(out)])
    assert result.exit_code == 0, result.output
    parquet = pl.read_parquet(out / "estimates.parquet")
    with duckdb.connect(str(out / "compute.duckdb"), read_only=True) as connection:
        stored = connection.sql("SELECT * FROM estimates").pl()
    assert stored.columns == parquet.columns
    assert stored.equals(parquet)

"""An output folder whose path holds a single quote works for every command: paths reach DuckDB
as bound values, never as text inside SQL."""

import json

from typer.testing import CliRunner

from pipeline.cli.app import app
from tests.conftest import REPO

runner = CliRunner()
SYSTEMS = REPO / "data" / "raw" / "systems.csv"


def test_a_folder_named_o_brien_works_for_every_command(tmp_path):
    out = tmp_path / "o'brien"
    db = str(out / "compute.duckdb")
    sheet = tmp_path / "systems.csv"
    sheet.write_bytes(SYSTEMS.read_bytes())

    estimated = runner.invoke(app, ["estimate", str(sheet), "-o", str(out)])
    assert estimated.exit_code == 0, estimated.output
    first = runner.invoke(app, ["refresh", str(sheet), "-o", str(out), "--force", "--json"])
    assert first.exit_code == 0, first.output
    text = sheet.read_text()
    assert "5.76e23" in text
    sheet.write_text(text.replace("5.76e23", "1.2e24", 1))
    second = runner.invoke(app, ["refresh", str(sheet), "-o", str(out), "--json"])
    assert second.exit_code == 0, second.output
    assert json.loads(second.stdout)["status"] == "published"
    assert (out / "report" / "report.html").is_file()  # refresh writes the report by default

    diff = runner.invoke(app, ["diff", "-o", str(out), "--json"])
    assert diff.exit_code == 0, diff.output
    assert [row["system"] for row in json.loads(diff.stdout)] == ["Chinchilla"]

    sql = "SELECT count(*) AS runs FROM runs WHERE status = 'published'"
    query = runner.invoke(app, ["query", sql, "--db", db, "--format", "json"])
    assert query.exit_code == 0, query.output
    assert json.loads(query.stdout) == [{"runs": 3}]

    report = runner.invoke(app, ["report", "--db", db, "--out", str(out / "it's here"), "--json"])
    assert report.exit_code == 0, report.output
    assert (out / "it's here" / "report.html").is_file()

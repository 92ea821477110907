"""Files named by options, and inputs that change under a run: one line and exit 2, never a
hang, and a published key that always matches the bytes published."""

import json
import os
import threading

import pytest
from typer.testing import CliRunner

from pipeline.cli.app import app
from pipeline.errors import EXIT_INPUT_FILE
from tests.conftest import REPO
from tests.publish.test_refresh import cli, edit, published_state, wait_for_pause

runner = CliRunner()
SYSTEMS = REPO / "data" / "raw" / "systems.csv"


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe"
    os.mkfifo(path)
    yield path
    # Nothing may be left waiting on the FIFO: open its write end once so a reader would wake.
    opener = threading.Thread(target=lambda: os.close(os.open(path, os.O_RDWR)))
    opener.start()
    opener.join(timeout=5)


def one_line_error(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == EXIT_INPUT_FILE, result.output
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.output
    return result.stderr.strip()


@pytest.mark.parametrize("option", ["--columns", "--hardware-table", "--priors"])
def test_a_fifo_as_a_file_option_is_one_line(tmp_path, fifo, option):
    message = one_line_error(
        ["estimate", str(SYSTEMS), "-o", str(tmp_path / "o"), option, str(fifo)]
    )
    assert message.startswith(f"Error: {fifo}: not a regular file")


@pytest.mark.parametrize("option", ["--columns", "--priors", "--hardware-table"])
def test_a_device_as_a_file_option_is_one_line(tmp_path, option):
    message = one_line_error(
        ["estimate", str(SYSTEMS), "-o", str(tmp_path / "o"), option, "/dev/zero"]
    )
    assert message.startswith("Error: /dev/zero: not a regular file")


@pytest.mark.parametrize("option", ["--columns", "--priors"])
def test_deeply_nested_toml_is_one_line(tmp_path, option):
    nested = tmp_path / "nested.toml"
    nested.write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    message = one_line_error(
        ["estimate", str(SYSTEMS), "-o", str(tmp_path / "o"), option, str(nested)]
    )
    assert message.startswith(f"Error: {nested}: not a TOML")


def test_a_file_option_too_large_is_one_line(tmp_path):
    large = tmp_path / "columns.toml"
    with open(large, "wb") as handle:
        handle.truncate(20_000_000)  # sparse: 20 MB of nothing
    message = one_line_error(["validate", str(SYSTEMS), "--columns", str(large)])
    assert "more than a column map file can be" in message


def test_a_sheet_rewritten_while_the_run_goes_on_is_published_under_its_own_key(tmp_path):
    sheet = tmp_path / "systems.csv"
    sheet.write_bytes(SYSTEMS.read_bytes())
    out = tmp_path / "out"
    run = cli("refresh", str(sheet), "-o", str(out), env={"FLOPSHEET_TEST_PAUSE": "estimated:3"})
    wait_for_pause(run, "estimated")
    edit(sheet, "5.76e23", "1.2e24")  # after the snapshot, before publishing
    run.communicate(timeout=120)
    assert run.returncode == 0
    _, rows = published_state(out)
    assert ("Chinchilla", 5.76e23) in rows  # what was snapshotted is what was published
    again = runner.invoke(app, ["refresh", str(sheet), "-o", str(out), "--json", "--no-report"])
    assert json.loads(again.stdout)["status"] == "published"  # the new content is not skipped
    assert ("Chinchilla", 1.2e24) in published_state(out)[1]


def test_an_input_deleted_before_the_run_is_exit_2(tmp_path):
    missing = tmp_path / "gone.csv"
    message = one_line_error(["estimate", str(missing), "-o", str(tmp_path / "o")])
    assert message == f"Error: {missing}: file not found"


def test_an_output_folder_with_a_quote_keeps_its_history(tmp_path):
    sheet = tmp_path / "systems.csv"
    sheet.write_bytes(SYSTEMS.read_bytes())
    out = tmp_path / "o'brien"
    for _ in range(2):
        result = runner.invoke(
            app, ["refresh", str(sheet), "-o", str(out), "--force", "--no-report"]
        )
        assert result.exit_code == 0, result.output
    diff = runner.invoke(app, ["diff", "-o", str(out), "--json"])
    assert diff.exit_code == 0 and json.loads(diff.stdout) == []

"""A sheet's `architecture_file` cells cannot make flopsheet read, or copy into a published
dataset, any file outside the sheet's folder and the shipped layer lists."""

import json
import os

import polars as pl
import pytest
from typer.testing import CliRunner

from pipeline.cli.app import app

runner = CliRunner()
LAYERS = {"input": [10], "layers": [{"type": "dense", "out_features": 5}]}


def estimate(sheet, out):
    result = runner.invoke(app, ["estimate", str(sheet), "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def copied_layer_lists(out):
    folder = out / "current" / "inputs" / "architectures"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize(
    "cell, problem",
    [
        ("/proc/self/environ", "no absolute path"),
        ("/etc/passwd", "no absolute path"),
        ("../outside.json", "no '..'"),
        ("sub/../../outside", "no '..'"),
        ("link", "links outside"),
        ("x" * 300, "cannot be looked up"),
        ("notes.txt", "architecture file not found"),
    ],
)
def test_a_cell_naming_a_file_outside_the_sheet_quarantines_only_its_row(tmp_path, cell, problem):
    sheets = tmp_path / "sheets"
    sheets.mkdir()
    (tmp_path / "outside.json").write_text(json.dumps(LAYERS))
    os.symlink(tmp_path / "outside.json", sheets / "link.json")
    (sheets / "notes.txt").write_text("a secret")
    (sheets / "mine.json").write_text(json.dumps(LAYERS))
    sheet = sheets / "s.csv"
    pl.DataFrame(
        {"system": ["X", "Y"], "architecture_file": [cell, "mine"],
         "dataset_size": ["1000", "1000"], "epochs": ["1", "1"]}
    ).write_csv(sheet)  # fmt: skip
    summary = estimate(sheet, tmp_path / "out")
    assert (summary["rows_read"], summary["rows_rejected"], summary["rows_estimated"]) == (2, 1, 1)
    rejects = pl.read_csv(tmp_path / "out" / "rejects.csv")
    assert rejects["system"].to_list() == ["X"]
    assert problem in rejects["reason"][0]
    # only the layer list that resolved inside the sheet's folder and parsed is in the dataset
    assert copied_layer_lists(tmp_path / "out") == ["00-mine.json"]


def test_a_file_that_does_not_parse_is_not_copied(tmp_path):
    (tmp_path / "broken.json").write_text("PRIVATE KEY, not JSON")
    sheet = tmp_path / "s.csv"
    sheet.write_text("system,architecture_file,dataset_size,epochs\nX,broken,1000,1\nY,,1e9,1\n")
    summary = estimate(sheet, tmp_path / "out")
    assert summary["rows_rejected"] == 1
    assert copied_layer_lists(tmp_path / "out") == []
    published = tmp_path / "out" / "current"
    assert not any(
        "PRIVATE KEY" in p.read_text(errors="replace") for p in published.rglob("*.json")
    )


def test_a_file_too_large_for_a_layer_list_is_refused(tmp_path):
    (tmp_path / "huge.json").write_text(json.dumps({**LAYERS, "notes": "x" * 2_000_000}))
    sheet = tmp_path / "s.csv"
    sheet.write_text("system,architecture_file,dataset_size,epochs\nX,huge,1000,1\n")
    estimate(sheet, tmp_path / "out")
    assert "more than any layer list" in pl.read_csv(tmp_path / "out" / "rejects.csv")["reason"][0]
    assert copied_layer_lists(tmp_path / "out") == []


def test_each_sheet_counts_the_layer_lists_of_its_own_folder(tmp_path):
    for folder, width in (("a", 5), ("b", 7)):
        (tmp_path / folder).mkdir()
        layers = {"input": [10], "layers": [{"type": "dense", "out_features": width}]}
        (tmp_path / folder / "model.json").write_text(json.dumps(layers))
        (tmp_path / folder / "s.csv").write_text(
            f"system,architecture_file,dataset_size,epochs\n{folder},model,1000,1\n"
        )
    result = runner.invoke(
        app, ["estimate", str(tmp_path / "b" / "s.csv"), str(tmp_path / "a" / "s.csv"),
              "-o", str(tmp_path / "out"), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    estimates = pl.read_parquet(tmp_path / "out" / "estimates.parquet").sort("system")
    # each sheet's own model.json: a dense layer 5 wide for a, 7 wide for b
    ops_a, ops_b = estimates["ops_flop"].to_list()
    assert ops_b / ops_a == 7 / 5
    assert copied_layer_lists(tmp_path / "out") == ["00-model.json", "01-model.json"]


def test_a_layer_list_swapped_for_a_link_after_it_was_found_is_not_copied(tmp_path):
    from pipeline.publish.snapshot import Snapshot

    (tmp_path / "outside.json").write_text(json.dumps({"secret": "TOP-SECRET"}))
    sheets = tmp_path / "sheets"
    sheets.mkdir()
    os.symlink(tmp_path / "outside.json", sheets / "m.json")  # as if swapped in after the check
    run = tmp_path / "run"
    (run / "inputs").mkdir(parents=True)
    snapshot = Snapshot(run, [], None, None)
    snapshot.add_layer_lists({sheets / "m.json": sheets})
    assert snapshot.layers == []
    assert not any(p.is_file() for p in (run / "inputs").rglob("*"))

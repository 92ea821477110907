"""Unattended refreshes: idempotent, atomic under SIGKILL, locked, with history and diffs."""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from pipeline import refresh_dataset as refresh
from pipeline.cli.app import app
from pipeline.errors import EXIT_LOCKED
from pipeline.publish.dataset import Dataset
from pipeline.publish.runs import read_run_log
from tests.conftest import REPO

runner = CliRunner()
SYSTEMS = REPO / "data" / "raw" / "systems.csv"


@pytest.fixture
def sheet(tmp_path) -> Path:
    path = tmp_path / "systems.csv"
    path.write_bytes(SYSTEMS.read_bytes())
    return path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def published_state(out: Path) -> tuple[bytes, list]:
    """The published parquet's bytes and the database's estimates, read as a user would."""
    with duckdb.connect(str(out / "compute.duckdb"), read_only=True) as con:
        rows = con.sql("SELECT system, estimate_flop FROM estimates ORDER BY system").fetchall()
    return (out / "estimates.parquet").read_bytes(), rows


def cli(*args: str, env: dict | None = None, **popen) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", *args], cwd=REPO, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})}, **popen,
    )  # fmt: skip


def wait_for_pause(process: subprocess.Popen, point: str) -> None:
    line = process.stderr.readline()
    assert line.strip() == f"paused at {point}", line


def test_same_inputs_skip_and_forced_runs_are_byte_identical(sheet, tmp_path):
    out = tmp_path / "out"
    first = refresh([sheet], out)
    assert first.status == "published"
    again = refresh([sheet], out)
    assert again.status == "skipped" and again.run_id == first.run_id
    forced = refresh([sheet], out, force=True)
    assert forced.status == "published" and forced.run_id != first.run_id
    one = out / "runs" / first.run_id / "estimates.parquet"
    two = out / "runs" / forced.run_id / "estimates.parquet"
    assert one.read_bytes() == two.read_bytes()
    assert forced.record["added"] == forced.record["removed"] == forced.record["changed"] == 0


def test_skip_through_the_cli(sheet, tmp_path):
    out = tmp_path / "out"
    assert runner.invoke(app, ["refresh", str(sheet), "-o", str(out)]).exit_code == 0
    result = runner.invoke(app, ["refresh", str(sheet), "-o", str(out)])
    assert result.exit_code == 0 and "skipped" in result.stdout


def test_run_keeps_its_inputs_with_checksums(sheet, tmp_path):
    out = tmp_path / "out"
    run = refresh([sheet], out)
    run_dir = out / "runs" / run.run_id
    copy = run_dir / "inputs" / "00-systems.csv"
    assert copy.read_bytes() == sheet.read_bytes()
    assert (
        (run_dir / "inputs" / "SHA256SUMS")
        .read_text()
        .startswith(run.record["inputs"][0]["sha256"])
    )
    assert (out / "current").resolve() == run_dir.resolve()


def test_history_and_diffs_over_three_refreshes(sheet, tmp_path):
    out = tmp_path / "out"
    first = refresh([sheet], out)
    edit(sheet, "Chinchilla,DeepMind", "Chinchilla,Google DeepMind")  # organization only
    edit(sheet, "5.76e23", "1.2e24")  # Chinchilla's reported compute doubles
    second = refresh([sheet], out)
    lines = sheet.read_text().splitlines()
    removed = next(line for line in lines if line.startswith("AlexNet,"))
    sheet.write_text(
        "\n".join(line for line in lines if line != removed)
        + "\nBrand New LM,Lab,,2025,language,1e9,,,,2e10,tokens,1,,,,,,,,\n"
    )
    third = refresh([sheet], out)
    assert second.record["changed"] == 1 and second.record["added"] == 0
    assert (third.record["added"], third.record["removed"], third.record["changed"]) == (1, 1, 0)

    with duckdb.connect(str(out / "compute.duckdb"), read_only=True) as con:
        runs = con.sql(
            "SELECT run_id, status, systems_changed FROM runs ORDER BY run_id"
        ).fetchall()
        history = con.sql(
            "SELECT run_id, estimate_flop, change FROM estimate_history "
            "WHERE system = 'Chinchilla' ORDER BY run_id"
        ).fetchall()
        changes = con.sql(
            "SELECT run_id, system, change FROM estimate_history WHERE run_id != ? ORDER BY ALL",
            params=[first.run_id],
        ).fetchall()
        as_of_second = Dataset(out).estimates_as_of(second.run_id)
        as_of_third = Dataset(out).estimates_as_of(third.run_id)
    assert [r[0] for r in runs] == [first.run_id, second.run_id, third.run_id]
    assert all(r[1] == "published" for r in runs)
    # the history keeps what changed, not every run's every row
    assert history == [(first.run_id, 5.76e23, "added"), (second.run_id, 1.2e24, "changed")]
    assert [(c[0] == second.run_id, c[1], c[2]) for c in changes] == [
        (True, "Chinchilla", "changed"), (False, "AlexNet", "removed"),
        (False, "Brand New LM", "added"),
    ]  # fmt: skip
    assert "AlexNet" in as_of_second["system"].to_list()
    assert "AlexNet" not in as_of_third["system"].to_list()
    assert as_of_third.filter(pl.col("system") == "Chinchilla")["estimate_flop"][0] == 1.2e24
    assert as_of_third.height == pl.read_parquet(out / "estimates.parquet").height

    last = runner.invoke(app, ["diff", "-o", str(out), "--json"])
    assert last.exit_code == 0, last.output
    assert {(c["system"], c["change"]) for c in json.loads(last.stdout)} == {
        ("Brand New LM", "added"), ("AlexNet", "removed"),
    }  # fmt: skip
    earlier = runner.invoke(
        app, ["diff", first.run_id, second.run_id, "-o", str(out), "--format", "csv"]
    )
    frame = pl.read_csv(earlier.stdout.encode())
    assert frame["system"].to_list() == ["Chinchilla"]
    assert frame["relative_change"][0] == pytest.approx(1.2e24 / 5.76e23 - 1)
    loose = runner.invoke(
        app, ["diff", first.run_id, second.run_id, "-o", str(out), "--threshold", "2", "--json"]
    )
    assert json.loads(loose.stdout) == []
    for prefix, found in (("1999", "no published run starts"), ("20", "3 runs start")):
        unknown = runner.invoke(app, ["diff", prefix, second.run_id, "-o", str(out)])
        assert unknown.exit_code == 2  # an argument that names no run, as a missing file is
        assert unknown.stderr.startswith(f"Error: run {prefix!r}: {found} with it (runs: ")


def test_bad_input_leaves_the_dataset_and_records_a_failed_run(sheet, tmp_path):
    out = tmp_path / "out"
    refresh([sheet], out)
    before = published_state(out)
    sheet.write_text("model,parameters\nx,1\n")  # no system column: a file-level error
    result = runner.invoke(app, ["refresh", str(sheet), "-o", str(out)])
    assert result.exit_code == 2 and "no 'system' column" in result.stderr
    sheet.unlink()
    missing = runner.invoke(app, ["refresh", str(sheet), "-o", str(out)])
    assert missing.exit_code == 2 and "file not found" in missing.stderr
    assert published_state(out) == before
    statuses = [r["status"] for r in read_run_log(out)[0]]
    assert statuses == ["published", "failed", "failed"]
    assert len(list((out / "runs").iterdir())) == 1


def test_old_runs_beyond_keep_are_removed(sheet, tmp_path):
    out = tmp_path / "out"
    runs = [refresh([sheet], out, force=True, keep=2).run_id for _ in range(3)]
    assert sorted(p.name for p in (out / "runs").iterdir()) == runs[1:]


def test_two_refreshes_at_once_one_publishes_one_is_locked(sheet, tmp_path):
    out = str(tmp_path / "out")
    first = cli("refresh", str(sheet), "-o", out, env={"FLOPSHEET_TEST_PAUSE": "locked:3"})
    wait_for_pause(first, "locked")
    second = cli("refresh", str(sheet), "-o", out)
    _, second_err = second.communicate(timeout=60)
    assert second.returncode == EXIT_LOCKED
    assert "already running" in second_err and len(second_err.strip().splitlines()) == 1
    first.communicate(timeout=120)
    assert first.returncode == 0
    waiting = cli("refresh", str(sheet), "-o", out, "--force", "--wait", "30")
    assert waiting.wait(timeout=120) == 0
    assert [r["status"] for r in read_run_log(Path(out))[0]] == ["published", "published"]


@pytest.mark.parametrize("point", ["locked", "estimated", "written", "publishing"])
def test_sigkill_at_any_point_keeps_the_published_dataset(sheet, tmp_path, point):
    out = tmp_path / "out"
    refresh([sheet], out)
    before = published_state(out)
    edit(sheet, "5.76e23", "1.2e24")
    victim = cli("refresh", str(sheet), "-o", str(out), env={"FLOPSHEET_TEST_PAUSE": f"{point}:60"})
    wait_for_pause(victim, point)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    assert published_state(out) == before

    after = refresh([sheet], out, wait_seconds=10)
    assert after.status == "published"
    runs = sorted(p.name for p in (out / "runs").iterdir())
    assert len(runs) == 2 and runs[-1] == after.run_id
    assert not list(out.glob(".*.tmp*"))
    _, rows = published_state(out)
    assert ("Chinchilla", 1.2e24) in rows


@pytest.mark.parametrize(
    "name",
    ["crontab", "flopsheet-refresh.service", "flopsheet-refresh.timer", "refresh-workflow.yml"],
)
def test_deploy_examples_run_make_refresh(name):
    text = (REPO / "deploy" / name).read_text()
    assert "make refresh" in text or "OnCalendar=" in text


def test_snapshots_keep_their_bytes_when_the_sheet_is_edited_in_place(sheet, tmp_path):
    out = tmp_path / "out"
    run = refresh([sheet], out)
    with open(sheet, "a") as handle:  # an in-place append, as `>>` does
        handle.write("Appended,Lab,,2025,language,1e9,,,,2e10,tokens,1,,,,,,,,\n")
    copy = out / "runs" / run.run_id / "inputs" / "00-systems.csv"
    assert "Appended" not in copy.read_text()


def test_skip_puts_back_published_links_removed_by_a_clean_up(sheet, tmp_path):
    out = tmp_path / "out"
    refresh([sheet], out)
    before = published_state(out)
    for name in ("compute.duckdb", "estimates.parquet", "rejects.csv"):
        (out / name).unlink()
    result = runner.invoke(app, ["refresh", str(sheet), "-o", str(out), "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["status"] == "skipped"
    assert published_state(out) == before


def test_a_failure_after_publishing_keeps_the_new_dataset(sheet, tmp_path, monkeypatch):
    from pipeline.publish import runs

    out = tmp_path / "out"
    refresh([sheet], out)
    edit(sheet, "5.76e23", "1.2e24")

    def full_disk(output_dir, record):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(runs, "append_run_log", full_disk)
    with pytest.raises(OSError):
        refresh([sheet], out)
    monkeypatch.undo()
    _, rows = published_state(out)
    assert ("Chinchilla", 1.2e24) in rows
    again = refresh([sheet], out)  # the unlogged run is logged now, and recognised
    assert again.status == "skipped"
    assert [r["status"] for r in read_run_log(out)[0]][-1] == "published"


def test_compute_by_rule_stored_in_parts_is_the_whole_table_in_order(sheet, tmp_path, monkeypatch):
    import pipeline.refresh as refresh_module
    from pipeline.estimate.rule_table import compute_by_rule, compute_by_rule_parts

    def in_small_parts(estimates):
        return compute_by_rule_parts(estimates, systems_per_part=2)

    monkeypatch.setattr(refresh_module, "compute_by_rule_parts", in_small_parts)
    result = refresh([sheet], tmp_path / "out")
    stored = Dataset(tmp_path / "out" / "compute.duckdb").table("compute_by_rule")
    assert result.result.estimates.height > 4  # several parts
    assert stored.equals(compute_by_rule(result.result.estimates))


def test_a_csv_file_that_cannot_be_written_fails_the_run_and_keeps_the_dataset(
    sheet, tmp_path, monkeypatch
):
    # The CSV files are written beside the database, by a worker thread: its failure is the
    # run's, and nothing of the run is switched in.
    import pipeline.refresh as refresh_module

    out = tmp_path / "out"
    refresh([sheet], out)
    before = published_state(out)
    edit(sheet, "5.76e23", "1.2e24")

    def full_disk(frame, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(refresh_module, "write_safe_csv", full_disk)
    result = runner.invoke(app, ["refresh", str(sheet), "-o", str(out)])
    assert result.exit_code != 0
    assert result.stderr.startswith("Error: ") and "No space left on device" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert published_state(out) == before
    assert read_run_log(out)[0][-1]["status"] == "failed"
    assert len(list((out / "runs").iterdir())) == 1  # the failed run's folder is gone


@pytest.mark.parametrize(
    "damage",
    [b'{"run_id": "cut sho', b"null", b"{}", b"[1, 2]", b'{"run_id": 5}', b"\xff\xfe{}"],
)
def test_a_damaged_log_line_does_not_stop_refreshes(sheet, tmp_path, damage):
    out = tmp_path / "out"
    refresh([sheet], out)
    with open(out / "runs.jsonl", "ab") as handle:
        handle.write(damage + b"\n")
    result = refresh([sheet], out, force=True)
    assert result.status == "published"
    assert [w for w in result.warnings if "damaged" in w] == [
        f"{out / 'runs.jsonl'} line 2 is damaged and was skipped"
    ]
    assert [r["status"] for r in read_run_log(out)[0]] == ["published", "published"]


def test_a_damaged_log_line_before_any_publish_is_warned_about(sheet, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "runs.jsonl").write_text('{"run_id": "cut sho\n')
    result = runner.invoke(app, ["refresh", str(sheet), "-o", str(out), "--no-report"])
    assert result.exit_code == 0, result.output
    assert result.stderr.count("warning: ") == 1
    assert result.stderr.count("line 1 is damaged and was skipped") == 1


def test_a_published_run_whose_log_line_is_damaged_keeps_its_folder(sheet, tmp_path):
    out = tmp_path / "out"
    first = refresh([sheet], out)
    refresh([sheet], out, force=True)
    log = (out / "runs.jsonl").read_bytes().splitlines(keepends=True)
    (out / "runs.jsonl").write_bytes(log[0][:40] + b"\n" + b"".join(log[1:]))
    refresh([sheet], out, force=True)
    assert (out / "runs" / first.run_id / "run.json").exists()


def test_input_errors_name_the_users_file(tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_text("not a workbook")
    result = runner.invoke(app, ["refresh", str(bad), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {bad}: cannot read as excel")
    assert read_run_log(tmp_path / "out")[0][-1]["message"].startswith(str(bad))


def test_editing_a_named_layer_list_is_a_change(tmp_path):
    (tmp_path / "mlp.json").write_text(
        '{"input": [4], "layers": [{"type": "dense", "out_features": 3}]}'
    )
    sheet = tmp_path / "s.csv"
    sheet.write_text("system,architecture_file,dataset_size,epochs\nm,mlp,1000,1\n")
    out = tmp_path / "out"
    assert refresh([sheet], out).status == "published"
    assert refresh([sheet], out).status == "skipped"
    (tmp_path / "mlp.json").write_text(
        '{"input": [4], "layers": [{"type": "dense", "out_features": 30}]}'
    )
    again = refresh([sheet], out)
    assert again.status == "published"
    flop = pl.read_parquet(out / "estimates.parquet")["ops_flop"][0]
    assert flop == pytest.approx(3 * 2 * 4 * 30 * 1000)


def test_a_run_holds_the_layer_lists_it_counted(tmp_path):
    (tmp_path / "mlp.json").write_text(
        '{"input": [4], "layers": [{"type": "dense", "out_features": 3}]}'
    )
    sheet = tmp_path / "s.csv"
    sheet.write_text(
        "system,architecture_file,dataset_size,epochs\nm,mlp,1000,1\nn,resnet50,10,1\n"
    )
    out = tmp_path / "out"
    result = refresh([sheet], out)
    run = out / "runs" / result.run_id
    record = json.loads((run / "run.json").read_text())
    copies = {Path(item["file"]).name: run / item["copy"] for item in record["layer_lists"]}
    assert set(copies) == {"mlp.json", "resnet50.json"}  # beside the sheet, and shipped
    assert copies["mlp.json"].read_bytes() == (tmp_path / "mlp.json").read_bytes()
    sums = (run / "inputs" / "SHA256SUMS").read_text()
    # numbered by file name, whichever folder (the sheet's, the shipped one) sorts first
    assert "architectures/00-mlp.json" in sums and "architectures/01-resnet50.json" in sums
    assert copies["mlp.json"].name == "00-mlp.json"
    # the run counted its copy, not whatever the file holds later
    (tmp_path / "mlp.json").write_text("not json")
    assert pl.read_parquet(run / "estimates.parquet").filter(pl.col("system") == "m")["ops_flop"][
        0
    ] == pytest.approx(3 * 2 * 4 * 3 * 1000)


def test_a_bad_layer_list_in_a_run_is_named_by_its_own_path(tmp_path):
    (tmp_path / "broken.json").write_text("{not json")
    sheet = tmp_path / "s.csv"
    sheet.write_text("system,architecture_file,dataset_size,epochs\nm,broken,1000,1\n")
    refresh([sheet], tmp_path / "out")
    rejects = pl.read_csv(tmp_path / "out" / "rejects.csv")
    assert rejects["reason"][0].startswith(f"{tmp_path / 'broken.json'}: not valid JSON")


def test_the_run_key_follows_the_code(sheet, monkeypatch, tmp_path):
    from pipeline.publish import snapshot

    snapshot.code_fingerprint.cache_clear()  # computed now, from the code as it is
    assert len(snapshot.code_fingerprint()) == 64
    # a copy of the source hashes the same; an edit to any module changes the hash, in any
    # subfolder, and so does a module moved into another folder; the command line's does not
    folders = tuple(tmp_path / "src" / name for name in ("pipeline", "schemas"))
    for folder, package in zip(folders, snapshot._package_folders(), strict=True):
        shutil.copytree(package, folder, ignore=shutil.ignore_patterns("__pycache__"))
    copy = snapshot.code_fingerprint(folders)
    assert copy == snapshot.code_fingerprint()
    (folders[0] / "cli" / "app.py").write_text("# another help text\n")
    assert snapshot.code_fingerprint(folders) == copy
    snapshot.code_fingerprint.cache_clear()
    with open(folders[1] / "hardware.py", "a") as handle:
        handle.write("# edited\n")
    edited = snapshot.code_fingerprint(folders)
    assert edited != copy
    (folders[0] / "estimate" / "bases.py").rename(folders[0] / "publish" / "bases.py")
    snapshot.code_fingerprint.cache_clear()
    assert snapshot.code_fingerprint(folders) != edited

    snapshot.code_fingerprint.cache_clear()
    first = refresh([sheet], tmp_path / "out")
    monkeypatch.setattr(snapshot, "code_fingerprint", lambda: "other code")
    second = refresh([sheet], tmp_path / "out")
    assert second.status == "published" and second.record["key"] != first.record["key"]


def test_a_history_of_whole_runs_from_before_goes_on(sheet, tmp_path):
    out = tmp_path / "out"
    first = refresh([sheet], out)
    # as histories were written before changes were kept: every row of every run, no `change`
    with duckdb.connect(str((out / "compute.duckdb").resolve())) as con:
        con.execute("ALTER TABLE estimate_history DROP COLUMN change")
    lines = sheet.read_text().splitlines()
    sheet.write_text("\n".join(line for line in lines if not line.startswith("AlexNet,")) + "\n")
    second = refresh([sheet], out)
    with duckdb.connect(str(out / "compute.duckdb"), read_only=True) as con:
        kinds = dict(con.sql(
            "SELECT run_id, list(DISTINCT change) FROM estimate_history GROUP BY 1"
        ).fetchall())  # fmt: skip
        before, after = (Dataset(out).estimates_as_of(run) for run in (first.run_id, second.run_id))
    assert kinds == {first.run_id: ["snapshot"], second.run_id: ["removed"]}
    assert before.height == after.height + 1
    assert "AlexNet" in before["system"].to_list() and "AlexNet" not in after["system"].to_list()
    diff = runner.invoke(app, ["diff", "-o", str(out), "--json"])
    assert [(c["system"], c["change"]) for c in json.loads(diff.stdout)] == [("AlexNet", "removed")]


def test_a_run_the_runs_table_lost_still_counts_in_the_history(sheet, tmp_path):
    out = tmp_path / "out"
    first = refresh([sheet], out)
    lines = sheet.read_text().splitlines()
    sheet.write_text("\n".join(line for line in lines if not line.startswith("AlexNet,")) + "\n")
    second = refresh([sheet], out)
    edit(sheet, "5.76e23", "1.2e24")
    third = refresh([sheet], out)
    with duckdb.connect(str((out / "compute.duckdb").resolve())) as con:
        con.execute("DELETE FROM runs WHERE run_id = ?", [second.run_id])  # a damaged log line
    rebuilt = Dataset(out).estimates_as_of(third.run_id)
    first_state = Dataset(out).estimates_as_of(first.run_id)
    published = pl.read_parquet(out / "estimates.parquet").select(rebuilt.columns).sort("system")
    assert rebuilt.equals(published)
    assert "AlexNet" in first_state["system"].to_list()


@pytest.mark.parametrize("older_table", [False, True])
def test_a_damaged_log_line_loses_no_run_from_the_runs_table(sheet, tmp_path, older_table):
    out = tmp_path / "out"
    first = refresh([sheet], out)
    edit(sheet, "5.76e23", "1.2e24")
    second = refresh([sheet], out)
    if older_table:  # a runs table from before `rows_flagged` was kept
        with duckdb.connect(str((out / "compute.duckdb").resolve())) as con:
            con.execute("ALTER TABLE runs DROP COLUMN rows_flagged")
    log = (out / "runs.jsonl").read_text().splitlines()
    (out / "runs.jsonl").write_text(log[0][:20] + "\n" + "\n".join(log[1:]) + "\n")  # cut short
    third = refresh([sheet], out, force=True)
    with duckdb.connect(str(out / "compute.duckdb"), read_only=True) as con:
        runs = [row[0] for row in con.sql("SELECT run_id FROM runs ORDER BY started_at").fetchall()]
    assert runs == [first.run_id, second.run_id, third.run_id]
    earlier = runner.invoke(app, ["diff", first.run_id, second.run_id, "-o", str(out), "--json"])
    assert earlier.exit_code == 0, earlier.output
    assert [c["system"] for c in json.loads(earlier.stdout)] == ["Chinchilla"]


def test_diff_reads_a_history_written_before_changes_were_kept(sheet, tmp_path):
    out = tmp_path / "out"
    refresh([sheet], out)
    edit(sheet, "5.76e23", "1.2e24")
    refresh([sheet], out)
    with duckdb.connect(str((out / "compute.duckdb").resolve())) as con:
        # as an earlier flopsheet wrote it: every row of both runs, no `change`
        runs = [r[0] for r in con.sql("SELECT run_id FROM runs ORDER BY run_id").fetchall()]
        con.execute("DELETE FROM estimate_history")
        con.execute("ALTER TABLE estimate_history DROP COLUMN change")
        first_state = pl.read_parquet(out / "runs" / runs[0] / "estimates.parquet")
        con.register("first_state", first_state)
        for run_id, state in ((runs[0], "first_state"), (runs[1], "estimates")):
            con.execute(
                "INSERT INTO estimate_history SELECT ?, system, estimate_flop, "
                f"estimate_source, flags FROM {state}",
                [run_id],
            )
    diff = runner.invoke(app, ["diff", "-o", str(out), "--json"])
    assert diff.exit_code == 0, diff.output
    assert [c["system"] for c in json.loads(diff.stdout)] == ["Chinchilla"]


def test_an_old_run_that_kept_no_rows_stays_empty_after_conversion(sheet, tmp_path):
    out = tmp_path / "out"
    first = refresh([sheet], out)
    header = sheet.read_text().splitlines()[0]
    sheet.write_text(header + "\nBroken,Lab,,2025,language,lots,,,,2e10,tokens,1,,,,,,,,\n")
    empty = refresh([sheet], out)  # every row rejected: no estimates
    with duckdb.connect(str((out / "compute.duckdb").resolve())) as con:
        con.execute("DELETE FROM estimate_history WHERE run_id = ?", [empty.run_id])
        con.execute("ALTER TABLE estimate_history DROP COLUMN change")  # the old whole-run form
    sheet.write_text(header + "\nOnly,Lab,,2025,language,1e9,,,,2e10,tokens,1,,,,,,,,\n")
    last = refresh([sheet], out)
    with duckdb.connect(str(out / "compute.duckdb"), read_only=True) as con:
        states = {run: Dataset(out).estimates_as_of(run)["system"].to_list()
                  for run in (first.run_id, empty.run_id, last.run_id)}  # fmt: skip
    assert "Chinchilla" in states[first.run_id]
    assert states[empty.run_id] == []
    assert states[last.run_id] == ["Only"]


def test_a_folder_in_the_way_of_a_published_link_stops_the_run_before_it_publishes(sheet, tmp_path):
    out = tmp_path / "out"
    (out / "compute.duckdb").mkdir(parents=True)
    result = runner.invoke(app, ["refresh", str(sheet), "-o", str(out)])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"Error: {out / 'compute.duckdb'}: a folder is where this link to the published run goes"
    )
    assert not (out / "current").exists()
    assert read_run_log(out)[0][-1]["status"] == "failed"


def test_an_engine_panic_is_one_line_and_a_failed_run(sheet, tmp_path, monkeypatch):
    import pipeline.refresh as refresh_module

    class PanicException(BaseException):  # how pyo3 raises a Rust panic: not an Exception
        pass

    def panics(*args, **kwargs):
        raise PanicException("no valid schema can be derived")

    monkeypatch.setattr(refresh_module, "run_in_memory", panics)
    out = tmp_path / "out"
    result = runner.invoke(app, ["estimate", str(sheet), "-o", str(out)])
    assert result.exit_code == 1
    assert result.stderr == "Error: PanicException: no valid schema can be derived\n"
    assert read_run_log(out)[0][-1]["status"] == "failed"
    assert not (out / "current").exists()


def test_a_duplicate_names_the_users_file_and_runs_stay_identical(tmp_path):
    sheet = tmp_path / "dup.csv"
    sheet.write_text("system,parameters\nX,1e9\nX,2e9\n")
    for folder in ("one", "two"):
        assert (
            runner.invoke(app, ["estimate", str(sheet), "-o", str(tmp_path / folder)]).exit_code
            == 0
        )
    first = (tmp_path / "one" / "rejects.csv").read_bytes()
    assert first == (tmp_path / "two" / "rejects.csv").read_bytes()
    assert f"duplicate system name; first used in {sheet} row 2".encode() in first


@pytest.mark.parametrize("layer_lists", [False, True], ids=["cells read by the run", "read early"])
def test_the_cells_read_go_before_the_estimate(tmp_path, monkeypatch, layer_lists):
    # A million rows of text cells are about 0.5 GB: a refresh that kept them while estimating
    # would hold them for nothing, whether the run read them or the layer lists' check did.
    import weakref

    import pipeline.run as run_module

    sheet = tmp_path / "systems.csv"
    extra = ",architecture_file" if layer_lists else ""
    sheet.write_text(f"system,parameters,dataset_size{extra}\nX,1e9,1e10{',' if extra else ''}\n")
    cells: list[weakref.ref] = []
    validate = run_module.validate

    def validate_and_watch(raw, *args):
        cells.append(weakref.ref(raw))
        return validate(raw, *args)

    freed_at_estimate = []

    def on_stage(stage: str) -> None:
        if stage == "estimate":
            freed_at_estimate.append(cells[0]() is None)

    monkeypatch.setattr(run_module, "validate", validate_and_watch)
    refresh(sheet, tmp_path / "out", on_stage=on_stage)
    assert freed_at_estimate == [True]

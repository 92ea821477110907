"""Chip time read from Epoch's training time notes, and notes that work from a compute figure."""

from __future__ import annotations

import polars as pl
import pytest

from pipeline.read.time_notes import TIME_NOTES, hardware_time_from_notes
from pipeline.run import estimate_files

CELLS = ("chip_hours", "hardware_quantity", "training_time_hours")


def read(note: str, **cells: str) -> dict:
    frame = pl.DataFrame(
        {TIME_NOTES: [note], **{c: [cells.get(c)] for c in CELLS}},
        schema={TIME_NOTES: pl.String, **dict.fromkeys(CELLS, pl.String)},
    )
    return hardware_time_from_notes(frame).row(0, named=True)


@pytest.mark.parametrize(
    ("note", "chip_hours", "phrase"),
    [
        ('"The pretraining phase consumes 1.3 million GPU hours in total"', 1.3e6, "1.3 million gpu hours"),
        ("DeepSeek-V3 requires only 2.788M H800 GPU hours", 2.788e6, "2.788m h800 gpu hours"),
        ("training took approximately 600 TPUv3 chip-days", 14400, "600 tpuv3 chip-days"),
        ("2,560 GPU Nvidia A100 80G days", 61440, "2,560 gpu nvidia a100 80g days"),
        ("Table 4 Total GPU Hours: 1,456K", 1.456e6, "gpu hours: 1,456k"),
        ("15† GPU-days = 360 GPU-hours", 360, "360 gpu-hours"),
    ],
)  # fmt: skip
def test_chip_hours_stated_in_the_notes_fill_a_blank_cell(note, chip_hours, phrase):
    row = read(note)
    assert float(row["chip_hours"]) == pytest.approx(chip_hours)
    assert row["hardware_time_phrase"] == phrase


@pytest.mark.parametrize(
    ("note", "chips", "hours"),
    [
        ("8 NVIDIA A100 GPUs for 8 days", 8, 192),
        ("(about 25 days on 8 NVIDIA 2080Ti GPUs)", 8, 600),
        ("takes a little over 3.5 days using 32 TPUv5 instances.", 32, 84),
        ("27 processors for 19 days", 27, 456),
    ],
)
def test_chips_for_a_duration_fill_the_blank_cells(note, chips, hours):
    row = read(note)
    assert row["chip_hours"] is None
    assert (int(row["hardware_quantity"]), float(row["training_time_hours"])) == (chips, hours)


def test_cells_the_row_gives_win_and_a_row_with_its_chip_time_is_left():
    partial = read("8 NVIDIA A100 GPUs for 8 days", training_time_hours="100")
    assert (partial["hardware_quantity"], partial["training_time_hours"]) == ("8", "100")
    whole = read("1.3 million GPU hours", hardware_quantity="64", training_time_hours="100")
    assert whole["chip_hours"] is None and whole["hardware_time_phrase"] is None


@pytest.mark.parametrize(
    "note", ["2 days", "4 months * 30 days * 24 hours = 2880 hours", "Table 6", "see other notes"]
)
def test_a_duration_alone_or_no_figure_reads_nothing(note):
    row = read(note)
    assert all(row[c] is None for c in CELLS) and row["hardware_time_phrase"] is None


def test_a_note_that_works_from_a_compute_figure_is_not_read():
    row = read("4.3e23 FLOP / (147 TFLOPS * 0.4) = 7.3e6 A100-hours")
    assert row["chip_hours"] is None
    assert row["hardware_time_skipped_phrase"].startswith("4.3e23 flop /")


def test_an_epoch_row_is_estimated_from_its_notes_and_flagged(tmp_path):
    sheet = tmp_path / "export.csv"
    pl.DataFrame({
        "Model": ["Read", "Derived"], "Training compute (FLOP)": [None, None],
        "Domain": ["Language"] * 2, "Training hardware": ["NVIDIA H800 SXM5"] * 2,
        "Training time notes": ["requires only 2.788M H800 GPU hours for its full training",
                                "3e24 FLOP / (989 TFLOPS x 40%) = 2.1M H800 GPU hours"],
    }).write_csv(sheet)  # fmt: skip
    rows = {r["system"]: r for r in estimate_files([sheet]).estimates.iter_rows(named=True)}
    assert rows["Read"]["chip_seconds"] == pytest.approx(2.788e6 * 3600)
    assert "hardware_time_from_notes" in rows["Read"]["flags"]
    assert (
        'chip time read from the training time notes: "2.788m h800 gpu hours"'
        in rows["Read"]["notes"]
    )
    assert rows["Derived"]["hardware_flop"] is None
    assert "notes_derived_from_compute" in rows["Derived"]["flags"]


@pytest.mark.parametrize(
    "note",
    ["Trained on V100 GPUs for 8 days", "40 GB A100 GPUs for 10 hours", "8 GPUs for 0 days",
     "512 TPU v3 cores for 2 days",
     "1e400 GPU hours", "312 TFLOPS peak per chip"],
)  # fmt: skip
def test_digits_of_a_chip_name_zero_or_overflowing_figures_read_nothing(note):
    row = read(note)
    assert all(row[c] is None for c in CELLS)
    assert row["hardware_time_phrase"] is None and row["hardware_time_skipped_phrase"] is None


def test_figures_in_e_notation_and_after_a_label_are_read():
    assert float(read("1e4 GPU hours")["chip_hours"]) == 1e4
    assert float(read("A100 GPU hours: 50,000")["chip_hours"]) == 5e4

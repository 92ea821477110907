"""The shipped hardware table: its schema, its coverage, and agreement with Epoch's database."""

import csv

import polars as pl
import pytest

from pipeline.estimate.hardware import lookup, match_names
from tests.conftest import EPOCH_DIR

EPOCH_HARDWARE = EPOCH_DIR / "ml_hardware_2026-04.csv"
EPOCH_COLUMNS = {
    "tensor_16bit_flop_per_second": "Tensor-FP16/BF16 performance (FLOP/s)",
    "fp8_flop_per_second": "FP8 performance (FLOP/s)",
    "fp64_flop_per_second": "FP64 (double precision) performance (FLOP/s)",
    "fp32_flop_per_second": "FP32 (single precision) performance (FLOP/s)",
    "tf32_flop_per_second": "TF32 (TensorFloat-32) performance (FLOP/s)",
    "fp16_flop_per_second": "FP16 (half precision) performance (FLOP/s)",
    "int8_op_per_second": "INT8 performance (OP/s)",
}
# Datasheet figures kept although Epoch differs by more than 5% (explained in HARDWARE.md).
KNOWN_DIFFERENCES = {
    ("Intel Gaudi 3", "tensor_16bit_flop_per_second"),
    ("Intel Gaudi 3", "fp8_flop_per_second"),
}
EXPORTS = [
    "notable_ai_models_2025-03.csv",
    "notable_ai_models_2025-12.csv",
    "frontier_ai_models_2025-12.csv",
]
KNOWINGLY_UNKNOWN = {
    "Cerebras CS-2": "wafer-scale system with no published dense peak; not in Epoch's hardware table",
}


def test_table_has_the_breadth_the_methods_need(shipped_hardware):
    assert shipped_hardware.height >= 60
    for name in [
        "GTX 580", "K80", "V100", "A100", "H100", "H800", "H200", "B200", "GB200", "TPU v2",
        "TPU v3", "TPU v4", "TPU v5e", "TPU v5p", "TPU v6e", "TPU v7", "MI250X", "MI300X",
        "Gaudi2", "Trainium", "Ascend 910",
    ]:  # fmt: skip
        assert lookup(name, shipped_hardware) is not None, name
    assert shipped_hardware["source"].str.starts_with("http").all()


@pytest.mark.parametrize(
    ("name", "column", "peak"),
    [
        ("H100 SXM", "tensor_16bit_flop_per_second", 989e12),
        ("H100 SXM", "fp8_flop_per_second", 1979e12),
        ("A100", "tensor_16bit_flop_per_second", 312e12),
        ("A100", "tf32_flop_per_second", 156e12),
        ("A100", "fp32_flop_per_second", 19.5e12),
        ("V100", "tensor_16bit_flop_per_second", 125e12),
        ("V100", "fp32_flop_per_second", 15.7e12),
        ("NVIDIA H200 SXM", "tensor_16bit_flop_per_second", 989e12),
    ],
)
def test_dense_peaks_from_the_method_reference(shipped_hardware, name, column, peak):
    assert lookup(name, shipped_hardware)[column] == pytest.approx(peak, rel=0.01)


def test_chips_without_tensor_cores_have_no_tensor_peak(shipped_hardware):
    for name in ["GTX 580", "K80", "Titan X", "GTX 1080 Ti"]:
        row = lookup(name, shipped_hardware)
        assert row["tensor_16bit_flop_per_second"] is None, name
        assert row["fp32_flop_per_second"] > 0


def test_tpu_figures_are_per_chip(shipped_hardware):
    # A TPU v3 chip has two cores at ~61.5 TFLOP/s each.
    assert lookup("TPUv3", shipped_hardware)["tensor_16bit_flop_per_second"] == pytest.approx(
        123e12, rel=0.02
    )


@pytest.mark.parametrize(
    "alias", ["A100", "NVIDIA A100 SXM4 80 GB", "Tesla V100-SXM2-16GB", "TPUv3", "Google TPU v3"]
)
def test_aliases_from_papers_resolve(shipped_hardware, alias):
    assert lookup(alias, shipped_hardware) is not None


def _epoch_rows() -> list[dict]:
    with open(EPOCH_HARDWARE, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_peaks_agree_with_epoch_hardware_database(shipped_hardware):
    epoch = _epoch_rows()
    names = pl.DataFrame({"hardware": [row["Hardware name"] for row in epoch]})
    matched = match_names(names.lazy(), shipped_hardware).collect()
    by_name = dict(zip(matched["hardware"], matched["hardware_matched"], strict=True))
    ours = {row["name"]: row for row in shipped_hardware.iter_rows(named=True)}
    compared, mismatches = 0, []
    for row in epoch:
        table_name = by_name.get(row["Hardware name"])
        if table_name is None:
            continue
        for column, epoch_column in EPOCH_COLUMNS.items():
            mine, theirs = ours[table_name][column], row.get(epoch_column, "")
            if mine is None or not theirs:
                continue
            compared += 1
            if (
                abs(mine / float(theirs) - 1) > 0.05
                and (table_name, column) not in KNOWN_DIFFERENCES
            ):
                mismatches.append((row["Hardware name"], table_name, column, mine, float(theirs)))
    assert compared >= 150
    assert mismatches == []


def _export_chip_names() -> set[str]:
    names = set()
    for export in EXPORTS:
        with open(EPOCH_DIR / export, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                for chip in (row.get("Training hardware") or "").split(","):
                    if chip.strip():
                        names.add(chip.strip())
    return names


def test_every_chip_named_in_the_epoch_exports_resolves(shipped_hardware):
    names = sorted(_export_chip_names())
    assert len(names) > 40
    matched = match_names(pl.DataFrame({"hardware": names}).lazy(), shipped_hardware).collect()
    unresolved = set(matched.filter(pl.col("hardware_matched").is_null())["hardware"])
    assert unresolved == set(KNOWINGLY_UNKNOWN)


def _edited_table(tmp_path, edit) -> str:
    """The shipped table with `edit(header, rows)` applied, written to tmp_path."""
    from pipeline.resources import HARDWARE_TABLE

    header, *rows = list(csv.reader(HARDWARE_TABLE.open()))
    header, rows = edit(header, rows)
    path = tmp_path / "hardware.csv"
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    return str(path)


def _set(column, value):
    def edit(header, rows):
        rows[0][header.index(column)] = value
        return header, rows

    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_set("tensor_16bit_flop_per_second", "312 TFLOPS"),
         "row 2, column tensor_16bit_flop_per_second: '312 TFLOPS' is not a number"),
        (_set("release_date", "May 2020"), "row 2, column release_date: 'May 2020' is not a date"),
        (_set("fp32_flop_per_second", "-5"), "row 2, column fp32_flop_per_second: -5.0 breaks"),
        (lambda header, rows: (header[:3] + header[4:], [r[:3] + r[4:] for r in rows]),
         "lacks the columns release_date"),
        (lambda header, rows: (header, []), "hardware table has no rows"),
        (lambda header, rows: ([*header, "notes"], [[*r, ""] for r in rows]),
         "has a column 'notes'; expected only name, manufacturer"),
    ],
)  # fmt: skip
def test_a_broken_hardware_table_is_one_line_naming_its_row(tmp_path, edit, message):
    from typer.testing import CliRunner

    from pipeline.cli.app import app

    table = _edited_table(tmp_path, edit)
    args = ["--hardware-table", table]
    for command in (["estimate", "data/raw/systems.csv", "-o", str(tmp_path / "o")],
                    ["calc", "hardware", "--hardware", "A100", "--chip-hours", "1"]):  # fmt: skip
        result = CliRunner().invoke(app, [*command, *args])
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith(f"Error: {table}: hardware table ")
        assert message in result.stderr and result.stderr.count("\n") == 1


def test_a_hardware_table_without_release_dates_still_estimates(tmp_path):
    from pipeline.estimate.chain import estimate
    from pipeline.estimate.hardware import load_hardware
    from tests.conftest import systems_frame

    def undated(header, rows):
        for row in rows:
            row[header.index("release_date")] = ""
        return header, rows

    hardware = load_hardware(_edited_table(tmp_path, undated))
    rows = systems_frame([
        {"system": "named", "hardware": "A100", "chip_hours": "10"},
        {"system": "unnamed", "hardware_quantity": "8", "training_time_hours": "10"},
    ])  # fmt: skip
    result = estimate(rows, hardware)
    assert result["hardware_flop"][0] > 0 and result["estimate_flop"][1] is None


@pytest.mark.parametrize(
    ("cell", "matched", "multiple"),
    [
        ("Google TPU v4, Google TPU v4", "Google TPU v4", False),  # one chip named twice
        ("A100 / H100", None, True),
        ("NVIDIA A100 SXM4\n80 GB", "NVIDIA A100 SXM4 80 GB", False),  # one name, wrapped
        ("[a-z]+*", None, False),  # a typo, not two chips
        ("NVIDIA A100 SXM4 40 GB", "NVIDIA A100 SXM4 40 GB", False),
    ],
)
def test_several_chips_in_one_cell(shipped_hardware, cell, matched, multiple):
    found = match_names(pl.LazyFrame({"hardware": [cell]}), shipped_hardware).collect()
    assert found.select("hardware_matched", "_hardware_multiple").row(0) == (matched, multiple)

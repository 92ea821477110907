"""Chip names as model cards write them: memory sizes spelled "80G" or "40 GiB", and chips
named without their form factor, which resolve to the table's default and say so."""

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.estimate.annotate import annotate, start_annotations
from pipeline.estimate.chain import estimate
from pipeline.estimate.hardware import (
    VENDOR_WORDS,
    alias_frame,
    form_assumed_flag,
    form_counts,
    match_names,
)
from pipeline.estimate.hardware_time import hardware_method
from pipeline.settings import DEFAULT_SETTINGS
from tests.conftest import systems_frame


def matched(names: list[str], table: pl.DataFrame) -> list[tuple[str | None, bool]]:
    found = match_names(pl.LazyFrame({"hardware": names}), table).collect()
    columns = ("hardware", "hardware_matched", "_hardware_form_assumed")
    by_name = {name: (chip, assumed) for name, chip, assumed in found.select(columns).rows()}
    return [by_name[n] for n in names]


@pytest.mark.parametrize(
    ("name", "chip", "assumed"),
    [
        ("A100-40G", "NVIDIA A100 SXM4 40 GB", True),
        ("A100-80G", "NVIDIA A100 SXM4 80 GB", True),
        ("A100 80G", "NVIDIA A100 SXM4 80 GB", True),
        ("A100 (80G)", "NVIDIA A100 SXM4 80 GB", True),
        ("H100-80G", "NVIDIA H100 SXM5", True),
        ("V100-32G", "NVIDIA V100 SXM2", True),
        ("V100 16GiB", "NVIDIA V100 SXM2", True),
        ("A800-80G", "NVIDIA A800 SXM4 80 GB", True),
        # the form named: nothing assumed
        ("H100 SXM5 80GB", "NVIDIA H100 SXM5", False),
        ("H100-SXM5-80G", "NVIDIA H100 SXM5", False),
        ("H100 PCIe 80G", "NVIDIA H100 PCIe", False),
        ("A100-PCIE-40G", "NVIDIA A100 PCIe", False),
        ("A100 SXM4 80G", "NVIDIA A100 SXM4 80 GB", False),
        # a chip the table has in one form only
        ("H200-141G", "NVIDIA H200 SXM", False),
        ("H800 80G", "NVIDIA H800 SXM5", False),
        ("RTX 3090 24G", "NVIDIA GeForce RTX 3090", False),
    ],
)
def test_model_card_memory_spellings_resolve(shipped_hardware, name, chip, assumed):
    assert matched([name], shipped_hardware) == [(chip, assumed)]


@pytest.mark.parametrize(
    ("name", "chip"),
    [
        ("A100", "NVIDIA A100 SXM4 80 GB"),
        ("H100", "NVIDIA H100 SXM5"),
        ("V100", "NVIDIA V100 SXM2"),
        ("TPU v4", "Google TPU v4"),
        ("A100 40GB", "NVIDIA A100 SXM4 40 GB"),
        ("H100 SXM5 80GB", "NVIDIA H100 SXM5"),
        ("H100 80GB", "NVIDIA H100 SXM5"),
        ("P100", "NVIDIA Tesla P100 PCIe"),
        ("2080 Ti", "NVIDIA GeForce RTX 2080 Ti"),
    ],
)
def test_names_that_resolved_before_resolve_as_before_unflagged(shipped_hardware, name, chip):
    # Bare names take the table's default form as they always did (HARDWARE.md), unflagged.
    assert matched([name], shipped_hardware) == [(chip, False)]


@pytest.mark.parametrize("name", ["A10G", "A100 / H100-80G", "Cerebras CS-2", "80G"])
def test_a_memory_size_glued_to_a_model_number_or_several_chips_stay_unmatched(
    shipped_hardware, name
):
    assert matched([name], shipped_hardware) == [(None, False)]


def _key_before(name: pl.Expr) -> pl.Expr:
    """The key of a name before model-card spellings, when only "NNgb" was a memory size."""
    vendors = r"\b(?:" + "|".join(VENDOR_WORDS) + r")\b"
    return name.str.to_lowercase().str.replace_all(vendors, "").str.replace_all("[^a-z0-9]", "")


def _short_before(name: pl.Expr) -> pl.Expr:
    return name.str.to_lowercase().str.replace_all(r"(^|[\s\-_/(])\d+\s*gb\b\)?", "")


def test_the_table_aliases_keep_their_keys(shipped_hardware):
    aliases = alias_frame(shipped_hardware)
    before = aliases.select(
        _key_before(pl.col("alias")).alias("key"),
        _key_before(_short_before(pl.col("alias"))).alias("short_key"),
    )
    assert aliases.select("key", "short_key").equals(before)


def test_forms_count_the_rows_of_one_chip(shipped_hardware):
    forms = dict(form_counts(shipped_hardware).iter_rows())
    assert forms["NVIDIA A100 SXM4 40 GB"] == forms["NVIDIA A100 PCIe"] == 3
    assert forms["NVIDIA H100 SXM5"] == forms["NVIDIA H100 NVL"] == 3
    assert forms["NVIDIA V100 SXM2"] == 4  # SXM2, PCIe, DGXS, SXM3
    assert (
        forms["NVIDIA Tesla V100S PCIe"] == forms["NVIDIA H200 SXM"] == forms["Google TPU v4"] == 1
    )


@settings(max_examples=25, deadline=None)
@given(
    chip=st.sampled_from(["A100", "H100", "V100", "A800", "H100 PCIe", "A100 SXM4"]),
    memory=st.sampled_from(["16", "32", "40", "80"]),
    spelling=st.sampled_from(["{c}-{m}G", "{c} {m}G", "{c} {m} GiB", "{c} ({m}G)", "{c}-{m}GB"]),
)
def test_every_spelling_of_a_memory_size_resolves_as_gb_does(chip, memory, spelling):
    from pipeline.estimate.hardware import load_hardware

    table = load_hardware()
    spelled = spelling.format(c=chip, m=memory)
    assert matched([spelled], table)[0][0] == matched([f"{chip} {memory}GB"], table)[0][0]


def _hardware_rows(table: pl.DataFrame, rows: list[dict]) -> pl.DataFrame:
    frame = start_annotations(systems_frame(rows).lazy())
    return hardware_method(frame, table, DEFAULT_SETTINGS).collect()


def test_the_flag_is_raised_where_the_assumed_form_set_the_peak(shipped_hardware):
    run = {"hardware_quantity": "96", "training_time_hours": "100"}
    rows = [
        {"system": "card", "hardware": "H100-80G", **run},
        {"system": "bare", "hardware": "H100", **run},
        {"system": "peak given", "hardware": "H100-80G", "peak_flop_per_second": "9e14", **run},
        {"system": "no time", "hardware": "H100-80G"},
    ]
    frame = _hardware_rows(shipped_hardware, rows)
    flagged = frame.with_columns(*annotate(form_assumed_flag())).sort("system")
    flags = dict(zip(flagged["system"], flagged["_flags"].fill_null(""), strict=True))
    assert ["hardware_form_assumed" in flags[s] for s in ("card", "bare", "peak given", "no time")] == [
        True, False, False, False,
    ]  # fmt: skip
    notes = flagged.filter(pl.col("system") == "card")["_notes"][0]
    assert notes.endswith(
        "hardware 'H100-80G' names no form factor: NVIDIA H100 SXM5, the table's default for it, assumed"
    )


def test_a_model_card_chip_cell_estimates_as_the_table_name_does(shipped_hardware):
    run = {"training_time_hours": "100", "precision": "bf16", "utilization": "0.4"}
    rows = [
        {"system": "card", "hardware": "96xH100-80G", **run},
        {"system": "table", "hardware": "NVIDIA H100 SXM5", "hardware_quantity": "96", **run},
    ]
    result = estimate(systems_frame(rows), shipped_hardware).sort("system")
    card, table = result.rows(named=True)
    assert card["hardware_matched"] == table["hardware_matched"] == "NVIDIA H100 SXM5"
    assert card["hardware_flop"] == table["hardware_flop"] == 96 * 100 * 3600 * 9.894e14 * 0.4

from __future__ import annotations

import os
import shutil
from pathlib import Path

import polars as pl
import pytest

from pipeline.estimate.hardware import load_hardware
from pipeline.read.validate import validate
from pipeline.resources import HARDWARE_TABLE

REPO = Path(__file__).resolve().parent.parent
TEST_DATA = REPO / "tests" / "data"  # shipped with the tests; see tests/data/README.md
EPOCH_DIR = TEST_DATA / "epoch"
MEASURED_DIR = TEST_DATA / "measured"

# Browser tests open the report in a system Chromium, driven by playwright. Without one they are
# skipped, except under CI, where .ci/run installs it and a report nobody opened is a failure.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_CHROMIUM = "apt-get install chromium (or set FLOPSHEET_CHROMIUM to a Chromium binary)"


def find_chromium() -> Path | None:
    wanted = os.environ.get("FLOPSHEET_CHROMIUM")
    if wanted:
        return Path(wanted) if Path(wanted).is_file() else None
    found = next((shutil.which(name) for name in CHROMIUM_NAMES if shutil.which(name)), None)
    return Path(found) if found else None


def require_chromium() -> Path:
    """The Chromium to drive; a skip (a failure under CI) when there is none."""
    chromium = find_chromium()
    if chromium is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but no Chromium was found: {INSTALL_CHROMIUM}")
        pytest.skip(f"no Chromium: {INSTALL_CHROMIUM}")
    return chromium


def pytest_terminal_summary(terminalreporter) -> None:
    """One line, even with -q, when the browser tests were skipped for want of a Chromium."""
    if find_chromium() is None and not os.environ.get("CI"):
        terminalreporter.write_line(f"browser tests skipped: no Chromium found; {INSTALL_CHROMIUM}")


TINY_HARDWARE_CSV = """name,manufacturer,type,release_date,fp64_flop_per_second,fp32_flop_per_second,tf32_flop_per_second,fp16_flop_per_second,tensor_16bit_flop_per_second,fp8_flop_per_second,int8_op_per_second,aliases,source
NVIDIA V100 SXM2,NVIDIA,gpu,2017-05-10,7.8e12,1.57e13,,3.14e13,1.25e14,,,V100|Tesla V100|V100 SXM2,https://example.org/v100
NVIDIA A100 SXM4 80 GB,NVIDIA,gpu,2020-11-16,9.7e12,1.95e13,1.56e14,7.8e13,3.12e14,,6.24e14,A100|A100 SXM4 80GB,https://example.org/a100
NVIDIA A100 SXM4 40 GB,NVIDIA,gpu,2020-05-14,9.7e12,1.95e13,1.56e14,7.8e13,3.12e14,,6.24e14,A100 SXM4 40GB|A100 40GB,https://example.org/a100-40
NVIDIA H100 SXM5,NVIDIA,gpu,2022-03-22,3.35e13,6.69e13,4.95e14,1.34e14,9.89e14,1.979e15,1.979e15,H100|H100 SXM,https://example.org/h100
NVIDIA GeForce GTX 580,NVIDIA,gpu,2010-11-09,1.98e11,1.58e12,,,,,,GTX 580,https://example.org/gtx580
Google TPU v3,Google,tpu,2018-05-08,,4e12,,,1.23e14,,,TPU v3|TPUv3,https://example.org/tpuv3
AMD Instinct MI300X,AMD,gpu,2023-12-06,8.17e13,1.634e14,6.537e14,,1.3074e15,2.6149e15,2.6149e15,MI300X,https://example.org/mi300x
"""


@pytest.fixture(scope="session")
def tiny_hardware(tmp_path_factory) -> pl.DataFrame:
    path = tmp_path_factory.mktemp("hw") / "hardware.csv"
    path.write_text(TINY_HARDWARE_CSV)
    return load_hardware(path)


@pytest.fixture(scope="session")
def tiny_hardware_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("hwp") / "hardware.csv"
    path.write_text(TINY_HARDWARE_CSV)
    return path


@pytest.fixture(scope="session")
def shipped_hardware() -> pl.DataFrame:
    return load_hardware(HARDWARE_TABLE)


def raw_frame(rows: list[dict[str, str | None]]) -> pl.DataFrame:
    """Rows of text cells as `ingest` would produce them."""
    columns = sorted({k for row in rows for k in row})
    frame = pl.DataFrame(
        {c: [row.get(c) for row in rows] for c in columns},
        schema={c: pl.String for c in columns},
    )
    return frame.with_columns(
        pl.lit("test.csv").alias("source_file"),
        (pl.int_range(pl.len(), dtype=pl.Int64) + 2).alias("source_row"),
    )


def apply(parser, cells: list[str | None]) -> list:
    """A cell parser's values for `cells`, as a column of text."""
    frame = pl.DataFrame({"c": cells}, schema={"c": pl.String})
    return frame.select(parser(pl.col("c")).alias("out"))["out"].to_list()


def systems_frame(rows: list[dict[str, str | None]]) -> pl.DataFrame:
    systems, rejects = validate(raw_frame(rows))
    assert rejects.height == 0, rejects.to_dicts()
    return systems

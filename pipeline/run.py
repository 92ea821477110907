"""The estimate job end to end: read, validate, estimate, publish. I/O lives here and in cli."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from pipeline.estimate.chain import estimate
from pipeline.estimate.hardware import DEFAULT_HARDWARE_PATH, load_hardware
from pipeline.estimate.priors import DEFAULT_PRIORS_PATH, load_priors
from pipeline.publish.dataset import Published, provenance, publish
from pipeline.publish.lock import output_lock
from pipeline.read.files import read_inputs
from pipeline.read.validate import validate
from pipeline.settings import DEFAULT_SETTINGS, Settings
from schemas.estimates import ESTIMATE_SOURCES

STAGES = ("read", "validate", "estimate", "publish")


@dataclass
class RunResult:
    estimates: pl.DataFrame
    rejects: pl.DataFrame
    rows_read: int
    published: Published | None = None
    summary: dict = field(default_factory=dict)


def summarize(estimates: pl.DataFrame, rejects: pl.DataFrame, rows_read: int) -> dict:
    rejected = rejects.select(pl.struct("source_file", "source_row").n_unique()).item()
    sources = estimates["estimate_source"].fill_null("none").value_counts()
    by_source = {s: 0 for s in (*ESTIMATE_SOURCES, "none")}
    by_source.update(dict(sources.iter_rows()))
    flag_counts = (
        estimates.select(pl.col("flags").explode().drop_nulls().value_counts(sort=True))
        .unnest("flags")
        .sort("count", "flags", descending=[True, False])
    )
    return {
        "rows_read": rows_read,
        "rows_estimated": estimates["estimate_flop"].is_not_null().sum(),
        "rows_without_estimate": estimates["estimate_flop"].is_null().sum(),
        "rows_rejected": rejected,
        "rows_flagged": (estimates["flags"].list.len() > 0).sum(),
        "by_source": by_source,
        "flags": dict(flag_counts.iter_rows()),
    }


def spreadsheet_dirs(inputs: Sequence[Path]) -> list[Path]:
    """The spreadsheets' folders, where layer lists named relative to a sheet are looked for
    first."""
    return list(dict.fromkeys(Path(p).resolve().parent for p in inputs))


def run_estimate(
    inputs: Sequence[Path],
    output_dir: Path | None,
    column_map: dict[str, str] | None = None,
    hardware_path: Path = DEFAULT_HARDWARE_PATH,
    settings: Settings = DEFAULT_SETTINGS,
    on_stage: Callable[[str], None] = lambda stage: None,
    input_format: str = "auto",
    withhold: tuple[str, ...] = (),
    priors_path: Path | str = DEFAULT_PRIORS_PATH,
    search_dirs: Sequence[Path] | None = None,
    layer_copies: Mapping[Path, Path] | None = None,
) -> RunResult:
    """Estimate `inputs`; publish into `output_dir` unless it is None (validation only).
    `priors_path` is a utilization priors file, or "seed" for the fixed 0.30 / 0.40."""
    on_stage("read")
    raw = read_inputs(inputs, column_map, input_format, withhold)
    hardware = load_hardware(hardware_path)
    priors = load_priors(priors_path)
    on_stage("validate")
    rows_read = raw.height
    if search_dirs is None:
        search_dirs = spreadsheet_dirs(inputs)
    systems, rejects = validate(raw, search_dirs, layer_copies)
    del raw  # the text cells are not needed past validation; a million rows of them are large
    on_stage("estimate")
    estimates = estimate(systems, hardware, settings, priors)
    del systems
    result = RunResult(estimates, rejects, rows_read)
    result.summary = summarize(estimates, rejects, rows_read)
    assert result.summary["rows_read"] == estimates.height + result.summary["rows_rejected"]
    if output_dir is not None:
        on_stage("publish")
        metadata = provenance(inputs, hardware_path, settings, priors_path)
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        with output_lock(Path(output_dir)):  # never while a refresh writes the same folder
            result.published = publish(output_dir, estimates, rejects, hardware, metadata)
    return result


def run_validate(
    inputs: Sequence[Path], column_map: dict[str, str] | None = None, input_format: str = "auto"
) -> tuple[int, pl.DataFrame]:
    """(rows read, rejects) without estimating or writing anything."""
    raw = read_inputs(inputs, column_map, input_format)
    _, rejects = validate(raw, spreadsheet_dirs(inputs))
    return raw.height, rejects

"""The estimate job: read, validate, estimate; publishing goes through `refresh`.

These are the library's entry points for a notebook or a script: `read_sheets` (systems and
rejects from files), `estimate_systems` (frames in, estimates out) and `estimate_files` (the
whole job, published into a folder when one is given).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import polars as pl

from pipeline.errors import InputFileError
from pipeline.estimate.catalogue import catalogue_bases
from pipeline.estimate.chain import estimate, in_estimate_order
from pipeline.estimate.hardware import load_hardware
from pipeline.estimate.priors import Learned, PriorsChoice, load_learned
from pipeline.read.files import read_table_and_columns
from pipeline.read.validate import rejected_rows, validate
from pipeline.resources import FOUNDATION_MODELS, HARDWARE_TABLE
from pipeline.settings import DEFAULT_SETTINGS, Settings
from pipeline.sources import Sources
from schemas.estimates import ESTIMATE_SOURCES


def _no_stage(stage: str) -> None:
    pass


@dataclass
class RunResult:
    """What a run made: the estimates and the rejects, with the counts of `summarize`; for a
    published run, its id and the folder it was published in."""

    estimates: pl.DataFrame
    rejects: pl.DataFrame
    rows_read: int
    summary: dict = field(default_factory=dict)
    run_id: str | None = None
    output_dir: Path | None = None


def summarize(
    estimates: pl.DataFrame, rejects: pl.DataFrame, rows_read: int, stage_rows: int = 0
) -> dict:
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
        "rows_rejected": rejected_rows(rejects),
        "rows_of_later_stages": stage_rows,
        "rows_flagged": (estimates["flags"].list.len() > 0).sum(),
        "by_source": by_source,
        "flags": dict(flag_counts.iter_rows()),
    }


def read_raw(sources: Sources, read_from: Sequence[Path] | None = None) -> pl.DataFrame:
    """The sheets' cells as text, stacked (a column one sheet lacks is blank there). With
    `read_from`, each sheet's bytes come from there (a run's snapshot), its rows still naming
    the user's file."""
    return read_raw_and_columns(sources, read_from)[0]


def read_raw_and_columns(
    sources: Sources, read_from: Sequence[Path] | None = None
) -> tuple[pl.DataFrame, list[dict]]:
    """`read_raw`, and what each sheet's headers became (`pipeline.read.columns.column_uses`)."""
    tables = [
        read_table_and_columns(
            path, dict(sources.columns), sources.input_format, sources.withhold, shown_as=shown
        )
        for path, shown in zip(read_from or sources.files, sources.inputs, strict=True)
    ]
    frames = [frame for frame, _ in tables]
    return pl.concat(frames, how="diagonal"), [use for _, uses in tables for use in uses]


def run_in_memory(
    sources: Sources,
    settings: Settings = DEFAULT_SETTINGS,
    on_stage: Callable[[str], None] = _no_stage,
    *,
    read: tuple[pl.DataFrame, list[dict]] | None = None,
    hardware: pl.DataFrame | None = None,
    learned: Learned | None = None,
    layer_copies: Mapping[Path, Path] | None = None,
) -> RunResult:
    """Read (unless `read` is given: `read_raw_and_columns` of the sources), validate and
    estimate. A refresh hands in what it has already read and loaded from its snapshot, and
    keeps no reference to the cells, so they go once validated."""
    if read is None:
        on_stage("read")
        read = read_raw_and_columns(sources)
    raw, columns = read
    del read
    if hardware is None:
        hardware = load_hardware(sources.hardware_table)
    if learned is None:  # the priors file of `sources`
        learned = load_learned(sources.priors)
    on_stage("validate")
    rows_read = raw.height
    systems, rejects = validate(raw, sources.sheet_folders, layer_copies)
    del raw  # the text cells are not needed past validation; a million rows of them are large
    # Put in the estimate's order here, where the frame in the sheets' order can go, not by
    # the chain, which would hold a second copy beside this one (1M rows: about 0.3 GB).
    systems = in_estimate_order(systems)
    on_stage("estimate")
    estimates = estimate(
        systems,
        hardware,
        settings,
        learned,
        foundation_models(systems, hardware, settings, learned),
    )
    # A system's later training stages are rows of their own in the sheet, one in estimates.
    stage_rows = systems.height - estimates.height
    del systems
    summary = summarize(estimates, rejects, rows_read, stage_rows) | {"columns": columns}
    assert summary["rows_read"] == estimates.height + summary["rows_rejected"] + stage_rows
    return RunResult(estimates, rejects, rows_read, summary)


def foundation_models(
    systems: pl.DataFrame, hardware: pl.DataFrame, settings: Settings, learned: Learned
) -> pl.DataFrame | None:
    """The shipped catalogue of foundation models, estimated with the run's hardware table and
    learned values, for bases the sheet names but does not hold (None: it names none)."""
    bases = systems["base_model"].drop_nulls()
    if bases.is_in(systems["system"].implode()).all():  # none, or all in the sheet
        return None
    estimates = estimate(_catalogue_systems(), hardware, settings, learned)
    return catalogue_bases(estimates, settings.spread_base_from_catalogue)


@cache
def _catalogue_systems() -> pl.DataFrame:
    """The catalogue, read and validated once per process: it is package data, and an
    evaluation estimates it in every fold."""
    systems, _ = read_sheets([FOUNDATION_MODELS])
    return systems


def read_sheets(
    inputs: Iterable[Path | str] | Sources,
    *,
    columns: Mapping[str, str] | None = None,
    input_format: str = "auto",
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(systems, rejects): the sheets' rows parsed and validated, and the problems of the rows
    quarantined, one row per problem. Nothing is estimated or written."""
    sources = inputs if isinstance(inputs, Sources) else Sources.of(inputs, columns, input_format)
    return validate(read_raw(sources), sources.sheet_folders)


def estimate_systems(
    systems: pl.DataFrame,
    hardware: pl.DataFrame | None = None,
    settings: Settings = DEFAULT_SETTINGS,
    priors: PriorsChoice | pl.DataFrame = PriorsChoice(),
) -> pl.DataFrame:
    """Estimates of validated systems (from `read_sheets`), one row per system, sorted by
    `system`. `hardware` defaults to the shipped table, `priors` to the shipped priors."""
    if hardware is None:
        hardware = load_hardware(HARDWARE_TABLE)
    learned = load_learned(priors) if isinstance(priors, PriorsChoice) else Learned(priors)
    return estimate(
        systems,
        hardware,
        settings,
        learned,
        foundation_models(systems, hardware, settings, learned),
    )


def estimate_files(
    inputs: Iterable[Path | str] | Sources,
    output_dir: Path | str | None = None,
    *,
    columns: Mapping[str, str] | None = None,
    input_format: str = "auto",
    hardware_table: Path | str = HARDWARE_TABLE,
    priors: PriorsChoice | Path | str = PriorsChoice(),
    settings: Settings = DEFAULT_SETTINGS,
    on_stage: Callable[[str], None] = _no_stage,
) -> RunResult:
    """The estimate job on files. Without `output_dir` nothing is written; with one, the run is
    published there exactly as `refresh` publishes (a run folder, switched in by one rename)."""
    sources = (
        inputs
        if isinstance(inputs, Sources)
        else Sources.of(inputs, columns, input_format, hardware_table, priors)
    )
    if output_dir is None:
        return run_in_memory(sources, settings, on_stage)
    from pipeline.refresh import refresh_dataset

    published = refresh_dataset(
        sources, output_dir, force=True, settings=settings, on_stage=on_stage
    )
    if published.result is None:  # a forced refresh publishes or raises
        raise InputFileError(output_dir, "nothing was published")
    return published.result

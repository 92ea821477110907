"""`flopsheet evaluate` (agreement with an Epoch export) and `flopsheet calibrate` (priors)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from pipeline.cli.common import (
    DEFAULT_OUTPUT_DIR,
    DEFAULT_PRIORS,
    FormatOption,
    HardwareTableOption,
    InputFormat,
    InputsArgument,
    JsonOption,
    PriorsOption,
    named_path,
    out,
    print_json,
    sources,
    user_errors,
)
from pipeline.defaults import DEFAULT_MIN_OBSERVATIONS
from pipeline.resources import HARDWARE_TABLE


def evaluate(
    export: Annotated[
        Path,
        typer.Argument(help="An Epoch AI export (CSV) with its `Training compute (FLOP)` column."),
    ],
    report: Annotated[
        Path,
        typer.Option(
            "--report",
            "--output-dir",
            "-o",
            parser=named_path,
            help="Folder for evaluation.md and evaluation.parquet.",
        ),
    ] = DEFAULT_OUTPUT_DIR / "evaluation",
    priors: PriorsOption = DEFAULT_PRIORS,
    as_json: JsonOption = False,
) -> None:
    """Measure agreement with Epoch's own figures: estimate the export with its compute
    withheld, then compare. Metric: |log10(ours / Epoch's)|. Also measured: how often the
    90% interval holds Epoch's figure, and the same figures with the seed's fixed utilization
    priors (seed_*), to show what calibrated priors change.

    Examples:

        flopsheet evaluate notable_ai_models_2025-12.csv

        flopsheet evaluate export.csv --report out/eval --json
    """  # fmt: skip
    with user_errors():
        from pipeline.estimate.priors import PriorsChoice
        from pipeline.evaluate import evaluate as run_evaluation
        from pipeline.evaluate import summary_cell, write_report

        evaluation = run_evaluation(export, PriorsChoice.parse(priors))
        path = write_report(evaluation, report)
        if as_json:
            print_json({**evaluation.summary, "report": str(path)})
            return
        table = Table(title=f"Agreement with Epoch: {export.name}", show_header=False)
        table.add_column("measure")
        table.add_column("value", justify="right")
        for key, value in evaluation.summary.items():
            if key != "export":
                table.add_row(key, summary_cell(value))
        out.print(table)
        out.print(f"report: {path}")


def calibrate(
    inputs: InputsArgument,
    out_path: Annotated[
        Path | None,
        typer.Option(
            "--out", parser=named_path, help="Write the priors here (default: print them)."
        ),
    ] = None,
    min_observations: Annotated[
        int, typer.Option("--min-observations", min=1, help="Fewest observations for a group.")
    ] = DEFAULT_MIN_OBSERVATIONS,
    hardware_table: HardwareTableOption = HARDWARE_TABLE,
    input_format: FormatOption = InputFormat.auto,
    as_json: JsonOption = False,
) -> None:
    """Learn utilization priors by domain and chip generation from spreadsheets.

    Observations are utilizations reported by papers and, where both methods apply, the
    implied utilization (ops / chip-seconds x peak) when it is plausible. Groups with fewer
    than --min-observations are left out; lookups fall back to broader groups. The result is
    a TOML file for `flopsheet estimate --priors`.

    Examples:

        flopsheet calibrate papers.csv --out priors.toml

        flopsheet estimate papers.csv --priors priors.toml
    """
    with user_errors():
        from pipeline.calibrate import calibrate as run_calibration

        # `-` (standard input) is read through the same sources as estimate's.
        files = list(sources(inputs, None, input_format).files)
        calibration = run_calibration(
            files, hardware_table, min_observations=min_observations,
            input_format=input_format.value,
        )  # fmt: skip
        text = calibration.toml()
        if out_path is not None:
            out_path.parent.mkdir(parents=True, exist_ok=True)
            out_path.write_text(text, encoding="utf-8")
        if as_json:
            print_json(
                {"priors": calibration.priors.to_dicts(),
                 "observations": calibration.observations.height,
                 "out": None if out_path is None else str(out_path)}
            )  # fmt: skip
        elif out_path is None:
            out.print(text, markup=False, highlight=False, end="")
        else:
            out.print(
                f"{calibration.priors.height} priors from "
                f"{calibration.observations.height} observations: {out_path}"
            )

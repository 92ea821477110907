"""Agreement with Epoch's own figures: estimate an export with its compute withheld, then
compare each estimate with the figure Epoch's analysts derived.

The metric is |log10(ours / Epoch's)|: 0 is exact, 0.301 is 2x, 1 is 10x.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipeline.errors import InputFileError
from pipeline.estimate.priors import PriorsChoice, load_priors
from pipeline.estimate.rules import EU_MARGIN
from pipeline.read.epoch import COMPUTE_COLUMNS
from pipeline.read.files import read_table
from pipeline.read.parsing import parse_number
from pipeline.run import read_raw, run_in_memory
from pipeline.sources import Sources
from schemas.systems import PLAUSIBLE_FLOP

EPOCH_FIGURE = "Training compute (FLOP)"
METHOD_LABEL = "Training compute estimation method"
FACTORS = {"within_2x": 2.0, "within_3x": 3.0, "within_10x": 10.0}
METHOD_INPUTS = ("parameters", "dataset_size", "hardware", "training_time_hours", "chip_hours",
                 "forward_flop_per_example", "connections")  # fmt: skip


@dataclass
class Evaluation:
    rows: pl.DataFrame  # one row per system, ours against Epoch's
    summary: dict
    breakdowns: dict[str, pl.DataFrame]
    worst: pl.DataFrame


def _metrics(frame: pl.DataFrame) -> pl.DataFrame:
    error = pl.col("log10_error")
    return frame.select(
        pl.len().alias("rows"),
        error.median().alias("median_log10_error"),
        error.quantile(0.9).alias("p90_log10_error"),
        *((error <= pl.lit(f).log10()).mean().alias(name) for name, f in FACTORS.items()),
        pl.col("inside_interval").mean().alias("interval_coverage"),
    )


def _compare(estimates: pl.DataFrame, figures: pl.DataFrame) -> pl.DataFrame:
    label = (
        [pl.col(METHOD_LABEL).alias("epoch_method")]
        if METHOD_LABEL in estimates.columns
        else [pl.lit(None, pl.String).alias("epoch_method")]
    )
    has_inputs = pl.any_horizontal(pl.col(c).is_not_null() for c in METHOD_INPUTS)
    figure = pl.col("epoch_flop")
    # Coverage is measured on bounded intervals; a lower bound (a stage whose base compute is
    # unknown) is counted apart, by whether Epoch's figure is above it.
    inside = (pl.col("estimate_low_flop") <= figure) & (figure <= pl.col("estimate_high_flop"))
    return estimates.select(
        "source_row", "system", "domain", "estimate_flop", "estimate_low_flop",
        "estimate_high_flop", "confidence", "estimate_source", "within_eu_margin", "flags",
        "notes", *label, has_inputs.alias("has_method_inputs"),
    ).join(figures, on="source_row", how="left").with_columns(
        (pl.col("estimate_flop") / figure).log10().abs().alias("log10_error"),
        pl.when(pl.col("estimate_high_flop").is_not_null() & figure.is_not_null())
        .then(inside).alias("inside_interval"),
        pl.when(pl.col("estimate_flop").is_not_null() & pl.col("estimate_high_flop").is_null()
                & figure.is_not_null())
        .then(pl.col("estimate_low_flop") <= figure).alias("lower_bound_holds"),
    )  # fmt: skip


def _summary(rows: pl.DataFrame) -> dict:
    with_figure = rows.filter(pl.col("epoch_flop").is_not_null())
    compared = with_figure.filter(pl.col("estimate_flop").is_not_null())
    metrics = _metrics(compared).row(0, named=True)
    within_2x = (compared["log10_error"] <= math.log10(2)).sum()
    return {
        "rows_with_epoch_figure": with_figure.height,
        "estimated_of_those": compared.height,
        "coverage": compared.height / max(with_figure.height, 1),
        "coverage_of_rows_with_method_inputs": (
            compared.filter(pl.col("has_method_inputs")).height
            / max(with_figure.filter(pl.col("has_method_inputs")).height, 1)
        ),
        **{f"estimated_{k}": v for k, v in metrics.items() if k != "rows"},
        "all_rows_within_2x": within_2x / max(with_figure.height, 1),
        # The EU's accuracy target: how many estimates claim it (their 90% interval lies within
        # 30% of the estimate), and how many meet it against Epoch's figure.
        "estimated_within_eu_margin": compared["within_eu_margin"].mean() or 0.0,
        "estimated_within_30_percent": (
            ((compared["estimate_flop"] / compared["epoch_flop"] - 1).abs() <= EU_MARGIN).mean()
            or 0.0
        ),
        "lower_bounds": compared["lower_bound_holds"].is_not_null().sum(),
        "lower_bounds_holding": compared["lower_bound_holds"].sum(),
        # Rows Epoch gives no figure for but with inputs a method can use: the gap this fills.
        "gap_rows_with_method_inputs": rows.filter(
            pl.col("epoch_flop").is_null() & pl.col("has_method_inputs")
        ).height,
        "gap_rows_estimated": rows.filter(
            pl.col("epoch_flop").is_null() & pl.col("estimate_flop").is_not_null()
        ).height,
    }


def evaluate(
    export: Path, priors: PriorsChoice = PriorsChoice(), compare_seed: bool = True
) -> Evaluation:
    """Agreement of the estimates (with `priors`) with Epoch's figures; with `compare_seed`,
    the same measured with the seed's fixed utilizations, side by side."""
    # Epoch's figures, read on their own; the estimate below never sees them.
    export_rows = read_table(export, input_format="epoch")
    if "reported_compute_flop" not in export_rows.columns:
        raise InputFileError(export, f"no {EPOCH_FIGURE!r} column to compare with")
    # A figure outside the plausible range (zero, negative) is no figure to compare with.
    figure = parse_number(pl.col("reported_compute_flop"))
    figures = export_rows.select(
        "source_row", pl.when(figure.is_between(*PLAUSIBLE_FLOP)).then(figure).alias("epoch_flop")
    )
    del export_rows
    sources = Sources.of([export], input_format="epoch", priors=priors, withhold=COMPUTE_COLUMNS)
    raw = read_raw(sources)

    def estimated(choice: PriorsChoice):
        return run_in_memory(sources, raw=raw, priors=load_priors(choice))

    result = estimated(priors)
    rows = _compare(result.estimates, figures)
    summary = {
        "export": str(export),
        "priors": str(priors),
        "rows": rows.height,
        "rows_rejected": result.summary["rows_rejected"],
        **_summary(rows),
    }
    if compare_seed and not priors.is_seed:
        seed = _summary(_compare(estimated(PriorsChoice.seed()).estimates, figures))
        summary.update({f"seed_{k}": seed[k] for k in SEED_COMPARED})
    compared = rows.filter(
        pl.col("epoch_flop").is_not_null() & pl.col("estimate_flop").is_not_null()
    )
    breakdowns = {
        key: compared.group_by(pl.col(key).fill_null("(none)"))
        .agg(pl.len().alias("rows"), pl.col("log10_error").median().alias("median_log10_error"),
             *((pl.col("log10_error") <= pl.lit(f).log10()).mean().alias(n) for n, f in FACTORS.items()),
             pl.col("inside_interval").mean().alias("interval_coverage"))
        .sort("rows", key, descending=[True, False])
        for key in ("estimate_source", "confidence", "domain", "epoch_method")
    }  # fmt: skip
    worst = compared.sort("log10_error", "system", descending=[True, False]).head(20)
    return Evaluation(rows, summary, breakdowns, worst)


SEED_COMPARED = (
    "estimated_of_those", "estimated_median_log10_error", "estimated_within_2x",
    "estimated_within_3x", "all_rows_within_2x", "estimated_interval_coverage",
)  # fmt: skip


def write_report(evaluation: Evaluation, directory: Path) -> Path:
    if directory.exists() and not directory.is_dir():
        raise InputFileError(directory, "exists and is not a folder")
    directory.mkdir(parents=True, exist_ok=True)
    evaluation.rows.write_parquet(directory / "evaluation.parquet")
    s = evaluation.summary
    lines = [
        f"# Agreement with Epoch's figures: {Path(s['export']).name}", "",
        "Metric: |log10(ours / Epoch's)|, over rows with an Epoch figure that flopsheet estimated "
        "with that figure withheld.", "",
        "| measure | value |", "|---|---|",
        *(f"| {k} | {v:.3f} |" if isinstance(v, float) else f"| {k} | {v} |" for k, v in s.items()),
        "",
    ]  # fmt: skip
    for key, table in evaluation.breakdowns.items():
        lines += [f"## By {key}", "", _markdown(table), ""]
    worst = evaluation.worst.select(
        "system", "estimate_flop", "epoch_flop", "log10_error", "estimate_low_flop",
        "estimate_high_flop", "confidence", "estimate_source",
        pl.col("flags").list.join(" "), "notes",
    )  # fmt: skip
    lines += ["## The 20 worst rows", "", _markdown(worst), ""]
    path = directory / "evaluation.md"
    path.write_text("\n".join(lines))
    return path


def _markdown(table: pl.DataFrame) -> str:
    def cell(value: object) -> str:
        if isinstance(value, float):
            return f"{value:.3g}"
        return "" if value is None else str(value).replace("|", "/").replace("\n", " ")

    header = "| " + " | ".join(table.columns) + " |"
    rule = "|" + "---|" * table.width
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.iter_rows()]
    return "\n".join([header, rule, *body])

"""Agreement with Epoch's own figures: estimate an export with every column that holds or
derives from its compute figure withheld, then compare each estimate with the figure Epoch's
analysts derived.

The metric is |log10(ours / Epoch's)|: 0 is exact, 0.301 is 2x, 1 is 10x.

The shipped utilization priors were fitted on the shared exports, so figures measured on them
are in sample. The out-of-sample figures (`out_of_sample_*`) come from cross-validation by
system: the systems fall into `FOLDS` folds by their normalised name (so a system keeps its
fold in every export), and each fold is estimated with priors calibrated on the other folds'
observations only.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipeline.defaults import DEFAULT_MIN_OBSERVATIONS
from pipeline.errors import InputFileError
from pipeline.estimate.epoch_spreads import epoch_observations, fit_epoch_spreads
from pipeline.estimate.forward_costs import fit_forward_costs, forward_cost_observations
from pipeline.estimate.hardware import load_hardware
from pipeline.estimate.predictive import PREDICTIVE_COLUMNS, fit_spreads, spread_source
from pipeline.estimate.priors import (
    Learned,
    PriorsChoice,
    calibrate_priors,
    load_learned,
    provisional_learned,
    seed_priors,
    utilization_observations,
)
from pipeline.estimate.rules import EU_MARGIN
from pipeline.read.epoch import FIGURE_DERIVED_PATTERNS
from pipeline.read.files import read_table
from pipeline.read.parsing import parse_number
from pipeline.report.calibration import calibration_chart, coverage_table, pit_histogram
from pipeline.report.images import chart_files
from pipeline.run import read_raw_and_columns, run_in_memory
from pipeline.settings import DEFAULT_SETTINGS
from pipeline.sources import Sources
from schemas.systems import PLAUSIBLE_FLOP

EPOCH_FIGURE = "Training compute (FLOP)"
METHOD_LABEL = "Training compute estimation method"
FACTORS = {"within_2x": 2.0, "within_3x": 3.0, "within_10x": 10.0}
FOLDS = 5
# An estimate within this of Epoch's figure reproduces it: the same formula on the same cells.
REPRODUCED = 0.005
METHOD_INPUTS = ("parameters", "dataset_size", "hardware", "training_time_hours", "chip_hours",
                 "forward_flop_per_example", "connections")  # fmt: skip


@dataclass
class Evaluation:
    rows: pl.DataFrame  # one row per system, ours against Epoch's
    summary: dict
    breakdowns: dict[str, pl.DataFrame]
    worst: pl.DataFrame
    coverage: pl.DataFrame  # observed coverage of the central intervals, out of sample
    pit: pl.DataFrame  # where Epoch's figures fall in the predictive distributions


def fold_of(system: pl.Expr, folds: int = FOLDS) -> pl.Expr:
    """A system's fold, from its name lowercased with its spaces collapsed: the same in every
    export that spells it so."""
    key = system.str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars()
    return key.map_elements(
        lambda name: zlib.crc32(name.encode()) % folds, return_dtype=pl.Int64, skip_nulls=True
    )


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
    has_inputs = pl.any_horizontal(pl.col(c).is_not_null() for c in METHOD_INPUTS)
    figure = pl.col("epoch_flop")
    # Coverage is measured on bounded intervals; a lower bound (a stage whose base compute is
    # unknown) is counted apart, by whether Epoch's figure is above it.
    inside = (pl.col("estimate_low_flop") <= figure) & (figure <= pl.col("estimate_high_flop"))
    return estimates.select(
        "source_row", "system", "domain", "estimate_flop", "estimate_low_flop",
        "estimate_high_flop", "confidence", "estimate_source", "within_eu_margin", "flags",
        "notes", "assumption_sigma", *PREDICTIVE_COLUMNS, has_inputs.alias("has_method_inputs"),
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
    reproduced = (compared["estimate_flop"] / compared["epoch_flop"] - 1).abs() <= REPRODUCED
    # Where flopsheet applied Epoch's formula to the same cells, agreement says little about
    # rows where it could not: the same figures without them.
    others = _metrics(compared.filter(~reproduced)).row(0, named=True)
    within_2x = (compared["log10_error"] <= math.log10(2)).sum()
    labelled = {
        "confident": compared.filter(pl.col("confidence") == "Confident"),
        "confident_or_likely": compared.filter(pl.col("confidence").is_in(["Confident", "Likely"])),
    }
    # The forward cost per parameter estimates rows no other rule reaches, widely: the other
    # rows, apart, measure the rules that were there before it.
    by_parameters = pl.col("flags").list.contains("forward_flop_from_parameters")
    other_rules = _metrics(compared.filter(~by_parameters)).row(0, named=True)
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
        "estimated_reproduced_exactly": reproduced.mean() or 0.0,
        **{f"not_reproduced_{k}": v for k, v in others.items()},
        **{
            key: value
            for label, part in labelled.items()
            for key, value in (
                (f"{label}_rows", part.height),
                (f"{label}_within_2x", _metrics(part)["within_2x"][0] if part.height else None),
            )
        },
        "from_parameters_rows": compared.filter(by_parameters).height,
        "other_rules_within_2x": other_rules["within_2x"],
        "other_rules_interval_coverage": other_rules["interval_coverage"],
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
    export: Path,
    priors: PriorsChoice = PriorsChoice(),
    compare_seed: bool = True,
    folds: int = FOLDS,
) -> Evaluation:
    """Agreement of the estimates (with `priors`) with Epoch's figures, in sample and out of
    sample (`folds`-fold cross-validation by system); with `compare_seed`, the same measured
    with the seed's fixed utilizations, side by side."""
    # Epoch's figures, read on their own; the estimate below never sees them.
    export_rows = read_table(export, input_format="epoch")
    if "reported_compute_flop" not in export_rows.columns:
        raise InputFileError(export, f"no {EPOCH_FIGURE!r} column to compare with")
    # A figure outside the plausible range (zero, negative) is no figure to compare with.
    figure = parse_number(pl.col("reported_compute_flop"))
    label = pl.col(METHOD_LABEL) if METHOD_LABEL in export_rows.columns else pl.lit(None, pl.String)
    figures = export_rows.select(
        "source_row",
        pl.when(figure.is_between(*PLAUSIBLE_FLOP)).then(figure).alias("epoch_flop"),
        label.alias("epoch_method"),
    )
    del export_rows
    sources = Sources.of(
        [export], input_format="epoch", priors=priors, withhold=FIGURE_DERIVED_PATTERNS
    )
    read = read_raw_and_columns(sources)  # every run of the evaluation validates these cells
    _, uses = read
    hardware = load_hardware(sources.hardware_table)

    def estimated(learned: Learned) -> pl.DataFrame:
        return run_in_memory(sources, read=read, hardware=hardware, learned=learned).estimates

    result = run_in_memory(sources, read=read, hardware=hardware, learned=load_learned(priors))
    rows = _compare(result.estimates, figures)
    seed = None if priors.is_seed else estimated(Learned(seed_priors()))
    held_out = (
        rows if priors.is_seed
        else _compare(_cross_validated(seed, hardware, estimated, figures, folds), figures)
    )  # fmt: skip
    summary = {
        "export": str(export),
        "priors": str(priors),
        "rows": rows.height,
        "rows_rejected": result.summary["rows_rejected"],
        "withheld_columns": [u["header"] for u in uses if u.get("withheld")],
        "folds": folds,
        **_summary(rows),
        **{f"out_of_sample_{k}": v for k, v in _summary(held_out).items()
           if k in OUT_OF_SAMPLE_COMPARED},
    }  # fmt: skip
    coverage = coverage_table(held_out)
    summary.update(
        {
            f"out_of_sample_coverage_{i}": v
            for i, v in coverage.select("interval", "observed").iter_rows()
        }
    )
    if compare_seed and seed is not None:
        seed_summary = _summary(_compare(seed, figures))
        summary.update({f"seed_{k}": seed_summary[k] for k in SEED_COMPARED})
    # Breakdowns and the worst rows are out of sample: what a user of a new sheet would see.
    compared = held_out.filter(
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
    return Evaluation(rows, summary, breakdowns, worst, coverage, pit_histogram(held_out))


def _cross_validated(
    seed_estimates: pl.DataFrame,
    hardware: pl.DataFrame,
    estimated: Callable[[Learned], pl.DataFrame],
    figures: pl.DataFrame,
    folds: int,
) -> pl.DataFrame:
    """Each fold's rows as estimated with what flopsheet learns from data (the utilization
    priors, the forward cost per parameter, the spread of assumed epochs, the predictive
    spreads) learned on the other folds alone. The utilization observations do not depend on
    the priors, so the seed run gives them once, and one provisional run (k = 1, no spread
    from the epochs) gives the observations of k and of the epochs' spread; the predictive
    spreads are fitted on the other folds' estimates made with the fold's other values."""
    settings = DEFAULT_SETTINGS
    in_fold = fold_of(pl.col("system"), folds)
    observations = utilization_observations(
        seed_estimates, hardware, settings.implied_utilization_low,
        settings.implied_utilization_high,
    ).with_columns(in_fold.alias("_fold"))  # fmt: skip
    provisional = estimated(provisional_learned(seed_priors()))
    provisional_figures = provisional.join(figures, on="source_row").select(
        "system", pl.col("epoch_flop").alias("_figure")
    )
    count_observations = {
        name: observe(provisional, provisional_figures).with_columns(in_fold.alias("_fold"))
        for name, observe in (("forward_costs", forward_cost_observations),
                              ("epoch_spreads", epoch_observations))
    }  # fmt: skip
    fits = {"forward_costs": fit_forward_costs, "epoch_spreads": fit_epoch_spreads}
    parts = []
    for fold in range(folds):
        training = observations.filter(pl.col("_fold") != fold)
        fitted = (
            calibrate_priors(training, DEFAULT_MIN_OBSERVATIONS)
            if training.height
            else seed_priors()
        )
        counts = {
            name: fits[name](observed.filter(pl.col("_fold") != fold))
            for name, observed in count_observations.items()
        }
        lognormal = estimated(Learned(fitted, **counts)).join(figures, on="source_row")
        residuals = (
            lognormal.filter(in_fold != fold)
            .select(
                spread_source().alias("source"),
                pl.col("assumption_sigma").alias("sigma"),
                (pl.col("epoch_flop") / pl.col("estimate_flop")).log().alias("residual"),
            )
            .drop_nulls()
        )
        spreads = fit_spreads(residuals) if residuals.height else None
        part = estimated(Learned(fitted, spreads, **counts)).filter(in_fold == fold)
        parts.append(part)
    return pl.concat(parts).sort("system", maintain_order=True)


# The measures reported out of sample beside the in-sample ones.
OUT_OF_SAMPLE_COMPARED = (
    "estimated_of_those", "coverage", "estimated_median_log10_error", "estimated_within_2x",
    "estimated_within_3x", "estimated_within_10x", "all_rows_within_2x",
    "estimated_interval_coverage", "estimated_within_30_percent",
    "estimated_reproduced_exactly", "not_reproduced_within_2x", "confident_rows",
    "confident_within_2x", "confident_or_likely_rows", "confident_or_likely_within_2x",
    "from_parameters_rows", "other_rules_within_2x", "other_rules_interval_coverage",
)  # fmt: skip


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
        "with that figure, and every column derived from it, withheld. `out_of_sample_*` "
        f"measures come from {s['folds']}-fold cross-validation by system: each fold estimated "
        "with utilization priors, forward costs per parameter, spreads of assumed epochs and "
        "predictive spreads fitted on the other folds alone.", "",
        "| measure | value |", "|---|---|",
        *(f"| {k} | {summary_cell(v)} |" for k, v in s.items()),
        "",
        "## Calibration of the intervals (out of sample)", "",
        "Observed share of rows whose central interval holds Epoch's figure, and where the "
        "figure falls in each row's predictive distribution (flat when calibrated).", "",
        _markdown(evaluation.coverage), "", _markdown(evaluation.pit), "",
        "![calibration](calibration.svg)", "",
    ]  # fmt: skip
    for name, content in chart_files({"calibration": _calibration_spec(evaluation)}).items():
        if name.endswith(".svg"):
            (directory / name).write_bytes(content)
    for key, table in evaluation.breakdowns.items():
        lines += [f"## By {key} (out of sample)", "", _markdown(table), ""]
    worst = evaluation.worst.select(
        "system", "estimate_flop", "epoch_flop", "log10_error", "estimate_low_flop",
        "estimate_high_flop", "confidence", "estimate_source",
        pl.col("flags").list.join(" "), "notes",
    )  # fmt: skip
    lines += ["## The 20 worst rows (out of sample)", "", _markdown(worst), ""]
    path = directory / "evaluation.md"
    path.write_text("\n".join(lines))
    return path


def summary_cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, list):
        return ", ".join(map(str, value)).replace("|", "/") or "none"
    return str(value)


def _calibration_spec(evaluation: Evaluation) -> dict:
    return calibration_chart(evaluation.coverage, evaluation.pit).to_dict()


def _markdown(table: pl.DataFrame) -> str:
    def cell(value: object) -> str:
        if isinstance(value, float):
            return f"{value:.3g}"
        return "" if value is None else str(value).replace("|", "/").replace("\n", " ")

    header = "| " + " | ".join(table.columns) + " |"
    rule = "|" + "---|" * table.width
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.iter_rows()]
    return "\n".join([header, rule, *body])

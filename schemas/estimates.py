"""The output contract: one row per input system that passed validation."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from schemas.systems import CANONICAL_COLUMNS

ESTIMATE_SOURCES = ("reported", "weighted_mean", "ops", "hardware", "base_model")
OPS_RULES = ("forward_flop", "architecture", "connections", "6ND")
UTILIZATION_SOURCES = ("reported", "prior")
CONFIDENCE_LABELS = ("Confident", "Likely", "Speculative")

# Columns the estimator adds, in the order they are published after the input columns.
ESTIMATE_COLUMNS = (
    "ops_flop",
    "ops_low_flop",
    "ops_high_flop",
    "ops_rule",
    "epochs_used",
    "training_tokens",
    "hardware_flop",
    "hardware_low_flop",
    "hardware_high_flop",
    "hardware_matched",
    "chip_seconds",
    "peak_flop_per_second_used",
    "precision_used",
    "utilization_used",
    "utilization_source",
    "implied_utilization",
    "ops_hardware_ratio",
    "method_estimate_flop",
    "stage_flop",
    "estimate_flop",
    "estimate_low_flop",
    "estimate_high_flop",
    "confidence",
    "estimate_source",
    "flags",
    "notes",
    "summary",
    "source_file",
    "source_row",
)

# An input column with one of these names is carried through as `<name>_input`.
RESERVED_OUTPUT_COLUMNS = frozenset(ESTIMATE_COLUMNS)

FLAGS = (
    "epochs_assumed",
    "tokens_assumed",
    "words_converted_to_tokens",
    "parameters_not_connections",
    "epochs_needed",
    "architecture_incomplete",
    "multiple_hardware",
    "unknown_hardware",
    "precision_assumed",
    "precision_not_supported",
    "utilization_assumed",
    "hardware_time_without_chip",
    "no_peak_for_precision",
    "reported_disagrees",
    "methods_disagree",
    "methods_inconsistent",
    "implied_utilization_impossible",
    "implied_utilization_low",
    "insufficient_inputs",
    "includes_base_model",
    "base_compute_unknown",
    "stage_compute_unknown",
    "base_lower_bound",
    "base_model_cycle",
    "dataset_unit_from_notes",
    "active_parameters_from_notes",
    "active_parameters_assumed",
    "ops_beyond_capacity",
    "parameters_disagree_with_shape",
    "ops_out_of_range",
    "hardware_out_of_range",
)

_FLOP = {"nullable": True, "gt": 0}


class EstimatesSchema(pa.DataFrameModel):
    system: str = pa.Field(unique=True)
    ops_flop: float = pa.Field(**_FLOP)
    ops_rule: str = pa.Field(nullable=True, isin=OPS_RULES)
    hardware_flop: float = pa.Field(**_FLOP)
    hardware_matched: str = pa.Field(nullable=True)
    peak_flop_per_second_used: float = pa.Field(**_FLOP)
    precision_used: str = pa.Field(nullable=True)
    utilization_used: float = pa.Field(nullable=True, gt=0, le=1)
    utilization_source: str = pa.Field(nullable=True, isin=UTILIZATION_SOURCES)
    implied_utilization: float = pa.Field(nullable=True, gt=0)
    ops_hardware_ratio: float = pa.Field(nullable=True, gt=0)
    estimate_flop: float = pa.Field(**_FLOP)
    estimate_low_flop: float = pa.Field(**_FLOP)
    estimate_high_flop: float = pa.Field(**_FLOP)
    confidence: str = pa.Field(nullable=True, isin=CONFIDENCE_LABELS)
    estimate_source: str = pa.Field(nullable=True, isin=ESTIMATE_SOURCES)
    flags: pl.List(pl.String) = pa.Field(nullable=False)
    notes: str = pa.Field(nullable=False)
    summary: str = pa.Field(nullable=True)
    source_file: str = pa.Field(nullable=False)
    source_row: pl.Int64 = pa.Field(nullable=False, ge=2)

    @pa.dataframe_check(name="estimate_has_a_source")
    def estimate_has_a_source(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            pl.col("estimate_flop").is_null() == pl.col("estimate_source").is_null()
        )

    @pa.dataframe_check(name="interval_holds_the_estimate")
    def interval_holds_the_estimate(cls, data: pa.PolarsData) -> pl.LazyFrame:
        estimate = pl.col("estimate_flop")
        slack = 1 + 1e-9  # the bounds are computed in floating point
        return data.lazyframe.select(
            estimate.is_null()
            | (
                (pl.col("estimate_low_flop") <= estimate * slack)
                & (pl.col("estimate_high_flop").is_null()
                   | (pl.col("estimate_high_flop") * slack >= estimate))
            ).fill_null(False)
        )  # fmt: skip

    @pa.dataframe_check(name="flags_are_known")
    def flags_are_known(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            pl.col("flags").list.eval(pl.element().is_in(FLAGS)).list.all()
        )

    class Config:
        strict = False


def output_columns(frame_columns: list[str]) -> list[str]:
    """Published column order: canonical inputs, estimate columns, then carried-through ones."""
    known = set(CANONICAL_COLUMNS) | set(ESTIMATE_COLUMNS)
    extras = [c for c in frame_columns if c not in known and not c.startswith("_")]
    head = [c for c in CANONICAL_COLUMNS if c in frame_columns]
    tail = [
        c for c in ESTIMATE_COLUMNS if c in frame_columns and c not in ("source_file", "source_row")
    ]
    return head + tail + extras + ["source_file", "source_row"]

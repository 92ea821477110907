"""The output contract: one row per input system that passed validation."""

from __future__ import annotations

from typing import TypeVar

import pandera.polars as pa
import polars as pl

from schemas.systems import CANONICAL_COLUMNS

ESTIMATE_SOURCES = ("reported", "weighted_mean", "ops", "hardware", "base_model", "stages")
OPS_RULES = ("forward_flop", "architecture", "connections", "6ND", "parameters")
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
    "assumption_sigma",
    "predictive_exact_share",
    "predictive_df",
    "predictive_scale",
    "confidence",
    "estimate_source",
    "stages",
    "epoch_stages",
    "eu_parameter_updates_stages",
    "eu_cumulative_stages",
    "sb53_stages",
    "eu_parameter_updates_flop",
    "eu_parameter_updates_low_flop",
    "eu_parameter_updates_high_flop",
    "eu_cumulative_flop",
    "eu_cumulative_low_flop",
    "eu_cumulative_high_flop",
    "eu_cumulative_probability_above_1e25",
    "within_eu_margin",
    "eu_modification_flop",
    "eu_modification_low_flop",
    "eu_modification_high_flop",
    "eu_modification_threshold_flop",
    "eu_modification_probability",
    "sb53_flop",
    "sb53_low_flop",
    "sb53_high_flop",
    "sb53_probability_above_1e26",
    "notification",
    "flags",
    "notes",
    "summary",
    "source_file",
    "source_row",
)

# An input column with one of these names is carried through as `<name>_input`; a canonical
# input the estimator also publishes (`training_tokens`: as given, or as counted) is read.
RESERVED_OUTPUT_COLUMNS = frozenset(ESTIMATE_COLUMNS) - frozenset(CANONICAL_COLUMNS)

# What each flag says. An assumption or a conversion the methods made as documented: about a
# count (the dataset, its epochs, the active parameters) or about the hardware or the chain of
# bases. Any other flag (disagreement, implausible utilization, no estimate, unknown hardware)
# asks for a look at the row.
COUNT_ASSUMED, ASSUMED, ATTENTION = "count assumed", "assumed", "attention"
FLAG_KINDS = {
    "epochs_assumed": COUNT_ASSUMED,
    "tokens_assumed": COUNT_ASSUMED,
    "words_converted_to_tokens": COUNT_ASSUMED,
    "parameters_not_connections": ATTENTION,
    "forward_flop_from_parameters": COUNT_ASSUMED,
    "epochs_needed": ATTENTION,
    "architecture_incomplete": ATTENTION,
    "multiple_hardware": ATTENTION,
    "unknown_hardware": ATTENTION,
    "precision_assumed": ASSUMED,
    "precision_not_supported": ATTENTION,
    "utilization_assumed": ASSUMED,
    "hardware_time_without_chip": ATTENTION,
    "no_peak_for_precision": ATTENTION,
    "reported_disagrees": ATTENTION,
    "methods_disagree": ATTENTION,
    "methods_inconsistent": ATTENTION,
    "implied_utilization_impossible": ATTENTION,
    "implied_utilization_low": ATTENTION,
    "insufficient_inputs": ATTENTION,
    "includes_base_model": ASSUMED,
    "base_compute_unknown": ATTENTION,
    "stage_compute_unknown": ATTENTION,
    "base_lower_bound": ATTENTION,
    "base_model_cycle": ATTENTION,
    "base_from_catalogue": ASSUMED,
    "base_restated": ASSUMED,
    "dataset_unit_from_notes": COUNT_ASSUMED,
    "active_parameters_from_notes": COUNT_ASSUMED,
    "active_parameters_assumed": COUNT_ASSUMED,
    "hardware_time_from_notes": COUNT_ASSUMED,
    "notes_derived_from_compute": ASSUMED,
    "ops_beyond_capacity": ATTENTION,
    "parameters_disagree_with_shape": ATTENTION,
    "context_window_as_sequence": ATTENTION,
    "training_tokens_disagree": ATTENTION,
    "ops_out_of_range": ATTENTION,
    "hardware_out_of_range": ATTENTION,
    # A cell read from a model card: a figure given as a lower bound ("15T+", ">15T"), and a
    # chip named without its form factor ("H100-80G"), resolved to the table's default.
    "value_is_lower_bound": ATTENTION,
    "hardware_form_assumed": ASSUMED,
    "includes_stages": ASSUMED,
    "stage_without_estimate": ATTENTION,
    "original_compute_unknown": ATTENTION,
}
FLAGS = tuple(FLAG_KINDS)
# Flags of a documented assumption: the report's list of rows that need attention leaves them out.
INFORMATIONAL_FLAGS = frozenset(f for f, kind in FLAG_KINDS.items() if kind != ATTENTION)
# Assumed counts: a row with one says little about utilization, so calibration leaves it out.
COUNT_ASSUMPTION_FLAGS = tuple(f for f, kind in FLAG_KINDS.items() if kind == COUNT_ASSUMED)

_FLOP = {"nullable": True, "gt": 0}
_PROBABILITY = {"nullable": True, "ge": 0, "le": 1}


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
    assumption_sigma: float = pa.Field(nullable=True, ge=0)
    predictive_exact_share: float = pa.Field(nullable=True, ge=0, lt=1)
    predictive_df: float = pa.Field(nullable=True, gt=0)
    predictive_scale: float = pa.Field(nullable=True, ge=0)
    confidence: str = pa.Field(nullable=True, isin=CONFIDENCE_LABELS)
    estimate_source: str = pa.Field(nullable=True, isin=ESTIMATE_SOURCES)
    eu_cumulative_flop: float = pa.Field(**_FLOP)
    sb53_flop: float = pa.Field(**_FLOP)
    eu_cumulative_probability_above_1e25: float = pa.Field(**_PROBABILITY)
    sb53_probability_above_1e26: float = pa.Field(**_PROBABILITY)
    eu_modification_probability: float = pa.Field(**_PROBABILITY)
    within_eu_margin: pl.Boolean = pa.Field(nullable=True)
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
    # An input the estimator also publishes (`training_tokens`) keeps its place among them.
    head = [c for c in CANONICAL_COLUMNS if c in frame_columns and c not in ESTIMATE_COLUMNS]
    tail = [
        c for c in ESTIMATE_COLUMNS if c in frame_columns and c not in ("source_file", "source_row")
    ]
    return head + tail + extras + ["source_file", "source_row"]


FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)


def in_published_order(frame: FrameT) -> FrameT:
    """`frame` in the order estimates are published: by name, a system's stages in their
    order (a stable sort). Free on a frame in that order already, which polars knows."""
    return frame.sort("system", maintain_order=True)

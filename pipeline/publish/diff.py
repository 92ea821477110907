"""What changed between two sets of estimates: systems added, removed and changed."""

from __future__ import annotations

import polars as pl

from pipeline.defaults import DEFAULT_THRESHOLD

DIFF_KEYS = ("system", "estimate_flop", "estimate_source", "flags")
DIFF_SCHEMA = {
    "system": pl.String,
    "change": pl.String,
    "old_estimate_flop": pl.Float64,
    "new_estimate_flop": pl.Float64,
    "relative_change": pl.Float64,
    "old_source": pl.String,
    "new_source": pl.String,
    "old_flags": pl.String,
    "new_flags": pl.String,
}


def _side(frame: pl.DataFrame, prefix: str) -> pl.DataFrame:
    return frame.select(
        "system",
        pl.col("estimate_flop").alias(f"{prefix}_estimate_flop"),
        pl.col("estimate_source").alias(f"{prefix}_source"),
        pl.col("flags").list.join(" ").alias(f"{prefix}_flags"),
    )


def diff_estimates(
    old: pl.DataFrame, new: pl.DataFrame, threshold: float = DEFAULT_THRESHOLD
) -> pl.DataFrame:
    """One row per system added, removed, or changed: its estimate moved by more than
    `threshold` (relative), or its source or flags changed. Sorted by change, then system."""
    joined = _side(old, "old").join(_side(new, "new"), on="system", how="full", coalesce=True)
    old_flop, new_flop = pl.col("old_estimate_flop"), pl.col("new_estimate_flop")
    relative = (new_flop - old_flop).abs() / old_flop
    # Every present row has flags (possibly none, joined to ""): null flags mean absent.
    in_old, in_new = pl.col("old_flags").is_not_null(), pl.col("new_flags").is_not_null()
    moved = (
        (relative > threshold).fill_null(False)
        | (old_flop.is_null() != new_flop.is_null())
        | pl.col("old_source").ne_missing(pl.col("new_source"))
        | pl.col("old_flags").ne_missing(pl.col("new_flags"))
    )
    change = (
        pl.when(~in_old).then(pl.lit("added")).when(~in_new).then(pl.lit("removed"))
        .when(moved).then(pl.lit("changed"))
    )  # fmt: skip
    return (
        joined.with_columns(change.alias("change"), relative.alias("relative_change"))
        .filter(pl.col("change").is_not_null())
        .select(list(DIFF_SCHEMA))
        .sort("change", "system")
    )


def diff_counts(diff: pl.DataFrame) -> dict[str, int]:
    counts = dict(diff["change"].value_counts().iter_rows())
    return {kind: counts.get(kind, 0) for kind in ("added", "removed", "changed")}

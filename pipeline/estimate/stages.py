"""Training stages: a system given in several rows, one per stage, becomes one row whose totals
add its stages, by each accounting rule (`pipeline.estimate.rules`).

Each row is estimated by the methods as the stage it names (`stage`; blank is pre-training).
A system's main row is its first row in `TRAINING_STAGES` order (pre-training before
fine-tuning, and so on); it keeps today's meaning, base model and reported total included.
Its other rows are its later stages: each one's figure is its reported compute or its methods'
estimate; a synthetic-data stage counts forward passes only (a third of training's count, by
`backward_forward_ratio`) over every sample generated, the discarded ones too:
x `samples_generated` / `samples_kept`, its dataset being the kept samples. Hardware time
counts what the chips did and is not scaled.

Stages given as columns of one row: `finetune_compute_flop` is the fine-tune's own compute
(on a row naming its `base_model`, the stage the row describes; otherwise a fine-tuning stage
after it) and `post_training_compute_flop` a post-training stage after it. Where the row
reports its total (`reported_compute_flop`), they are parts of it, as in Epoch's exports,
and are not added again.

The folded stages are summed per rule into working columns `_extra_<rule>` (with `_low`,
`_high`, and `_extra_<rule>_open` where a counted stage has no upper bound or no figure),
which `pipeline.estimate.thresholds` adds to the main row's total along the base-model chain.
"""

from __future__ import annotations

import polars as pl

from pipeline.estimate.annotate import add_flags, add_notes
from pipeline.estimate.formatting import sci
from pipeline.estimate.plausibility import plausible
from pipeline.estimate.rules import RULES, AccountingRule
from pipeline.estimate.uncertainty import interval, rounding_sigma
from pipeline.frames import join_beside
from pipeline.settings import Settings
from schemas.systems import TRAINING_STAGES, stage_or_default, system_key

STAGE_RANK = {stage: rank for rank, stage in enumerate(TRAINING_STAGES)}
# The stages that one row's columns can give, besides the row's own.
COLUMN_STAGES = {
    "finetune_compute_flop": "fine-tuning",
    "post_training_compute_flop": "post-training",
}


def extra_columns(rule: str) -> tuple[str, str, str, str]:
    base = f"_extra_{rule.replace('-', '_')}"
    return base, f"{base}_low", f"{base}_high", f"{base}_open"


def counted(rule: AccountingRule, stage: pl.Expr, public: pl.Expr) -> pl.Expr:
    """Whether `rule` counts each row's stage (`public`: whether its synthetic data is)."""
    inside = stage.is_in(sorted(rule.counts))
    if rule.synthetic_data_if_public:
        return inside
    return inside & ~((stage == "synthetic-data") & public.fill_null(False))


def has_stages(systems: pl.DataFrame) -> bool:
    """Whether any row names a stage or gives one as a column: otherwise folding is a no-op."""
    given = [pl.col("stage").is_not_null(), *((pl.col(c) > 0) for c in COLUMN_STAGES)]
    return systems.select(pl.any_horizontal(given).fill_null(False).any()).item()


def no_stages(frame: pl.LazyFrame) -> pl.LazyFrame:
    """The working columns of `fold_stages` for a sheet without stages: nothing to add."""
    return frame.with_columns(
        pl.lit(None, pl.String).alias("stages"),
        *(pl.lit(None, pl.String).alias(stages_column(name)) for name in RULES),
        *(
            expr.alias(name)
            for rule in RULES
            for name, expr in zip(
                extra_columns(rule),
                (pl.lit(0.0), pl.lit(0.0), pl.lit(0.0), pl.lit(False)),
                strict=True,
            )
        ),
    )


# A row's place in the sheets, 0 for the first (`with_sheet_order`): between two rows of one
# system and stage the earlier one is the main row, and a system's stages are listed in the
# order of rank, then of the sheets. Rows reach the estimate in another order (by name).
SHEET_ORDER = "_sheet_order"


def with_sheet_order(systems: pl.DataFrame) -> pl.DataFrame:
    """`systems`, in the sheets' order, with each row's place in it (unless it has one)."""
    if SHEET_ORDER in systems.columns:
        return systems
    return systems.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias(SHEET_ORDER))


def fold_stages(frame: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """One row per system: its main row, with its other stages summed per rule. Which row is
    main, and the order its stages are listed in, follow SHEET_ORDER, not the frame's order."""
    n = frame.height
    stage = stage_or_default(pl.col("stage"))
    # A stage figure of 0 is no such stage.
    frame = frame.with_columns(
        pl.when(pl.col(c) > 0).then(pl.col(c)).alias(c) for c in COLUMN_STAGES
    )
    frame = frame.with_columns(
        stage.alias("_stage"),
        system_key(pl.col("system")).alias("_system_key"),
        (stage.replace_strict(STAGE_RANK, return_dtype=pl.Int64) * n + pl.col(SHEET_ORDER))
        .alias("_stage_order"),
    )  # fmt: skip
    main = pl.col("_stage_order") == pl.col("_stage_order").min().over("_system_key")
    frame = frame.with_columns(main.alias("_main"))
    later = _stage_figures(frame.filter(~pl.col("_main")), settings)
    frame = _column_stages(frame.filter(pl.col("_main")))
    sums = _sums(pl.concat([later, _column_stage_rows(frame)], how="diagonal_relaxed"))
    frame = join_beside(frame, sums, "_system_key")
    fill = {name: (False if name.endswith("_open") else 0.0) for r in RULES for name in extra_columns(r)}  # fmt: skip
    some_stages = pl.col("stages").is_not_null()
    open_stage = pl.any_horizontal(pl.col(extra_columns(r)[3]) for r in RULES).fill_null(False)
    return frame.with_columns(pl.col(name).fill_null(value) for name, value in fill.items()).with_columns(
        add_flags({"includes_stages": some_stages, "stage_without_estimate": some_stages & open_stage}),
        add_notes(
            pl.when(some_stages).then(pl.concat_str([pl.lit("later stages: "), pl.col("stages")])),
            pl.when(some_stages).then(_rules_note()),
        ),
    ).with_columns(
        pl.when(some_stages).then(_counted_list(name)).alias(stages_column(name)) for name in RULES
    ).drop("_main", "_stage_order", pl.selectors.starts_with("_counted_"))  # fmt: skip


def stages_column(rule: str) -> str:
    """The published column listing the stages `rule` counted for a system with several."""
    return f"{rule.replace('-', '_')}_stages"


def _counted_list(name: str) -> pl.Expr:
    main = pl.when(counted(RULES[name], pl.col("_stage"), pl.col("synthetic_data_public"))).then(
        pl.col("_stage")
    )
    later = pl.col(f"_counted_{extra_columns(name)[0]}")
    listed = pl.concat_str(
        [main, pl.when(later != "").then(later)], separator=", ", ignore_nulls=True
    )
    return pl.when(listed != "").then(listed).otherwise(pl.lit("none"))


def _rules_note() -> pl.Expr:
    """'stages counted by rule: epoch: pre-training, reward-model; eu-cumulative: ...'"""
    parts = [pl.concat_str([pl.lit(f"{name}: "), _counted_list(name)]) for name in RULES]
    return pl.concat_str([pl.lit("stages counted by rule: "), pl.concat_str(parts, separator="; ")])


def _stage_figures(rows: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """Each later stage's figure and interval, with the text that lists it."""
    forward_only = 1 / (1 + settings.backward_forward_ratio)
    scale = (pl.col("samples_generated") / pl.col("samples_kept")).fill_null(1.0)
    generated = (
        (pl.col("_stage") == "synthetic-data")
        & pl.col("reported_compute_flop").is_null()
        & pl.col("ops_flop").is_not_null()
    )
    figures = rows.select(
        "_system_key", "_stage", "_stage_order", "synthetic_data_public",
        *(
            # A generated figure outside the plausible range (a hostile sample count) is none.
            pl.when(generated).then(plausible(pl.col(ops) * forward_only * scale)).otherwise(pl.col(whole)).alias(name)
            for name, ops, whole in (
                ("_figure", "ops_flop", "estimate_flop"),
                ("_figure_low", "ops_low_flop", "estimate_low_flop"),
                ("_figure_high", "ops_high_flop", "estimate_high_flop"),
            )
        ),
        pl.concat_str([pl.col("source_file"), pl.lit(" row "), pl.col("source_row").cast(pl.String)]).alias("_where"),
        generated.alias("_generated"),
    )  # fmt: skip
    return figures


def _column_stages(frame: pl.DataFrame) -> pl.DataFrame:
    """A fine-tune's own compute given as `finetune_compute_flop` on a row naming its base model
    is that row's stage: it stands for the methods' estimate of it."""
    reported_total = pl.col("reported_compute_flop").is_not_null()
    own = (
        pl.col("finetune_compute_flop").is_not_null()
        & pl.col("base_model").is_not_null()
        & ~reported_total
    )
    flop = pl.col("finetune_compute_flop")
    low, high = interval(flop, rounding_sigma(flop))
    included = [
        pl.when(pl.col(column).is_not_null() & reported_total).then(
            pl.concat_str(
                [
                    pl.lit(f"{stage} "),
                    sci(pl.col(column)),
                    pl.lit(" FLOP is part of the reported total"),
                ]
            )
        )
        for column, stage in COLUMN_STAGES.items()
    ]
    return frame.with_columns(
        *(pl.when(own).then(value).otherwise(pl.col(c)).alias(c)
          for c, value in (("method_estimate_flop", flop), ("estimate_flop", flop),
                           ("estimate_low_flop", low), ("estimate_high_flop", high),
                           ("estimate_source", pl.lit("reported")))),
    ).with_columns(
        add_notes(
            pl.when(own).then(pl.concat_str([pl.lit("fine-tuning compute reported: "), sci(flop), pl.lit(" FLOP")])),
            *included,
        )
    )  # fmt: skip


def _column_stage_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """The later stages a main row gives as columns, as rows like those of `_stage_figures`."""
    reported_total = pl.col("reported_compute_flop").is_not_null()
    parts = []
    for column, stage in COLUMN_STAGES.items():
        after = pl.col(column).is_not_null() & ~reported_total
        if column == "finetune_compute_flop":
            after = after & pl.col("base_model").is_null()
        flop = pl.col(column)
        low, high = interval(flop, rounding_sigma(flop))
        parts.append(
            frame.filter(after).select(
                "_system_key", pl.lit(stage).alias("_stage"),
                (pl.col("_stage_order") + STAGE_RANK[stage] * frame.height).alias("_stage_order"),
                pl.lit(None, pl.Boolean).alias("synthetic_data_public"),
                flop.alias("_figure"), low.alias("_figure_low"), high.alias("_figure_high"),
                pl.lit(f"column {column}").alias("_where"), pl.lit(False).alias("_generated"),
            )
        )  # fmt: skip
    return pl.concat(parts, how="vertical_relaxed")


def _sums(stages: pl.DataFrame) -> pl.DataFrame:
    """Per system: the stages as text, and per rule the sums of the stages it counts."""
    stage, public = pl.col("_stage"), pl.col("synthetic_data_public")
    figure, low, high = pl.col("_figure"), pl.col("_figure_low"), pl.col("_figure_high")
    listed = pl.concat_str([
        stage, pl.lit(" "),
        pl.when(figure.is_not_null()).then(pl.concat_str([sci(figure), pl.lit(" FLOP")])).otherwise(pl.lit("no estimate")),
        pl.when(pl.col("_generated")).then(pl.lit(" (forward passes over every sample generated)")).otherwise(pl.lit("")),
        pl.lit(" ("), pl.col("_where"), pl.lit(")"),
    ])  # fmt: skip
    aggregations = [listed.sort_by("_stage_order").str.join("; ").alias("stages")]
    for name, rule in RULES.items():
        total, total_low, total_high, open_ = extra_columns(name)
        takes = counted(rule, stage, public)
        aggregations += [
            stage.filter(takes).str.join(", ").alias(f"_counted_{total}"),
            figure.filter(takes).sum().alias(total),
            low.filter(takes).sum().alias(total_low),
            high.filter(takes).sum().alias(total_high),
            (takes & (figure.is_null() | high.is_null())).any().alias(open_),
        ]
    return (
        stages.sort("_stage_order").group_by("_system_key", maintain_order=True).agg(aggregations)
    )

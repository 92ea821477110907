"""Compute by accounting rule, and the probability that it is above each rule's thresholds.

Each estimate's predictive distribution is log-normal around the estimate (its median), with
the spread of its 90% interval on each side: ln(high/estimate)/Z90 above, ln(estimate/low)/Z90
below (a split normal in log space, whose central 90% is exactly the interval). So
P(compute > t) = 1 - Phi(ln(t/estimate)/sigma), sigma being the side of the estimate t lies
on: 0.5 at the estimate, 0.95 at the low end of the interval, 0.05 at the high end. An estimate
with no upper bound (a lower bound) gives no probability above itself.

Totals per rule add each stage the rule counts (`pipeline.estimate.stages`) to the main row's
total, along the chain of base models. The EU modification test compares a fine-tune's own
compute with a third of its original's (`rules.EU_MODIFICATION_SHARE`).
"""

from __future__ import annotations

import math

import polars as pl

from pipeline.estimate.annotate import add_flags, add_notes
from pipeline.estimate.bases import chain_sums
from pipeline.estimate.formatting import sci
from pipeline.estimate.rules import (
    EU_MARGIN,
    EU_MODIFICATION_BARS,
    EU_MODIFICATION_SHARE,
    RULES,
)
from pipeline.estimate.stages import counted, extra_columns
from pipeline.estimate.uncertainty import Z90, interval, rounding_sigma
from pipeline.frames import ONE_PLAN_ROWS, Frame, collect, shared

# Columns of the rules on `estimates`: each rule's total and interval (the `epoch` rule's is
# `estimate_flop`), and the probabilities of the EU's and California's tests.
RULE_PREFIX = {"eu-parameter-updates": "eu_parameter_updates", "eu-cumulative": "eu_cumulative",
               "sb53": "sb53"}  # fmt: skip


def rule_columns(rule: str) -> tuple[str, str, str]:
    if rule == "epoch":
        return "estimate_flop", "estimate_low_flop", "estimate_high_flop"
    prefix = RULE_PREFIX[rule]
    return f"{prefix}_flop", f"{prefix}_low_flop", f"{prefix}_high_flop"


def normal_cdf(z: pl.Expr) -> pl.Expr:
    """Phi(z), from Abramowitz and Stegun's 7.1.26 approximation of erf (error under 1.5e-7):
    polars has no erf, and a Python function per row would be far slower. Each intermediate
    is computed once (`shared`): the formula names t five times."""

    def from_t(z: pl.Expr, x: pl.Expr, t: pl.Expr) -> pl.Expr:
        poly = t * (
            0.254829592
            + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
        )
        return shared(_phi, z=z, erf=1 - poly * (-(x**2)).exp())

    def from_x(z: pl.Expr, x: pl.Expr) -> pl.Expr:
        return shared(from_t, z=z, x=x, t=1 / (1 + 0.3275911 * x))

    return shared(from_x, z=z, x=z.abs() / math.sqrt(2))


def _phi(z: pl.Expr, erf: pl.Expr) -> pl.Expr:
    return pl.when(z >= 0).then(0.5 * (1 + erf)).otherwise(0.5 * (1 - erf))  # fmt: skip


def probability_above(
    estimate: pl.Expr, low: pl.Expr, high: pl.Expr, threshold: pl.Expr | float
) -> pl.Expr:
    """P(compute > threshold) under the estimate's split log-normal distribution."""
    threshold = threshold if isinstance(threshold, pl.Expr) else pl.lit(threshold)

    def with_sigma(
        estimate: pl.Expr, high: pl.Expr, above: pl.Expr, log_ratio: pl.Expr, sigma: pl.Expr
    ) -> pl.Expr:
        exact = pl.when(log_ratio < 0).then(1.0).when(log_ratio > 0).then(0.0).otherwise(0.5)
        return (
            pl.when(
                estimate.is_null()
                | threshold.is_null()
                | (above & high.is_null())
                | ~(estimate > 0)
            )
            .then(pl.lit(None, pl.Float64))
            .when(sigma <= 0)
            .then(exact)
            .otherwise(1 - normal_cdf(log_ratio / sigma))
        )

    def with_side(
        estimate: pl.Expr, low: pl.Expr, high: pl.Expr, above: pl.Expr, log_ratio: pl.Expr
    ) -> pl.Expr:
        sigma = pl.when(above).then((high / estimate).log()).otherwise((estimate / low).log()) / Z90
        return shared(
            with_sigma, estimate=estimate, high=high, above=above, log_ratio=log_ratio, sigma=sigma
        )

    return shared(
        with_side, estimate=estimate, low=low, high=high,
        above=threshold >= estimate, log_ratio=(threshold / estimate).log(),
    )  # fmt: skip


def probability_first_exceeds(
    first: tuple[pl.Expr, pl.Expr, pl.Expr], second: tuple[pl.Expr, pl.Expr, pl.Expr], share: float
) -> pl.Expr:
    """P(first > share x second) for two independent estimates: their log ratio is taken as
    normal, with each one's spread on the side that faces the other (an approximation of the
    difference of two split normals)."""

    def with_sigma(a: pl.Expr, b: pl.Expr, log_ratio: pl.Expr, sigma: pl.Expr) -> pl.Expr:
        exact = pl.when(log_ratio > 0).then(1.0).when(log_ratio < 0).then(0.0).otherwise(0.5)
        return (
            pl.when(a.is_null() | b.is_null() | ~(a > 0) | ~(b > 0))
            .then(pl.lit(None, pl.Float64))
            .when(sigma.is_infinite())
            .then(pl.lit(None, pl.Float64))
            .when(sigma <= 0)
            .then(exact)
            .otherwise(normal_cdf(log_ratio / sigma))
        )

    def with_side(
        a: pl.Expr, a_low: pl.Expr, a_high: pl.Expr, b: pl.Expr, b_low: pl.Expr,
        b_high: pl.Expr, ahead: pl.Expr,
    ) -> pl.Expr:  # fmt: skip
        sigma_a = pl.when(ahead).then((a / a_low).log()).otherwise((a_high / a).log()) / Z90
        sigma_b = pl.when(ahead).then((b_high / b).log()).otherwise((b / b_low).log()) / Z90
        sigma = (sigma_a.fill_null(float("inf")) ** 2 + sigma_b.fill_null(float("inf")) ** 2).sqrt()
        log_ratio = (a / (share * b)).log()
        return shared(with_sigma, a=a, b=b, log_ratio=log_ratio, sigma=sigma)

    (a, a_low, a_high), (b, b_low, b_high) = first, second
    return shared(
        with_side, a=a, a_low=a_low, a_high=a_high, b=b, b_low=b_low, b_high=b_high,
        ahead=a >= share * b,
    )  # fmt: skip


def add_rule_totals(frame: pl.DataFrame) -> pl.DataFrame:
    """Each rule's total and interval, the epoch rule's replacing the estimate where the system
    has later stages; then the tests' probabilities, the EU margin and the notification text."""
    sums = [c for rule in RULES for c in extra_columns(rule)[:3]]
    opens = [extra_columns(rule)[3] for rule in RULES]
    parts = frame.select(pl.col(sums), pl.col(opens))
    pointer = frame["_chain_row"] if "_chain_row" in frame.columns else None
    along = chain_sums(parts, pointer, sums, opens) if pointer is not None else parts
    core = pl.col("estimate_flop"), pl.col("estimate_low_flop"), pl.col("estimate_high_flop")
    totals = []
    for name, rule in RULES.items():
        total, total_low, total_high, open_ = extra_columns(name)
        main = counted(rule, pl.col("_stage"), pl.col("synthetic_data_public"))
        chained = [along[c] for c in (total, total_low, total_high, open_)]
        extra = [pl.when(main).then(c).otherwise(pl.col(own)) for c, own in zip(chained, (total, total_low, total_high, open_), strict=True)]  # fmt: skip
        known = (main & core[0].is_not_null()) | (extra[0] > 0)
        unbounded = extra[3] | (main & core[2].is_null())
        flop, low, high = (
            pl.when(main).then(c.fill_null(0)).otherwise(0) + e for c, e in zip(core, extra[:3], strict=True)
        )  # fmt: skip
        names = (
            rule_columns(name) if name != "epoch" else ("_epoch_flop", "_epoch_low", "_epoch_high")
        )
        totals += [
            pl.when(known).then(flop).alias(names[0]),
            pl.when(known).then(low).alias(names[1]),
            pl.when(known & ~unbounded).then(high).alias(names[2]),
        ]
    # On a large frame the rest is one lazy plan, collected once: polars shares the
    # sub-expressions of the probabilities and formatted figures, which eager steps would
    # compute again and again. On a small one, planning that query costs more than it saves.
    epoch_extra = extra_columns("epoch")[0]
    inherited = (along[epoch_extra] > frame[epoch_extra]) & frame["estimate_flop"].is_not_null()
    added_by_base = along[epoch_extra] - frame[epoch_extra]
    # Without a row naming a base model, the EU modification test applies to none.
    fine_tunes = frame["base_model"].is_not_null().any()
    planned = frame.lazy() if frame.height >= ONE_PLAN_ROWS else frame
    frame = planned.with_columns(totals).with_columns(
        add_notes(pl.when(pl.lit(inherited)).then(pl.concat_str([
            pl.lit("the base model's later stages add "), sci(pl.lit(added_by_base)),
            pl.lit(" FLOP: total "), sci(pl.col("_epoch_flop")), pl.lit(" FLOP"),
        ]))),
    )  # fmt: skip
    # The sentence of the main row says what its own fields give; later stages add to it.
    added = pl.lit(along[epoch_extra] > 0) & pl.col("_epoch_flop").is_not_null()
    frame = frame.with_columns(
        pl.when(added).then(pl.concat_str([
            pl.when(pl.col("summary").is_not_null()).then(pl.concat_str([pl.col("summary"), pl.lit(" ")])).otherwise(pl.lit("")),
            pl.lit("With its later training stages, the total is "), sci(pl.col("_epoch_flop")), pl.lit(" FLOP."),
        ])).otherwise(pl.col("summary")).alias("summary"),
    )  # fmt: skip
    # Where no stage adds anything, the epoch rule's total is the estimate itself (x + 0.0).
    source = pl.when(pl.col("estimate_flop").is_null() & pl.col("_epoch_flop").is_not_null()).then(pl.lit("stages"))  # fmt: skip
    frame = frame.with_columns(
        source.otherwise(pl.col("estimate_source")).alias("estimate_source"),
        *(pl.col(f"_epoch_{short}").alias(c)
          for short, c in (("flop", "estimate_flop"), ("low", "estimate_low_flop"), ("high", "estimate_high_flop"))),
    ).drop("_epoch_flop", "_epoch_low", "_epoch_high")  # fmt: skip
    result = _tests(frame, pointer, fine_tunes)
    return collect(result) if isinstance(result, pl.LazyFrame) else result


def _tests(frame: Frame, pointer: pl.Series | None, fine_tunes: bool) -> Frame:
    cumulative = [pl.col(c) for c in rule_columns("eu-cumulative")]
    california = [pl.col(c) for c in rule_columns("sb53")]
    estimate, low, high = cumulative
    within = (low >= (1 - EU_MARGIN) * estimate) & (high <= (1 + EU_MARGIN) * estimate)
    frame = frame.with_columns(
        probability_above(*cumulative, RULES["eu-cumulative"].thresholds[0]).alias("eu_cumulative_probability_above_1e25"),
        probability_above(*california, RULES["sb53"].thresholds[0]).alias("sb53_probability_above_1e26"),
        pl.when(estimate.is_not_null()).then(within.fill_null(False)).alias("within_eu_margin"),
        pl.when(estimate.is_not_null()).then(pl.concat_str([
            pl.lit("EU cumulative training compute: "), sci(estimate), pl.lit(" FLOP ("),
            pl.col("estimate_source").replace_strict(APPROACHES, default="estimated"),
            pl.when(high.is_null()).then(pl.lit("; a lower bound")).otherwise(pl.lit("")),
            pl.lit(")"),
        ])).alias("notification"),
    )  # fmt: skip
    if not fine_tunes:
        return frame.with_columns(
            pl.lit(None, pl.Float64).alias(name)
            for name in (*MODIFICATION_COLUMNS, MODIFICATION_BAR, MODIFICATION_PROBABILITY)
        )
    return _modification(frame, pointer)


# How each source of an estimate is named in the EU notification text.
APPROACHES = {
    "reported": "reported by the developer",
    "ops": "architecture-based approach: operations counted",
    "hardware": "hardware-based approach: chips x time x peak x utilization",
    "weighted_mean": "architecture- and hardware-based approaches combined",
    "base_model": "the base model's compute; the fine-tune's own is unknown",
    "stages": "the sum of its training stages' estimates",
}


def _modification(frame: Frame, pointer: pl.Series | None) -> Frame:
    """The EU modification test on fine-tunes of another developer's model (unless both rows
    name the same organization): P(own compute > a third of the original's); with the
    original's compute unknown, P(own compute > the lower bar, 1e23 / 3)."""
    names = rule_columns("eu-cumulative")
    reported_total = pl.col("reported_compute_flop").is_not_null()
    finetune = pl.when(pl.col("finetune_compute_flop") > 0).then(pl.col("finetune_compute_flop"))
    # A fine-tune's own compute: its stages, or the figure given for it beside a reported total.
    fine_tune = pl.col("base_model").is_not_null() & (~reported_total | finetune.is_not_null())
    given = pl.col("base_model_compute_flop")
    extra, extra_low, extra_high, extra_open = extra_columns("eu-cumulative")
    finetune_low, finetune_high = interval(finetune, rounding_sigma(finetune))
    stage_part = (
        pl.when(reported_total).then(finetune).otherwise(pl.col("stage_flop")),
        pl.when(reported_total).then(finetune_low).otherwise(pl.col("_stage_low")),
        pl.when(reported_total).then(finetune_high).otherwise(pl.col("_stage_high")),
    )
    own = (
        stage_part[0] + pl.col(extra),
        stage_part[1] + pl.col(extra_low),
        pl.when(~pl.col(extra_open)).then(stage_part[2] + pl.col(extra_high)),
    )
    if pointer is None or not pointer.len():
        frame = frame.with_columns(*(pl.lit(None, pl.Float64).alias(f"_original{i}") for i in range(3)))  # fmt: skip
    else:
        frame = frame.with_columns(*(pl.col(c).gather(pl.lit(pointer)).alias(f"_original{i}") for i, c in enumerate(names)))  # fmt: skip
    # The base's organization, from its row by name (whether or not its compute is followed).
    organizations = frame.select(
        pl.col("system").alias("base_model"), pl.col("organization").alias("_original_organization")
    ).unique("base_model", keep="first", maintain_order=True)
    frame = frame.join(organizations, on="base_model", how="left", maintain_order="left")
    given_low, given_high = interval(given, rounding_sigma(given))
    # Each figure is staged as a column before the probabilities read it: written in place,
    # their expressions would be copied into every use, and planning them would cost more
    # than computing them.
    frame = frame.with_columns(
        pl.when(given.is_not_null()).then(figure).otherwise(pl.col(f"_original{i}")).alias(f"_original{i}")
        for i, figure in enumerate((given, given_low, given_high))
    )  # fmt: skip
    original = [pl.col(f"_original{i}") for i in range(3)]
    same = (pl.col("organization").str.to_lowercase() == pl.col("_original_organization").str.to_lowercase()).fill_null(False)  # fmt: skip
    applies = fine_tune & ~same & own[0].is_not_null()
    known = original[0].is_not_null()
    bar = EU_MODIFICATION_BARS[1]
    frame = frame.with_columns(
        *(pl.when(applies).then(value).alias(name) for name, value in zip(MODIFICATION_COLUMNS, own, strict=True)),
        pl.when(applies & known).then(original[0] * EU_MODIFICATION_SHARE).alias(MODIFICATION_BAR),
    )  # fmt: skip
    own = tuple(pl.col(c) for c in MODIFICATION_COLUMNS)  # null where the test does not apply
    return frame.with_columns(
        pl.when(applies & known).then(probability_first_exceeds(own, tuple(original), EU_MODIFICATION_SHARE))
        .when(applies).then(probability_above(*own, bar))
        .alias(MODIFICATION_PROBABILITY),
    ).with_columns(
        add_flags({"original_compute_unknown": applies & ~known}),
        add_notes(pl.when(applies & ~known).then(pl.lit(
            "EU modification test against the bar of 1e23/3 FLOP: the original model's compute is unknown"
        ))),
    ).drop("_original0", "_original1", "_original2", "_original_organization")  # fmt: skip


# The EU modification test's figures on `estimates`: the fine-tune's own compute, its interval
# and the bar it is tested against (a third of the original's; blank when that is unknown).
MODIFICATION_COLUMNS = (
    "eu_modification_flop",
    "eu_modification_low_flop",
    "eu_modification_high_flop",
)
MODIFICATION_BAR = "eu_modification_threshold_flop"
MODIFICATION_PROBABILITY = "eu_modification_probability"

"""The report's section on regulatory thresholds: the systems near each threshold of the EU AI
Act's and California's rules, with their intervals, coloured by the probability of being above
it, and the list of those whose side of the line is uncertain."""

from __future__ import annotations

import html

import altair as alt
import polars as pl

from pipeline.estimate.rule_table import compute_by_rule
from pipeline.estimate.rules import RULES
from pipeline.estimate.thresholds import MODIFICATION_COLUMNS, rule_columns

# The rules a regulator applies (the epoch rule's thresholds repeat theirs).
REGULATORY_RULES = ("eu-parameter-updates", "eu-cumulative", "sb53")
# A system is near a threshold when its estimate is within this factor of it, or its side of
# the line is uncertain: the probability of being above is between these.
NEAR_FACTOR = 10.0
UNCERTAIN = (0.05, 0.95)
MAX_NEAR_ROWS = 300  # drawn and listed, the nearest first: a page a browser opens at any size


# The colour of each band of the probability of being above a threshold.
BANDS = {
    "under 0.05": "#4575b4",
    "0.05 to 0.5": "#91bfdb",
    "0.5 to 0.95": "#fc8d59",
    "over 0.95": "#d73027",
    "unknown (a lower bound)": "#9d9d9d",
}


def probability_band(probability: pl.Expr) -> pl.Expr:
    names = list(BANDS)
    return (
        pl.when(probability.is_null()).then(pl.lit(names[4]))
        .when(probability < UNCERTAIN[0]).then(pl.lit(names[0]))
        .when(probability < 0.5).then(pl.lit(names[1]))
        .when(probability <= UNCERTAIN[1]).then(pl.lit(names[2]))
        .otherwise(pl.lit(names[3]))
    )  # fmt: skip


def threshold_rows(estimates: pl.DataFrame) -> pl.DataFrame | None:
    """Systems near each regulatory threshold, or None for a database written before the
    accounting rules (it lacks their columns)."""
    needed = {c for rule in RULES for c in rule_columns(rule)} | {"stage", "flags"}
    needed |= {
        *MODIFICATION_COLUMNS,
        "eu_modification_threshold_flop",
        "eu_modification_probability",
    }
    if not needed.issubset(estimates.columns):
        return None
    table = compute_by_rule(estimates).filter(
        pl.col("rule").is_in(REGULATORY_RULES), pl.col("estimate_flop").is_not_null()
    )
    ratio = pl.col("estimate_flop") / pl.col("threshold_flop")
    probability = pl.col("probability_above")
    uncertain = probability.is_between(*UNCERTAIN) | probability.is_null()
    # The nearest first, so that a capped list keeps those whose side is least clear.
    return (
        table.with_columns(uncertain.alias("uncertain"))
        .filter(ratio.is_between(1 / NEAR_FACTOR, NEAR_FACTOR) | pl.col("uncertain"))
        .sort([ratio.log10().abs(), "system", "rule"])
        .head(MAX_NEAR_ROWS)
        .sort(["rule", "estimate_flop", "system"], descending=[False, True, False])
    )


def threshold_chart(rows: pl.DataFrame) -> alt.TopLevelMixin:
    """One panel per rule: each system's estimate and 90% interval against the threshold."""
    panels = []
    for rule in REGULATORY_RULES:
        part = rows.filter(pl.col("rule") == rule)
        if not part.height:
            continue
        values = part.select(
            "system", "estimate_flop", "low_flop",
            pl.coalesce("high_flop", "estimate_flop").alias("high_flop"),
            "probability_above", probability_band(pl.col("probability_above")).alias("band"),
        ).to_dicts()  # fmt: skip
        threshold = RULES[rule].thresholds[0]
        scale = alt.Scale(type="log")
        order = part.sort("estimate_flop", "system", descending=[True, False])["system"].to_list()
        base = alt.Chart(alt.Data(values=values)).encode(
            y=alt.Y("system:N", sort=order, title=None)
        )
        # Bands, not a gradient: a gradient legend's id changes with each chart rendered.
        colour = alt.Color(
            "band:N", title="P(above)",
            scale=alt.Scale(domain=list(BANDS), range=list(BANDS.values())),
        )  # fmt: skip
        bars = base.mark_rule().encode(
            x=alt.X("low_flop:Q", scale=scale, title="FLOP"), x2="high_flop:Q"
        )
        dots = base.mark_point(filled=True, size=50).encode(
            x=alt.X("estimate_flop:Q", scale=scale), color=colour,
            tooltip=["system:N", alt.Tooltip("estimate_flop:Q", format=".2e"),
                     alt.Tooltip("probability_above:Q", format=".2f")],
        )  # fmt: skip
        line = alt.Chart(alt.Data(values=[{"t": threshold}])).mark_rule(strokeDash=[4, 4], color="#333").encode(x="t:Q")  # fmt: skip
        panels.append(
            alt.layer(bars, dots, line).properties(
                width=620, height=alt.Step(14), title=f"{rule}: threshold {threshold:.0e} FLOP"
            )
        )
    return alt.vconcat(*panels)


def threshold_section(rows: pl.DataFrame | None, table) -> str:  # noqa: ANN001 (page._table)
    """The section's HTML; `table` renders a sortable table as the page's other tables are."""
    if rows is None:
        return (
            '<p class="note" id="thresholds-none">This database was written before flopsheet '
            "counted compute by accounting rule; run <code>flopsheet estimate</code> again.</p>"
        )
    if not rows.height:
        return (
            '<p class="note" id="thresholds-none">No system is within '
            f"{NEAR_FACTOR:g}x of a threshold or uncertain of its side.</p>"
        )
    uncertain = rows.filter(pl.col("uncertain")).with_columns(pl.col("probability_above").round(3))
    columns = [("rule", "rule"), ("threshold_flop", "threshold"), ("system", "system"),
               ("estimate_flop", "estimate"), ("low_flop", "90% low"), ("high_flop", "90% high"),
               ("probability_above", "P(above)"), ("stages_counted", "stages counted")]  # fmt: skip
    rules = ", ".join(f"{r} ({RULES[r].thresholds[0]:.0e} FLOP)" for r in REGULATORY_RULES)
    return (
        f'<p class="note">Systems within {NEAR_FACTOR:g}x of a threshold of {html.escape(rules)}, '
        "with their 90% intervals, coloured by the probability that the compute the rule counts "
        "is above the threshold (from each estimate's distribution, not its point; see "
        "docs/rules.md). The dashed line is the threshold.</p>"
        '<div class="chart" id="chart-thresholds"></div>'
        f"<h3>Uncertain side of the line ({uncertain.height} system-thresholds, "
        f"P(above) from {UNCERTAIN[0]:g} to {UNCERTAIN[1]:g}, or unknown for a lower bound)</h3>"
        + table("thresholds-uncertain", columns, uncertain.to_dicts())
    )

"""The report's charts: Vega-Lite specifications built with altair from `ReportData`, and each
chart rendered as PNG and SVG with vl-convert. Data are inlined as plain values, so that a
chart needs nothing from the network."""

from __future__ import annotations

import math

import altair as alt
import polars as pl

from pipeline.report.data import AGREEMENT_FACTOR, INTERVAL_COLUMNS, NO_SOURCE, ReportData
from pipeline.report.thresholds import threshold_chart
from pipeline.report.trends import DEEP_LEARNING_START, doubling_text

# `geometric_mean` is what databases written before the weighted reconciliation call it.
SOURCE_ORDER = (
    "reported", "weighted_mean", "geometric_mean", "ops", "hardware", "base_model", "stages",
    NO_SOURCE,
)  # fmt: skip
SOURCE_COLOURS = ("#4c78a8", "#54a24b", "#54a24b", "#f58518", "#b279a2", "#72b7b2", "#eeca3b",
                  "#9d9d9d")  # fmt: skip
CHART_WIDTH = 760
# A chart draws at most this many points, so that a database of a million systems still makes
# a page a browser opens; the fits, counts and notes use every row.
MAX_CHART_POINTS = 5_000


def shown(frame: pl.DataFrame, limit: int = MAX_CHART_POINTS) -> pl.DataFrame:
    """`frame`, or every k-th of its rows (in its own order) when it has more than `limit`:
    an even, deterministic thinning."""
    if frame.height <= limit:
        return frame
    return frame.gather_every(math.ceil(frame.height / limit))


def shown_note(rows: int, what: str) -> str:
    """What `shown` drew of `rows` rows, when it thinned them."""
    if rows <= MAX_CHART_POINTS:
        return ""
    step = math.ceil(rows / MAX_CHART_POINTS)
    return (
        f" The chart draws one in every {step:,} of the {rows:,} {what}"
        f" ({math.ceil(rows / step):,} points); counts and fits use them all."
    )


def _values(frame: pl.DataFrame) -> list[dict]:
    """Rows as JSON-ready dicts (dates as ISO text, lists joined)."""
    converted = frame.with_columns(
        pl.col(name).dt.strftime("%Y-%m-%d")
        if dtype == pl.Date
        else pl.col(name).list.join(", ")
        if dtype == pl.List(pl.String)
        else pl.col(name)
        for name, dtype in frame.schema.items()
    )
    return converted.to_dicts()


def _source_scale(present: list[str]) -> alt.Scale:
    order = [s for s in SOURCE_ORDER if s in present] + sorted(
        s for s in set(present) if s not in SOURCE_ORDER
    )
    colours = dict(zip(SOURCE_ORDER, SOURCE_COLOURS, strict=True))
    extra = ["#e45756", "#eeca3b", "#ff9da6", "#9d755d"]
    return alt.Scale(
        domain=order, range=[colours.get(s) or extra[i % len(extra)] for i, s in enumerate(order)]
    )


def _log_domain(values: list[float], pad: float = 1.0) -> list[float]:
    low, high = min(values), max(values)
    return [10.0 ** math.floor(math.log10(low) - pad), 10.0 ** math.ceil(math.log10(high) + pad)]


def _flop_axis(domain: list[float], most: int = 10) -> alt.Axis:
    """Ticks at whole powers of ten only (a log axis draws every minor tick otherwise)."""
    low, high = round(math.log10(domain[0])), round(math.log10(domain[1]))
    step = max(1, math.ceil((high - low) / most))
    return alt.Axis(format="~e", values=[10.0**k for k in range(low, high + 1, step)])


def trend_chart(data: ReportData) -> alt.TopLevelMixin:
    points = shown(data.points)
    fields = ["system", "organization", "publication_date", "year", "estimate_flop"]
    fields += ["estimate_source", "ops_rule", "flags", "large_scale"]
    fields += list(INTERVAL_COLUMNS) if data.has_interval else []
    fields += ["confidence"] if data.has_confidence else []
    values = _values(points.select(fields))
    tooltip = [
        alt.Tooltip("system:N"),
        alt.Tooltip("organization:N"),
        alt.Tooltip("publication_date:N", title="published"),
        alt.Tooltip("estimate_flop:Q", title="FLOP", format=".3~e"),
        alt.Tooltip("estimate_source:N", title="source"),
        alt.Tooltip("ops_rule:N", title="method 1 rule"),
    ]
    if data.has_interval:
        tooltip += [
            alt.Tooltip("estimate_low_flop:Q", title="low", format=".3~e"),
            alt.Tooltip("estimate_high_flop:Q", title="high", format=".3~e"),
        ]
    if data.has_confidence:
        tooltip.append(alt.Tooltip("confidence:N"))
    tooltip += [alt.Tooltip("flags:N"), alt.Tooltip("large_scale:N", title="large-scale")]
    years = points["year"].to_list() or [DEEP_LEARNING_START, DEEP_LEARNING_START + 1]
    extent = points["estimate_flop"].to_list() or [1.0, 10.0]
    if data.has_interval:  # the bars must fit too
        for column in INTERVAL_COLUMNS:
            extent += points.filter(pl.col(column) > 0)[column].to_list()
    x = alt.X(
        "year:Q",
        title="publication date",
        scale=alt.Scale(domain=[math.floor(min(years)) - 1, math.ceil(max(years)) + 1], nice=False),
        axis=alt.Axis(format="d", tickMinStep=1, labelFlush=False),
    )
    y_scale = alt.Scale(type="log", domain=_log_domain(extent, pad=0.3), nice=False)
    y = alt.Y(
        "estimate_flop:Q",
        title="training compute (FLOP)",
        scale=y_scale,
        axis=_flop_axis(y_scale.domain),
    )
    base = alt.Chart(alt.Data(values=values, name="points"))
    source_scale = _source_scale(points["estimate_source"].to_list())
    color = alt.Color("estimate_source:N", title="estimate source", scale=source_scale)
    dots = (
        base.mark_circle(size=64, opacity=0.85, stroke="white", strokeWidth=0.5)
        .encode(x=x, y=y, color=color, tooltip=tooltip)
        .add_params(alt.selection_interval(bind="scales", name="zoom"))
    )
    layers = []
    if data.has_interval:
        layers.append(
            base.transform_filter(
                "isValid(datum.estimate_low_flop) && isValid(datum.estimate_high_flop)"
            )
            .mark_rule(strokeWidth=1.5, opacity=0.5)
            .encode(
                x=x,
                y=alt.Y("estimate_low_flop:Q", scale=y_scale, title="training compute (FLOP)"),
                y2="estimate_high_flop:Q",
                color=alt.value("#777777"),  # a legend-less colour would hide the points' legend
                tooltip=tooltip,
            )
        )
    layers.append(dots)
    lines = []
    for trend in data.trends:
        if not trend.fitted:
            continue
        for year in (trend.first_year, trend.last_year):
            lines.append(
                {
                    "trend": trend.label,
                    "year": year,
                    "estimate_flop": 10 ** (trend.intercept + trend.slope * year),
                    "doubling": doubling_text(trend),
                }
            )
    if lines:
        layers.append(
            alt.Chart(alt.Data(values=lines, name="trends"))
            .mark_line(color="#333333", strokeWidth=1.5, clip=True)
            .encode(
                x=x,
                y=y,
                strokeDash=alt.StrokeDash(
                    "trend:N",
                    title="fitted trend",
                    sort=[t.label for t in data.trends if t.fitted],
                ),
                tooltip=[alt.Tooltip("trend:N"), alt.Tooltip("doubling:N", title="doubling time")],
            )
        )
    return alt.layer(*layers).properties(
        width=CHART_WIDTH, height=440, title="Training compute of ML systems by publication date"
    )


def methods_chart(data: ReportData) -> alt.TopLevelMixin:
    frame = shown(data.methods.sort("system"))
    values = _values(
        frame.select(
            "system",
            "ops_flop",
            "hardware_flop",
            "ratio",
            "ops_rule",
            "implied_utilization",
            "estimate_source",
            pl.when("outside_band")
            .then(pl.lit(f"outside {AGREEMENT_FACTOR:g}x"))
            .otherwise(pl.lit(f"within {AGREEMENT_FACTOR:g}x"))
            .alias("agreement"),
        )
    )
    flops = frame["ops_flop"].to_list() + frame["hardware_flop"].to_list() or [1e15, 1e25]
    domain = _log_domain(flops, pad=0.5)
    scale = alt.Scale(type="log", domain=domain, nice=False)
    y_title = "method 1: counting operations (FLOP)"
    axis = _flop_axis(domain)
    x = alt.X("hardware_flop:Q", title="method 2: hardware time (FLOP)", scale=scale, axis=axis)
    y = alt.Y("ops_flop:Q", title=y_title, scale=scale, axis=axis)
    # The band: y between x / 3 and 3 x, drawn from points spaced evenly in log space.
    low_exp, high_exp = math.log10(domain[0]), math.log10(domain[1])
    steps = [low_exp + (high_exp - low_exp) * i / 8 for i in range(9)]
    band_values = [
        {"hardware_flop": 10**s, "low": 10**s / AGREEMENT_FACTOR, "high": 10**s * AGREEMENT_FACTOR}
        for s in steps
    ]
    band = (
        alt.Chart(alt.Data(values=band_values, name="band"))
        .mark_area(opacity=0.15, color="#4c78a8", clip=True)
        .encode(x=x, y=alt.Y("low:Q", scale=scale, title=y_title), y2="high:Q")
    )
    identity = (
        alt.Chart(
            alt.Data(values=[{"hardware_flop": d, "ops_flop": d} for d in domain], name="identity")
        )
        .mark_line(color="#4c78a8", strokeDash=[4, 3], clip=True)
        .encode(x=x, y=y)
    )
    base = alt.Chart(alt.Data(values=values, name="methods"))
    dots = base.mark_circle(size=64, opacity=0.85).encode(
        x=x,
        y=y,
        color=alt.Color(
            "agreement:N",
            title="methods agree",
            scale=alt.Scale(
                domain=[f"within {AGREEMENT_FACTOR:g}x", f"outside {AGREEMENT_FACTOR:g}x"],
                range=["#4c78a8", "#e45756"],
            ),
        ),
        tooltip=[
            alt.Tooltip("system:N"),
            alt.Tooltip("ops_flop:Q", title="method 1", format=".3~e"),
            alt.Tooltip("ops_rule:N", title="method 1 rule"),
            alt.Tooltip("hardware_flop:Q", title="method 2", format=".3~e"),
            alt.Tooltip("ratio:Q", title="method 1 / method 2", format=".3~r"),
            alt.Tooltip("implied_utilization:Q", title="implied utilization", format=".3~r"),
            alt.Tooltip("estimate_source:N", title="source"),
        ],
    )
    labels = (
        base.transform_filter(f"datum.agreement == 'outside {AGREEMENT_FACTOR:g}x'")
        .mark_text(align="left", dx=7, dy=-4, fontSize=11, color="#b23a3a")
        .encode(x=x, y=y, text="system:N")
    )
    return alt.layer(band, identity, dots, labels).properties(
        width=560,
        height=480,
        title=f"Method 1 against method 2 (line: y = x; band: within {AGREEMENT_FACTOR:g}x)",
    )


def utilization_chart(data: ReportData) -> alt.TopLevelMixin:
    frame = shown(data.utilization.sort("system"))
    values = _values(
        frame.select(
            "system",
            "implied_utilization",
            "utilization_used",
            pl.col("utilization_source").fill_null("unknown").alias("prior"),
        )
    )
    implied = frame["implied_utilization"].to_list()
    upper = max([1.05, *(math.ceil(v * 20) / 20 + 0.05 for v in implied)])
    upper = min(upper, 10.0)  # one absurd value must not flatten the rest
    x_scale = alt.Scale(domain=[0, upper], nice=False, clamp=True)
    prior_colours = {
        "prior": "#f58518",
        "default_language": "#f58518",
        "default_other": "#54a24b",
        "reported": "#4c78a8",
        "unknown": "#9d9d9d",
    }
    present = {row["prior"] for row in values}
    prior_domain = [p for p in prior_colours if p in present] + sorted(present - set(prior_colours))
    bars = (
        alt.Chart(alt.Data(values=values, name="utilization"))
        .mark_bar(opacity=0.85)
        .encode(
            x=alt.X(
                "implied_utilization:Q",
                bin=alt.Bin(step=0.05, extent=[0, upper]),
                title="implied utilization = method 1 / (chip seconds x peak)",
                scale=x_scale,
            ),
            y=alt.Y("count():Q", title="systems", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color(
                "prior:N",
                title="utilization used by method 2",
                scale=alt.Scale(
                    domain=prior_domain,
                    range=[prior_colours.get(p, "#9d9d9d") for p in prior_domain],
                ),
            ),
            tooltip=[alt.Tooltip("count():Q", title="systems"), alt.Tooltip("prior:N")],
        )
    )
    layers = [bars]
    rules = [
        {
            "x": row["utilization_used"],
            "label": f"{row['utilization_source']} {row['utilization_used']:.2f}".replace(
                "default_", "default prior, "
            ),
            "kind": "utilization prior",
        }
        for row in data.priors.iter_rows(named=True)
    ]
    if data.utilization_bounds is not None:
        low, high = data.utilization_bounds
        rules += [
            {"x": low, "label": f"low bound {low:g}", "kind": "plausible range"},
            {"x": high, "label": f"high bound {high:g}", "kind": "plausible range"},
        ]
    if rules:
        rule_base = alt.Chart(alt.Data(values=rules, name="rules"))
        layers.append(
            rule_base.mark_rule(strokeWidth=2).encode(
                x=alt.X("x:Q", scale=x_scale),
                color=alt.value("#333333"),
                strokeDash=alt.StrokeDash(
                    "kind:N",
                    title="rules",
                    scale=alt.Scale(
                        domain=["utilization prior", "plausible range"], range=[[1, 0], [4, 3]]
                    ),
                ),
                tooltip=[alt.Tooltip("label:N")],
            )
        )
        layers.append(
            rule_base.mark_text(
                angle=270, align="right", baseline="bottom", dx=-4, dy=-3, fontSize=10
            ).encode(x=alt.X("x:Q", scale=x_scale), y=alt.value(0), text="label:N")
        )
    return alt.layer(*layers).properties(
        width=CHART_WIDTH,
        height=300,
        title="Implied utilization where both methods apply, against the priors",
    )


def counts_chart(
    frame: pl.DataFrame, title: str, axis_title: str, scale: alt.Scale | None = None
) -> alt.TopLevelMixin:
    values = _values(frame)
    colour = (
        alt.Color("value:N", scale=scale, legend=None)
        if scale is not None
        else alt.Color(
            "needs_attention:N",
            title="needs attention",
            scale=alt.Scale(domain=[True, False], range=["#e45756", "#9d9d9d"]),
        )
        if "needs_attention" in frame.columns
        else alt.value("#4c78a8")
    )
    order = frame["value"].to_list()
    base = alt.Chart(alt.Data(values=values)).encode(
        y=alt.Y("value:N", title=axis_title, sort=order),
        x=alt.X("count:Q", title="systems", axis=alt.Axis(tickMinStep=1)),
    )
    bars = base.mark_bar().encode(color=colour, tooltip=["value:N", "count:Q"])
    text = base.mark_text(align="left", dx=3, fontSize=11).encode(text="count:Q")
    return alt.layer(bars, text).properties(width=420, height=alt.Step(18), title=title)


def build_charts(data: ReportData) -> dict[str, alt.TopLevelMixin]:
    """Every chart of the report, by the name its files take, in the order of the page."""
    charts = {
        "compute_trend": trend_chart(data),
        "methods": methods_chart(data),
        "utilization": utilization_chart(data),
        "by_source": counts_chart(
            data.by_source,
            "Systems by estimate source",
            "estimate source",
            _source_scale(data.by_source["value"].to_list()),
        ),
    }
    if data.by_confidence is not None:
        charts["by_confidence"] = counts_chart(
            data.by_confidence, "Systems by confidence", "confidence"
        )
    charts["by_flag"] = counts_chart(data.by_flag, "Systems by flag", "flag")
    if data.thresholds is not None and data.thresholds.height:
        charts["thresholds"] = threshold_chart(data.thresholds)
    return charts


def chart_specs(charts: dict[str, alt.TopLevelMixin]) -> dict[str, dict]:
    return {name: chart.to_dict() for name, chart in charts.items()}

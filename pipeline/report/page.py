"""The report's page: one self-contained HTML file of the charts and tables, and
`write_report`, which writes it with each chart as PNG and SVG.

The page needs nothing from the network: the Vega, Vega-Lite and Vega-Embed libraries (from
vl-convert's bundle), the chart data, the styles (page.css) and the script that draws the charts
and sorts and filters the tables (page.js) are all in the one file. The same database gives a
byte-identical page: everything is sorted by stable keys and the only times shown are those the
database holds.
"""

from __future__ import annotations

import html
import json
import os
import shutil
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

import polars as pl
import vl_convert as vlc

from pipeline.defaults import DEFAULT_THRESHOLD
from pipeline.errors import InputFileError
from pipeline.report import REPORT_HTML
from pipeline.report.charts import build_charts, chart_specs, shown_note
from pipeline.report.data import AGREEMENT_FACTOR, ReportData, load_report_data
from pipeline.report.images import chart_files
from pipeline.report.thresholds import threshold_section
from pipeline.report.trends import Trend, doubling_text
from pipeline.version import __version__
from schemas.estimates import INFORMATIONAL_FLAGS

# The attention table lists at most this many rows, so that a database of a million systems
# still makes a page a browser opens; its note counts them all.
MAX_TABLE_ROWS = 2_000
MAX_NAMED_OUTSIDE = 30  # systems outside the methods' band named in the note


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    charts: list[Path]


def _asset(name: str) -> str:
    """A file of this package that the page inlines."""
    return files("pipeline.report").joinpath(name).read_text(encoding="utf-8")


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _flop(value: float | None) -> str:
    return "" if value is None else f"{value:.3g}"


def _script_json(data: object) -> str:
    """JSON that is safe inside a <script> element."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _table(
    table_id: str, columns: list[tuple[str, str]], rows: list[dict], *, caption: str = ""
) -> str:
    """A sortable, filterable table. `columns` are (key, heading); a key ending in _flop or a
    numeric value sorts by number."""
    head = "".join(f'<th scope="col" tabindex="0">{_e(title)}</th>' for _, title in columns)
    body = []
    for row in rows:
        cells = []
        for key, _ in columns:
            value = row.get(key)
            if isinstance(value, float) and key.endswith("_flop"):
                cells.append(f'<td class="num" data-sort="{value!r}">{_flop(value)}</td>')
            elif isinstance(value, float):
                cells.append(f'<td class="num" data-sort="{value!r}">{value:.3g}</td>')
            elif isinstance(value, int) and not isinstance(value, bool):
                cells.append(f'<td class="num" data-sort="{value}">{value}</td>')
            else:
                cells.append(f"<td>{_e(value)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    total = len(rows)
    return (
        f'<div class="table-tools"><label>Filter <input type="search" id="{table_id}-filter" '
        f'data-table="{table_id}" placeholder="text in any column; several words: all must match" '
        f'size="48"></label> <span class="count" id="{table_id}-count">{total} of {total} rows'
        "</span></div>"
        f'<table class="data sortable" id="{table_id}">'
        + (f"<caption>{_e(caption)}</caption>" if caption else "")
        + f"<thead><tr>{head}</tr></thead><tbody>"
        + "\n".join(body)
        + "</tbody></table>"
    )


def _counts_table(frame: pl.DataFrame, heading: str, table_id: str, total: bool = True) -> str:
    """Counts as a table; the total only where each system is counted once."""
    rows = "".join(
        f'<tr><td>{_e(value)}</td><td class="num">{count}</td></tr>'
        for value, count in frame.select("value", "count").iter_rows()
    )
    foot = (
        f'<tfoot><tr><td>total</td><td class="num">{int(frame["count"].sum())}</td></tr></tfoot>'
        if total and frame.height
        else ""
    )
    return (
        f'<table class="data counts" id="{table_id}"><thead><tr><th>{_e(heading)}</th>'
        f"<th>systems</th></tr></thead><tbody>{rows}</tbody>{foot}</table>"
    )


def _trend_table(trends: list[Trend]) -> str:
    rows = []
    for trend in trends:
        if trend.fitted:
            growth = 10**trend.slope
            cells = (
                f'<td class="num" data-era="{trend.era}">{trend.n}</td>'
                f"<td>{trend.first_year:.1f} to {trend.last_year:.1f}</td>"
                f'<td class="num doubling">{_e(doubling_text(trend))}</td>'
                f'<td class="num">{growth:.2f}x</td><td class="num">{trend.slope:.3f} '
                f"&plusmn; {trend.slope_se:.3f}</td>"
                f'<td class="num">{trend.r2:.2f}</td>'
            )
        else:
            cells = (
                f'<td class="num" data-era="{trend.era}">{trend.n}</td><td></td>'
                f'<td colspan="4">no fit: {_e(trend.note)}</td>'
            )
        rows.append(
            f'<tr id="trend-{trend.era}"><th scope="row">{_e(trend.label)}<div class="rule">{_e(trend.rule)}</div></th>{cells}</tr>'
        )
    return (
        '<table class="data" id="trends"><thead><tr><th>systems fitted</th><th>n</th>'
        "<th>years</th><th>doubling time</th><th>growth per year</th>"
        "<th>slope (log10 FLOP per year) &plusmn; s.e.</th><th>R&sup2;</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


@cache
def javascript_bundle() -> str:
    """Vega, Vega-Lite and Vega-Embed in one script, as vl-convert ships them."""
    return vlc.javascript_bundle()


def numbers(data: ReportData) -> dict:
    """The figures the page states, as data: the browser test compares them with SQL."""
    return {
        "totals": data.totals,
        "counts": {
            "estimate_source": dict(data.by_source.select("value", "count").iter_rows()),
            "confidence": None
            if data.by_confidence is None
            else dict(data.by_confidence.select("value", "count").iter_rows()),
            "flag": dict(data.by_flag.select("value", "count").iter_rows()),
        },
        "trends": [trend.as_dict() for trend in data.trends],
        "methods": {
            "both": data.methods.height,
            "outside_band": data.methods.filter("outside_band").height,
        },
        "attention_rows": data.attention.height,
        "published_runs": data.published_runs,
        "run_id": None if data.run is None else data.run["run_id"],
        "changes": data.change_counts if data.changes is not None else None,
    }


def _run_line(data: ReportData) -> str:
    if data.run is None:
        return "This database keeps no run history."
    run = data.run
    started = run["started_at"]
    started = f"{started:%Y-%m-%d %H:%M:%S} UTC" if hasattr(started, "strftime") else started
    return (
        f"Run <code>{_e(run['run_id'])}</code>, started {_e(started)}; "
        f"{data.published_runs} published run(s) in this database."
    )


def _changes_section(data: ReportData) -> str:
    if data.changes is None:
        return (
            '<p class="note" id="changes-none">One published run so far: nothing to compare. '
            "The next refresh that publishes lists the systems it added, removed and changed "
            "here.</p>"
        )
    run_a, run_b = data.compared_runs
    counts = data.change_counts
    columns = [
        ("change", "change"),
        ("system", "system"),
        ("old_estimate_flop", "old FLOP"),
        ("new_estimate_flop", "new FLOP"),
        ("relative_change", "relative change"),
        ("old_source", "old source"),
        ("new_source", "new source"),
        ("old_flags", "old flags"),
        ("new_flags", "new flags"),
    ]
    intro = (
        f"<p>From run <code>{_e(run_a)}</code> to <code>{_e(run_b)}</code>: "
        f'<span id="changes-counts">{counts["added"]} added, {counts["removed"]} removed, '
        f"{counts['changed']} changed</span> (an estimate that moved by more than "
        f"{DEFAULT_THRESHOLD:.0%}, or a changed source or set of flags; as "
        "<code>flopsheet diff</code>).</p>"
    )
    return intro + _table("changes", columns, data.changes.to_dicts())


def render_html(data: ReportData, specs: dict[str, dict]) -> str:
    """The whole page as text: the same data give the same bytes."""
    totals = data.totals
    summary = "".join(
        f"<div><b>{value}</b>{_e(label)}</div>"
        for label, value in (
            ("systems", totals["systems"]),
            ("with an estimate", totals["estimated"]),
            ("without an estimate", totals["without_estimate"]),
            ("flagged", totals["flagged"]),
            ("rows rejected", totals["rejected_rows"]),
            ("need attention", data.attention.height),
        )
    )
    interval_note = (
        "Bars show each estimate's interval (estimate_low_flop to estimate_high_flop)."
        if data.has_interval
        else "This database has no estimate intervals (columns estimate_low_flop and "
        "estimate_high_flop), so no interval bars are drawn."
    )
    skipped = totals["without_date"]
    date_note = (
        f" {skipped} estimated system(s) without a publication date are not plotted."
        if skipped
        else ""
    )
    outside = data.methods.filter("outside_band")["system"].sort().to_list()
    named = f": {', '.join(outside)}." if 0 < len(outside) <= MAX_NAMED_OUTSIDE else "."
    methods_note = (
        f"{data.methods.height} systems have both methods; {len(outside)} fall outside "
        f"{AGREEMENT_FACTOR:g}x of each other" + named
    ) + shown_note(data.methods.height, "systems with both methods")
    attention = data.attention.head(MAX_TABLE_ROWS)
    attention_note = (
        f" The table lists the first {MAX_TABLE_ROWS:,} of {data.attention.height:,}; query the"
        " database for the rest."
        if data.attention.height > MAX_TABLE_ROWS
        else ""
    )
    priors = ", ".join(
        f"{row['utilization_source']} {row['utilization_used']:.2f} ({row['systems']} systems)"
        for row in data.priors.iter_rows(named=True)
    )
    confidence_block = (
        f'<div><h3>By confidence</h3><div class="chart" id="chart-by_confidence"></div>'
        f"{_counts_table(data.by_confidence, 'confidence', 'counts-confidence')}</div>"
        if data.by_confidence is not None
        else '<div><h3>By confidence</h3><p class="note" id="no-confidence">This database has '
        "no <code>confidence</code> column, so there is nothing to count.</p></div>"
    )
    attention_columns = [
        ("kind", "kind"),
        ("system", "system"),
        ("organization", "organization"),
        ("issue", "needs attention because"),
        ("estimate_flop", "estimate (FLOP)"),
        ("estimate_source", "source"),
        ("source_row", "row"),
        ("other_flags", "other flags"),
        ("details", "details"),
    ]
    version = f"written by flopsheet {_e(data.version)}; " if data.version else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>flopsheet report</title>
<link rel="icon" href="data:,">
<style>
{_asset("page.css")}</style>
</head>
<body>
<main>
<h1>flopsheet report: training compute of ML systems</h1>
<p class="meta">{_run_line(data)} Database {version}report made by flopsheet {_e(__version__)}.</p>
<div class="summary" id="summary">{summary}</div>

<h2 id="trend">Training compute over time</h2>
<p class="note">Each point is a system with an estimate, coloured by where its estimate came from;
hover for details, drag to pan and scroll to zoom. {_e(interval_note)}{_e(date_note)}{_e(shown_note(data.points.height, "plotted systems"))}
Lines are least-squares fits of log10(FLOP) on the fractional publication year; the doubling time
is log10(2) / slope, and its 95% interval comes from the slope's, slope &plusmn; t &times; s.e.
with Student's t at n &minus; 2 degrees of freedom.</p>
<div class="chart" id="chart-compute_trend"></div>
{_trend_table(data.trends)}

<h2 id="methods">Method 1 against method 2</h2>
<p class="note">Counting operations against hardware time, for every system where both apply.
{_e(methods_note)} Systems outside the band are labelled.</p>
<div class="chart" id="chart-methods"></div>

<h2 id="utilization">Implied utilization against the prior</h2>
<p class="note">Implied utilization is what method 1's compute means for the hardware that method 2
counts. Solid rules are the utilization priors that method 2 used where a paper reports none
({_e(priors) or "none used"}); dashed rules bound the plausible range outside which a row is
flagged.{_e(shown_note(data.utilization.height, "systems with an implied utilization"))}</p>
<div class="chart" id="chart-utilization"></div>

<h2 id="counts">Counts</h2>
<div class="row">
<div><h3>By estimate source</h3><div class="chart" id="chart-by_source"></div>
{_counts_table(data.by_source, "estimate source", "counts-source")}</div>
{confidence_block}
<div><h3>By flag</h3><div class="chart" id="chart-by_flag"></div>
{_counts_table(data.by_flag, "flag", "counts-flag", total=False)}
<p class="note">A system can carry several flags.</p></div>
</div>

<h2 id="needs-attention">Rows that need attention</h2>
<p class="note">Estimated rows with a flag beyond the documented assumptions (those are:
{_e(", ".join(sorted(INFORMATIONAL_FLAGS)))}), and every rejected row with its reason. Click a
heading to sort; type to filter.{_e(attention_note)}</p>
{_table("attention", attention_columns, attention.to_dicts())}

<h2 id="thresholds">Regulatory thresholds</h2>
{threshold_section(data.thresholds, _table)}

<h2 id="changes">What changed in the last refresh</h2>
{_changes_section(data)}

<footer>Made with <code>flopsheet report</code>. Vega {_e(vlc.get_vega_version())}, Vega-Lite,
Vega-Embed {_e(vlc.get_vega_embed_version())} are included in this file; it loads nothing.</footer>
</main>
<script type="application/json" id="flopsheet-specs">{_script_json(specs)}</script>
<script type="application/json" id="flopsheet-numbers">{_script_json(numbers(data))}</script>
<script type="module">{javascript_bundle()}</script>
<script type="module">
{_asset("page.js")}</script>
</body>
</html>
"""


def render_files(database: Path) -> dict[str, bytes]:
    """Every file of the report by name, rendered in memory: report.html, then <chart>.png and
    <chart>.svg for each chart."""
    data = load_report_data(database)
    specs = chart_specs(build_charts(data))
    return {REPORT_HTML: render_html(data, specs).encode(), **chart_files(specs)}


def write_report(database: Path, out_dir: Path) -> ReportFiles:
    """Write OUT/report.html and each chart as OUT/<chart>.png and OUT/<chart>.svg.

    Everything is rendered before anything is written. A new folder is written under a staging
    name and renamed into place; in a folder that exists, each file is replaced by a rename and
    nothing else in it is touched. When OUT is a link (DIR/report -> current/report after a
    refresh), the files go into the folder it points to."""
    files = render_files(database)
    out_dir = Path(out_dir)
    target = out_dir.resolve() if out_dir.is_symlink() else out_dir
    if target.exists() and not target.is_dir():
        raise InputFileError(out_dir, "exists and is not a folder")
    if target.is_dir():
        for name, content in files.items():
            temporary = target / f".{name}.tmp-{os.getpid()}"
            temporary.write_bytes(content)
            os.replace(temporary, target / name)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(f".{target.name}.staging-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        try:
            for name, content in files.items():
                (staging / name).write_bytes(content)
            os.rename(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    charts = [out_dir / name for name in files if name != REPORT_HTML]
    return ReportFiles(html=out_dir / REPORT_HTML, charts=charts)

"""The report as a person sees it: rendered from the default dataset and opened in a real
headless Chromium (the system's /usr/bin/chromium, driven by playwright), offline.

Its figures are checked against SQL on the same database, its tables are filtered and sorted
by typing and clicking, and a screenshot is taken. Set FLOPSHEET_UPDATE_SCREENSHOT=1 to also
write docs/report.png, the screenshot in the README.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from pipeline import refresh_dataset as refresh
from pipeline.cli.app import app
from pipeline.publish.runs import read_run_log
from pipeline.report.charts import build_charts, chart_specs
from pipeline.report.data import INFORMATIONAL_FLAGS, load_report_data
from pipeline.report.page import render_html, write_report
from pipeline.report.trends import doubling_text, fit_trend, t_quantile
from tests.conftest import REPO, require_chromium

runner = CliRunner()
SYSTEMS = REPO / "data" / "raw" / "systems.csv"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
CHARTS = ("by_confidence", "by_flag", "by_source", "compute_trend", "methods", "thresholds",
          "utilization")  # fmt: skip
# The report's systems near a regulatory threshold, in SQL: within 10x, or an uncertain side.
NEAR_SQL = """
    SELECT system, rule, probability_above FROM compute_by_rule
    WHERE rule IN ('eu-parameter-updates', 'eu-cumulative', 'sb53') AND estimate_flop IS NOT NULL
    AND (estimate_flop / threshold_flop BETWEEN 0.1 AND 10
         OR probability_above IS NULL OR probability_above BETWEEN 0.05 AND 0.95)
"""

# The fractional year of the report, in SQL: the year plus the share of it elapsed.
YEAR_SQL = (
    "year(publication_date) + (dayofyear(publication_date) - 1)::DOUBLE / "
    "(CASE WHEN (year(publication_date) % 4 = 0 AND year(publication_date) % 100 <> 0) "
    "OR year(publication_date) % 400 = 0 THEN 366 ELSE 365 END)"
)
POINTS_SQL = f"""
    SELECT system, {YEAR_SQL} AS x, log10(estimate_flop) AS y, year(publication_date) AS cal,
        rank() OVER (PARTITION BY year(publication_date) ORDER BY estimate_flop DESC) AS r,
        count(*) OVER (PARTITION BY year(publication_date)) AS per_year
    FROM estimates WHERE estimate_flop > 0 AND publication_date IS NOT NULL
"""
ERA_FILTERS = {
    "all": "TRUE",
    "deep_learning": "cal >= 2010",
    "large_scale": "cal >= 2010 AND r <= ceil(per_year / 4.0)",
}


def sql(database: Path, query: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.sql(query, params=params).fetchall()


def altered_copy(database: Path, folder: Path, statements: str) -> Path:
    """A copy of `database` changed by SQL `statements`: an older or edited database."""
    copy = folder / "altered.duckdb"
    shutil.copyfile(database, copy)
    with duckdb.connect(str(copy)) as connection:
        connection.execute(statements)
    return copy


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """Two published runs: an edited copy of the shipped sheet (Chinchilla's compute doubled,
    AlexNet missing), then data/raw/systems.csv itself. The published dataset is the default
    one, and the last refresh changed Chinchilla and added AlexNet."""
    work = tmp_path_factory.mktemp("dataset")
    edited = work / "edited.csv"
    lines = SYSTEMS.read_text().splitlines(keepends=True)
    edited.write_text(
        "".join(line for line in lines if not line.startswith("AlexNet,")).replace(
            "5.76e23", "1.2e24", 1
        )
    )
    out = work / "out"
    assert refresh([edited], out).status == "published"
    assert refresh([SYSTEMS], out).status == "published"
    return out


@pytest.fixture(scope="module")
def database(dataset) -> Path:
    return dataset / "compute.duckdb"


@pytest.fixture(scope="module")
def rendered(database, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("rendered") / "report"
    result = runner.invoke(app, ["report", "--db", str(database), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"report: {out / 'report.html'}" in result.stdout
    return out


@dataclass
class Browsed:
    page: object
    url: str
    requests: list[str]
    problems: list[str]


@pytest.fixture(scope="module")
def browsed(rendered):
    chromium = require_chromium()
    from playwright.sync_api import sync_playwright

    url = (rendered / "report.html").as_uri()
    requests: list[str] = []
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        page.on("request", lambda request: requests.append(request.url))

        def on_console(message) -> None:
            if message.type in ("error", "warning"):
                problems.append(f"{message.type}: {message.text}")

        def only_the_page(route) -> None:
            # Anything but the page itself is refused: a stray request cannot succeed silently.
            if route.request.url == url:
                route.continue_()
            else:
                route.abort()

        page.on("console", on_console)
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.route("**/*", only_the_page)
        page.goto(url)
        page.wait_for_function("document.body.dataset.chartsReady === 'true'", timeout=60_000)
        yield Browsed(page, url, requests, problems)
        browser.close()


def page_numbers(browsed: Browsed) -> dict:
    return json.loads(browsed.page.locator("#flopsheet-numbers").text_content())


def test_the_page_loads_offline_without_errors(browsed):
    assert browsed.problems == []
    assert browsed.requests == [browsed.url]
    assert browsed.page.title() == "flopsheet report"


def test_every_chart_draws_its_marks(browsed, database):
    page = browsed.page
    assert sorted(page.evaluate("Object.keys(window.flopsheetViews)")) == list(CHARTS)
    for name in CHARTS:
        assert page.locator(f"#chart-{name} svg g.role-mark > *").count() > 0, name
    plotted = sql(
        database,
        "SELECT count(*) FROM estimates WHERE estimate_flop > 0 AND publication_date IS NOT NULL",
    )[0][0]
    both = sql(
        database,
        "SELECT count(*) FROM estimates WHERE ops_flop IS NOT NULL AND hardware_flop IS NOT NULL",
    )[0][0]
    sources = sql(database, "SELECT count(DISTINCT coalesce(estimate_source, '')) FROM estimates")
    assert page.locator("#chart-compute_trend g.mark-symbol.role-mark > path").count() == plotted
    assert page.locator("#chart-methods g.mark-symbol.role-mark > path").count() == both
    assert page.locator("#chart-by_source g.mark-rect.role-mark > path").count() == sources[0][0]
    fitted_eras = page.locator("#chart-compute_trend g.mark-line.role-mark > path")
    assert fitted_eras.count() == 4  # all, before 2010, 2010 on, large-scale


def test_the_thresholds_section_matches_sql(browsed, database):
    page = browsed.page
    near = sql(database, NEAR_SQL)
    assert near, "the shipped sheet has systems near a threshold"
    assert page.locator("#chart-thresholds g.mark-symbol.role-mark > path").count() == len(near)
    uncertain = [row for row in near if row[2] is None or 0.05 <= row[2] <= 0.95]
    assert page.locator("#thresholds-uncertain tbody tr").count() == len(uncertain)


def test_a_database_before_accounting_rules_has_no_thresholds_section(database, tmp_path):
    copy = altered_copy(database, tmp_path, "ALTER TABLE estimates DROP COLUMN eu_cumulative_flop")
    data = load_report_data(copy)
    assert data.thresholds is None
    assert "thresholds" not in build_charts(data)
    assert 'id="thresholds-none"' in render_html(data, {})


def test_a_point_shows_its_tooltip(browsed, database):
    page = browsed.page
    page.locator("#chart-compute_trend").scroll_into_view_if_needed()
    page.locator("#chart-compute_trend g.mark-symbol.role-mark > path").last.hover(force=True)
    tooltip = page.locator("#vg-tooltip-element")
    tooltip.wait_for(state="visible", timeout=10_000)
    names = {row[0] for row in sql(database, "SELECT system FROM estimates")}
    text = tooltip.text_content()
    assert "FLOP" in text and "source" in text and "flags" in text
    assert any(name in text for name in names)
    page.mouse.move(0, 0)


def test_counts_match_sql(browsed, database):
    numbers = page_numbers(browsed)
    by_source = dict(
        sql(
            database, "SELECT coalesce(estimate_source, 'none'), count(*) FROM estimates GROUP BY 1"
        )
    )
    by_flag = dict(
        sql(database, "SELECT flag, count(*) FROM (SELECT unnest(flags) AS flag FROM estimates) GROUP BY 1")
    )  # fmt: skip
    assert numbers["counts"]["estimate_source"] == by_source
    assert numbers["counts"]["flag"] == by_flag
    by_confidence = dict(
        sql(database, "SELECT coalesce(confidence, 'none'), count(*) FROM estimates GROUP BY 1")
    )
    assert numbers["counts"]["confidence"] == by_confidence
    shown = browsed.page.locator("#counts-source tbody tr").all_inner_texts()
    assert {tuple(row.split("\t")) for row in shown} == {(k, str(v)) for k, v in by_source.items()}
    shown = browsed.page.locator("#counts-confidence tbody tr").all_inner_texts()
    assert {tuple(row.split("\t")) for row in shown} == {
        (k, str(v)) for k, v in by_confidence.items()
    }
    systems = sql(database, "SELECT count(*) FROM estimates")[0][0]
    assert numbers["totals"]["systems"] == systems
    assert browsed.page.locator("#summary div").first.inner_text().split("\n")[0] == str(systems)


def test_doubling_times_match_sql(browsed, database):
    trends = {trend["era"]: trend for trend in page_numbers(browsed)["trends"]}
    for era, where in ERA_FILTERS.items():
        slope, sxx, syy, sxy, n = sql(
            database,
            f"SELECT regr_slope(y, x), regr_sxx(y, x), regr_syy(y, x), regr_sxy(y, x), "
            f"regr_count(y, x) FROM ({POINTS_SQL}) WHERE {where}",
        )[0]
        trend = trends[era]
        assert trend["n"] == n
        assert trend["slope"] == pytest.approx(slope, rel=1e-9)
        months = 12 * math.log10(2) / slope
        assert trend["doubling_months"] == pytest.approx(months, rel=1e-9)
        se = math.sqrt((syy - sxy**2 / sxx) / (n - 2) / sxx)
        t = t_quantile(0.95, n - 2)
        low, high = trend["doubling_months_ci"]
        assert low == pytest.approx(12 * math.log10(2) / (slope + t * se), rel=1e-6)
        assert high == pytest.approx(12 * math.log10(2) / (slope - t * se), rel=1e-6)
        row = browsed.page.locator(f"#trend-{era}").inner_text()
        assert f"{months:.1f} months (95% CI {low:.1f} to {high:.1f})" in row
    # Before 2010 the shipped sheet's few systems fall over time: a fit, but no doubling.
    early = sql(
        database, f"SELECT regr_count(y, x), regr_slope(y, x) FROM ({POINTS_SQL}) WHERE cal < 2010"
    )
    assert trends["pre_deep_learning"]["n"] == early[0][0] >= 3
    assert (trends["pre_deep_learning"]["doubling_months"] is None) == (early[0][1] <= 0)


def test_an_era_with_too_few_systems_says_why_it_has_no_fit():
    trend = fit_trend([2001.5, 2004.0], [15.0, 16.0], era="pre_deep_learning", label="", rule="")
    assert trend.doubling_months is None
    assert doubling_text(trend) == "2 system(s): a fit needs 3"


def test_the_attention_table_filters_and_sorts(browsed, database):
    page = browsed.page
    rows = page.locator("#attention tbody tr")
    informational = sorted(INFORMATIONAL_FLAGS)
    flagged = sql(
        database,
        "SELECT count(*) FROM estimates WHERE NOT list_has_all(?, flags)",
        [informational],
    )[0][0]
    rejected = sql(database, "SELECT count(*) FROM rejects")[0][0]
    assert rows.count() == flagged + rejected
    insufficient = sql(
        database, "SELECT count(*) FROM estimates WHERE list_contains(flags, 'insufficient_inputs')"
    )[0][0]
    box = page.locator("#attention-filter")
    box.fill("insufficient")
    assert page.locator("#attention tbody tr:visible").count() == insufficient
    assert page.locator("#attention-count").inner_text() == f"{insufficient} of {rows.count()} rows"
    box.fill("insufficient deepmind")  # several words: all must match
    deepmind = sql(
        database,
        "SELECT count(*) FROM estimates WHERE list_contains(flags, 'insufficient_inputs') "
        "AND organization ILIKE '%deepmind%'",
    )[0][0]
    assert 0 < page.locator("#attention tbody tr:visible").count() == deepmind
    box.fill("")
    assert page.locator("#attention tbody tr:visible").count() == rows.count()

    heading = page.locator("#attention thead th", has_text="estimate (FLOP)")
    heading.click()
    column = page.locator("#attention thead th").all_inner_texts().index(heading.inner_text())
    values = [
        float(v) if v else None
        for v in page.eval_on_selector_all(
            "#attention tbody tr",
            f"rows => rows.map(r => r.cells[{column}].dataset.sort ?? '')",
        )
    ]
    numbers = [v for v in values if v is not None]
    assert numbers == sorted(numbers) and values[: len(numbers)] == numbers  # blanks last
    heading.click()
    assert heading.get_attribute("aria-sort") == "descending"


def test_the_last_refresh_is_listed_as_diff_lists_it(browsed, dataset):
    listed = runner.invoke(app, ["diff", "-o", str(dataset), "--json"])
    changes = {(c["change"], c["system"]) for c in json.loads(listed.stdout)}
    assert changes == {("added", "AlexNet"), ("changed", "Chinchilla")}
    rows = browsed.page.locator("#changes tbody tr").all_inner_texts()
    assert {tuple(row.split("\t")[:2]) for row in rows} == changes
    assert page_numbers(browsed)["changes"] == {"added": 1, "removed": 0, "changed": 1}


def test_screenshot(browsed, tmp_path):
    page = browsed.page
    page.evaluate("window.scrollTo(0, 0)")
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("FLOPSHEET_UPDATE_SCREENSHOT"):
        docs = REPO / "docs" / "report.png"
        docs.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(docs))  # the first screen: summary, trend chart and fits


def test_charts_are_written_as_png_and_svg(rendered):
    for name in CHARTS:
        assert (rendered / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (rendered / f"{name}.svg").read_text().startswith("<svg")
    assert not list(rendered.parent.glob(".*staging*"))


def test_the_same_database_gives_the_same_bytes(rendered, database, tmp_path):
    again = write_report(database, tmp_path / "again")
    assert again.html.read_bytes() == (rendered / "report.html").read_bytes()
    for name in CHARTS:
        assert (tmp_path / "again" / f"{name}.svg").read_bytes() == (
            rendered / f"{name}.svg"
        ).read_bytes()


def test_the_page_loads_nothing(rendered):
    text = (rendered / "report.html").read_text()
    assert "<script src" not in text and '<link rel="stylesheet"' not in text
    assert "vegaEmbed" in text


# --- The command line -------------------------------------------------------------------------


def test_missing_database_is_one_line(tmp_path):
    missing = tmp_path / "none.duckdb"
    result = runner.invoke(app, ["report", "--db", str(missing), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"Error: {missing}: database not found; run `flopsheet estimate` first"
    )
    assert not (tmp_path / "r").exists()


def test_a_file_that_is_not_a_database_is_one_line(tmp_path):
    bad = tmp_path / "bad.duckdb"
    bad.write_text("not a database")
    result = runner.invoke(app, ["report", "--db", str(bad), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith(f"Error: {bad}: cannot open as a DuckDB database")


def test_a_database_without_estimates_is_one_line(tmp_path):
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    result = runner.invoke(app, ["report", "--db", str(empty), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert (
        result.stderr.strip()
        == f"Error: {empty}: has no estimates table; is it a flopsheet database?"
    )


def test_an_existing_folder_keeps_its_other_files(database, tmp_path):
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "index.html").write_text("mine")
    result = runner.invoke(app, ["report", "--db", str(database), "--out", str(folder)])
    assert result.exit_code == 0, result.output
    assert (folder / "index.html").read_text() == "mine"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["index.html", "report.html", *(f"{n}.{e}" for n in CHARTS for e in ("png", "svg"))]
    )
    taken = tmp_path / "taken"
    taken.write_text("a file")
    result = runner.invoke(app, ["report", "--db", str(database), "--out", str(taken)])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"Error: {taken}: exists and is not a folder"


# --- Intervals and confidence, databases without them or without history -------------------


def test_intervals_and_confidence_are_drawn_and_counted(database, tmp_path):
    copy = altered_copy(database, tmp_path, "DROP TABLE runs; DROP TABLE estimate_history;")
    data = load_report_data(copy)
    assert data.has_interval and data.has_confidence
    assert data.run is None and data.changes is None
    by_confidence = dict(sql(copy, "SELECT confidence, count(*) FROM estimates GROUP BY 1"))
    by_confidence = {("none" if k is None else k): v for k, v in by_confidence.items()}
    assert dict(data.by_confidence.select("value", "count").iter_rows()) == by_confidence
    specs = chart_specs(build_charts(data))
    assert "by_confidence" in specs
    marks = [layer["mark"]["type"] for layer in specs["compute_trend"]["layer"]]
    assert marks[:2] == ["rule", "circle"]  # interval bars under the points
    files = write_report(copy, tmp_path / "r")
    page = files.html.read_text()
    assert 'id="chart-by_confidence"' in page and "keeps no run history" in page


def test_a_database_without_interval_columns_draws_no_bars(database, tmp_path):
    copy = altered_copy(
        database,
        tmp_path,
        "ALTER TABLE estimates DROP COLUMN estimate_low_flop; "
        "ALTER TABLE estimates DROP COLUMN estimate_high_flop; "
        "ALTER TABLE estimates DROP COLUMN confidence;",
    )
    specs = chart_specs(build_charts(load_report_data(copy)))
    assert "rule" not in [layer["mark"]["type"] for layer in specs["compute_trend"]["layer"]]
    assert "by_confidence" not in specs


# --- The statistics ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("df", "expected"),
    [
        (1, 12.706204736),
        (2, 4.302652730),
        (10, 2.228138852),
        (30, 2.042272456),
        (1000, 1.962339081),
    ],
)
def test_t_quantile_matches_the_tables(df, expected):
    assert t_quantile(0.95, df) == pytest.approx(expected, abs=1e-7)


def test_a_known_doubling_time_is_recovered():
    years = [2010 + i / 4 for i in range(40)]
    # Compute that doubles every 6 months: two doublings a year.
    log10_flop = [18 + math.log10(2) * (year - 2010) * 2 for year in years]
    trend = fit_trend(years, log10_flop, era="x", label="x", rule="x")
    assert trend.doubling_months == pytest.approx(6.0)
    assert trend.doubling_months_ci == pytest.approx((6.0, 6.0))
    assert fit_trend(years[:2], log10_flop[:2], era="x", label="x", rule="x").slope is None


# --- refresh writes the report, and a failure of it is only a warning ------------------------


def test_refresh_writes_the_report_and_survives_its_failure(tmp_path, monkeypatch):
    import pipeline.report.page as report_module

    sheet = tmp_path / "systems.csv"
    sheet.write_bytes(SYSTEMS.read_bytes())
    out = tmp_path / "out"
    first = refresh([sheet], out, report=True)
    assert first.status == "published" and first.warnings == []
    link = out / "report"
    assert link.is_symlink() and os.readlink(link) == "current/report"
    assert (link / "report.html").is_file()
    assert (out / "runs" / first.run_id / "report" / "compute_trend.png").is_file()

    def broken(database, out_dir):
        raise RuntimeError("no space left for the charts")

    monkeypatch.setattr(report_module, "write_report", broken)
    second = refresh([sheet], out, report=True, force=True)
    assert second.status == "published"  # the dataset is published all the same
    assert second.warnings == ["report not written: RuntimeError: no space left for the charts"]
    assert (out / "current").resolve() == (out / "runs" / second.run_id).resolve()
    assert not (link / "report.html").exists()  # no report rather than the previous run's
    assert read_run_log(out)[0][-1]["status"] == "published"

    monkeypatch.undo()
    third = refresh([sheet], out, report=True)  # nothing changed: a skip, which writes it now
    assert third.status == "skipped" and third.warnings == []
    assert (link / "report.html").is_file()
    assert (out / "runs" / second.run_id / "report" / "report.html").is_file()


def test_refresh_cli_prints_a_report_warning_and_exits_0(tmp_path, monkeypatch):
    import pipeline.report.page as report_module

    def broken(database, out_dir):
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(report_module, "write_report", broken)
    sheet = tmp_path / "systems.csv"
    sheet.write_bytes(SYSTEMS.read_bytes())
    result = runner.invoke(app, ["refresh", str(sheet), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == "warning: report not written: RuntimeError: renderer crashed"
    assert "published run" in result.stdout
    quiet = runner.invoke(
        app, ["refresh", str(sheet), "-o", str(tmp_path / "out2"), "--no-report", "--json"]
    )
    assert quiet.exit_code == 0 and json.loads(quiet.stdout)["warnings"] == []
    assert not (tmp_path / "out2" / "report").exists()


def test_a_large_database_makes_a_page_of_bounded_size(tmp_path):
    from benchmarks.bench import synthetic
    from pipeline.report.charts import MAX_CHART_POINTS, shown  # noqa: PLC0415
    from pipeline.report.page import MAX_TABLE_ROWS  # noqa: PLC0415
    from pipeline.report.thresholds import MAX_NEAR_ROWS  # noqa: PLC0415

    sheet = tmp_path / "large.csv"
    synthetic(12_000).with_columns(
        pl.format("{}-06", 2000 + pl.int_range(pl.len()) % 25).alias("publication_date")
    ).write_csv(sheet)
    out = tmp_path / "out"
    assert runner.invoke(app, ["estimate", str(sheet), "-o", str(out)]).exit_code == 0
    data = load_report_data(out / "compute.duckdb")
    assert data.points.height > MAX_CHART_POINTS
    specs = chart_specs(build_charts(data))

    def inline_sizes(node: object) -> list[int]:
        if isinstance(node, dict):
            own = [len(node["values"])] if isinstance(node.get("values"), list) else []
            return own + [n for value in node.values() for n in inline_sizes(value)]
        return [n for value in node for n in inline_sizes(value)] if isinstance(node, list) else []

    for name in ("compute_trend", "methods", "utilization"):
        assert 0 < max(inline_sizes(specs[name])) <= MAX_CHART_POINTS, name
    page = render_html(data, specs)
    step = math.ceil(data.points.height / MAX_CHART_POINTS)
    assert f"one in every {step} of the {data.points.height:,} plotted systems" in page
    # the attention table, the thresholds table and the small ones
    assert page.count("<tr") <= MAX_TABLE_ROWS + MAX_NEAR_ROWS + 200
    assert len(page) < 8_000_000
    # thinning is even and deterministic: every k-th row in the frame's own order
    frame = pl.DataFrame({"i": range(10_001)})
    assert shown(frame, 5_000)["i"].to_list() == list(range(0, 10_001, 3))
    assert shown(frame, 20_000).height == 10_001


def test_figures_no_chart_can_place_are_drawn_as_unknown(database, tmp_path):
    """A database edited by hand: infinity, NaN, +-1e308 and a date past any calendar."""
    edited = tmp_path / "edited.duckdb"
    edited.write_bytes(Path(database).resolve().read_bytes())
    with duckdb.connect(str(edited)) as connection:
        connection.execute(
            "UPDATE estimates SET estimate_flop = 'inf'::DOUBLE WHERE system = 'GPT-3 175B'"
        )
        connection.execute(
            "UPDATE estimates SET estimate_flop = 'nan'::DOUBLE, ops_flop = 1e308, "
            "hardware_flop = -1e308, implied_utilization = 'inf'::DOUBLE WHERE system = 'Chinchilla'"
        )
        connection.execute(
            "UPDATE estimates SET publication_date = 'infinity'::DATE WHERE system = 'AlexNet'"
        )
    result = runner.invoke(app, ["report", "--db", str(edited), "--out", str(tmp_path / "page")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "page" / "report.html").is_file()

"""/kpi, /region/<code> and /case/<id> in Chromium against the real server (gunicorn,
gevent workers) on the seeded database: what the pages show is compared with the KPI
functions computed directly on that database."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from dashboard.domain import periods
from dashboard.domain.hierarchy import Level
from dashboard.domain.kpis import compute_kpis
from dashboard.domain.metrics import KEYS, value
from dashboard.domain.ranking import ScoreWeights, board_size, rank_children
from dashboard.domain.scope import RegionScope
from dashboard.views import kpi as kpi_view
from dashboard.views import url_state
from data_sources import case_queries
from data_sources.database import make_engine
from data_sources.regions import RegionTree
from data_sources.schema import case, case_event
from tests.clock import past_days
from tests.logins import sign_in

TZ = "Asia/Shanghai"
BUSIEST_COUNTY = "busiest-county-today"
TIMEOUT = 30_000


@pytest.fixture(scope="module")
def db(live_server):
    eng = make_engine(live_server.env["GRIDWATCH_DATABASE_URL"])
    yield eng, RegionTree.load(eng, "320000")
    eng.dispose()


def scope_of(tree, code):
    return RegionScope(code, Level(tree.get(code).level))


def expected_kpis(engine, tree, code, window, now=None):
    now = now or datetime.now(timezone.utc)
    return compute_kpis(case_queries.kpi_counts(engine, scope_of(tree, code), window, now))


def shown_as_of(page) -> datetime:
    """The time the page's figures are as of (they are shared between viewers a while)."""
    return datetime.fromisoformat(page.get_attribute("#as-of", "data-as-of"))


def shown_kpis(page) -> dict[str, float | None]:
    out = {}
    for key in KEYS:
        raw = page.locator(f'#kpi-table td[data-key="{key}"]').get_attribute("data-value")
        out[key] = None if raw == "None" else float(raw)
    return out


def assert_kpis_match(page, engine, tree, code, window, before, cases_expected=True):
    """The page shows the figures as of the time it states (an earlier viewer's, shared),
    which on this unchanging database are the KPI functions at that time. A deadline can
    pass while the page computes, so `before` it was loaded and after it was read are
    accepted too. `cases_expected`: the window holds cases (not a day minutes old)."""
    shown = shown_kpis(page)
    at = expected_kpis(engine, tree, code, window, shown_as_of(page))
    after = expected_kpis(engine, tree, code, window)
    for key in KEYS:
        assert shown[key] in (pytest.approx(value(at, key), abs=0.006),
                              pytest.approx(value(before, key), abs=0.006),
                              pytest.approx(value(after, key), abs=0.006)), key
    assert shown["intake"] > 0 or not cases_expected


def past_week_query(now=None) -> dict[str, str]:
    """The seven whole days before today: seeded at any hour CI runs (a "this week" is
    minutes old on a Monday just after midnight)."""
    start, end = past_days(7, now)
    return {"period": "custom", "from": start, "to": end}


def open_page(page, url):
    page.goto(url)
    page.wait_for_selector(".gw-page, #error-page")


@pytest.mark.parametrize("code, query_of", [
    ("320000", lambda now: {}),
    ("320500", past_week_query),
    (BUSIEST_COUNTY, lambda now: {"period": "today"}),
], ids=["province-this-month", "city-past-week", "county-today"])
def test_kpi_page_shows_the_kpi_functions_of_the_database(page, live_server, db, code,
                                                          query_of):
    sign_in(page, live_server, "leader")
    engine, tree = db
    now = datetime.now(timezone.utc)
    query = query_of(now)
    window = url_state.window(url_state.parse(query), now, TZ)
    if code == BUSIEST_COUNTY:
        # "Today" is minutes old just after midnight (CI runs at any hour, and this
        # database is not written to): the county with the most cases today so far, so
        # that the comparison is about real figures.
        with engine.connect() as conn:
            code = conn.execute(
                sa.select(case.c.county_code).where(case.c.reported_at >= window.start,
                                                    case.c.reported_at < window.end)
                .group_by(case.c.county_code).order_by(sa.func.count().desc(),
                                                       case.c.county_code).limit(1)).scalar()
        if code is None:
            pytest.skip("no case reported anywhere today yet (the first minutes of the day)")
    before = expected_kpis(engine, tree, code, window)
    open_page(page, f"{live_server.url}/kpi?{urlencode({'region': code, **query})}")
    page.wait_for_selector("#kpi-table")
    assert_kpis_match(page, engine, tree, code, window, before,
                      cases_expected=now - window.start > timedelta(hours=2))


def test_kpi_ranking_follows_the_score_and_exports_as_csv(page, live_server, db):
    sign_in(page, live_server, "leader")
    engine, tree = db
    week = past_week_query()
    open_page(page, f"{live_server.url}/kpi?{urlencode(week)}")
    page.wait_for_selector("#ranking-grid .ag-row")
    with page.expect_download() as dl:
        page.click("#export-csv")
    text = open(dl.value.path(), encoding="utf-8-sig").read()
    rows = list(csv.DictReader(io.StringIO(text)))

    # Expected: each city counted on its own (not through the grouped query the page
    # uses), ranked by the documented composite score, as of the page's figures.
    now = shown_as_of(page)
    w = url_state.window(url_state.parse(week), now, TZ)
    prov = RegionScope("320000", Level.PROVINCE)
    children = {r.code: case_queries.kpi_counts(engine, RegionScope(r.code, Level.CITY), w, now)
                for r in tree.children("320000")}
    parent = case_queries.kpi_counts(engine, prov, w, now)
    ranked = rank_children(children, parent, ScoreWeights())
    assert [r["代码"] for r in rows] == [r.code for r in ranked]
    assert [float(r["综合得分"]) for r in rows] == pytest.approx([r.score.total for r in ranked],
                                                                abs=0.011)
    scores = [float(r["综合得分"]) for r in rows if r["排名"] != "未排名"]
    assert scores == sorted(scores, reverse=True)
    assert [int(r["受理量"]) for r in rows] == [r.kpis.intake for r in ranked]
    boards = [r["红黑榜"] for r in rows]
    n = board_size(sum(1 for r in ranked if r.rank is not None))   # 13 cities: 4 each
    assert n >= 4 and boards[:n] == ["红榜"] * n and boards[-n:] == ["黑榜"] * n
    assert "红榜" not in boards[n:-n] and "黑榜" not in boards[n:-n]
    # The grid on screen holds the same cities in the same order.
    shown = page.eval_on_selector_all(
        "#ranking-grid .ag-pinned-left-cols-container .ag-row",
        "rows => rows.sort((a, b) => a.getAttribute('row-index') - b.getAttribute('row-index'))"
        ".map(r => r.getAttribute('row-id'))")
    assert shown == [r.code for r in ranked]
    # Excel holds the same table under a title row.
    from openpyxl import load_workbook
    with page.expect_download() as dl:
        page.click("#export-xlsx")
    assert dl.value.suggested_filename.endswith(".xlsx")
    with open(dl.value.path(), "rb") as f:
        sheet = load_workbook(f).active
        table = list(sheet.iter_rows(min_row=2, values_only=True))
    col = table[0].index("代码")
    assert [row[col] for row in table[1:]] == [r.code for r in ranked]


def test_kpi_click_on_a_city_ranks_its_counties(page, live_server, db):
    sign_in(page, live_server, "leader")
    engine, tree = db
    open_page(page, f"{live_server.url}/kpi?period=this_week")
    page.click('#ranking-grid .ag-pinned-left-cols-container .ag-row[row-id="320500"] [col-id="name"]')
    page.wait_for_url(re.compile(r"/kpi\?region=320500&period=this_week$"))
    page.wait_for_function("() => document.querySelector('h1').textContent.startsWith('苏州市')")
    page.wait_for_selector('#ranking-grid .ag-row[row-id="320506"]')
    ids = set(page.eval_on_selector_all("#ranking-grid .ag-pinned-left-cols-container .ag-row",
                                        "rows => rows.map(r => r.getAttribute('row-id'))"))
    assert ids == set(tree.child_codes("320500"))
    # Each thin sub-score greys its own cells (points, and the rate where it has a column),
    # and nothing else: the counties' week has some rates from fewer than 30 cases.
    now = shown_as_of(page)
    w = periods.this_week(now, TZ)
    ranked = rank_children(
        {c: case_queries.kpi_counts(engine, scope_of(tree, c), w, now)
         for c in tree.child_codes("320500")},
        case_queries.kpi_counts(engine, scope_of(tree, "320500"), w, now), ScoreWeights())
    expected = {r.code: sorted({kpi_view.POINTS[s.name] for s in r.score.subs if s.thin}
                               | {s.name for s in r.score.subs
                                  if s.thin and s.name in kpi_view.RATE_COLUMNS})
                for r in ranked}
    greyed = page.evaluate("""() => {
        const out = {};
        document.querySelectorAll('#ranking-grid .ag-center-cols-container .ag-row').forEach(row => {
            out[row.getAttribute('row-id')] = [...row.querySelectorAll('.ag-cell.gw-thin')]
                .map(c => c.getAttribute('col-id')).sort();
        });
        return out;
    }""")
    assert any(expected.values()), "no thin sub-score this week: the check would be empty"
    assert greyed == expected
    page.click('#breadcrumb >> text="江苏省"')
    page.wait_for_url(re.compile(r"/kpi\?region=320000&period=this_week$"))
    page.wait_for_function("() => document.querySelector('h1').textContent.startsWith('江苏省')")


def test_pages_speak_english_with_lang_en(page, live_server):
    sign_in(page, live_server, "staff")
    open_page(page, f"{live_server.url}/region/320500?lang=en&period=today")
    assert "Region statistics" not in page.inner_text("h1")
    assert page.inner_text("#period-label").startswith("Today")
    assert "Cases" in page.inner_text("#case-panel h2")
    # /kpi is the leaders': a leader follows the same page's link to it.
    sign_in(page, live_server, "leader")
    open_page(page, f"{live_server.url}/region/320500?lang=en&period=today")
    page.click("#to-kpi")
    page.wait_for_url(re.compile(r"/kpi\?region=320500&period=today&lang=en$"))
    page.wait_for_selector("#kpi-table")
    assert "KPIs" in page.inner_text("h1") and "On-time closure" in page.inner_text("#kpi-table")


def test_kpi_period_change_goes_into_the_url_and_back_works(page, live_server, db):
    sign_in(page, live_server, "leader")
    engine, tree = db
    open_page(page, f"{live_server.url}/kpi")
    page.wait_for_selector("#kpi-table")
    now = datetime.now(timezone.utc)
    today = periods.today(now, TZ)
    before = expected_kpis(engine, tree, "320000", today)
    page.click('#period-choice input[value="today"]')
    page.wait_for_url(re.compile(r"/kpi\?period=today$"))
    page.wait_for_function("() => document.querySelector('#period-label').textContent.startsWith('今日')")
    # At scale 0.01 the province's night can go an hour without a case.
    assert_kpis_match(page, engine, tree, "320000", today, before,
                      cases_expected=now - today.start > timedelta(hours=2))
    page.go_back()
    page.wait_for_url(re.compile(r"/kpi$"))
    page.wait_for_function("() => document.querySelector('#period-label').textContent.startsWith('本月')")
    page.go_forward()
    page.wait_for_function("() => document.querySelector('#period-label').textContent.startsWith('今日')")


def test_drill_from_province_to_grid_and_open_a_case(page, live_server, db):
    sign_in(page, live_server, "staff")
    engine, tree = db
    week = past_week_query()
    suffix = re.escape("?" + urlencode(week)) + "$"
    open_page(page, f"{live_server.url}/region/320000?{urlencode(week)}")
    path = ["320000"]
    while tree.children(path[-1]):
        # The busiest child, so that the grid at the end has cases that week.
        page.wait_for_selector("#children-grid .ag-row")
        rows = page.eval_on_selector_all(
            "#children-grid .ag-center-cols-container .ag-row",
            "rows => rows.map(r => [r.getAttribute('row-id'), r.querySelector('[col-id=intake]').textContent])")
        code = max(rows, key=lambda r: int(r[1].replace(",", "")))[0]
        page.click(f'#children-grid .ag-center-cols-container .ag-row[row-id="{code}"] [col-id="intake"]')
        page.wait_for_url(re.compile(rf"/region/{code}{suffix}"))
        page.wait_for_selector(f'#breadcrumb >> text="{tree.get(code).name}"')
        path.append(code)
    assert tree.get(path[-1]).level == Level.GRID and len(path) == 6
    crumbs = page.locator("#breadcrumb a, #breadcrumb span.gw-crumb-current").all_inner_texts()
    assert crumbs == [tree.get(c).name for c in path]
    assert page.get_attribute("#to-wall", "href") == f"/wall?region={path[-1]}"
    # The grid's own figures against the database.
    w = url_state.window(url_state.parse(week), datetime.now(timezone.utc), TZ)
    k = expected_kpis(engine, tree, path[-1], w)
    assert page.inner_text("#summary-intake") == f"{k.intake:,}"
    total = int(page.get_attribute("#case-total", "data-total"))
    assert total == k.intake  # the list stands behind the intake figure

    # Back climbs the drill-down one level at a time. The URL changes before the page is
    # redrawn: wait for the drawn page, or a click may land on the one being replaced.
    current = "#breadcrumb span.gw-crumb-current"
    page.go_back()
    page.wait_for_url(re.compile(rf"/region/{path[-2]}\?"))
    page.wait_for_selector(f'{current} >> text="{tree.get(path[-2]).name}"')
    page.go_forward()
    page.wait_for_url(re.compile(rf"/region/{path[-1]}\?"))
    page.wait_for_selector(f'{current} >> text="{tree.get(path[-1]).name}"')
    page.wait_for_selector("#case-grid .ag-center-cols-container .ag-row")

    first = page.locator("#case-grid .ag-center-cols-container .ag-row").first
    case_id = int(first.get_attribute("row-id"))
    first.locator('[col-id="case_no"]').click()
    page.wait_for_url(re.compile(rf"/case/{case_id}$"))
    page.wait_for_selector("#case-timeline .ag-row")
    with engine.connect() as conn:
        n_events = conn.execute(sa.select(sa.func.count()).where(case_event.c.case_id == case_id)).scalar()
        case_no = conn.execute(sa.select(case.c.case_no).where(case.c.id == case_id)).scalar()
    assert page.locator("#case-timeline .ag-center-cols-container .ag-row").count() == n_events
    assert case_no in page.inner_text("h1")
    page.click("#case-back")
    page.wait_for_url(re.compile(rf"/region/{path[-1]}"))


def test_case_list_filters_sort_and_pages_in_the_url(page, live_server, db):
    sign_in(page, live_server, "staff")
    engine, tree = db
    week = past_week_query()
    open_page(page, f"{live_server.url}/region/320500?{urlencode(week)}"
                    "&basis=closed&category=城市管理&sort=-closed_at")
    page.wait_for_selector("#case-grid .ag-row")
    w = url_state.window(url_state.parse(week), datetime.now(timezone.utc), TZ)
    with engine.connect() as conn:
        n = conn.execute(sa.select(sa.func.count()).where(
            case.c.city_code == "320500", case.c.category == "城市管理",
            case.c.closed_at >= w.start, case.c.closed_at < w.end)).scalar()
    assert int(page.get_attribute("#case-total", "data-total")) == n
    page.click("#page-next")
    page.wait_for_url(re.compile(r"page=2"))
    page.wait_for_function("() => document.querySelector('#page-label').dataset.page === '2'")
    closed = page.eval_on_selector_all(
        "#case-grid .ag-center-cols-container .ag-row",
        "rows => rows.sort((a, b) => a.getAttribute('row-index') - b.getAttribute('row-index'))"
        ".map(r => r.querySelector('[col-id=closed_at]').textContent)")
    assert closed and closed == sorted(closed, reverse=True)
    # Redrawing page 2 fires the filter and period controls again: they must not send
    # the reader back to page 1 (nor add a history entry).
    page.wait_for_timeout(1500)
    assert "page=2" in page.url
    page.go_back()
    page.wait_for_function("() => document.querySelector('#page-label').dataset.page === '1'")
    assert "page=" not in page.url
    page.go_forward()
    page.wait_for_function("() => document.querySelector('#page-label').dataset.page === '2'")


BAD = [
    ("/region/999999", "未找到区划 999999", "Region 999999 was not found"),
    ("/region/12ab", "区划代码格式不正确", "Malformed region code"),
    ("/region/330100", "不在本系统", "outside this system's scope"),
    ("/kpi?from=2026-02-30&to=2026-03-05", "日期格式不正确", "Malformed date"),
    ("/kpi?from=2026-11-20&to=2026-11-01", "早于开始日期", "before the start date"),
    ("/region/320500?period=custom&from=2026-11-20&to=2026-11-01", "早于开始日期", "before the start"),
    ("/case/9999999999", "案件 9999999999 不存在", "Case 9999999999 does not exist"),
    ("/case/abc", "案件编号格式不正确", "Malformed case id"),
]


@pytest.mark.parametrize("path, zh, en", BAD)
def test_bad_input_gets_a_clear_page_with_a_way_back(page, live_server, path, zh, en):
    sign_in(page, live_server, "leader" if path.startswith("/kpi") else "staff")
    open_page(page, live_server.url + path)
    page.wait_for_selector("#error-page")
    assert zh in page.inner_text("#error-page")
    sep = "&" if "?" in path else "?"
    open_page(page, f"{live_server.url}{path}{sep}lang=en")
    page.wait_for_selector("#error-page")
    assert en in page.inner_text("#error-page")
    page.click("#error-back")
    page.wait_for_selector(".gw-page")
    assert "lang=en" in page.url


def test_unranked_rows_say_so_and_sort_after_the_ranked(page, live_server):
    """A township's children this week: most have too few cases (样本不足). Their rank
    reads 未排名 (AG Grid took the column for numbers and printed "Invalid Number"), they
    carry no score and no card penalty, and sorting by rank puts them after the ranked."""
    sign_in(page, live_server, "leader")
    open_page(page, f"{live_server.url}/kpi?region=320506&period=this_week")
    page.wait_for_selector("#ranking-grid .ag-row")
    assert "Invalid Number" not in page.inner_text("#ranking-grid")

    def column(col):
        return page.eval_on_selector_all(
            "#ranking-grid .ag-center-cols-container .ag-row",
            "(rows, col) => rows.sort((a, b) => a.getAttribute('row-index') - "
            "b.getAttribute('row-index')).map(r => "
            "r.querySelector(`[col-id=${col}]`).textContent.trim())", col)
    ranks = column("rank")
    unranked = [i for i, r in enumerate(ranks) if r == "未排名"]
    assert unranked and all(r.isdigit() for i, r in enumerate(ranks) if i not in unranked)
    for col in ("score", "card_penalty"):
        assert all(column(col)[i] == "" for i in unranked), col
    page.click('#ranking-grid .ag-header-cell[col-id="rank"]')   # ascending
    page.wait_for_timeout(300)
    ranks = column("rank")
    digits = [int(r) for r in ranks if r.isdigit()]
    first_unranked = ranks.index("未排名")
    assert all(r.isdigit() for r in ranks[:first_unranked])
    assert all(r == "未排名" for r in ranks[first_unranked:])
    assert digits == sorted(digits)


@pytest.mark.parametrize("lang, month, weekdays", [
    ("zh", r"^\d{4}年\d{1,2}月$", ["一", "二", "三", "四", "五", "六", "日"]),
    ("en", r"^[A-Z][a-z]+ \d{4}$", ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"]),
])
def test_the_date_picker_speaks_the_pages_language(page, live_server, lang, month, weekdays):
    """The browser here is set to English (as many kiosks and laptops are): the picker on a
    Chinese page still names months and weekdays in Chinese, weeks from Monday."""
    sign_in(page, live_server, "leader")
    assert page.evaluate("navigator.language").startswith("en")
    open_page(page, f"{live_server.url}/kpi" + ("?lang=en" if lang == "en" else ""))
    page.click("#period-range")
    page.wait_for_selector(".dash-datepicker-calendar-month-header")
    header = page.inner_text(".dash-datepicker-calendar-month-header >> nth=0")
    days = page.eval_on_selector_all(".dash-datepicker-calendar >> nth=0 >> thead tr:nth-child(2) th",
                                     "ths => ths.map(th => th.textContent.trim())")
    assert re.match(month, header), header
    assert days == weekdays


@pytest.mark.parametrize("lang, text", [("zh", "无数据"), ("en", "no data")])
def test_an_empty_table_says_so_in_the_pages_language(page, live_server, lang, text):
    """AG Grid's own overlay reads "No Rows To Show" unless the grid is given its texts."""
    sign_in(page, live_server, "staff")
    query = {"period": "custom", "from": "2020-01-01", "to": "2020-01-02"}
    if lang == "en":
        query["lang"] = "en"
    open_page(page, f"{live_server.url}/region/320500?{urlencode(query)}")
    overlay = page.wait_for_selector("#case-grid .ag-overlay-no-rows-center", timeout=TIMEOUT)
    assert overlay.inner_text().strip() == text
    assert "No Rows" not in page.inner_text("body")

"""The view models of /kpi, /region and /case against the KPI functions run directly on the
seeded database, for a sample of regions at every level and every kind of period."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from dashboard.app.settings import Settings
from dashboard.domain import metrics
from dashboard.domain.hierarchy import Level
from dashboard.domain.kpis import KpiCounts, compute_kpis
from dashboard.domain.ranking import rank_children
from dashboard.domain.scope import RegionScope
from dashboard.views import case as case_view
from dashboard.views import kpi as kpi_view
from dashboard.views import region as region_view
from dashboard.views import url_state
from dashboard.views.url_state import BadInput
from data_sources import case_queries
from data_sources.case_store import SqlCaseStore
from data_sources.database import make_engine
from data_sources.regions import RegionTree
from tests.clock import settled_now

TZ = "Asia/Shanghai"


@pytest.fixture(scope="module")
def env(seeded_env):
    url = seeded_env.env["GRIDWATCH_DATABASE_URL"]
    eng = make_engine(url)
    tree = RegionTree.load(eng, "320000")
    yield eng, tree, Settings(region="320000", database_url=url)
    eng.dispose()


def sample_codes(tree) -> list[str]:
    codes = ["320000", "320500", "320700"]
    code = "320506"
    while True:
        codes.append(code)
        kids = tree.children(code)
        if not kids:
            return codes
        code = kids[len(kids) // 2].code


def queries() -> list[dict]:
    local = settled_now().astimezone(ZoneInfo(TZ)).date()
    return [{"period": "today"}, {"period": "this_week"}, {}, {"period": "last_month"},
            {"from": (local - timedelta(days=9)).isoformat(), "to": local.isoformat()}]


def direct(engine, tree, code, window, now):
    scope = RegionScope(code, Level(tree.get(code).level))
    return case_queries.kpi_counts(engine, scope, window, now)


def test_kpi_view_equals_the_kpi_functions_for_every_level_and_period(env):
    engine, tree, settings = env
    checked = 0
    for code in sample_codes(tree):
        for query in queries():
            state = url_state.parse({**query, "region": code})
            now = settled_now()
            model = kpi_view.build(SqlCaseStore(engine), tree, settings, state, now)
            w = url_state.window(state, now, TZ)
            k = compute_kpis(direct(engine, tree, code, w, now))
            shown = {r["key"]: r["value"] for r in model.kpis}
            for key in metrics.KEYS:
                assert shown[key] == pytest.approx(metrics.value(k, key)), (code, query, key)
            checked += 1
            if code == "320500" and query == {"period": "this_week"}:
                # The previous period's column is the same functions on the previous window.
                prev = url_state.previous_window(w, state, now, TZ)
                pk = compute_kpis(direct(engine, tree, code, prev, prev.end))
                row = next(r for r in model.kpis if r["key"] == "on_time")
                assert row["previous"] == pk.on_time.display() and pk.on_time.has_data
    assert checked == len(sample_codes(tree)) * len(queries())


def test_ranking_of_counties_follows_the_documented_score(env):
    engine, tree, settings = env
    now = settled_now()
    state = url_state.parse({"region": "320500", "period": "this_week"})
    model = kpi_view.build(SqlCaseStore(engine), tree, settings, state, now)
    w = url_state.window(state, now, TZ)
    children = {r.code: direct(engine, tree, r.code, w, now) for r in tree.children("320500")}
    ranked = rank_children(children, direct(engine, tree, "320500", w, now), settings.weights)
    assert [r["code"] for r in model.ranking] == [r.code for r in ranked]
    for row, r in zip(model.ranking, ranked):
        if r.rank is None:      # 样本不足: no score, no points (DOMAIN §6's guard)
            assert row["score"] is None
            assert all(row[kpi_view.POINTS[s.name]] is None for s in r.score.subs)
            continue
        assert row["score"] == pytest.approx(r.score.total)
        parts = sum(row[kpi_view.POINTS[s.name]] for s in r.score.subs) - row["card_penalty"]
        assert row["score"] == pytest.approx(parts, abs=0.02)
    ranked_scores = [r["score"] for r in model.ranking if isinstance(r["rank"], int)]
    assert ranked_scores == sorted(ranked_scores, reverse=True)


def test_region_view_children_and_case_list_match_the_database(env):
    engine, tree, settings = env
    now = settled_now()
    state = url_state.parse({"period": "this_week", "metric": "satisfaction"})
    model = region_view.build(SqlCaseStore(engine), tree, settings, "320506", state, now)
    w = url_state.window(state, now, TZ)
    assert [c["code"] for c in model.breadcrumb] == ["320000", "320500", "320506"]
    assert {r["code"] for r in model.children} == set(tree.child_codes("320506"))
    for row in model.children:
        k = compute_kpis(direct(engine, tree, row["code"], w, now))
        assert row["satisfaction"] == pytest.approx(metrics.value(k, "satisfaction"))
        assert row["intake"] == k.intake
    total = direct(engine, tree, "320506", w, now)
    assert model.cases.total == min(total.intake, 10_000)
    assert sum(model.breakdowns["category"]["counts"].values()) == total.intake
    assert model.features == []  # counties' children (townships) have no boundaries


def test_empty_denominators_show_no_data_not_zero():
    rows = kpi_view.kpi_rows(KpiCounts(), KpiCounts(), KpiCounts(), "zh", 97.68)
    by = {r["key"]: r for r in rows}
    assert by["satisfaction"]["display"] == "无数据" and by["satisfaction"]["value"] is None
    assert by["satisfaction"]["met"] is None and by["satisfaction"]["previous"] == "—"
    assert by["intake"]["display"] == "0"
    en = {r["key"]: r for r in kpi_view.kpi_rows(KpiCounts(), KpiCounts(), KpiCounts(), "en", 97.68)}
    assert en["on_time"]["display"] == "no data" and en["on_time"]["label"] == "On-time closure"


@pytest.mark.parametrize("code, error", [("999999", "unknown-region"), ("32", "bad-region"),
                                         ("330000", "unknown-region")])
def test_region_outside_the_tree_is_bad_input(env, code, error):
    engine, tree, settings = env
    with pytest.raises(BadInput) as err:
        region_view.build(SqlCaseStore(engine), tree, settings, code, url_state.parse({}),
                          datetime.now(timezone.utc))
    assert err.value.code == error


def test_case_view_has_every_event_in_order(env):
    engine, tree, settings = env
    import sqlalchemy as sa

    from data_sources.schema import case_event
    with engine.connect() as conn:
        case_id, n = conn.execute(sa.select(case_event.c.case_id, sa.func.count())
                                  .group_by(case_event.c.case_id)
                                  .order_by(sa.func.count().desc()).limit(1)).one()
    model = case_view.build(SqlCaseStore(engine), tree, "320000", str(case_id), "zh", TZ,
                            datetime.now(timezone.utc))
    assert [e.seq for e in model.events] == list(range(1, n + 1))
    assert model.events[0].event == "上报"
    assert model.time_status in ("正常", "将到期", "已超期", "按期办结", "超期办结")
    with pytest.raises(BadInput) as err:
        case_view.build(SqlCaseStore(engine), tree, "320000", "123456789012", "en", TZ, datetime.now(timezone.utc))
    assert "does not exist" in err.value.message("en")


def test_breakdowns_in_one_scan_equal_one_query_per_dimension(env):
    from data_sources import case_list
    engine, tree, _ = env
    now = settled_now()
    w = url_state.window(url_state.parse({"period": "this_week"}), now, TZ)
    for code in ("320000", "320506"):
        scope = RegionScope(code, Level(tree.get(code).level))
        dims = tuple(region_view.BREAKDOWNS)
        together = case_list.breakdowns(engine, scope, w, dims)
        for d in dims:
            assert together[d] == case_queries.breakdown(engine, scope, w, d) != {}


@pytest.mark.parametrize("code", ["320000", "320500"])
def test_wall_funnel_counts_the_months_closures_as_kpi_closed(env, code):
    # 处置层级 · 本月办结: the cases closed this month by the level that settled them; the
    # bars add up to /kpi's 办结量 for the same region and month.
    from dashboard.views.wall.model import build_period
    engine, tree, settings = env
    now = settled_now()
    store = SqlCaseStore(engine)
    period = build_period(store, tree, tree.get(code), TZ, now, None, settings.weights)
    funnel = {x["level"]: x["count"] for x in period["sections"]["funnel"]["levels"]}
    state = url_state.parse({"region": code, "period": "this_month"})
    model = kpi_view.build(store, tree, settings, state, now)
    closed = next(r for r in model.kpis if r["key"] == "closed")["value"]
    print(f"{code}: funnel {sum(funnel.values())} {funnel}, /kpi closed {closed:g}")
    assert closed > 0 and sum(funnel.values()) == closed


def test_card_penalty_separates_the_cities_and_the_ranking_export_carries_it(env):
    # DOMAIN.md §6: 10 × min(1, (黄牌 + 2 × 红牌 issued this month) ÷ (0.20 × due)). It sat
    # at its 10-point cap for every city; it must rank them, and the /kpi export (the
    # callback the page's button posts to) must carry it.
    import csv
    import io

    from dash import Dash, html
    from dash._utils import split_callback_id

    from callbacks import kpi as kpi_page
    from dashboard.app.context import AppContext, Lazy
    from dashboard.domain.accounts import Role
    from dashboard.views.wall.model import build_period
    from tests.fakes import viewer
    engine, tree, settings = env
    store = SqlCaseStore(engine)

    def penalties_at(now):
        period = build_period(store, tree, tree.get("320000"), TZ, now, None, settings.weights)
        return {r["code"]: r["penalty"] for r in period["sections"]["ranking"]["rows"]}

    penalties = penalties_at(settled_now())   # a month with days in it
    print("this month's card penalty per city:", penalties)
    assert len(penalties) == 13 and len(set(penalties.values())) >= 6, penalties
    assert sum(p >= settings.weights.max_card_penalty for p in penalties.values()) <= 3
    # The export's callback reads the real clock: compare it with the wall at that clock.
    now = datetime.now(timezone.utc)
    penalties = penalties_at(now)

    from dashboard.domain.ranking import card_penalty
    ctx = AppContext(settings=settings, runtime=None, tree=Lazy(lambda: tree), cache=None,
                     cases=store, viewer=lambda: viewer(Role.LEADER))   # a leader's export
    app = Dash(__name__, suppress_callback_exceptions=True)
    app.layout = html.Div(id="page")
    kpi_page.register(app, ctx)
    client = app.server.test_client()
    dep = next(d for d in client.get("/_dash-dependencies").get_json()
               if "export-download.data" in d["output"])
    values = {("export-csv", "n_clicks"): 1, ("export-xlsx", "n_clicks"): None,
              ("url", "search"): "?period=this_month"}
    items = lambda specs: [{"id": s["id"], "property": s["property"],  # noqa: E731
                            "value": values[(s["id"], s["property"])]} for s in specs]
    resp = client.post("/_dash-update-component", json={
        "output": dep["output"], "outputs": split_callback_id(dep["output"]),
        "inputs": items(dep["inputs"]), "state": items(dep["state"]),
        "changedPropIds": ["export-csv.n_clicks"]})
    assert resp.status_code == 200
    text = resp.get_json()["response"]["export-download"]["data"]["content"]
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    exported = {r["代码"]: float(r["督办扣分"]) for r in rows}
    month = url_state.window(url_state.parse({"period": "this_month"}), now, TZ)
    by_city = case_queries.kpi_counts_by(engine, RegionScope("320000", Level.PROVINCE), month,
                                         now, by_child=True)
    assert exported.keys() == penalties.keys()
    for code, p in exported.items():
        assert p == pytest.approx(card_penalty(by_city[code], settings.weights), abs=0.01), code
        assert p == pytest.approx(penalties[code], abs=0.01), code

"""The page callbacks on an in-memory store (tests/fakes.py): the view model and the
components a page renders come from the store's figures, without a database, Redis or a
browser. The browser tests keep what needs a browser (fonts, layout, live updates)."""
from __future__ import annotations

import json

import pytest
from dash.development.base_component import Component

from callbacks import case as case_page
from callbacks import kpi as kpi_page
from callbacks import region as region_page
from dashboard.app.context import AppContext, Lazy
from dashboard.app.settings import Settings
from dashboard.domain.scope import RegionScope
from dashboard.views import kpi as kpi_view
from dashboard.views import url_state
from tests.fakes import CASE, NOW, FakeCaseStore, counts, small_tree, stream_event, viewer


@pytest.fixture
def ctx():
    tree = small_tree()
    store = FakeCaseStore(tree, {
        "320100": counts(900, on_time_pct=80, satisfied_pct=95),   # 南京: worse
        "320505001001001": counts(700, on_time_pct=96, satisfied_pct=99),  # 苏州, via a grid
        "320700": counts(5, on_time_pct=100, satisfied_pct=100, due=5, rated=3),  # thin
    }, cases={42: CASE})
    # The pages show what the viewer's account may see: a staff account of the province.
    return AppContext(settings=Settings(region="320000", page_cache_seconds=0), runtime=None,
                      tree=Lazy(lambda: tree), cache=None, cases=store, viewer=viewer)


def text_of(component) -> str:
    return json.dumps(component.to_plotly_json(), ensure_ascii=False, default=str)


def test_kpi_view_ranks_the_stores_figures(ctx):
    state = url_state.parse({"period": "this_month"})
    model = kpi_view.build(ctx.cases, ctx.tree.get(), ctx.settings, state, NOW)
    by_name = {r["name"]: r for r in model.ranking}
    assert by_name["苏州市"]["rank"] == 1 and by_name["南京市"]["rank"] == 2
    assert by_name["连云港市"]["rank"] == "未排名"   # every sub-rate thin: 样本不足, no rank
    intake = next(r for r in model.kpis if r["key"] == "intake")
    assert intake["display"] == "1,605"          # 900 + 700 + 5, summed up the tree


def test_kpi_page_renders_components_from_the_store(ctx):
    page = kpi_page.render(ctx, None, {"period": "this_month"})
    assert isinstance(page, Component)
    text = text_of(page)
    assert "苏州市" in text and "南京市" in text and "1,605" in text
    assert "kpi_counts_by" in ctx.cases.calls


def test_the_ranking_note_states_the_card_rule_in_force(ctx):
    text = text_of(kpi_page.render(ctx, None, {"period": "this_month"}))
    assert "督办扣分 = 10 × 期内（1×黄牌 + 2×红牌）÷（20% × 应办件），至多 10 分" in text
    assert "每万件" not in text
    ctx.settings = ctx.settings.with_(score_weights='{"red_card": 3, "max_card_penalty": 8}')
    text = text_of(kpi_page.render(ctx, None, {"period": "this_month", "lang": "en"}))
    assert "card penalty = 8 × (1 × yellow + 3 × red cards issued) ÷ (20% of cases due)" in text


def test_region_page_lists_the_children_and_the_cases(ctx):
    text = text_of(region_page.render(ctx, {"code": "320505"}, {"basis": "open"}))
    assert "狮山街道" in text and "202611250000000042" in text


def test_case_page_shows_the_timeline(ctx):
    text = text_of(case_page.render(ctx, {"case_id": "42"}, {}))
    assert "202611250000000042" in text and "上报" in text and "黄牌" in text


@pytest.mark.parametrize("render,match,query", [
    (region_page.render, {"code": "999999"}, {}),
    (case_page.render, {"case_id": "43"}, {}),
    (kpi_page.render, None, {"region": "110000"}),
    (kpi_page.render, None, {"period": "custom", "from": "0001-01-01", "to": "0001-01-02"}),
])
def test_bad_input_is_a_page_that_says_so(ctx, render, match, query):
    text = text_of(render(ctx, match, query))
    assert "error-page" in text or "gw-error" in text


def test_the_store_answers_under_the_scope_only(ctx):
    assert ctx.cases.case_detail(RegionScope.of(ctx.tree.get().get("320100")), 42) is None


def test_status_view_over_fake_sources_shows_only_its_regions_events(ctx):
    from dashboard.views.status import build_status
    from tests.fakes import FakeEventFeed, FakeSource
    feed = FakeEventFeed([stream_event("1-0", "320505001001001", case_id=7),
                          stream_event("2-0", "320102001001001", case_id=7)])
    model = build_status(FakeSource(), feed, ctx.cases, ctx.tree.get(), "320500",
                         "Asia/Shanghai", NOW)
    assert [e["id"] for e in model["events"]] == ["1-0"]   # 南京's event is not 苏州's
    assert model["health"]["status"] == "ok"
    down = build_status(FakeSource("down"), FakeEventFeed([], "down"), ctx.cases,
                        ctx.tree.get(), "320500", "Asia/Shanghai", NOW)
    assert down["health"]["status"] == "down" and down["kpis"] is None


def test_region_rows_carry_the_unrounded_percent_and_format_it_once():
    from dashboard.views import region as region_view
    rows = region_view.child_rows({"320100": counts(900, on_time_pct=7300 / 74,
                                                    satisfied_pct=95, due=74)},
                                  {"320100": "南京市"}, "zh")
    assert rows[0]["on_time"] == pytest.approx(7300 / 74)   # 98.6486..., not 98.65
    assert rows[0]["on_time_text"] == "98.65%"


def test_an_unranked_child_shows_no_score_and_no_points(ctx):
    """连云港 has 5 cases: every sub-rate thin, so 样本不足 — no score above the leader's, no
    sub-score points drawn from the parent's rates, in the table and its export."""
    model = kpi_view.build(ctx.cases, ctx.tree.get(), ctx.settings,
                           url_state.parse({"period": "this_month"}), NOW)
    thin = next(r for r in model.ranking if r["name"] == "连云港市")
    assert thin["rank"] == "未排名" and thin["score"] is None
    assert all(thin[p] is None for p in (*kpi_view.POINTS.values(), "card_penalty"))
    ranked = [r for r in model.ranking if r["score"] is not None]
    assert ranked and all(isinstance(r["rank"], int) for r in ranked)
    text = text_of(kpi_page.render(ctx, None, {"period": "this_month"}))
    assert "连云港市" in text


def test_each_thin_rate_is_marked_in_its_own_column(ctx):
    """南京 with 900 cases but 3 ratings: only its 满意 rate and points are thin; its 按期 is
    not. The grid greys exactly the marked cells (DOMAIN §6: the guard covers every
    sub-rate, and each is marked where it is shown)."""
    ctx.cases = FakeCaseStore(ctx.tree.get(), {
        "320100": counts(900, on_time_pct=80, satisfied_pct=100, rated=3),
        "320505001001001": counts(700, on_time_pct=96, satisfied_pct=99),
        "320700": counts(600, on_time_pct=100, satisfied_pct=97, due=12),   # 按期 from 12 due
    }, cases={42: CASE})
    model = kpi_view.build(ctx.cases, ctx.tree.get(), ctx.settings,
                           url_state.parse({"period": "this_month"}), NOW)
    by_name = {r["name"]: r for r in model.ranking}
    nanjing, lyg, suzhou = by_name["南京市"], by_name["连云港市"], by_name["苏州市"]
    assert nanjing["thin_marks"].get("satisfaction") and nanjing["thin_marks"].get("satisfaction_pts")
    assert not nanjing["thin_marks"].get("on_time") and not nanjing["thin_marks"].get("on_time_pts")
    assert lyg["on_time"] == "100.00%" and lyg["thin_marks"].get("on_time")
    assert not lyg["thin_marks"].get("satisfaction")
    assert suzhou["thin_marks"] == {}
    grid = next(c for c in _walk(kpi_page.render(ctx, None, {"period": "this_month"}))
                if getattr(c, "id", None) == "ranking-grid")
    rules = {c["field"]: c.get("cellClassRules", {}) for c in grid.columnDefs}
    assert rules["on_time"] == {"gw-thin": "params.data.thin_marks.on_time === true"}
    assert "gw-thin" in rules["satisfaction_pts"] and "gw-thin" not in rules["intake"]


def _walk(component):
    yield component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if isinstance(child, Component):
            yield from _walk(child)

"""The wall on in-memory fakes (tests/fakes.py): its view models, its components and its
callbacks, without a browser, a database or Redis.

A WallService is built as dashboard/app/factory.py builds it, over an AppContext of fakes
and SharedViews running as they do with Redis down (in-process). The refresh and rotate
callbacks are the ones `callbacks.wall.register` registers, on a bare Dash app behind the
request guard, posted to through Flask's test client. The browser tests
(tests/test_wall_browser.py) keep what needs a browser: fonts, scaling, the live feed.
"""
from __future__ import annotations

import json
import logging
import re
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from dash import Dash, html
from dash._utils import split_callback_id
from dash.development.base_component import Component

from callbacks import wall as wall_page
from dashboard.app import request_guard
from dashboard.app.context import AppContext, Lazy
from dashboard.app.settings import Settings
from dashboard.domain.kpis import KpiCounts, compute_kpis
from dashboard.domain.scope import OutOfScope
from dashboard.domain.walls import WallAccess
from dashboard.views.wall.model import build_live, build_period, previous_counts
from dashboard.views.wall.pace import Pace
from dashboard.views.wall.service import WallService
from layouts.wall_panels import PANELS
from tests.components import walk
from tests.fakes import (
    CASE,
    NOW,
    FakeCaseStore,
    FakeEventFeed,
    counts,
    in_process_views,
    small_tree,
    stream_event,
)
from tests.test_wall_pace import Clocks

TZ = "Asia/Shanghai"
SUZHOU_GRID, NANJING_GRID = "320505001001001", "320102001001001"
LEAF = {  # cases are counted where they are: a grid, or a city with no levels below it
    NANJING_GRID: counts(900, on_time_pct=80, satisfied_pct=95),      # 南京 (worse)
    SUZHOU_GRID: counts(700, on_time_pct=96, satisfied_pct=99),       # 苏州
    "320700": counts(5, on_time_pct=100, satisfied_pct=100, due=5, rated=3),  # thin
}
# Which of LEAF's entries lie in each region, written out by hand (not the fake's sum).
UNDER = {
    "320000": [NANJING_GRID, SUZHOU_GRID, "320700"],
    "320100": [NANJING_GRID], "320102": [NANJING_GRID], "320102001": [NANJING_GRID],
    "320500": [SUZHOU_GRID], "320505": [SUZHOU_GRID], "320505001": [SUZHOU_GRID],
    "320506": [], "320700": ["320700"],
}
CHILDREN = {"320000": {"320100": "南京市", "320500": "苏州市", "320700": "连云港市"},
            "320500": {"320505": "虎丘区", "320506": "吴中区"}}
FULL_CASE_NO = CASE["case"]["case_no"]          # 202611250000000042
GRID_NAME = "金色社区第1网格"


def expected_kpis(code: str):
    return compute_kpis(sum((LEAF[c] for c in UNDER[code]), KpiCounts()))


def overdue_case() -> dict:
    """CASE, past its deadline whatever today is, under 黄牌 supervision."""
    return {**CASE, "case": {**CASE["case"], "deadline": NOW - timedelta(days=2)}}


def events() -> list:
    return [stream_event("1-0", SUZHOU_GRID, case_id=42),
            stream_event("2-0", NANJING_GRID, case_id=43),
            stream_event("3-0", "320599001001001", case_id=44)]  # a grid the tree lacks


# -- building walls ---------------------------------------------------------------------
@pytest.fixture
def walls():
    """make(root, ...) -> WallService over fakes; every service's warmer is stopped after."""
    made: list[WallService] = []

    def make(root: str = "320000", refresh_seconds: float = 5.0, store=None, tree=None):
        tree = tree or Lazy(small_tree)
        store = store or FakeCaseStore(small_tree(), dict(LEAF), cases={42: overdue_case()})
        views = in_process_views()
        ctx = AppContext(settings=Settings(region=root, refresh_seconds=refresh_seconds),
                         runtime=None, tree=tree, cache=views.cache, cases=store,
                         events=FakeEventFeed(events()), views=views,
                         # The wall of a device bound to the root (dashboard/app/wall_gate.py).
                         wall_access=lambda: WallAccess((root,)))
        service = WallService(ctx, views)
        made.append(service)
        return service
    yield make
    for service in made:
        service.warmer.stop()
        service.warmer.join(5)


def cfg_for(service: WallService, **query) -> dict:
    cfg, notices = service.config(query, service.ctx.wall_access())
    assert notices == []
    return cfg


def by_id(node, component_id: str) -> Component:
    found = [c for c in walk(node) if getattr(c, "id", None) == component_id]
    assert len(found) == 1, component_id
    return found[0]


def words(node) -> str:
    """Every string shown in a component tree (figures left out)."""
    out = []
    for c in walk(node):
        kids = getattr(c, "children", None)
        for k in kids if isinstance(kids, (list, tuple)) else [kids]:
            if isinstance(k, (str, int, float)):
                out.append(str(k))
    return " ".join(out)


def text_of(node) -> str:
    plain = node.to_plotly_json() if isinstance(node, Component) else node
    return json.dumps(plain, ensure_ascii=False, default=str)


def iso(text: str) -> datetime:
    return datetime.fromisoformat(text)


def wait_for_next_tick(service: WallService) -> None:
    tick = service.tick()
    while service.tick() == tick:
        time.sleep(0.01)


# -- view models over the fake store ----------------------------------------------------
@pytest.mark.parametrize("code", ["320000", "320100", "320102", "320500", "320505",
                                  "320506", "320700"])
def test_live_kpis_are_the_stores_counts_for_the_region(code):
    tree = small_tree()
    store = FakeCaseStore(tree, dict(LEAF))
    model = build_live(store, tree, tree.get(code), TZ, NOW, None)
    k, want = model["sections"]["kpis"], expected_kpis(code)
    assert (k["intake"], k["closed"], k["open"], k["rated"]) == \
        (want.intake, want.closed, want.open, want.rated)
    assert (k["closure"], k["on_time"], k["satisfaction"]) == \
        (want.closure.percent, want.on_time.percent, want.satisfaction.percent)
    rows = model["sections"]["children"]["rows"]
    assert {r["code"]: r["intake"] for r in rows} == {
        c: expected_kpis(c).intake for c in tree.child_codes(code)}
    assert model["sources"]["database"]["status"] == "up"


def test_live_kpis_of_the_province_by_hand():
    tree = small_tree()
    k = build_live(FakeCaseStore(tree, dict(LEAF)), tree, tree.get("320000"), TZ, NOW,
                   None)["sections"]["kpis"]
    # 900 + 700 + 5 cases; on time 160 + 192 + 5 of 200 + 200 + 5 due.
    assert k["intake"] == 1605 and k["on_time"] == pytest.approx(357 / 405 * 100)  # 88.15%
    assert k["satisfaction"] == pytest.approx((95 + 99 + 3) / 203 * 100)          # 97.04%


@pytest.mark.parametrize("code", ["320000", "320500"])
def test_period_ranking_ranks_the_regions_children(code):
    tree = small_tree()
    store, region = FakeCaseStore(tree, dict(LEAF)), tree.get(code)
    model = build_period(store, tree, region, TZ, NOW, None, Settings().weights,
                         previous_counts(store, region, TZ, NOW))
    rows = model["sections"]["ranking"]["rows"]
    assert {r["code"]: r["name"] for r in rows} == CHILDREN[code]
    for r in rows:
        assert r["satisfaction"] == expected_kpis(r["code"]).satisfaction.percent
        assert r["on_time"] == expected_kpis(r["code"]).on_time.percent
    if code == "320000":
        by_code = {r["code"]: r for r in rows}
        assert by_code["320700"]["rank"] is None          # 5 cases: too few to rank
        assert by_code["320500"]["rank"] == 1 and by_code["320100"]["rank"] == 2


def test_map_labels_and_ranking_rates_round_once_from_the_ratio():
    # 73 of 74 on time and satisfied = 98.6486...%: one digit is 98.6%, never 98.7% (the
    # two-digit percent 98.65 rounded again).
    from dashboard.domain.metrics import WALL_MAP
    from layouts.wall_charts import map_labels
    from layouts.wall_parts import ranking_table
    tree = small_tree()
    leaf = {NANJING_GRID: counts(900, on_time_pct=7300 / 74, satisfied_pct=7300 / 74, due=74,
                                 rated=74),
            SUZHOU_GRID: counts(700, on_time_pct=96, satisfied_pct=99)}
    assert leaf[NANJING_GRID].closed_on_time == leaf[NANJING_GRID].satisfied == 73
    store, region = FakeCaseStore(tree, leaf), tree.get("320000")
    rows = build_live(store, tree, region, TZ, NOW, None)["sections"]["children"]["rows"]
    labels = map_labels(rows, WALL_MAP["on_time"], "zh")
    assert "南京市<br><b>98.6%</b>" in labels, labels
    period = build_period(store, tree, region, TZ, NOW, None, Settings().weights)
    table = words(ranking_table(period["sections"]["ranking"], "zh", 97.68))
    assert table.count("98.6%") == 2 and "98.7%" not in table, table


# -- content: every panel, its data time, the KPI strip ---------------------------------
@pytest.mark.parametrize("root,region", [("320000", "320000"), ("320000", "320500"),
                                         ("320500", "320500")])
def test_content_draws_every_panel_with_its_data_time(walls, root, region):
    service = walls(root)
    before = datetime.now(timezone.utc).replace(microsecond=0)
    c = wall_page.content(service, cfg_for(service, region=region))
    after = datetime.now(timezone.utc)
    assert set(c["panels"]) == {p.key for p in PANELS}
    assert set(c["as_of"]) == {p.key for p in PANELS} | {"map", "kpis"}   # the strip too
    for panel, at in c["as_of"].items():
        assert at is not None and before <= iso(at) <= after, panel
        assert re.fullmatch(r"\d\d:\d\d:\d\d", c["asof_text"][panel]), panel
    name = small_tree().get(region).name
    assert c["heading"] == f"{name} · 网格化社会治理指挥中心"
    want = expected_kpis(region)
    assert c["kpis"]["intake"] == f"{want.intake:,}"
    assert c["kpis"]["on_time"] == f"{want.on_time.percent:.2f}%"
    assert c["kpis"]["satisfaction"] == f"{want.satisfaction.percent:.2f}%"
    assert c["kpi_subs"]["satisfaction"] == f"评价 {want.rated:,} 件"


def test_the_kpi_strip_shows_its_data_time_on_screen(walls):
    service = walls("320000")
    page = wall_page.render(service, {})
    strip_time = next(n for n in walk(page) if getattr(n, "id", None) == "wall-asof-kpis")
    assert re.fullmatch(r"\d\d:\d\d:\d\d", strip_time.children)


@pytest.mark.parametrize("region,shown,not_shown", [
    ("320000", ["南京", "苏州", "连云港"], ["虎丘", "吴中"]),
    ("320500", ["虎丘", "吴中"], ["南京", "连云港"]),
])
def test_ranking_rows_are_the_regions_children(walls, region, shown, not_shown):
    service = walls("320000")
    c = wall_page.content(service, cfg_for(service, region=region))
    assert {r["code"]: r["name"] for r in c["rows"]} == CHILDREN[region]
    assert {r["code"] for r in c["map_rows"]} == set(CHILDREN[region])
    ranking = words(c["panels"]["ranking"])
    assert all(n in ranking for n in shown), ranking
    assert not any(n in ranking for n in not_shown), ranking


def test_the_map_is_drawn_for_the_children(walls):
    service = walls("320000")
    c = wall_page.content(service, cfg_for(service, region="320500"))
    figure = text_of(c["map"]().to_plotly_json())
    assert "虎丘" in figure and "吴中" in figure and "南京" not in figure


# -- the ticker and privacy -------------------------------------------------------------
def test_ticker_shows_the_regions_events_only(walls):
    service = walls("320000")
    rows, tail = service.initial_ticker("320500", False, "zh")
    assert [r["id"] for r in rows] == ["1-0"] and tail == "3-0"
    row = rows[0]
    assert row["case_no"] == FULL_CASE_NO and row["category"] == "城市管理"  # from the store
    assert row["place"] == f"金色社区 {GRID_NAME}"
    province, _ = service.initial_ticker("320000", False, "zh")
    assert [r["id"] for r in province] == ["2-0", "1-0"]   # newest first; unknown grid never
    assert province[0]["place"] == "湖滨社区 湖滨社区第1网格"
    nanjing, _ = service.initial_ticker("320100", False, "zh")
    assert [r["id"] for r in nanjing] == ["2-0"]


def test_a_ticker_row_never_carries_another_regions_case(walls):
    """Summaries are fetched once per batch for the whole root; a page keeps only those of
    cases in its own region. An event naming a Nanjing grid but Suzhou's case 42 (bad
    upstream data) shows on Nanjing's wall with the event's own fields only."""
    service = walls("320000")
    odd = stream_event("9-0", NANJING_GRID, case_id=42)
    [row] = service.ticker_rows([odd], "320100", False, "zh")
    assert row["case_no"] != FULL_CASE_NO and row["category"] != "城市管理"
    [row] = service.ticker_rows([stream_event("1-0", SUZHOU_GRID, case_id=42)], "320500",
                                False, "zh")
    assert row["case_no"] == FULL_CASE_NO                  # its own region: details kept


def test_privacy_masks_case_numbers_and_grids(walls):
    service = walls("320000")
    [row], _ = service.initial_ticker("320500", True, "zh")
    assert row["case_no"] == "2026**********0042" and row["place"] == "金色社区"
    shown = text_of(wall_page.render(service, {"region": "320500"}))
    assert FULL_CASE_NO in shown and GRID_NAME in shown          # ticker and overdue list
    masked = wall_page.render(service, {"region": "320500", "privacy": "1"})
    text = text_of(masked)
    assert FULL_CASE_NO not in text and GRID_NAME not in text
    assert "2026**********0042" in words(by_id(masked, "wall-ticker"))
    assert "2026**********0042" in words(by_id(masked, "wall-overdue"))
    assert by_id(masked, "wall-root").to_plotly_json()["props"]["data-privacy"] == "1"


def test_render_draws_the_ticker_and_resumes_the_feed_after_its_tail(walls):
    service = walls("320000")
    page = wall_page.render(service, {"region": "320500"})
    ticker = by_id(page, "wall-ticker")
    assert [r.to_plotly_json()["props"]["data-id"] for r in ticker.children] == ["1-0"]
    root = by_id(page, "wall-root").to_plotly_json()["props"]
    assert root["data-from"] == "3-0" and root["data-region"] == "320500"
    assert by_id(page, "wall-heading").children == "苏州市 · 网格化社会治理指挥中心"


# -- scope ------------------------------------------------------------------------------
@pytest.mark.parametrize("outside", ["320000", "320100", NANJING_GRID, "320599", "x", None])
def test_a_region_outside_the_root_is_out_of_scope(walls, outside):
    service = walls("320500")
    cfg = cfg_for(service)
    with pytest.raises(OutOfScope):
        service.live(outside)
    with pytest.raises(OutOfScope):
        wall_page.content(service, {**cfg, "region": outside})
    with pytest.raises(OutOfScope):
        service.refresh_config(outside, {**cfg, "region": outside}, service.ctx.wall_access())
    assert service._watched.keys() <= {"320500"}   # nothing outside is remembered to warm


def test_a_url_outside_the_root_shows_the_roots_wall(walls):
    service = walls("320500")
    page = wall_page.render(service, {"region": "320100"})
    assert by_id(page, "wall-heading").children.startswith("苏州市 · ")
    assert "南京" not in text_of(page)


# -- the callbacks, registered on a bare Dash app behind the request guard ---------------
def wall_app(service: WallService, **guard) -> Dash:
    """`guard`: the request guard's turns (request_guard.install's arguments)."""
    app = Dash(__name__, suppress_callback_exceptions=True)
    app.layout = html.Div(id="page")
    wall_page.register(app, service)
    request_guard.install(app, **guard)
    return app


def post(app, output_has: str, values: dict, changed: str, client=None, headers=None):
    """A callback request as the page posts it (`client`: one holding a session or a
    wall device's cookie, with `headers` such as the page's Origin)."""
    deps = app.server.test_client().get("/_dash-dependencies").get_json()
    dep = next(d for d in deps if output_has in d["output"] and not d.get("clientside_function"))

    def items(specs):
        return [{"id": s["id"], "property": s["property"],
                 "value": values.get((s["id"], s["property"]))} for s in specs]
    body = {"output": dep["output"], "outputs": split_callback_id(dep["output"]),
            "inputs": items(dep["inputs"]), "state": items(dep["state"]),
            "changedPropIds": [changed]}
    return (client or app.server.test_client()).post("/_dash-update-component", json=body,
                                                     headers=headers)


def refresh(app, region, stored, changed="wall-tick.n_intervals", mark=None):
    return post(app, "wall-kpi-data.data", {("wall-tick", "n_intervals"): 3,
                                            ("wall-region", "data"): region,
                                            ("wall-config", "data"): stored,
                                            ("wall-marks", "data"): mark}, changed)


def rotate(app, current, stored):
    return post(app, "wall-region.data", {("wall-rotate", "n_intervals"): 1,
                                          ("wall-region", "data"): current,
                                          ("wall-config", "data"): stored},
                "wall-rotate.n_intervals")


def test_refresh_callback_answers_every_output(walls):
    service = walls("320000")
    clocks = Clocks()
    service.pace = Pace(service.settings.refresh_seconds, cpu=lambda: clocks.cpu,
                        clock=lambda: clocks.now)
    app, cfg = wall_app(service), cfg_for(service)
    resp = refresh(app, "320500", cfg)
    assert resp.status_code == 200
    out = resp.get_json()["response"]
    assert out["wall-heading"]["children"] == "苏州市 · 网格化社会治理指挥中心"
    assert out["wall-kpi-data"]["data"]["values"]["intake"] == f"{expected_kpis('320500').intake:,}"
    for p in PANELS:
        assert f"wall-{p.key}" in out and re.fullmatch(
            r"\d\d:\d\d:\d\d", out[f"wall-asof-{p.key}"]["children"]), p.key
    assert "wall-crumbs" not in out            # a tick keeps the breadcrumb (no_update)
    # Every answer tells the screen its interval: the tick while the worker keeps up,
    # twice that (spread ±10%) after a window in which it was saturated.
    tick_ms = service.settings.refresh_seconds * 1000
    assert out["wall-tick"]["interval"] == tick_ms
    clocks.run(10.0, busy=0.97)
    later = refresh(app, "320500", cfg).get_json()["response"]
    assert 1.8 * tick_ms <= later["wall-tick"]["interval"] <= 2.2 * tick_ms
    changed = refresh(app, "320500", cfg, changed="wall-region.data").get_json()["response"]
    assert "wall-crumbs" in changed and "虎丘" in json.dumps(changed, ensure_ascii=False)


def test_a_panel_is_sent_only_when_the_screen_does_not_show_it_yet(walls):
    # A panel whose data did not change since the screen's last answer is no_update
    # (absent from the answer); its time always comes.
    service = walls("320000")
    app, cfg = wall_app(service), cfg_for(service)
    first = refresh(app, "320500", cfg).get_json()["response"]
    marks = first["wall-marks"]["data"]
    # The panels, and the map, its legend and the source badges (a tick's map is a Patch
    # of its colours and labels).
    assert set(marks) == {p.key for p in PANELS} | {"map", "legend", "fresh"}
    drawn = [f"wall-{p.key}" for p in PANELS] + ["wall-map", "wall-legend", "wall-fresh"]
    assert all(o in first for o in drawn)
    again = refresh(app, "320500", cfg, mark=marks).get_json()["response"]
    assert not any(o in again for o in drawn), again.keys()
    assert all(f"wall-asof-{p.key}" in again for p in PANELS)
    assert again["wall-marks"]["data"] == marks
    assert again["wall-kpi-data"] == first["wall-kpi-data"]
    # One panel's mark differs (the screen shows older data, or a forged mark): that panel
    # alone, drawn as it was the first time.
    older = {**marks, "overdue": "0" * 16}
    one = refresh(app, "320500", cfg, mark=older).get_json()["response"]
    assert [p.key for p in PANELS if f"wall-{p.key}" in one] == ["overdue"]
    assert one["wall-overdue"] == first["wall-overdue"]
    for forged in ({"ranking": 5}, {"x": "y"}, {}):
        full = refresh(app, "320500", cfg, mark=forged).get_json()["response"]
        assert all(o in full for o in drawn)
        assert full["wall-legend"] == first["wall-legend"]
        assert full["wall-fresh"] == first["wall-fresh"] and full["wall-map"] == first["wall-map"]
    # A screen whose map shows other values gets the map's patch, and nothing else.
    recoloured = refresh(app, "320500", cfg, mark={**marks, "map": "0" * 16}).get_json()
    assert [o for o in drawn if o in recoloured["response"]] == ["wall-map"]
    # A region changed by the rotation: every panel.
    turned = refresh(app, "320500", cfg, changed="wall-region.data", mark=marks)
    assert all(f"wall-{p.key}" in turned.get_json()["response"] for p in PANELS)
    # The page carries the marks of what it was drawn with.
    page = wall_page.render(service, {"region": "320500"})
    assert by_id(page, "wall-marks").data == marks


def test_the_pace_counts_the_wait_for_a_turn_at_the_callback_gate(walls):
    # Two workers and the database sharing two cores: no process reaches the CPU share
    # that slows the screens, yet refreshes queue at the gate. The time a refresh waited
    # for its turn is part of what the pace sees.
    import threading
    service = walls("320000")
    app = wall_app(service, concurrent=1, queue_seconds=10)
    cfg = cfg_for(service)
    refresh(app, "320500", cfg)             # warm: views built, memo filled for the tick
    seen = []
    service.pace.observe = seen.append
    gate = app.server.extensions["gridwatch_callback_gates"]["tick"]
    assert gate.acquire(timeout=1)          # another wall's tick holds the only turn
    answer = []
    t = threading.Thread(target=lambda: answer.append(refresh(app, "320500", cfg)))
    t.start()
    time.sleep(1.0)
    gate.release()
    t.join(10)
    assert answer and answer[0].status_code == 200
    assert len(seen) == 1 and seen[0] >= 1.0, seen


def test_a_walls_tick_waits_one_tick_for_a_turn_a_region_change_longer(walls):
    # Past capacity a screen skips a tick (503; it keeps its numbers) instead of standing
    # in a line that grows; a change a person made keeps the longer wait.
    import threading
    service = walls("320000")
    app = wall_app(service, concurrent=1, queue_seconds=30, periodic_seconds=0.2)
    cfg = cfg_for(service)
    gates = app.server.extensions["gridwatch_callback_gates"]
    assert gates["tick"].acquire(timeout=1) and gates["other"].acquire(timeout=1)
    ticked, changed = [], []
    tick = threading.Thread(target=lambda: ticked.append(refresh(app, "320500", cfg)))
    change = threading.Thread(target=lambda: changed.append(
        refresh(app, "320500", cfg, changed="wall-region.data")))
    tick.start()
    change.start()
    tick.join(20)                           # far less than the 30 s queue
    assert ticked and ticked[0].status_code == 503 and ticked[0].headers["Retry-After"] == "1"
    assert change.is_alive() and not changed                # still waiting for its turn
    gates["other"].release()
    change.join(20)
    assert changed and changed[0].status_code == 200
    gates["tick"].release()


def test_a_walls_tick_and_a_persons_change_never_take_each_others_turns(walls):
    # A leader's custom range can hold its database for seconds: it holds a leader's
    # turn, never a wall's; and a province's walls never fill the turns of a person's click.
    service = walls("320000")
    app = wall_app(service, concurrent=1, queue_seconds=0.3, periodic_seconds=0.3)
    cfg = cfg_for(service)
    gates = app.server.extensions["gridwatch_callback_gates"]
    assert gates["other"].acquire(timeout=1)                # the people's turns all taken
    assert refresh(app, "320500", cfg).status_code == 200   # a wall's tick: answered
    assert refresh(app, "320500", cfg, changed="wall-region.data").status_code == 503
    gates["other"].release()
    assert gates["tick"].acquire(timeout=1)                 # the walls' turns all taken
    assert refresh(app, "320500", cfg, changed="wall-region.data").status_code == 200
    assert refresh(app, "320500", cfg).status_code == 503
    gates["tick"].release()


def test_the_guard_says_once_a_minute_how_long_callbacks_waited_and_ran(walls, caplog):
    # A screen's answer time is its wait for a turn plus its run: the log line says which.
    import threading
    service = walls("320000")
    app = wall_app(service, concurrent=1, queue_seconds=0.3)
    cfg = cfg_for(service)
    assert refresh(app, "320500", cfg).status_code == 200
    gate = app.server.extensions["gridwatch_callback_gates"]["tick"]
    assert gate.acquire(timeout=1)
    assert refresh(app, "320500", cfg).status_code == 503       # turned away after 0.3 s
    answer = []
    t = threading.Thread(target=lambda: answer.append(refresh(app, "320500", cfg)))
    t.start()
    time.sleep(0.2)         # inside the queue's 0.3 s
    gate.release()
    t.join(10)
    assert answer and answer[0].status_code == 200
    turns = app.server.extensions["gridwatch_callback_turns"]
    assert not [r for r in caplog.records if "callbacks in" in r.getMessage()]
    turns.every = 0
    with caplog.at_level(logging.INFO, logger="dashboard.app.request_guard"):
        assert refresh(app, "320500", cfg).status_code == 200
    lines = [r.getMessage() for r in caplog.records if "callbacks in" in r.getMessage()]
    assert len(lines) == 1 and "wall-kpi-data 3 answered" in lines[0] and "1 busy" in lines[0]
    waited_p95 = int(re.search(r"waited p50 [\d,]+ / p95 ([\d,]+)", lines[0])[1].replace(",", ""))
    assert 150 <= waited_p95 < 5000, lines[0]
    assert turns.line() is None         # started over: nothing since


def test_redis_is_asked_for_its_state_once_per_tick_not_once_per_region(walls):
    service = walls("320000", refresh_seconds=3600)      # one tick for the whole test
    events, asked = service.ctx.events, []
    health = events.health
    events.health = lambda: asked.append(1) or health()
    views = [service.live(code) for code in ("320000", "320100", "320500", "320505")]
    assert len(asked) == 1
    assert all(v["sources"]["redis"]["status"] == views[0]["sources"]["redis"]["status"]
               for v in views)


def test_a_panel_mark_follows_its_data_not_its_time():
    from layouts.wall_panels import BY_KEY, PanelData
    row = {"id": 1, "case_no": FULL_CASE_NO, "community": "金色社区", "grid": "第1网格",
           "category": "市容环境", "supervision": 2,
           "deadline_at": "2026-12-03T15:00:50+00:00"}     # 5 h 50 s after the section's clock
    overdue = {"as_of": "2026-12-03T10:00:00+00:00", "urgent": [], "oldest": [row]}

    def data(section, lang="zh", privacy=False):
        return PanelData(live={"overdue": section}, period={}, rows=[], lang=lang,
                         target=97.0, privacy=privacy)

    def later(seconds):   # the same case, `seconds` on (a carried-over model, restamped)
        return {**overdue, "as_of": f"2026-12-03T10:00:{seconds:02d}+00:00"}
    mark = BY_KEY["overdue"].mark
    # The time left moves every tick; the panel shows it to the minute: its mark (and the
    # panel sent to the screens) changes when the minute shown does, not every tick.
    assert mark(data(overdue)) == mark(data(later(5))) == mark(data(later(45)))
    assert mark(data(overdue)) != mark(data(later(55)))
    assert mark(data(overdue)) != mark(data({**overdue, "oldest": [{**row, "supervision": 3}]}))
    assert mark(data(overdue)) != mark(data(overdue, lang="en"))
    assert mark(data(overdue)) != mark(data(overdue, privacy=True))
    assert mark(data(None)) != mark(data({**overdue, "oldest": []}))


def _same(cfg):
    return cfg


def _forged_region(cfg):
    return {**cfg, "region": "320100"}


def _no_region(cfg):
    return {k: v for k, v in cfg.items() if k != "region"}


@pytest.mark.parametrize("region,forge", [
    ("320100", _same),                 # another city
    ("320000", _same),                 # the province above the root
    (None, _forged_region),            # the region taken from a forged config
    (None, _no_region),                # no region at all
])
def test_refresh_outside_the_root_is_a_bad_request(walls, region, forge):
    service = walls("320500")
    app, cfg = wall_app(service), cfg_for(service)
    resp = refresh(app, region, forge(cfg))
    assert resp.status_code == 400 and "南京" not in resp.get_data(as_text=True)
    assert refresh(app, "320505", cfg).status_code == 200   # the same app still answers


def test_refresh_reads_only_the_viewers_choices_from_the_config(walls):
    service = walls("320500")
    app, cfg = wall_app(service), cfg_for(service)
    forged = {**cfg, "lang": "en", "privacy": "yes", "target": "x", "tz": "Mars/Olympus"}
    out = refresh(app, "320500", forged).get_json()["response"]
    assert out["wall-heading"]["children"] == "苏州市 · Grid Governance Command Center"
    assert FULL_CASE_NO in json.dumps(out)     # "yes" is not privacy=True


def test_rotate_callback_cycles_through_the_roots_children(walls):
    service = walls("320500")
    app, cfg = wall_app(service), cfg_for(service, rotate="30")
    nxt = [rotate(app, cur, cfg).get_json()["response"]["wall-region"]["data"]
           for cur in ("320500", "320505", "320506", "320100")]
    assert nxt == ["320505", "320506", "320500", "320500"]   # 南京 is not in the cycle
    assert rotate(app, "320500", {**cfg, "region": "320000"}).status_code == 400


# -- the database down --------------------------------------------------------------------
def test_database_down_keeps_the_last_good_numbers_and_says_since_when(walls):
    store = FakeCaseStore(small_tree(), dict(LEAF), cases={42: overdue_case()})
    service = walls("320000", refresh_seconds=0.3, store=store)
    cfg = cfg_for(service, region="320500")
    good = wall_page.content(service, cfg)
    assert good["kpis"]["intake"] == "700"
    store.down = True
    went_down = datetime.now(timezone.utc).replace(microsecond=0)
    wait_for_next_tick(service)
    wait_for_next_tick(service)        # a whole tick built after the database went down
    down = wall_page.content(service, cfg)
    assert down["kpis"] == good["kpis"] and down["kpi_subs"] == good["kpi_subs"]
    assert down["as_of"]["dispatch"] == good["as_of"]["dispatch"]   # the numbers' age shows
    db = service.live("320500")["sources"]["database"]
    assert db["status"] == "down" and "down" in db["error"]
    since = iso(db["since"])
    assert went_down <= since <= datetime.now(timezone.utc)
    badge = by_id(down["fresh"], "wall-fresh-database")
    local = since.astimezone(ZoneInfo(TZ)).strftime("%H:%M:%S")
    assert badge.to_plotly_json()["props"]["data-status"] == "down"
    assert badge.children == f"数据库 中断 · 自 {local}"
    wait_for_next_tick(service)
    assert service.live("320500")["sources"]["database"]["since"] == db["since"]  # not reset
    store.down = False
    wait_for_next_tick(service)
    wait_for_next_tick(service)
    assert service.live("320500")["sources"]["database"]["status"] == "up"


def test_period_view_keeps_its_sections_while_the_database_is_down():
    tree = small_tree()
    store, region = FakeCaseStore(tree, dict(LEAF)), tree.get("320000")
    weights = Settings().weights
    good = build_period(store, tree, region, TZ, NOW, None, weights)
    store.down = True
    later = NOW + timedelta(minutes=5)
    down = build_period(store, tree, region, TZ, later, good, weights)
    assert down["sections"] == good["sections"] and down["sections"]["ranking"]["rows"]
    db = down["sources"]["database"]
    assert db["status"] == "down" and iso(db["since"]) == later
    assert db["as_of"] == good["sources"]["database"]["as_of"]


def test_no_region_tree_at_all_is_a_waiting_screen_not_an_error(walls):
    def unreadable():
        raise ConnectionError("the case database is down")
    service = walls("320000", tree=Lazy(unreadable))
    for lang, words_of_it in (("zh", "正在连接数据库"), ("en", "Connecting to the database")):
        page = wall_page.render(service, {"lang": lang})
        assert page.id == "wall-waiting" and words_of_it in text_of(page)


# -- English ------------------------------------------------------------------------------
def test_the_english_wall_renders(walls):
    service = walls("320000")
    page = wall_page.render(service, {"region": "320500", "lang": "en"})
    assert page.id == "wall-root" and page.lang == "en"     # not the waiting screen
    assert by_id(page, "wall-heading").children == "苏州市 · Grid Governance Command Center"
    shown = words(page)
    for title in ("Ranking · this month", "Supervised · overdue", "Live cases",
                  "Intake today", "On-time rate"):
        assert title in shown, title
    assert "综合排名" not in shown and "今日受理" not in shown
    assert by_id(page, "wall-kpi-intake").children == "700"


class WaitingStore(FakeCaseStore):
    """Open cases with no level yet (待受理 / 待派单) beside ones a grid holds."""

    def open_by_state_and_level(self, scope):
        return {("REPORTED", None): 7, ("REGISTERED", None): 3, ("IN_PROGRESS", "网格"): 5}


@pytest.mark.parametrize("lang,word", [("zh", "未分级"), ("en", "none yet")])
def test_cases_without_a_level_have_a_visible_segment(lang, word):
    from layouts.wall_parts import UNASSIGNED_SHADE, dispatch_bars
    tree = small_tree()
    live = build_live(WaitingStore(tree, dict(LEAF)), tree, tree.get("320500"), TZ, NOW, None)
    section = live["sections"]["dispatch"]
    by_state = {s["state"]: s for s in section["states"]}
    assert by_state["REPORTED"]["levels"][""] == 7 == by_state["REPORTED"]["count"]
    assert by_state["REGISTERED"]["levels"][""] == 3
    key, *rows = dispatch_bars(section, lang)
    assert word in text_of(key)
    row = next(r for r in rows if r.to_plotly_json()["props"]["data-state"] == "REPORTED")
    bar = row.children[1]
    assert [seg.style["background"] for seg in bar.children] == [UNASSIGNED_SHADE]
    assert float(bar.children[0].style["width"].rstrip("%")) > 0


def test_the_wall_ranking_marks_every_thin_rate_and_scores_no_unranked_child():
    from layouts.wall_parts import ranking_table
    tree = small_tree()
    # 苏州: 20 cases due (按期 thin), 100 rated (满意 not): ranked, its 按期 marked.
    store = FakeCaseStore(tree, {**LEAF, SUZHOU_GRID: counts(20, on_time_pct=100,
                                                              satisfied_pct=99, due=20,
                                                              rated=100)})
    period = build_period(store, tree, tree.get("320000"), TZ, NOW, None, Settings().weights)
    rows = {r["code"]: r for r in period["sections"]["ranking"]["rows"]}
    table, note = ranking_table(period["sections"]["ranking"], "zh", 97.68)
    by_code = {tr.to_plotly_json()["props"]["data-code"]: tr for tr in table.children[1].children}
    cells = lambda code: [words(td) for td in by_code[code].children]  # noqa: E731
    # 连云港: every rate thin → unranked: no score, no 主要失分.
    assert rows["320700"]["rank"] is None
    lyg = cells("320700")
    assert lyg[0] == "—" and lyg[3] == "—" and lyg[4] == "—"
    # A 100.0% 按期 from 20 due cases is marked thin, not shown as a plain 100.0%.
    sz = cells("320500")
    assert "样本<30" in sz[5] and "100.0%" not in sz[5]
    assert rows["320500"]["rank"] is not None
    assert "不设红黑榜" in words(note)       # 2 ranked: a third of them is nobody


def test_a_batch_prepared_by_the_hub_needs_no_read_of_the_pages(walls):
    """The live feed's hub reads a batch's cases once (`prepare_ticker`) before the pages
    get it; each page's rows then come from what it read, with the details, without a
    turn of its own at the database. After the cases could not be read, the hub leaves
    the reading to the pages for a while (it would wait for a timeout at every batch)."""
    service = walls("320000")
    store = service.ctx.cases
    batch = [stream_event("1-0", SUZHOU_GRID, case_id=42)]
    service.prepare_ticker(batch)
    assert store.calls.count("case_summaries") == 1
    for region in ("320000", "320500"):
        [row] = service.ticker_rows(batch, region, False, "zh")
        assert row["case_no"] == FULL_CASE_NO and row["category"] == "城市管理"
    assert store.calls.count("case_summaries") == 1

    def down(scope, ids):
        store.calls.append("case_summaries")
        raise ConnectionError("database down")
    store.case_summaries = down
    late = [stream_event("2-0", SUZHOU_GRID, case_id=43)]
    [row] = service.ticker_rows(late, "320500", False, "zh")   # a page's own read fails
    assert store.calls.count("case_summaries") == 2 and row["id"] == "2-0"
    service.prepare_ticker(late)                                  # the hub does not wait
    assert store.calls.count("case_summaries") == 2

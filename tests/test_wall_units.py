"""The wall's server side without a browser: shared views, the stream hub, ticker rows,
URL configuration and the last-good fallback."""
import threading
import time
from datetime import datetime, timezone

import plotly.graph_objects as go
import pytest
from flask import Flask
from flask_caching import Cache

from dashboard.cache.shared_views import SharedViews
from dashboard.domain.colours import colours
from dashboard.domain.metrics import WALL_MAP as METRICS
from dashboard.domain.text import duration, time_left
from dashboard.views.wall.ticker import mask_case_no
from data_sources.case_store import SqlCaseStore


def _views(redis_url, key_prefix, redis_client):
    app = Flask(__name__)
    cache = Cache(app, config={"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": redis_url,
                               "CACHE_KEY_PREFIX": key_prefix + "cache:"})
    return SharedViews(cache, lambda: redis_client, key_prefix, wait_seconds=5)


def test_concurrent_viewers_share_one_computation(redis_url, key_prefix, redis_client):
    views = _views(redis_url, key_prefix, redis_client)
    calls = []

    def build(previous):
        calls.append(previous)
        time.sleep(0.3)  # a slow query: everyone else arrives meanwhile
        return {"n": len(calls)}
    results = []
    threads = [threading.Thread(target=lambda: results.append(
        views.get("wall-live", "320000", 7, ttl=10, build=build))) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(calls) == 1 and results == [{"n": 1}] * 8
    assert int(redis_client.get(views.counter_key("wall-live", "320000"))) == 1
    # Next tick: one more computation, which receives the last good result.
    assert views.get("wall-live", "320000", 8, ttl=10, build=build) == {"n": 2}
    assert calls[1] == {"n": 1}


def test_a_failing_build_runs_once_and_its_error_reaches_the_caller(redis_url, key_prefix,
                                                                   redis_client):
    """A view that fails (its database's pool ran out) is not Redis failing: it is not
    computed a second time in-process."""
    views = _views(redis_url, key_prefix, redis_client)
    calls = []

    def build(previous):
        calls.append(previous)
        raise TimeoutError("QueuePool limit reached")
    with pytest.raises(TimeoutError, match="QueuePool"):
        views.get("wall-live", "320000", 8, ttl=10, build=build)
    assert len(calls) == 1
    assert not redis_client.exists(f"{key_prefix}lock:view:wall-live:320000:8")


def test_views_survive_redis_down(key_prefix):
    app = Flask(__name__)
    cache = Cache(app, config={"CACHE_TYPE": "RedisCache",
                               "CACHE_REDIS_URL": "redis://127.0.0.1:1/0",
                               "CACHE_KEY_PREFIX": key_prefix})
    from data_sources.redis_client import make_client
    views = SharedViews(cache, lambda: make_client("redis://127.0.0.1:1/0"), key_prefix)
    calls = []
    build = lambda prev: calls.append(prev) or {"n": len(calls)}  # noqa: E731
    assert views.get("v", "320000", 1, 5, build) == {"n": 1}
    assert views.get("v", "320000", 1, 5, build) == {"n": 1}  # once per tick in-process
    assert views.get("v", "320000", 2, 5, build) == {"n": 2} and calls[1] == {"n": 1}
    # A view built from another view (the ranking's previous period) must not deadlock.
    nested = lambda prev: {"inner": views.get("inner", "320000", 1, 5, lambda p: {"x": 1})}  # noqa: E731
    assert views.get("outer", "320000", 1, 5, nested) == {"inner": {"x": 1}}


def test_hub_resumes_after_an_id_without_loss_or_duplicates(redis_url, key_prefix,
                                                            redis_client):  # cleans the keys
    from data_sources.redis_client import make_client
    from data_sources.redis_stream import EventStream
    from data_sources.stream_events import encode_event
    from data_sources.stream_hub import StreamHub, follow
    key = key_prefix + "events"
    writer = EventStream(make_client(redis_url), key)

    def add(i):
        return writer.append(encode_event(
            "REPORTED", case_id=i, seq=1, ts=datetime.now(timezone.utc),
            grid="320102001001001", state="REPORTED", case_no=f"N{i}", category="其他",
            subcategory="其他", source="信访", urgency="一般"))
    ids = [add(i) for i in range(1, 6)]
    hub = StreamHub(lambda: EventStream(make_client(redis_url, blocking=True), key))
    accept = lambda e: e.case_id != 3  # noqa: E731 - a region filter drops case 3
    sub = hub.subscribe(accept)
    seen: list[int] = []
    stop = threading.Event()

    def consume():
        for kind, item in follow(hub, sub, ids[1], accept, heartbeat=0.2):
            if kind == "events":
                seen.extend(e.case_id for e in item)
            if stop.is_set():
                return
    th = threading.Thread(target=consume, daemon=True)
    th.start()
    for i in range(6, 9):
        add(i)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and seen[-1:] != [8]:
        time.sleep(0.05)
    stop.set()
    hub.unsubscribe(sub)
    assert seen == [4, 5, 6, 7, 8]  # after ids[1] (case 2), case 3 filtered, in order, once
    writer.client.close()


def test_ticker_privacy_and_time_left_texts():
    assert mask_case_no("202611250000036334") == "2026**********6334"
    assert duration(3 * 86400 + 4 * 3600 + 5) == "3天4小时"
    assert duration(-(5 * 3600 + 12 * 60)) == "5小时12分"
    assert time_left(-7200) == ("超2小时0分", "over")
    assert time_left(3600) == ("剩1小时0分", "near")
    assert time_left(None) == ("—", "none")
    assert time_left(None, settled=True) == ("已办结", "done")
    assert time_left(-60, "en") == ("1m over", "over")


def test_map_colours_mean_the_same_in_every_metric():
    on_time = METRICS["on_time"]
    fills, labels = colours(on_time, [70.0, 97.0, None])
    assert fills[0] == "#d73027" and fills[1] == "#4575b4" and fills[2] == "#3a4658"
    assert labels[0] == "<80%" and labels[-1] == "≥95%"
    overdue = METRICS["overdue_open"]  # lower is better: most overdue is red
    fills, _ = colours(overdue, [1, 2, 3, 4, 50])
    assert fills[-1] == "#d73027" and fills[0] == "#4575b4"


@pytest.mark.parametrize("key", list(METRICS))
def test_each_legend_swatch_is_the_colour_of_its_bin(key):
    """The legend pairs each range with the colour a value in that range gets (it paired
    the most overdue range with blue), and a volume is not painted good or bad."""
    from dashboard.domain.colours import BAD_TO_GOOD, legend_swatches
    metric = METRICS[key]
    values = [55.0, 82.0, 87.5, 91.0, 96.0, 97.0, 99.0] if metric.kind == "rate" else [
        1, 5, 9, 14, 20, 33, 60, 80, 120, 300]
    fills, labels = colours(metric, values)
    by_label = dict(zip(labels, legend_swatches(metric)))
    for v, fill in zip(values, fills):
        lo = [lbl for lbl in labels if _in_range(v, lbl)]
        assert lo and by_label[lo[0]] == fill, (key, v, fill, by_label)
    if metric.neutral:
        assert not set(fills) & set(BAD_TO_GOOD)


def _in_range(v, label: str) -> bool:
    num = lambda x: float(x.replace("%", "").replace(",", ""))  # noqa: E731
    if label.startswith("<"):
        return v < num(label[1:])
    if label.startswith("≥"):
        return v >= num(label[1:])
    a, b = label.split("–")
    return num(a) <= v < num(b)


def test_live_view_keeps_last_good_sections_when_the_database_fails():
    import sqlalchemy as sa

    from dashboard.views.wall.model import build_live

    class Region:
        code, level, name = "320000", 0, "江苏省"

    class Tree:
        def children(self, code):
            return []

    dead = sa.create_engine("postgresql+psycopg://nobody@127.0.0.1:1/x",
                            connect_args={"connect_timeout": 1})
    now = datetime.now(timezone.utc)
    previous = {"sections": {"kpis": {"as_of": "2026-11-25T01:00:00+00:00", "intake": 9}},
                "sources": {"database": {"status": "up", "as_of": "2026-11-25T01:00:00+00:00"}}}
    model = build_live(SqlCaseStore(dead), Tree(), Region(), "Asia/Shanghai", now, previous)
    assert model["sections"]["kpis"]["intake"] == 9
    db = model["sources"]["database"]
    assert db["status"] == "down" and db["since"] == now.isoformat(timespec="seconds")
    assert db["as_of"] == "2026-11-25T01:00:00+00:00"
    later = build_live(SqlCaseStore(dead), Tree(), Region(), "Asia/Shanghai", now.replace(year=2027), model)
    assert later["sources"]["database"]["since"] == db["since"]  # still down since then


@pytest.mark.parametrize("query,expect,notice", [
    ({}, {"region": "320000", "metric": "on_time", "lang": "zh", "rotate": 0}, []),
    ({"region": "999999", "metric": "nope", "rotate": "x"},
     {"region": "320000", "metric": "on_time"}, ["region:999999", "metric:nope", "rotate:x"]),
    ({"region": "320100", "metric": "satisfaction", "lang": "en", "rotate": "3",
      "privacy": "1"},
     {"region": "320100", "metric": "satisfaction", "lang": "en", "rotate": 10, "privacy": True},
     []),
])
def test_wall_config_falls_back_instead_of_failing(query, expect, notice):
    from types import SimpleNamespace

    from dashboard.app.context import AppContext
    from dashboard.app.settings import Settings
    from dashboard.domain.hierarchy import level_of
    from dashboard.domain.walls import WallAccess
    from dashboard.views.wall.service import WallService

    class Tree:
        def __contains__(self, code):
            return code in ("320000", "320100")

        def contains(self, root, code):
            return code in ("320000", "320100")

        def get(self, code):
            return SimpleNamespace(code=code, level=level_of(code)) if code in self else None

    class Lazy:
        def get(self):
            return Tree()
    svc = WallService(AppContext(Settings(), None, Lazy(), None, None), None)
    cfg, notices = svc.config(query, WallAccess(("320000",)))
    assert {k: cfg[k] for k in expect} == expect
    assert notices == notice


def test_slow_views_are_rebuilt_in_the_background(redis_url, key_prefix, redis_client):
    views = _views(redis_url, key_prefix, redis_client)
    release = threading.Event()
    calls = []

    def slow(previous):
        calls.append(previous)
        if len(calls) > 1:
            release.wait(5)
        return {"n": len(calls)}
    assert views.get("period", "320000", 1, 60, slow, stale_ok=True) == {"n": 1}  # first: waits
    t0 = time.monotonic()
    assert views.get("period", "320000", 2, 60, slow, stale_ok=True) == {"n": 1}  # stale, at once
    assert views.get("period", "320000", 2, 60, slow, stale_ok=True) == {"n": 1}  # no 2nd build
    assert time.monotonic() - t0 < 1.0
    release.set()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and views.get("period", "320000", 2, 60, slow,
                                                    stale_ok=True) != {"n": 2}:
        time.sleep(0.05)
    assert views.get("period", "320000", 2, 60, slow, stale_ok=True) == {"n": 2}
    assert len(calls) == 2


def test_a_deferred_view_is_read_not_built_unless_it_never_was(redis_url, key_prefix,
                                                               redis_client):
    """`defer` (a web worker beside the wall builder process): a stale view is served as
    its last good copy and no build starts here, not even in the background; a view that
    never was is built by whoever asks (a first viewer must see something)."""
    views = _views(redis_url, key_prefix, redis_client)
    calls = []

    def build(previous):
        calls.append(previous)
        return {"n": len(calls)}
    assert views.get("period", "320100", 1, 60, build, stale_ok=True, defer=True) == {"n": 1}
    assert views.get("period", "320100", 2, 60, build, stale_ok=True, defer=True) == {"n": 1}
    time.sleep(0.3)                                 # a background build would have run
    assert len(calls) == 1
    assert views.get("period", "320100", 2, 60, build, stale_ok=True) == {"n": 1}  # not deferred
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(calls) < 2:
        time.sleep(0.05)
    assert len(calls) == 2


def test_background_job_starts_once_stops_and_restarts_after_finishing():
    import threading

    from dashboard.cache.background import Background
    runs, release = [], threading.Event()

    def work(stopping):
        runs.append(1)
        while not stopping.wait(0.01):
            if release.is_set():
                return   # finished by itself (nothing left to do)
    job = Background("test-job", work)
    job.ensure_started()
    job.ensure_started()
    assert job.alive and len(runs) == 1
    release.set()
    assert job.join(5)
    release.clear()
    job.ensure_started()            # finished jobs start again on demand
    assert job.alive and len(runs) == 2
    job.stop()
    assert job.join(5) and not job.alive
    job.ensure_started()            # a stopped job stays stopped
    assert not job.alive and len(runs) == 2


def test_a_bounded_memo_keeps_the_most_recently_used():
    from dashboard.cache.bounded import Bounded
    memo = Bounded(2)
    memo["a"], memo["b"] = 1, 2
    assert memo.get("a") == 1        # "a" is now the most recent
    memo["c"] = 3
    assert list(memo) == ["a", "c"] and memo.get("b") is None


def test_todays_satisfaction_from_few_ratings_is_drawn_thin():
    """One rating gives 100%: its ◆ is hollow and grey, and says how few ratings it has, as
    the month's bars from too few ratings are grey (DOMAIN §6's guard, on the chart)."""
    from layouts import wall_charts
    rows = [{"code": "a", "name": "甲区", "satisfaction": 100.0, "rated": 1},
            {"code": "b", "name": "乙区", "satisfaction": 96.5, "rated": 240}]
    fig = go.Figure(wall_charts.satisfaction_figure(rows, {}, 90.0, 30))
    today = next(tr for tr in fig.data if tr.type == "scatter" and tr.name == "今日")
    assert list(today.marker.symbol) == ["diamond-open", "diamond"]
    assert today.marker.color[0] == wall_charts.MUTED != today.marker.color[1]
    assert "1 件评价" in today.customdata[0] and today.customdata[1] == ""


def test_an_exhausted_redis_pool_serves_the_last_good_view_without_computing(
        redis_url, key_prefix, redis_client):
    """Redis up but no free connection (a worker with hundreds of screens at once): not
    "Redis down", so no in-process computation that would add to the overload
    (bench.province_scale); the last good view this process has, or "waiting"."""
    from data_sources.redis_client import make_client
    app = Flask(__name__)
    cache = Cache(app, config={"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": redis_url,
                               "CACHE_KEY_PREFIX": key_prefix + "cache:"})
    tiny = make_client(redis_url, max_connections=1, timeout=0.1)
    clients = [redis_client]
    views = SharedViews(cache, lambda: clients[0], key_prefix)
    calls = []
    build = lambda prev: calls.append(prev) or {"n": len(calls)}  # noqa: E731
    assert views.get("wall-live", "320500", 1, 10, build) == {"n": 1}
    held = tiny.connection_pool.get_connection()
    try:
        clients[0] = tiny
        assert views.get("wall-live", "320500", 2, 10, build) == {"n": 1}   # last good
        assert views.get("wall-live", "320583", 2, 10, build) == {}         # waiting
        assert views.get("wall-labels", "320583", 2, 10, build, wait=False) is None
        assert len(calls) == 1
    finally:
        tiny.connection_pool.release(held)
        tiny.close()
    clients[0] = redis_client
    assert views.get("wall-live", "320500", 2, 10, build) == {"n": 2}


def test_the_hub_hands_each_region_its_events_as_its_filter_would(redis_url, key_prefix):
    # A province's worker holds ~670 open pages: a batch is sorted by the regions of its
    # grids once (the tree's lineage), and each page gets exactly what its own region
    # filter (tree.contains) would have let through, in the stream's order.
    from data_sources.redis_client import make_client
    from data_sources.redis_stream import EventStream
    from data_sources.stream_events import encode_event
    from data_sources.stream_hub import StreamHub, follow
    from tests.fakes import ROWS, small_tree
    tree = small_tree()
    grids = sorted(c for c in ROWS if tree.is_grid(c))
    key = key_prefix + "events"
    writer = EventStream(make_client(redis_url), key)
    hub = StreamHub(lambda: EventStream(make_client(redis_url, blocking=True), key),
                    lineage=tree.lineage)
    regions = [tree.root, *sorted({c for g in grids for c in tree.lineage(g)} - {tree.root})]
    pages = {}
    for region in regions:
        accept = (lambda r: lambda e: tree.contains(r, e.grid))(region)
        sub = hub.subscribe(accept, region)
        seen: list[int] = []
        stop = threading.Event()

        def consume(sub=sub, accept=accept, seen=seen, stop=stop):
            for kind, item in follow(hub, sub, None, accept, heartbeat=0.2):
                if kind == "events":
                    seen.extend(e.case_id for e in item)
                if stop.is_set():
                    return
        threading.Thread(target=consume, daemon=True).start()
        pages[region] = (sub, seen, stop)
    sent = []
    for i in range(1, 25):
        grid = grids[i % len(grids)] if i % 7 else "320999001001001"   # and one unknown grid
        writer.append(encode_event("REPORTED", case_id=i, seq=1, ts=datetime.now(timezone.utc),
                                   grid=grid, state="REPORTED", case_no=f"N{i}",
                                   category="其他", subcategory="其他", source="信访",
                                   urgency="一般"))
        sent.append((i, grid))
    deadline = time.monotonic() + 10
    expected = {r: [i for i, g in sent if tree.contains(r, g)] for r in regions}
    while time.monotonic() < deadline and any(pages[r][1] != expected[r] for r in regions):
        time.sleep(0.05)
    for r in regions:
        sub, seen, stop = pages[r]
        stop.set()
        hub.unsubscribe(sub)
        assert seen == expected[r], r
    # Regions see fewer than the root; the unknown grid's case (7) reaches no page.
    assert any(0 < len(expected[r]) < len(expected[tree.root]) for r in regions)
    assert all(7 not in seen for seen in expected.values())
    writer.client.close()


def test_the_hub_prepares_each_batch_before_any_page_gets_it(redis_url, key_prefix):
    # The ticker's cases are read once per batch by the hub (WallService.prepare_ticker),
    # not by each page in its own turn; a prepare that fails holds nothing back.
    from data_sources.redis_client import make_client
    from data_sources.redis_stream import EventStream
    from data_sources.stream_events import encode_event
    from data_sources.stream_hub import StreamHub, follow
    key = key_prefix + "events"
    writer = EventStream(make_client(redis_url), key)
    prepared: list[int] = []

    def prepare(events):
        prepared.extend(e.case_id for e in events)
        if any(e.case_id == 3 for e in events):
            raise ConnectionError("database down")
    hub = StreamHub(lambda: EventStream(make_client(redis_url, blocking=True), key),
                    prepare=prepare)
    sub = hub.subscribe(lambda e: True)
    seen: list[tuple[int, bool]] = []
    stop = threading.Event()

    def consume():
        for kind, item in follow(hub, sub, None, lambda e: True, heartbeat=0.2):
            if kind == "events":
                seen.extend((e.case_id, e.case_id in prepared) for e in item)
            if stop.is_set():
                return
    threading.Thread(target=consume, daemon=True).start()
    for i in range(1, 6):
        writer.append(encode_event("REPORTED", case_id=i, seq=1, ts=datetime.now(timezone.utc),
                                   grid="320102001001001", state="REPORTED", case_no=f"N{i}",
                                   category="其他", subcategory="其他", source="信访",
                                   urgency="一般"))
        time.sleep(0.05)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(seen) < 5:
        time.sleep(0.05)
    stop.set()
    hub.unsubscribe(sub)
    assert seen == [(i, True) for i in range(1, 6)]
    assert sorted(prepared) == [1, 2, 3, 4, 5]
    writer.client.close()


def test_the_hub_wakes_only_the_pages_it_has_events_for(redis_url, key_prefix):
    # ~670 pages a worker: a batch wakes the pages whose region it touches, not all of
    # them. A page with nothing still gets its status every heartbeat, frames or not,
    # and every page learns a change of state at once.
    from data_sources.redis_client import make_client
    from data_sources.redis_stream import EventStream
    from data_sources.stream_events import encode_event
    from data_sources.stream_hub import Batch, Frame, StreamHub, follow
    from tests.fakes import ROWS, small_tree
    tree = small_tree()
    grids = sorted(c for c in ROWS if tree.is_grid(c))
    near, far = grids[0], next(g for g in grids if not tree.contains(tree.lineage(grids[0])[1], g))
    here, there = tree.lineage(near)[1], tree.lineage(far)[1]
    key = key_prefix + "events"
    writer = EventStream(make_client(redis_url), key)
    hub = StreamHub(lambda: EventStream(make_client(redis_url, blocking=True), key),
                    lineage=tree.lineage)
    subs = {r: hub.subscribe((lambda r: lambda e: tree.contains(r, e.grid))(r), r)
            for r in (here, there)}
    for i in range(1, 11):
        writer.append(encode_event("REPORTED", case_id=i, seq=1, ts=datetime.now(timezone.utc),
                                   grid=near, state="REPORTED", case_no=f"N{i}", category="其他",
                                   subcategory="其他", source="信访", urgency="一般"))
        time.sleep(0.02)     # batches of one or two entries, as a quiet stream gives
    got: dict[str, list] = {here: [], there: []}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and sum(len(b.events) for b in got[here]) < 10:
        for r, sub in subs.items():
            while not sub.queue.empty():
                got[r].append(sub.queue.get_nowait())
        time.sleep(0.05)
    assert sum(len(b.events) for b in got[here]) == 10
    assert all(b.events for b in got[here][1:])    # after the first (the state), events only
    assert not any(b.events for b in got[there])   # never woken for another region's events
    assert len(got[there]) <= 1                     # at most the first state it was told
    hub.unsubscribe(subs[there])
    hub._publish(Batch([], {"status": "down", "since": 1.0, "error": "X"}))
    assert subs[here].queue.get(timeout=1).status["status"] == "down"
    hub.unsubscribe(subs[here])
    if hub._thread is not None:
        hub._thread.join(timeout=5)

    # A page that gets a frame more often than its heartbeat still gets its status.
    quiet = StreamHub(lambda: EventStream(make_client(redis_url, blocking=True), key))
    sub = quiet.subscribe(lambda e: False)
    kinds, started = [], time.monotonic()
    for kind, _ in follow(quiet, sub, None, sub.accept, heartbeat=0.2):
        kinds.append(kind)
        if time.monotonic() - started > 1.0:
            break
        if kind == "frame" or len(kinds) == 1:
            threading.Timer(0.05, quiet.deliver, ([sub], Frame("{}"))).start()
    quiet.unsubscribe(sub)
    if quiet._thread is not None:
        quiet._thread.join(timeout=5)
    assert kinds.count("frame") >= 10 and 4 <= kinds.count("status") <= 8, kinds


def test_live_event_ages_are_summed_up_once_a_minute():
    import logging

    from data_sources.stream_hub import Ages
    now = [1_000_000.0]                                   # s
    ages = Ages(every=0.0, clock=lambda: now[0])
    assert ages.line() is None                            # nothing noted: nothing said
    for ms_old in (10, 20, 30, 40, 500):
        ages.note(ages.written, f"{int(now[0] * 1000) - ms_old}-0")
    ages.note(ages.read, f"{int(now[0] * 1000) - 2}-3")
    ages.note(ages.published, f"{int(now[0] * 1000) - 5}-3")
    ages.note(ages.written, "not-an-id")                  # ignored
    level, line = ages.line()
    assert level == logging.WARNING                       # p95 500 ms > 100
    assert "read by the hub p50 2 / p95 2; published to the pages p50 5 / p95 5 (1)" in line
    assert "written to the screens p50 30 / p95 500 / longest 500 (5)" in line
    ages.note(ages.written, f"{int(now[0] * 1000) - 12}-0")
    assert ages.line()[0] == logging.INFO                 # and it started over
    assert ages.line() is None

"""Aggregates of /kpi and /region shared between viewers (dashboard/cache/page_memo.py), on the
real Redis and the seeded database: the cached view model is the one computed directly,
one computation serves every viewer within the interval, a stale one is shown only within
its bound and says how old it is."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

import pytest
from flask import Flask
from flask_caching import Cache

from dashboard.app.settings import Settings
from dashboard.cache.page_memo import PageMemo, direct, region_key
from dashboard.cache.shared_views import SharedViews
from dashboard.domain.hierarchy import Level
from dashboard.domain.periods import this_month
from dashboard.domain.scope import RegionScope
from dashboard.views import kpi as kpi_view
from dashboard.views import region as region_view
from dashboard.views import url_state
from data_sources.case_store import SqlCaseStore
from data_sources.database import make_engine
from data_sources.regions import RegionTree

TZ = "Asia/Shanghai"


@pytest.fixture(scope="module")
def env(seeded_env):
    url = seeded_env.env["GRIDWATCH_DATABASE_URL"]
    eng = make_engine(url)
    yield eng, RegionTree.load(eng, "320000"), Settings(region="320000", database_url=url)
    eng.dispose()


@pytest.fixture
def views(redis_url, key_prefix, redis_client):
    app = Flask(__name__)
    cache = Cache(app, config={"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": redis_url,
                               "CACHE_KEY_PREFIX": key_prefix + "cache:"})
    return SharedViews(cache, lambda: redis_client, key_prefix, wait_seconds=5)


def computed(redis_client, views, name: str, scope_code: str, window) -> int:
    region = region_key(scope_code, window, Settings().page_cache_seconds)
    return int(redis_client.get(views.counter_key(f"page-{name}", region)) or 0)


def test_cached_view_models_equal_the_direct_ones(env, views, redis_client):
    engine, tree, settings = env
    now = datetime.now(timezone.utc)
    for query, build in (({"region": "320500"}, lambda s, m: kpi_view.build(
            SqlCaseStore(engine), tree, settings, s, now, m)),
            ({"period": "today"}, lambda s, m: region_view.build(
                SqlCaseStore(engine), tree, settings, "320506", s, now, m))):
        state = url_state.parse(query)
        plain = build(state, direct)
        first = build(state, PageMemo(views, 60, 300, now.timestamp()))
        again = build(state, PageMemo(views, 60, 300, now.timestamp()))
        assert first == plain
        # The second viewer gets the first one's figures, and is told when they are from.
        assert again == plain and again.as_of["iso"] == plain.as_of["iso"]
    w = this_month(now, TZ)
    assert computed(redis_client, views, "known-counts-by-child@now", "320500", w) == 1


def test_concurrent_viewers_cost_one_computation(env, views, redis_client):
    engine, tree, settings = env
    now = datetime.now(timezone.utc)
    state = url_state.parse({"region": "320000"})
    results = []

    def viewer():
        results.append(kpi_view.build(SqlCaseStore(engine), tree, settings, state, now,
                                      PageMemo(views, 60, 300, now.timestamp())))
    threads = [threading.Thread(target=viewer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 6 and all(r == results[0] for r in results)
    w = this_month(now, TZ)
    assert computed(redis_client, views, "known-counts-by-child@now", "320000", w) == 1
    assert computed(redis_client, views, "daily", "320000", w) == 1   # the trend, per local day


def test_stale_results_only_within_their_bound(views, redis_client):
    scope = RegionScope("320000", Level.PROVINCE)
    w = this_month(datetime.now(timezone.utc), TZ)
    release = threading.Event()
    calls = []

    def compute():
        calls.append(time.time())
        if len(calls) == 2:
            release.wait(5)  # the background rebuild is slow
        return len(calls)
    t0 = 1_000_000.0
    first = PageMemo(views, 60, 300, t0)
    assert first("n", scope, w, compute) == 1 and first.as_of == t0
    # Two minutes later: a new interval. The one from t0 is within the 300 s bound, so it
    # is shown at once (and says it is from t0) while the next one is built behind it.
    later = PageMemo(views, 60, 300, t0 + 120)
    started = time.monotonic()
    assert later("n", scope, w, compute) == 1 and later.as_of == t0
    assert time.monotonic() - started < 1.0
    release.set()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(calls) < 2:
        time.sleep(0.05)
    time.sleep(0.2)
    fresh = PageMemo(views, 60, 300, t0 + 125)
    assert fresh("n", scope, w, compute) == 2 and fresh.as_of == t0 + 120
    # Ten minutes on, beyond the bound: the viewer waits for a fresh figure.
    much_later = PageMemo(views, 60, 300, t0 + 900)
    assert much_later("n", scope, w, compute) == 3 and much_later.as_of == t0 + 900
    assert len(calls) == 3


class _Filling(SqlCaseStore):
    """The store while the history fill has not reached the window's days yet (no figures:
    CaseStore.complete is False and the days count nothing), then once it has."""
    filling = True

    def complete(self, window):
        return not self.filling and super().complete(window)

    def kpi_counts_by(self, scope, window, now, by_child=False, settled=False):
        if self.filling:
            return {}
        return super().kpi_counts_by(scope, window, now, by_child=by_child, settled=settled)


def test_a_copy_counted_while_filling_says_so_until_it_is_rebuilt(env, views):
    """Seen in the demo: a copy counted while the period's days were being filled was
    served for a minute after the fill ended, as 受理量 0 and 无数据, because the page
    read its completeness afresh. It is part of the copy now."""
    engine, tree, settings = env
    now = datetime.now(timezone.utc)
    state = url_state.parse({"region": "320500"})
    store = _Filling(engine)

    def page(at: float):
        return kpi_view.build(store, tree, settings, state, now, PageMemo(views, 60, 300, at))

    def intake(model) -> str:
        return next(r["display"] for r in model.kpis if r["key"] == "intake")
    t0 = now.timestamp()
    filling = page(t0)
    assert not filling.complete and intake(filling) == "—" and filling.ranking == []
    store.filling = False
    # Two minutes on, the copy from t0 is shown at once while a new one is built.
    stale = page(t0 + 120)
    assert stale.as_of == filling.as_of
    assert not stale.complete and intake(stale) == "—" and stale.ranking == []
    deadline = time.monotonic() + 10
    fresh = page(t0 + 125)
    while time.monotonic() < deadline and fresh.as_of == filling.as_of:
        time.sleep(0.1)
        fresh = page(t0 + 125)
    direct_view = kpi_view.build(store, tree, settings, state, now, direct)
    assert fresh.complete and int(intake(fresh).replace(",", "")) > 0
    assert fresh.kpis == direct_view.kpis and fresh.ranking == direct_view.ranking


def test_a_page_cache_of_zero_seconds_computes_every_time(views):
    scope = RegionScope("320000", Level.PROVINCE)
    w = this_month(datetime.now(timezone.utc), TZ)
    calls = []
    memo = PageMemo(views, 0, 300, 1_000_000.0)
    assert [memo("n", scope, w, lambda: calls.append(1) or len(calls)) for _ in range(2)] == [1, 2]


def _app(seeded_env, redis_url, key_prefix, **overrides):
    from dashboard import create_app
    settings = Settings.from_env(seeded_env.env).with_(redis_url=redis_url,
                                                       key_prefix=key_prefix, **overrides)
    return create_app(settings)


def test_landing_pages_are_kept_computed_by_one_worker(seeded_env, redis_url, key_prefix,
                                                       redis_client):
    app = _app(seeded_env, redis_url, key_prefix)
    warmer, views = (app.server.extensions[k] for k in ("gridwatch_warmer", "gridwatch_views"))
    now = datetime.now(timezone.utc)
    w = this_month(now, TZ)
    assert warmer.run_once("kpi-landing", now) is True
    assert computed(redis_client, views, "known-counts-by-child@now", "320000", w) == 1
    # A second worker in the same round finds the slot taken and builds nothing.
    other = _app(seeded_env, redis_url, key_prefix).server.extensions["gridwatch_warmer"]
    assert other.run_once("kpi-landing", now) is False
    assert computed(redis_client, views, "known-counts-by-child@now", "320000", w) == 1
    # A leader's /kpi in the same minute is served from it: still one computation.
    ctx_settings = app.server.config["GRIDWATCH_SETTINGS"]
    rt = app.server.extensions["gridwatch_runtime"]
    memo = PageMemo(views, ctx_settings.page_cache_seconds, ctx_settings.page_stale_seconds,
                    now.timestamp())
    kpi_view.build(SqlCaseStore(rt.db.engine), rt.region_tree(), ctx_settings,
                   url_state.parse({}), now, memo)
    assert computed(redis_client, views, "known-counts-by-child@now", "320000", w) == 1


def test_the_first_request_starts_the_warmer(seeded_env, redis_url, key_prefix, redis_client):
    app = _app(seeded_env, redis_url, key_prefix)
    views = app.server.extensions["gridwatch_views"]
    w = this_month(datetime.now(timezone.utc), TZ)
    assert computed(redis_client, views, "known-counts-by-child@now", "320000", w) == 0
    warmer = app.server.extensions["gridwatch_warmer"]
    try:
        app.server.test_client().get("/healthz")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not computed(redis_client, views,
                                                           "known-counts-by-child@now", "320000", w):
            time.sleep(0.2)
        assert computed(redis_client, views, "known-counts-by-child@now", "320000", w) == 1
    finally:
        warmer.stop()
        warmer.join(timeout=60)
    assert not warmer.alive


def test_no_warmer_when_pages_share_nothing(seeded_env, redis_url, key_prefix):
    app = _app(seeded_env, redis_url, key_prefix, page_cache_seconds=0)
    app.server.test_client().get("/healthz")
    warmer = app.server.extensions["gridwatch_warmer"]
    try:
        assert not warmer.running("kpi-landing") and not warmer.running("region-landing")
    finally:
        warmer.stop()
        warmer.join(timeout=30)


def test_page_loads_add_no_keys_within_an_interval_and_all_expire(env, views, redis_client,
                                                                   key_prefix):
    """/kpi compares with the previous period's same elapsed part, a window that ends "now":
    keyed exactly, every load would leave new keys behind (a week each)."""
    engine, tree, settings = env
    base = time.time() // 60 * 60 - 60
    state = url_state.parse({"region": "320500"})

    def load(at: float) -> set[str]:
        kpi_view.build(SqlCaseStore(engine), tree, settings, state, datetime.fromtimestamp(at, timezone.utc),
                       PageMemo(views, 60, 300, at))
        return set(redis_client.scan_iter(match=key_prefix + "*"))
    first = load(base + 5)
    assert first and load(base + 35) == first
    for key in first:
        assert 0 < redis_client.ttl(key) <= 360, key


def test_in_process_copies_are_bounded_when_redis_is_down(key_prefix):
    from dashboard.cache import shared_views as view_cache
    from data_sources.redis_client import make_client
    app = Flask(__name__)
    cache = Cache(app, config={"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": "redis://127.0.0.1:1/0",
                               "CACHE_KEY_PREFIX": key_prefix})
    down = SharedViews(cache, lambda: make_client("redis://127.0.0.1:1/0"), key_prefix)
    for i in range(view_cache.LOCAL_MAX * 2):
        assert down.get("page-n", f"320000:{i}", 1, 60, lambda _last, i=i: {"v": i}) == {"v": i}
    assert len(down._local) <= view_cache.LOCAL_MAX
    assert down.last_good("page-n", f"320000:{view_cache.LOCAL_MAX * 2 - 1}") == {
        "v": view_cache.LOCAL_MAX * 2 - 1}

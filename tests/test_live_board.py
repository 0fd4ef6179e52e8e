"""The live board (one pass per tick for every region) gives each region's wall the very
figures of the per-region queries: every section of the live view, for the province,
every city and a sample of counties and townships, at clock times across a day boundary,
on SQLite and PostgreSQL, over a seeded history with every workflow turn the simulator
plays (延期, 重办, 挂起, 不予受理, returns, cards, late signs)."""
from __future__ import annotations

import dataclasses
import pickle
import random
import threading
import time
from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask_caching import Cache

from dashboard.app.context import AppContext, Lazy
from dashboard.app.settings import Settings
from dashboard.cache.shared_views import SharedViews
from dashboard.domain.hierarchy import Level
from dashboard.domain.live_board import NotOnBoard
from dashboard.domain.periods import Window, this_month, today
from dashboard.domain.scope import RegionScope
from dashboard.views.wall import service as wall_service
from dashboard.views.wall.model import (
    build_live,
    build_period,
    previous_counts,
    previous_window,
)
from dashboard.views.wall.service import WallService
from data_sources.case_store import SqlCaseStore
from data_sources.database import make_engine
from data_sources.live_board import live_board, period_board
from data_sources.regions import RegionTree
from tests.clock import settled_now
from tests.conftest import module_database
from tests.fakes import FakeEventFeed
from tests.live import seeded_deployment

TZ = "Asia/Shanghai"


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres",
                                                                marks=pytest.mark.postgres)])
def seeded(request, tmp_path_factory):
    def build(url):
        seeded_deployment(tmp_path_factory, url, 6, 0.01)
        eng = make_engine(url)
        return eng, RegionTree.load(eng, "320000")

    with module_database(request, tmp_path_factory) as url:
        eng, tree = build(url)
        yield eng, tree
        eng.dispose()


def sample(tree, r: random.Random) -> list:
    cities = tree.children("320000")
    counties = [x for city in cities for x in tree.children(city.code)]
    townships = [x for county in r.sample(counties, 6) for x in tree.children(county.code)]
    return [tree.get("320000"), *cities, *r.sample(counties, 10),
            *r.sample(townships, min(15, len(townships)))]


@pytest.mark.parametrize("hours_back", [0, 5, 21, 30])
def test_every_live_section_equals_the_per_region_queries(seeded, hours_back):
    eng, tree = seeded
    now = settled_now() - timedelta(hours=hours_back)
    board = live_board(eng, RegionScope.of(tree.get("320000")), now, TZ)
    raw = SqlCaseStore(eng)  # no zone: every figure from the case table, per region
    r = random.Random(hours_back)
    compared = 0
    for region in sample(tree, r):
        expected = build_live(raw, tree, region, TZ, now, None)
        got = build_live(board, tree, region, TZ, now, None)
        assert got["sources"]["database"]["status"] == "up", region.code
        assert got == expected, region.code
        compared += 1
    assert compared > 30
    # The sample is not idle: the board holds today's intake, open and overdue cases.
    province = expected if region.code == "320000" else build_live(
        board, tree, tree.get("320000"), TZ, now, None)
    k = province["sections"]["kpis"]
    assert k["intake"] > 0 and k["open"] > 0 and k["overdue_open"] > 0
    assert province["sections"]["overdue"]["oldest"]


def test_the_board_refuses_what_it_does_not_hold(seeded):
    eng, tree = seeded
    now = settled_now()
    board = live_board(eng, RegionScope.of(tree.get("320000")), now, TZ)
    province = RegionScope.of(tree.get("320000"))
    week = Window(today(now, TZ).start - timedelta(days=6), today(now, TZ).end)
    with pytest.raises(NotOnBoard):
        board.kpi_counts_by(province, week, now)
    with pytest.raises(NotOnBoard):
        board.kpi_counts_by(province, today(now, TZ), now - timedelta(minutes=1))
    township = tree.children(tree.children(tree.children("320000")[0].code)[0].code)[0]
    community = tree.children(township.code)[0]
    assert community.level == Level.COMMUNITY
    with pytest.raises(NotOnBoard):
        board.open_by_state_and_level(RegionScope.of(community))
    with pytest.raises(NotOnBoard):
        board.overdue_cases(province, now, limit=50)
    # It travels through the shared cache as one pickled value.
    again = pickle.loads(pickle.dumps(board))
    assert again.kpi_counts(province, today(now, TZ), now) == \
        board.kpi_counts(province, today(now, TZ), now)
    assert board.kpi_counts(province, today(now, TZ), now).intake > 0


def _workers(eng, tree, redis_url, key_prefix, redis_client, n: int = 2,
             builder: str = "worker") -> list:
    """`n` workers' wall services sharing one Redis, each with the list of the boards it
    made."""
    cache = Cache(Flask(__name__), config={"CACHE_TYPE": "RedisCache",
                                           "CACHE_REDIS_URL": redis_url,
                                           "CACHE_KEY_PREFIX": key_prefix + "cache:"})
    workers = []
    for _ in range(n):
        views = SharedViews(cache, lambda: redis_client, key_prefix, wait_seconds=30)
        ctx = AppContext(settings=Settings(region="320000", refresh_seconds=3600, timezone=TZ,
                                           wall_builder=builder),
                         runtime=None, tree=Lazy(lambda: tree), cache=cache,
                         cases=SqlCaseStore(eng), events=FakeEventFeed([]), views=views)
        made = []

        def source(root, now, made=made):
            made.append(now)
            return live_board(eng, root, now, TZ)
        workers.append((WallService(ctx, views, board_source=source), made))
    return workers


def test_walls_of_many_regions_on_two_workers_are_built_by_one_of_them(
        seeded, redis_url, key_prefix, redis_client):
    """Two workers (services sharing one Redis) serve the walls of 30 regions: the first
    to be asked holds the builder's lease and makes the board; at the tick it publishes
    every region either worker's screens watch, the other worker only reads, and every
    wall equals its per-region figures."""
    eng, tree = seeded
    workers = _workers(eng, tree, redis_url, key_prefix, redis_client)
    raw = SqlCaseStore(eng)
    township = sample(tree, random.Random(7))[-1]
    community = tree.children(township.code)[0]
    regions = sample(tree, random.Random(3))[:29] + [community]
    first = workers[0][0].live(regions[0].code)      # nothing published: built here
    assert first["sections"] and workers[0][0].last_publish["regions"] == 1
    for i, region in enumerate(regions):
        workers[i % 2][0]._touch(region.code)
    workers[1][0].warm_watched()        # tells the builder what its screens watch
    workers[0][0].warm_watched()        # the builder: publishes all 30
    assert workers[0][0].last_publish["regions"] == len(regions)
    for i, region in enumerate(regions):
        model = workers[i % 2][0].live(region.code)
        now = datetime.fromisoformat(model["computed_at"])
        expected = build_live(raw, tree, region, TZ, now, None)
        assert model["sections"] == expected["sections"], region.code
    assert [len(made) for _, made in workers] == [1, 0]
    assert workers[1][0].last_publish == {}
    assert int(redis_client.get(f"{key_prefix}computed:wall-live:{regions[1].code}")) == 1


def test_a_wall_opened_on_another_worker_waits_for_the_builder_then_one_takes_over(
        seeded, redis_url, key_prefix, redis_client):
    """A region first asked on a worker that does not build is built at the builder's
    next tick and shown then (not "waiting"); when the builder stops renewing its lease,
    another worker takes over at its next tick, and the old one, back, only reads."""
    eng, tree = seeded
    (w0, made0), (w1, made1) = _workers(eng, tree, redis_url, key_prefix, redis_client)
    for w in (w0, w1):
        w.lease_seconds = lambda: 1.0
    city, county = tree.children("320000")[0], None
    county = tree.children(city.code)[0]
    assert w0.live(city.code)["sections"]            # w0 builds: it holds the lease
    builder_tick = threading.Timer(0.5, w0.warm_watched)
    builder_tick.start()
    started = time.monotonic()
    shown = w1.live(county.code)                     # w1 waits for w0's next tick
    builder_tick.join()
    assert shown["sections"] and time.monotonic() - started < 5
    assert shown["sections"] == build_live(SqlCaseStore(eng), tree, county, TZ,
                                           datetime.fromisoformat(shown["computed_at"]),
                                           None)["sections"]
    assert (len(made0), len(made1)) == (1, 0)    # one board a tick, in the builder
    time.sleep(1.2)                                  # w0 stops: its lease runs out
    w1.warm_watched()
    assert w1.last_publish["regions"] == 2 and len(made1) == 1
    w0.warm_watched()                                # back: the lease is w1's
    assert len(made0) == 1
    assert w1.published.leader() == w1._token


def test_web_workers_leave_the_building_to_the_builder_process_until_it_is_gone(
        seeded, redis_url, key_prefix, redis_client):
    """`gridwatch serve` runs a builder process beside the web workers (wall_builder
    "process"): a worker with screens never builds while the builder holds its lease, not
    even for a wall just opened; when the builder stops renewing it, a worker takes over
    after finding the lease free at two ticks in a row (not between two renewals)."""
    eng, tree = seeded
    (builder, made_b), (worker, made_w) = _workers(eng, tree, redis_url, key_prefix,
                                                   redis_client, builder="process")
    for w in (builder, worker):
        w.lease_seconds = lambda: 1.0
    city = tree.children("320000")[1]
    timer = threading.Timer(0.3, builder.build_tick)      # the builder process's tick
    timer.start()
    shown = worker.live(city.code)                        # registers it, waits for it
    timer.join()
    assert shown["sections"] and (len(made_b), len(made_w)) == (1, 0)
    worker.warm_watched()                                 # the lease is held: no build
    assert worker.last_publish == {} and len(made_w) == 0
    time.sleep(1.2)                                       # the builder is gone
    worker.warm_watched()                                 # free once: could be a renewal gap
    assert worker.last_publish == {}
    worker.warm_watched()                                 # free twice: it takes over
    assert worker.last_publish["regions"] == 1 and len(made_w) == 1
    assert worker.published.leader() == worker._token
    builder.build_tick()                                  # back: it waits for its turn
    assert builder.published.leader() == worker._token


def test_the_builder_process_builds_the_period_views_once_per_board(
        seeded, redis_url, key_prefix, redis_client, monkeypatch):
    """Beside the builder process a web worker only reads the walls' period views
    (ranking, funnel): the builder builds each watched region's model at its tick, once
    per period board (not once a minute), and the worker shows that model."""
    eng, tree = seeded
    (builder, _), (worker, _) = _workers(eng, tree, redis_url, key_prefix, redis_client,
                                         builder="process")
    city = tree.children("320000")[1]
    timer = threading.Timer(0.3, builder.build_tick)      # the live model, then the period's
    timer.start()
    assert worker.live(city.code)["sections"]
    timer.join()
    counter = f"{key_prefix}computed:wall-period:{city.code}"
    assert int(redis_client.get(counter)) == 1
    shown = worker.period(city.code)
    board = worker.period_board()
    before = previous_counts(SqlCaseStore(eng), city, TZ, board.now)
    expected = build_period(SqlCaseStore(eng), tree, city, TZ, board.now, None,
                            Settings().weights, before)
    assert shown["sections"] == expected["sections"]
    monkeypatch.setattr(wall_service, "PERIOD_SECONDS", 1)   # a "minute" a second
    for _ in range(3):                                     # the same board: nothing rebuilt
        time.sleep(1.1)
        builder.build_tick()
        worker._period_read.clear()
        assert worker.period(city.code)["sections"] == expected["sections"]
    assert int(redis_client.get(counter)) == 1
    # A worker that builds for itself (no builder process) also builds once per board.
    # Its first screen is told "waiting" while the board and the model are built in the
    # background (test_a_screen_never_waits_for_the_first_period_board).
    alone = _workers(eng, tree, redis_url, key_prefix + "alone:", redis_client, n=1)[0][0]
    county = tree.children(city.code)[0]
    assert alone.period(county.code) == {}
    deadline = time.monotonic() + 60
    while not alone.period(county.code).get("sections") and time.monotonic() < deadline:
        time.sleep(0.2)
    for _ in range(3):
        alone._period_read.clear()
        assert alone.period(county.code)["sections"]
        time.sleep(1.1)
    assert int(redis_client.get(f"{key_prefix}alone:computed:wall-period:{county.code}")) == 1


def test_a_screen_never_waits_for_the_first_period_board(
        seeded, redis_url, key_prefix, redis_client):
    """At a fresh start no month board exists yet and every region's period model waits
    for it: a screen's refresh gets "waiting" ({}) at once rather than spending its turn
    at the callback gate on the board (a province's refreshes held every turn while it was
    built, the others got 503s or answers 40 s late), then the model once it is built."""
    eng, tree = seeded
    (builder, _), (worker, _) = _workers(eng, tree, redis_url, key_prefix, redis_client,
                                         builder="process")
    city = tree.children("320000")[1]
    building, release = threading.Event(), threading.Event()
    count = builder.ctx.cases.period_board

    def slow_board(*args, **kwargs):
        building.set()
        assert release.wait(30)             # held until the screen has had its answer
        return count(*args, **kwargs)
    builder.ctx.cases.period_board = slow_board
    worker.ctx.cases.period_board = slow_board
    timer = threading.Timer(0.3, builder.build_tick)      # live models, then the board
    timer.start()
    assert worker.live(city.code)["sections"]
    assert building.wait(30)
    assert worker.period(city.code) == {} and not release.is_set()
    worker._period_read.clear()
    assert worker.period(city.code) == {}                 # still building: still waiting
    release.set()
    timer.join(60)
    worker._period_read.clear()
    assert worker.period(city.code)["sections"]


@pytest.mark.parametrize("hours_back", [0, 30])
def test_every_ranking_from_the_period_board_equals_the_per_region_queries(seeded, hours_back):
    """The walls' month so far (ranking, funnel) from one pass for every region."""
    eng, tree = seeded
    now = settled_now() - timedelta(hours=hours_back)
    month = this_month(now, TZ)
    board = period_board(eng, RegionScope.of(tree.get("320000")), month, now)
    raw = SqlCaseStore(eng)
    weights = Settings().weights
    # 较昨日's counts (this month up to yesterday) of every region from one board too.
    win = previous_window(now, TZ)
    earlier = period_board(eng, RegionScope.of(tree.get("320000")), win, win.end)
    for region in sample(tree, random.Random(hours_back + 1)):
        before = previous_counts(raw, region, TZ, now)
        from_board = previous_counts(earlier, region, TZ, now)
        assert from_board.keys() == before.keys(), region.code
        for code, counts in before.items():   # the hours' float sum: in another order
            assert from_board[code] == dataclasses.replace(
                counts, close_hours_sum=pytest.approx(counts.close_hours_sum, rel=1e-12)), code
        expected = build_period(raw, tree, region, TZ, now, None, weights, before)
        got = build_period(board, tree, region, TZ, now, None, weights, before)
        assert got["sources"]["database"]["status"] == "up", region.code
        assert got == expected, region.code
    province = build_period(board, tree, tree.get("320000"), TZ, now, None, weights, {})
    assert province["sections"]["ranking"]["rows"]
    assert sum(x["count"] for x in province["sections"]["funnel"]["levels"]) > 0
    with pytest.raises(NotOnBoard):
        board.kpi_counts_by(RegionScope.of(tree.get("320000")), today(now, TZ), now)

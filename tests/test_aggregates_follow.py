"""The aggregates follow the event stream (data_sources/aggregates_follower.py): the live
simulator plays the upstream system across a midnight, a follower keeps the stored days
current step by step (a new one now and then, as after a restart), late events reach back
into stored days (a deadline extended, a closed case reopened), and at the end every
figure equals the case table's and a full rebuild changes nothing."""
from __future__ import annotations

import random
import time
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from dashboard.domain.hierarchy import Level
from dashboard.domain.periods import Window, day_window, local_today
from dashboard.domain.projection import apply_event
from dashboard.domain.scope import RegionScope
from dashboard.domain.states import Event
from data_sources import aggregates, case_list, case_queries
from data_sources.aggregates_follower import Follower, lag_seconds
from data_sources.database import CaseDatabase, json_detail
from data_sources.redis_stream import EventStream, StreamReader
from data_sources.regions import RegionTree, import_region
from data_sources.schema import (
    agg_day,
    agg_day_county,
    agg_due,
    agg_hour,
    agg_hour_county,
    agg_mix,
    agg_mix_city,
    case,
    case_event,
)
from data_sources.stream_events import encode_event
from simulator.live import LiveSimulator
from simulator.seed import seed_history
from simulator.world import World
from tests.test_aggregates import assert_equal, assert_mix_rolled_up

REGION = "321100"      # 镇江市
TZ = "Asia/Shanghai"
START = datetime(2026, 11, 18, 13, 0, tzinfo=timezone.utc)   # 21:00 in Shanghai


def _seeded(database_url, redis_client, key_prefix, tmp_path, *, days, scale, seed):
    """镇江's history up to START, its finished days stored."""
    db = CaseDatabase(database_url)
    db.init_schema()
    import_region(db.engine, REGION, tmp_path)
    tree = RegionTree.load(db.engine, REGION)
    world = World.from_tree(tree, REGION, seed=seed)
    stream = EventStream(redis_client, key_prefix + "events")
    seed_history(db, stream, world, days=days, scale=scale, seed=seed, tz=TZ, now=START,
                 stream_hours=1, progress=False)
    aggregates.rebuild_all(db.engine, TZ, local_today(START, TZ))
    return db, tree, world, stream


def _late_event(db: CaseDatabase, stream: EventStream, row: dict, event: Event, at: datetime,
                **fields) -> None:
    """What the upstream system does for one transition: row, history, stream entry."""
    with db.engine.connect() as conn:
        seq = conn.execute(sa.select(sa.func.max(case_event.c.seq))
                           .where(case_event.c.case_id == row["id"])).scalar() + 1
    changes = apply_event(row, event, at, fields)
    db.apply_changes([(row["id"], changes)], [], [{
        "case_id": row["id"], "seq": seq, "event_type": event.value, "at": at,
        "state": row["state"], "actor_level": None, "actor_org": None,
        "detail": json_detail(fields)}])
    stream.append(encode_event(event, case_id=row["id"], seq=seq, ts=at, grid=row["grid_code"],
                               state=row["state"], **fields))


def _snapshot(engine):
    """Every stored row, the float sums of hours apart (PostgreSQL adds a township's rows
    in another order when it reads them alone, and a sum of floats keeps the order:
    rounded, 4.809869 against 4.80987)."""
    with engine.connect() as conn:
        summed = [[({**r._mapping, "close_hours_sum": None}, r.close_hours_sum)
                   for r in conn.execute(sa.select(table))]
                  for table in (agg_day, agg_day_county, agg_hour, agg_hour_county)]
        rows = [sorted((tuple(d.values()), hours) for d, hours in table) for table in summed]
        return (*rows, *[sorted(map(tuple, conn.execute(sa.select(t))))
                         for t in (agg_due, agg_mix, agg_mix_city)])


def assert_same_rows(got, want) -> None:
    for g, w in zip(got, want, strict=True):
        assert [r[0] if isinstance(r[0], tuple) else r for r in g] == \
            [r[0] if isinstance(r[0], tuple) else r for r in w]
        floats = [(r[1], x[1]) for r, x in zip(g, w) if isinstance(r[0], tuple)]
        assert [a for a, _ in floats] == pytest.approx([b for _, b in floats], abs=1e-6)


def test_the_stored_days_follow_the_stream_across_midnight_and_late_events(
        database_url, redis_client, key_prefix, tmp_path):
    db, tree, world, stream = _seeded(database_url, redis_client, key_prefix, tmp_path,
                                      days=5, scale=0.2, seed=1)
    start_day = local_today(START, TZ)

    sim = LiveSimulator(db, stream, world, scale=0.2, tz=TZ, speed=5, seed=9)
    sim.load(START)
    follower = Follower(db.engine, StreamReader(stream), TZ, batch=50)
    now, steps = START, []
    for tick in range(1, 181):              # 3 hours of 60 s ticks: past 00:00 in Shanghai
        now = START + timedelta(seconds=60 * tick)
        sim.tick(now, 60)
        if tick % 15 == 0:
            if tick == 90:                  # a restart: a new follower, the stored position
                follower = Follower(db.engine, StreamReader(stream), TZ, batch=50)
            steps.append(follower.step(now))
    assert local_today(now, TZ) > start_day
    assert aggregates.stored_range(db.engine, TZ)[1] == local_today(now, TZ)
    assert sum(s["entries"] for s in steps) > 100 and sum(s["pairs"] for s in steps) > 0

    # Late events on stored days: a deadline moved to another day, a closure taken back.
    with db.engine.connect() as conn:
        open_old = dict(conn.execute(sa.select(case).where(
            case.c.state == "IN_PROGRESS", case.c.deadline < START - timedelta(days=1))
            .order_by(case.c.id)).first()._mapping)
        closed_old = dict(conn.execute(sa.select(case).where(
            case.c.state == "RATED", case.c.closed_at < START - timedelta(days=2))
            .order_by(case.c.id)).first()._mapping)
    _late_event(db, stream, open_old, Event.EXTENDED, now,
                deadline=open_old["deadline"] + timedelta(days=2))
    _late_event(db, stream, closed_old, Event.REOPENED, now)
    follower.step(now + timedelta(seconds=5))
    assert lag_seconds(db.engine, StreamReader(stream), now) == 0.0

    clock = now + timedelta(seconds=5)
    stored = aggregates.usable_range(db.engine, TZ, clock)
    # The hours were kept too: the last days' and today's up to the last step's hour.
    assert stored.hours == aggregates.hours_wanted(now + timedelta(seconds=5), TZ)
    assert stored.year_ago == aggregates.year_ago_hours(now + timedelta(seconds=5), TZ)
    r = random.Random(7)
    codes = [REGION, *[c.code for c in tree.children(REGION)]]
    windows = []
    for _ in range(25):
        start = day_window(start_day - timedelta(days=r.randint(0, 6)), TZ).start
        windows.append(Window(start, start + timedelta(days=r.randint(1, 7),
                                                       hours=r.randint(0, 23))))
    # Today up to now, and its 上期: yesterday up to the same minute (the stored hours).
    today = day_window(local_today(clock, TZ), TZ).start
    windows += [Window(today, clock), Window(today - timedelta(days=1), clock - timedelta(days=1))]
    for window in windows:
        for code in r.sample(codes, 3):
            scope = RegionScope(code, Level(tree.get(code).level))
            assert_equal(aggregates.kpi_counts_by(db.engine, scope, window, clock, TZ, stored,
                                                  by_child=True),
                         case_queries.kpi_counts_by(db.engine, scope, window, clock,
                                                    by_child=True), (code, window))
            dims = aggregates.MIX_DIMENSIONS
            assert aggregates.breakdowns(db.engine, scope, window, dims, TZ, stored) == \
                case_list.breakdowns(db.engine, scope, window, dims), (code, window)
            assert aggregates.closed_by_level(db.engine, scope, window, TZ, stored) == \
                case_queries.closed_breakdown(db.engine, scope, window, "resolution_level")
    # What was followed step by step is what a rebuild from scratch writes.
    followed = _snapshot(db.engine)
    aggregates.rebuild(db.engine, TZ, *stored)
    aggregates.rebuild_hours(db.engine, *stored.hours)
    aggregates.rebuild_hours(db.engine, *stored.year_ago)
    assert_same_rows(_snapshot(db.engine), followed)
    assert_mix_rolled_up(db.engine)
    db.close()


def test_entries_trimmed_before_they_were_followed_make_the_days_recomputed_newest_first(
        database_url, redis_client, key_prefix, tmp_path):
    db, tree, world, stream = _seeded(database_url, redis_client, key_prefix, tmp_path,
                                      days=5, scale=0.1, seed=2)
    # One day a step, to see every state of the recomputation.
    follower = Follower(db.engine, StreamReader(stream), TZ, recompute_seconds=0)
    assert follower.step(START)["status"] == "following"
    position = aggregates.stored_info(db.engine)["stream_pos"]
    first, horizon = aggregates.stored_range(db.engine, TZ)
    sim = LiveSimulator(db, stream, world, scale=0.1, tz=TZ, speed=5, seed=3)
    sim.load(START)
    now = START
    for tick in range(1, 31):
        now = START + timedelta(seconds=60 * tick)
        sim.tick(now, 60)
    # Redis kept only the newest entries (MAXLEN) while the follower was away.
    redis_client.xtrim(stream.key, maxlen=3, approximate=False)
    assert not redis_client.xrange(stream.key, min=position, max=position)
    stale = _snapshot(db.engine)
    codes = [REGION, *[c.code for c in tree.children(REGION)]]
    r = random.Random(11)
    days, exact_from = [], []
    while True:
        now += timedelta(seconds=5)
        sim.tick(now, 5)
        step = follower.step(now)
        stored = aggregates.usable_range(db.engine, TZ, now)
        days.append(step["status"])
        exact_from.append(stored[0])
        # Whatever the readers sum is exact at every step: the suspect days are counted
        # from the case table until they are recomputed.
        for _ in range(3):
            start = day_window(first + timedelta(days=r.randint(0, 3)), TZ).start
            window = Window(start, start + timedelta(days=r.randint(1, 4)))
            code = r.choice(codes)
            scope = RegionScope(code, Level(tree.get(code).level))
            assert_equal(aggregates.kpi_counts_by(db.engine, scope, window, now, TZ, stored,
                                                  by_child=True),
                         case_queries.kpi_counts_by(db.engine, scope, window, now,
                                                    by_child=True), (code, window, stored))
        if step["status"] == "following":
            break
    n = (horizon - first).days
    assert days == ["recomputing"] * (n - 1) + ["following"], days
    # Newest first: the exact days grow backwards from the horizon, one a step.
    assert exact_from == [horizon - timedelta(days=k) for k in range(1, n + 1)], exact_from
    assert aggregates.stored_info(db.engine)["stream_pos"] == stream.tail_id()
    assert aggregates.health(db.engine, now).get("recomputing_from") is None
    # The entries lost had changed stored days, and the recomputation wrote what a
    # rebuild from scratch writes.
    recomputed = _snapshot(db.engine)
    assert recomputed != stale
    aggregates.rebuild(db.engine, TZ, first, horizon)
    aggregates.rebuild_hours(db.engine, *stored.hours)   # rebuilt whole after the gap
    assert_same_rows(_snapshot(db.engine), recomputed)
    db.close()


def test_the_app_follows_the_stream_and_its_pages_read_the_stored_days(
        tmp_path, redis_url, key_prefix, redis_client):   # redis_client: cleans the keys
    from dashboard import create_app
    from dashboard.app.settings import Settings
    from tests.live import Deployment, make_env, stop_app_threads
    dep = Deployment(env=make_env(tmp_path, f"sqlite:///{tmp_path / 'gw.db'}", redis_url,
                                  key_prefix), data_dir=tmp_path)
    dep.cli("db", "init")
    dep.cli("seed", "--days", "4", "--scale", "0.005", "--stream-hours", "2")
    app = create_app(Settings.from_env(dep.env))
    try:
        store = app.server.extensions["gridwatch_wall"].ctx.cases
        engine, token = store.engine, dep.env["GRIDWATCH_HEALTH_TOKEN"]

        def health():
            resp = app.server.test_client().get(
                "/healthz", headers={"Authorization": f"Bearer {token}"})
            return resp.get_json()["database"]["aggregates"]
        now = datetime.now(timezone.utc)
        # Seeded: built, but nobody follows them yet (the app's warmer starts with its first
        # request), so the pages count the case table.
        assert aggregates.health(engine, now)["status"] == "not followed"
        assert aggregates.usable_range(engine, TZ, now) is None
        deadline = time.monotonic() + 30
        while (state := health())["status"] != "following" and time.monotonic() < deadline:
            time.sleep(0.5)
        assert state["status"] == "following" and state["lag_seconds"] < 60, state
        stored = aggregates.usable_range(engine, TZ, datetime.now(timezone.utc))
        assert stored is not None and stored[1] == local_today(now, TZ)
        scope = RegionScope("320000", Level.PROVINCE)
        window = Window(day_window(stored[0], TZ).start, now)
        assert_equal(store.kpi_counts_by(scope, window, now, by_child=True),
                     case_queries.kpi_counts_by(engine, scope, window, now, by_child=True),
                     "the app's store")
        # And it is the stored days it read (a province sums its counties' rows): one
        # changed by hand shows on the page's count.
        t = agg_day_county
        with engine.begin() as conn:
            changed = conn.execute(t.update().where(t.c.day == stored[0].isoformat())
                                   .values(intake=t.c.intake + 1)).rowcount
        assert changed > 0
        shown = store.kpi_counts_by(scope, window, now)[None].intake
        assert shown == case_queries.kpi_counts(engine, scope, window, now).intake + changed
    finally:
        stop_app_threads(app)


def test_hours_leaving_the_kept_range_are_dropped_one_step_later(
        database_url, redis_client, key_prefix, tmp_path, monkeypatch):
    # A reader sums the hours of the range recorded in gw_meta until the follower records
    # a new one: the hours that leave it at midnight must outlive the step that records
    # the new range, and go at the next (two kept days, so that the seed reaches them).
    monkeypatch.setattr(aggregates, "HOURS_KEPT_DAYS", 2)
    db, _tree, _world, stream = _seeded(database_url, redis_client, key_prefix, tmp_path,
                                        days=4, scale=0.05, seed=3)
    follower = Follower(db.engine, StreamReader(stream), TZ, batch=50)

    def held():
        return aggregates.stored_hours(aggregates.stored_info(db.engine))

    def rows_in(lo, hi):
        with db.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(agg_hour).where(
                agg_hour.c.hour >= aggregates.hour_key(lo),
                agg_hour.c.hour < aggregates.hour_key(hi))).scalar()

    follower.step(START + timedelta(hours=2, minutes=50))         # 23:50 in Shanghai
    before = held()
    follower.step(START + timedelta(hours=3, minutes=5))          # 00:05, the next day
    after = held()
    assert after[0] == before[0] + timedelta(days=1), (before, after)
    assert rows_in(before[0], after[0]) > 0       # the day that left: kept one step more
    follower.step(START + timedelta(hours=3, minutes=6))
    assert rows_in(before[0], after[0]) == 0
    assert rows_in(after[0], after[1]) > 0
    db.close()

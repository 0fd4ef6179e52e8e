"""The live simulator against a real Redis and database: every transition lands in the
case row, the case_event table and the stream, consistently; an outage of the stream is
ridden out with nothing lost.
"""
import threading
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from dashboard.domain.states import replay
from data_sources.database import CaseDatabase
from data_sources.redis_client import make_client
from data_sources.redis_stream import EventStream, StreamReader
from data_sources.regions import RegionTree, import_region
from data_sources.schema import case, case_event
from simulator.live import LiveSimulator
from simulator.seed import seed_history
from simulator.world import World

REGION = "321100"  # 镇江市: small enough to keep the test quick
START = datetime(2026, 11, 18, 1, 0, tzinfo=timezone.utc)  # Wednesday 09:00 Shanghai


@pytest.fixture
def setup(database_url, redis_client, key_prefix, tmp_path):
    db = CaseDatabase(database_url)
    db.init_schema()
    import_region(db.engine, REGION, tmp_path)
    tree = RegionTree.load(db.engine, REGION)
    world = World.from_tree(tree, REGION, seed=1)
    stream = EventStream(redis_client, key_prefix + "events")
    seed_history(db, stream, world, days=2, scale=0.2, seed=1, tz="Asia/Shanghai",
                 now=START, stream_hours=6, progress=False)
    yield db, stream, world, tree
    db.close()


def _run(sim, start, ticks, step_seconds):
    now = start
    stats = []
    for _ in range(ticks):
        now += timedelta(seconds=step_seconds)
        stats.append(sim.tick(now, step_seconds))
    return now, stats


def test_transitions_reach_rows_events_and_stream_consistently(setup):
    db, stream, world, tree = setup
    before_len = stream.length()
    tail = stream.tail_id()
    sim = LiveSimulator(db, stream, world, scale=0.2, tz="Asia/Shanghai", speed=5, seed=9)
    picked_up = sim.load(START)
    assert picked_up > 0, "open cases from the backfill are continued"
    end, stats = _run(sim, START, ticks=120, step_seconds=30)
    new_cases = sum(s.new_cases for s in stats)
    n_events = sum(s.events for s in stats)
    assert new_cases > 10 and n_events > new_cases
    assert all(not s.errors for s in stats)

    result = StreamReader(stream, known_grid=tree.is_grid).read(tail, count=100_000)
    assert not result.rejected, result.rejected
    assert len(result.events) == n_events == stream.length() - before_len
    keys = [(e.case_id, e.seq) for e in result.events]
    assert len(set(keys)) == len(keys), "no event twice"

    with db.engine.connect() as conn:
        rows = {r.id: r._asdict() for r in conn.execute(sa.select(case))}
        history = defaultdict(list)
        for r in conn.execute(sa.select(case_event).order_by(case_event.c.case_id,
                                                             case_event.c.seq)):
            history[r.case_id].append(r)
    # Every case the stream mentions: the row is the replay of its full event history,
    # and the stream carries exactly the database's events past the backfill.
    by_case = defaultdict(list)
    for e in result.events:
        by_case[e.case_id].append(e)
    for case_id, events in by_case.items():
        db_events = history[case_id]
        assert [h.seq for h in db_events] == list(range(1, len(db_events) + 1))
        tail_seqs = [h.seq for h in db_events][-len(events):]
        assert [e.seq for e in events] == tail_seqs
        assert [e.type.value for e in events] == [h.event_type for h in db_events][-len(events):]
        assert replay(h.event_type for h in db_events).value == rows[case_id]["state"]
        assert events[-1].state.value == rows[case_id]["state"]
        assert rows[case_id]["grid_code"] == events[0].grid
    assert max(e.ts for e in result.events) <= end


def test_stream_outage_is_buffered_and_flushed_in_order(setup, redis_url):
    db, stream, world, tree = setup
    tail = stream.tail_id()
    dead = EventStream(make_client("redis://127.0.0.1:1/0"), stream.key)
    sim = LiveSimulator(db, dead, world, scale=0.2, tz="Asia/Shanghai", speed=5, seed=4)
    sim.load(START)
    now, stats = _run(sim, START, ticks=20, step_seconds=30)
    written_during_outage = sum(s.events for s in stats)
    assert written_during_outage > 0
    assert all(any("redis" in e for e in s.errors) for s in stats if s.events)
    assert stats[-1].buffered_ticks > 0
    # The database kept going while the stream was down.
    with db.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.max(case.c.id))).scalar() >= sim.next_id - 1
    sim.stream = stream  # Redis is back
    _, more = _run(sim, now, ticks=1, step_seconds=1)
    assert more[-1].buffered_ticks == 0 and not more[-1].errors
    events = StreamReader(stream).read(tail, count=100_000).events
    assert len(events) == written_during_outage + more[-1].events
    times = [e.ts for e in events]
    per_case = defaultdict(list)
    for e in events:
        per_case[e.case_id].append(e.seq)
    assert all(seqs == sorted(seqs) for seqs in per_case.values()), "order kept per case"
    assert min(times) >= START


def test_catch_up_fills_a_pause_with_a_continuous_history(setup):
    # The demo was stopped at START and comes back 9 hours later, at 18:00 Shanghai.
    db, stream, world, tree = setup
    assert db.last_event_at() <= START
    tail = stream.tail_id()
    with db.engine.connect() as conn:
        seeded = conn.execute(sa.select(sa.func.max(case_event.c.id))).scalar()
    back = START + timedelta(hours=9)
    sim = LiveSimulator(db, stream, world, scale=0.2, tz="Asia/Shanghai", speed=1, seed=5)
    stats = sim.catch_up(START, back)
    assert not stats.errors
    with db.engine.connect() as conn:
        reported = [r for (r,) in conn.execute(
            sa.select(case.c.reported_at).where(case.c.reported_at > START))]
        closed_in_gap = conn.execute(sa.select(sa.func.count()).select_from(case).where(
            case.c.closed_at > START, case.c.closed_at <= back)).scalar()
        # The catch-up's own events, by id: one may fall on the pause's very instant (a
        # deadline extended as the case is picked up again, at START).
        event_times = [t for (t,) in conn.execute(
            sa.select(case_event.c.at).where(case_event.c.id > seeded))]
    assert min(event_times) >= START, "nothing written before the pause ended"
    assert len(reported) == stats.new_cases
    # Arrivals spread over the whole gap at the calibrated rate (镇江 at scale 0.2 is
    # ~45 cases in these working hours), not bunched at either end.
    hours = {int((r - START).total_seconds() // 3600) for r in reported}
    assert len(reported) > 30 and hours >= set(range(9)) - {0}, sorted(hours)
    assert closed_in_gap > 20, "cases open at the stop moved on during the gap"
    assert max(event_times) <= back and db.last_event_at() <= back
    assert len(event_times) == stats.events
    # The stream carries the gap's events too, all valid.
    result = StreamReader(stream, known_grid=tree.is_grid).read(tail, count=100_000)
    assert not result.rejected and len(result.events) == stats.events
    keys = [(e.case_id, e.seq) for e in result.events]
    assert len(set(keys)) == len(keys)
    # run() after a catch-up continues the cases it holds instead of loading them twice.
    scheduled = len(sim.heap)
    stop = threading.Event()
    stop.set()
    sim.run(stop=stop)
    assert len(sim.heap) == scheduled


def test_a_start_calls_back_the_cases_closed_before_it(setup):
    """Cases the history closed shortly before the start and had not called back yet (回访,
    a few hours after closing) are rated after it, as many as the model leaves to come:
    without them, a restarted demo showed no rating for hours."""
    import math
    from statistics import NormalDist

    from simulator.calibration import CALLBACK_MEDIAN_MINUTES, CALLBACK_SIGMA
    db, stream, world, tree = setup
    with db.engine.connect() as conn:
        waiting = {i: (closed_at, city) for i, closed_at, city in conn.execute(
            sa.select(case.c.id, case.c.closed_at, case.c.city_code).where(
                case.c.state == "CLOSED", case.c.closed_at >= START - timedelta(days=1)))}
    assert len(waiting) > 50
    sim = LiveSimulator(db, stream, world, scale=0.2, tz="Asia/Shanghai", speed=1, seed=9)
    sim.load(START)
    hours = 8
    _run(sim, START, ticks=hours * 12, step_seconds=300)
    with db.engine.connect() as conn:
        rated = dict(conn.execute(sa.select(case.c.id, case.c.rated_at).where(
            case.c.id.in_(list(waiting)), case.c.rated_at.is_not(None))).all())
    # What the model leaves to come within the run, summed over the cases: a closure of a
    # minute ago is as likely to be called back as a new one, one of a day ago hardly.
    shares = {c.city_code: c.profile.callback_share for c in world.counties}
    phi = NormalDist().cdf
    z = lambda minutes: math.log(minutes / CALLBACK_MEDIAN_MINUTES) / CALLBACK_SIGMA  # noqa: E731
    expected = 0.0
    for closed_at, city in waiting.values():
        waited = (START - closed_at).total_seconds() / 60
        share, z0 = shares[city], z(waited)
        expected += share * (phi(z(waited + hours * 60)) - phi(z0)) / (
            share * (1 - phi(z0)) + 1 - share)
    assert 0.75 * expected <= len(rated) <= 1.25 * expected + 3, (len(rated), expected)
    assert expected > 20
    assert all(at > START for at in rated.values())

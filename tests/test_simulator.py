"""The simulator's output, as statistics over a seeded week (DOMAIN.md §4–§7), and its
consistency: every case row is the projection of a legal event history.
"""
import json
from collections import Counter, defaultdict
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from dashboard.domain.states import IllegalTransition, replay
from data_sources.database import CaseDatabase
from data_sources.regions import RegionTree, import_region
from data_sources.schema import case, case_event
from simulator.seed import seed_history
from simulator.world import World

NOW = datetime(2026, 11, 20, 4, 0, tzinfo=timezone.utc)   # Friday 12:00 in Shanghai
DAYS, SCALE, SEED = 8, 0.03, 7


@pytest.fixture(scope="module")
def world_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("sim") / "sim.db"
    db = CaseDatabase(f"sqlite:///{path}")
    db.init_schema()
    import_region(db.engine, "320000", tmp_path_factory.mktemp("geo"))
    tree = RegionTree.load(db.engine, "320000")
    world = World.from_tree(tree, "320000", seed=SEED)
    result = seed_history(db, None, world, days=DAYS, scale=SCALE, seed=SEED,
                          tz="Asia/Shanghai", now=NOW, progress=False)
    yield db, world, result
    db.close()


def _scalar(db, query):
    with db.engine.connect() as conn:
        return conn.execute(query).scalar()


def _full_days_filter():
    # The first and the last (partial) day are left out of per-day rates.
    start = datetime(2026, 11, 13, 16, 0, tzinfo=timezone.utc)   # 14 Nov 00:00 Shanghai
    end = datetime(2026, 11, 19, 16, 0, tzinfo=timezone.utc)     # 20 Nov 00:00 Shanghai
    return case.c.reported_at >= start, case.c.reported_at < end, 6


def test_intake_per_1000_residents_per_day(world_db):
    db, world, _ = world_db
    lo, hi, days = _full_days_filter()
    n = _scalar(db, sa.select(sa.func.count()).select_from(case).where(lo, hi))
    per_1000 = n / (world.populations.sum() / 1000) / days / SCALE
    assert 0.6 <= per_1000 <= 1.5, per_1000


def test_resolution_level_shares(world_db):
    db, _, _ = world_db
    with db.engine.connect() as conn:
        rows = dict(conn.execute(sa.select(case.c.resolution_level, sa.func.count())
                                 .where(case.c.closed_at.is_not(None))
                                 .group_by(case.c.resolution_level)).all())
    total = sum(rows.values())
    share = {k: v / total for k, v in rows.items()}
    assert 0.55 <= share["网格"] <= 0.70, share
    assert 0.15 <= share["村社"] <= 0.25, share
    assert 0.10 <= share["镇街"] <= 0.15, share
    assert 0.03 <= share["县区"] <= 0.08, share
    assert share.get("市", 0) <= 0.01 + 0.005, share


def test_self_resolved_and_same_day_closure(world_db):
    db, _, _ = world_db
    with db.engine.connect() as conn:
        events = dict(conn.execute(sa.select(case_event.c.event_type, sa.func.count())
                                   .group_by(case_event.c.event_type)).all())
        closed = conn.execute(sa.select(case.c.reported_at, case.c.closed_at)
                              .where(case.c.closed_at.is_not(None))).all()
    self_share = events["SELF_RESOLVED"] / events["REPORTED"]
    assert 0.25 <= self_share <= 0.45, self_share
    same_day = sum((c - r).total_seconds() < 86400 for r, c in closed) / len(closed)
    assert 0.55 <= same_day <= 0.78, same_day


def test_overdue_share(world_db):
    db, _, _ = world_db
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(case.c.closed_at, case.c.deadline, case.c.state)
                            .where(case.c.deadline.is_not(None))).all()
    # Cases whose outcome is known: closed, or open past the deadline.
    known = [(c, d) for c, d, s in rows if c is not None or d < NOW]
    late = sum(1 for c, d in known if (c or NOW) > d)
    share = late / len(known)
    assert 0.03 <= share <= 0.08, share


def test_satisfaction_per_city_in_range_and_different(world_db):
    db, _, _ = world_db
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(case.c.city_code, case.c.rating, sa.func.count())
                            .where(case.c.rating.is_not(None))
                            .group_by(case.c.city_code, case.c.rating)).all()
    by_city: dict[str, Counter] = defaultdict(Counter)
    for city, rating, n in rows:
        by_city[city][rating] += n
    rates = {city: (c["满意"] + c["基本满意"]) / sum(c.values()) for city, c in by_city.items()}
    assert len(rates) == 13
    assert all(0.93 <= r <= 0.995 for r in rates.values()), rates
    assert max(rates.values()) - min(rates.values()) >= 0.015, rates


def test_callback_rate_per_city_in_range_and_different(world_db):
    """回访率 = rated ÷ closed, over cases closed at least a day before the seed's clock
    (the rest may still be called back)."""
    db, _, _ = world_db
    cutoff = datetime(2026, 11, 19, 4, 0, tzinfo=timezone.utc)
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(case.c.city_code, sa.func.count(),
                                      sa.func.count(case.c.rating))
                            .where(case.c.closed_at.is_not(None), case.c.closed_at < cutoff)
                            .group_by(case.c.city_code)).all()
    rates = {city: rated / closed for city, closed, rated in rows}
    assert len(rates) == 13
    assert all(0.88 <= r <= 0.99 for r in rates.values()), rates
    assert max(rates.values()) - min(rates.values()) >= 0.02, rates


def test_every_case_is_a_legal_event_history(world_db):
    db, _, result = world_db
    with db.engine.connect() as conn:
        states = dict(conn.execute(sa.select(case.c.id, case.c.state)).all())
        history: dict[int, list] = defaultdict(list)
        for case_id, seq, event, at in conn.execute(
                sa.select(case_event.c.case_id, case_event.c.seq, case_event.c.event_type,
                          case_event.c.at).order_by(case_event.c.case_id, case_event.c.seq)):
            history[case_id].append((seq, event, at))
    assert len(states) == result.cases and sum(map(len, history.values())) == result.events
    closed_like = 0
    for case_id, state in states.items():
        events = history[case_id]
        assert [s for s, _, _ in events] == list(range(1, len(events) + 1))
        assert all(a[2] <= b[2] for a, b in zip(events, events[1:])), case_id
        assert max(at for _, _, at in events) <= NOW
        try:
            assert replay(e for _, e, _ in events).value == state
        except IllegalTransition as exc:  # pragma: no cover - the assertion is the point
            pytest.fail(f"case {case_id}: {exc}")
        closed_like += state in ("CLOSED", "RATED")
    assert closed_like > 0.7 * len(states)   # most of a week's cases are done by now


def test_seeding_is_deterministic(tmp_path):
    digests = []
    for run in range(2):
        db = CaseDatabase(f"sqlite:///{tmp_path / f'd{run}.db'}")
        db.init_schema()
        import_region(db.engine, "320000", tmp_path)
        world = World.from_tree(RegionTree.load(db.engine, "321100"), "321100", seed=3)
        seed_history(db, None, world, days=2, scale=0.05, seed=3, tz="Asia/Shanghai",
                     now=NOW, progress=False)
        with db.engine.connect() as conn:
            rows = conn.execute(sa.select(case).order_by(case.c.id)).all()
        digests.append(json.dumps([list(map(str, r)) for r in rows]))
        db.close()
    assert digests[0] == digests[1] and len(digests[0]) > 1000

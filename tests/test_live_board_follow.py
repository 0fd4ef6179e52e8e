"""The live board follows the stream (data_sources.live_board.BoardFollower): the live
simulator plays the upstream system across a midnight while a follower recomputes only
the townships that events or the clock touched; at every step its board gives every
region's wall the figures of a full pass, late events (a deadline moved, a closure taken
back) included, a restart and trimmed entries included."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from dashboard.domain.live_board import DEEPEST, LiveBoard, board_regions
from dashboard.domain.periods import local_today
from dashboard.domain.scope import RegionScope
from dashboard.domain.states import Event
from dashboard.views.wall.live_models import at_tick, live_models
from dashboard.views.wall.model import build_live
from data_sources import case_queries as q
from data_sources.live_board import BoardFollower, collect, live_board
from data_sources.redis_stream import StreamReader
from data_sources.schema import case
from simulator.live import LiveSimulator
from tests.test_aggregates_follow import START, TZ, _late_event, _seeded


def _same_walls(board, full, tree, regions, now, models: dict) -> int:
    """Every wall from the followed board equals a full pass's; so does every model the
    publisher carries over from the previous step's (`models`, updated), as a reader
    shows it at this step's clock. How many were built rather than carried over."""
    fresh, built = live_models(board, tree, regions, TZ, models)
    tick = {"now": now.isoformat(), "base": board.base, "streams": {}}
    for region in regions:
        expected = build_live(full, tree, region, TZ, now, None)
        assert build_live(board, tree, region, TZ, now, None) == expected, (region.code, now)
        shown = at_tick(fresh[region.code], tick, TZ)
        assert {k: v for k, v in shown.items() if k != "version"} == expected, \
            (region.code, now)
    models.clear()
    models.update(fresh)
    return len(built)


def _same_rows(follower: BoardFollower, engine, scope, now) -> None:
    """The follower's rows, kept case by case, are a full pass's: no row of a case that
    left, no community or entry that came to nothing (a grouped query has no row for it)."""
    kept = follower.leaves
    full = LiveBoard(root=kept.root, now=now, today=kept.today, yesterday=kept.yesterday,
                     top=kept.top)
    collect(engine, q.scoped(scope), full)
    assert kept.counters.keys() == full.counters.keys(), now
    for code, d in full.counters.items():
        mine = kept.counters[code]
        # A counter that is 0 and one not there are the same (to_kpi_counts).
        assert {k: v for k, v in mine.items() if k != "close_hours_sum" and v} == \
            {k: v for k, v in d.items() if k != "close_hours_sum" and v}, (code, now)
        assert mine.get("close_hours_sum", 0) == pytest.approx(d.get("close_hours_sum", 0),
                                                              abs=1e-6), (code, now)
    for name in ("placed", "mix", "hours"):
        assert getattr(kept, name) == getattr(full, name), (name, now)
    for name in ("overdue", "urgent"):      # an empty list and none are the same
        assert {k: v for k, v in getattr(kept, name).items() if v} == \
            {k: v for k, v in getattr(full, name).items() if v}, (name, now)


def test_the_followed_board_equals_a_full_pass_at_every_step(
        database_url, redis_client, key_prefix, tmp_path):
    db, tree, world, stream = _seeded(database_url, redis_client, key_prefix, tmp_path,
                                      days=4, scale=0.2, seed=4)
    regions = board_regions(tree, "321100")
    scope = RegionScope.of(regions[0])
    sim = LiveSimulator(db, stream, world, scale=0.2, tz=TZ, speed=5, seed=11)
    sim.load(START)

    def follower():
        return BoardFollower(db.engine, lambda: StreamReader(stream), scope, TZ)
    boards, kinds, touched, models, built = follower(), [], [], {}, []
    now = START
    for tick in range(1, 181):              # 3 hours of 60 s ticks: past 00:00 in Shanghai
        now = START + timedelta(seconds=60 * tick)
        sim.tick(now, 60)
        if tick % 10 == 0:
            if tick == 100:                 # a restart: a new follower starts with a pass
                boards = follower()
            board = boards.board(now)
            kinds.append(boards.last_step["kind"])
            touched.append(boards.last_step.get("townships"))
            built.append(_same_walls(board, live_board(db.engine, scope, now, TZ), tree,
                                     regions, now, models))
            _same_rows(boards, db.engine, scope, now)
    assert local_today(now, TZ) > local_today(START, TZ)
    # Mostly followed, a full pass only to start, at midnight and after the restart, and
    # a follow step recomputes a few townships, not all of them.
    assert kinds.count("full") == 3 and kinds[0] == "full", kinds
    steps = [n for k, n in zip(kinds, touched) if k == "follow"]
    townships = sum(1 for r in regions if r.level == DEEPEST)
    assert steps and max(steps) < townships and min(steps) >= 0, (steps, townships)
    # A full pass rebuilds every wall; a followed step only those whose rows changed.
    assert all(n == len(regions) for k, n in zip(kinds, built) if k == "full"), built
    assert min(n for k, n in zip(kinds, built) if k == "follow") < len(regions), built

    # No event, only the clock: an open case passes its deadline (overdue now, due
    # today) and a dispatch its signing limit; only the clock says which townships.
    with db.engine.connect() as conn:
        due_next = conn.execute(sa.select(sa.func.min(case.c.deadline)).where(
            case.c.state.in_(["IN_PROGRESS", "DISPATCHED"]), case.c.deadline > now)).scalar()
    quiet = max(due_next, now) + timedelta(seconds=1)
    board = boards.board(quiet)
    assert boards.last_step["kind"] == "follow" and boards.last_step["cases"] == 0
    assert _same_walls(board, live_board(db.engine, scope, quiet, TZ), tree, regions, quiet,
                       models) < len(regions) / 2
    _same_rows(boards, db.engine, scope, quiet)
    now = quiet

    # Late events: a deadline moved past the clock, a closed case reopened.
    with db.engine.connect() as conn:
        open_case = dict(conn.execute(sa.select(case).where(
            case.c.state == "IN_PROGRESS", case.c.deadline < now)
            .order_by(case.c.id)).first()._mapping)
        closed_case = dict(conn.execute(sa.select(case).where(
            case.c.state == "RATED").order_by(case.c.closed_at.desc())).first()._mapping)
    _late_event(db, stream, open_case, Event.EXTENDED, now,
                deadline=now + timedelta(days=2))
    _late_event(db, stream, closed_case, Event.REOPENED, now)
    later = now + timedelta(seconds=5)
    board = boards.board(later)
    assert boards.last_step["kind"] == "follow"
    _same_walls(board, live_board(db.engine, scope, later, TZ), tree, regions, later, models)
    _same_rows(boards, db.engine, scope, later)

    # Entries trimmed before they were read: a full pass, never a board that missed them.
    for tick in range(1, 6):
        sim.tick(later + timedelta(seconds=60 * tick), 60)
    redis_client.xtrim(stream.key, maxlen=2, approximate=False)
    last = later + timedelta(minutes=6)
    board = boards.board(last)
    assert boards.last_step["kind"] == "full"
    assert _same_walls(board, live_board(db.engine, scope, last, TZ), tree, regions, last,
                       models) == len(regions)
    db.close()

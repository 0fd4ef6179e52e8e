"""The live board's one pass per tick: today's and the open cases of a whole root,
grouped by community (the KPI sides) and township (the rest), into a
dashboard.domain.live_board.LiveBoard that every region's wall reads.

The queries are the per-region ones of case_queries.py, grouped instead of filtered, so
the figures are the same by construction (tests/test_live_board.py checks every region
anyway). Their cost follows today's cases and the open ones, not the number of regions.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from dashboard.domain.live_board import CHAIN, DEEPEST, MIX_DIMENSIONS, LiveBoard
from dashboard.domain.periods import today, yesterday
from dashboard.domain.scope import RegionScope
from data_sources import case_queries as q
from data_sources.schema import OPEN_STATES_SQL, case

c = case.c
FINE = [c[level.column] for level in CHAIN]                    # down to the community
TOWNSHIP = [c[level.column] for level in CHAIN[:DEEPEST + 1]]  # down to the township


def live_board(engine: sa.Engine, scope: RegionScope, now: datetime, tz: str,
               top: int = 12) -> LiveBoard:
    board = LiveBoard(root=scope.code, now=now, today=today(now, tz),
                      yesterday=yesterday(now, tz), top=top)
    where = q.scoped(scope)
    n = len(TOWNSHIP)
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            # Grouping a province's open cases by community sorts ~150k rows: in memory,
            # not in temporary files (this transaction only).
            conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")
        tally = q.Tally(len(FINE))
        q.tally_window(conn, tally, where, FINE, board.today, now, engine.dialect.name)
        for chain, counters in tally.acc.items():
            board.add_counters(chain, counters)
        placed = (sa.select(*TOWNSHIP, c.state, c.handler_level, sa.func.count())
                  .where(where, c.state.in_(OPEN_STATES_SQL))
                  .group_by(*TOWNSHIP, c.state, c.handler_level))
        for row in conn.execute(placed):
            board.add_placed(tuple(row[:n]), row[n], row[n + 1], int(row[n + 2]))
        w = board.today.utc
        for dim in MIX_DIMENSIONS:
            mix = (sa.select(*TOWNSHIP, c[dim], sa.func.count())
                   .where(where, c.reported_at >= w.start, c.reported_at < w.end)
                   .group_by(*TOWNSHIP, c[dim]))
            for row in conn.execute(mix):
                board.add_mix(tuple(row[:n]), dim, row[n], int(row[n + 1]))
        for which, window, column in (("today_intake", board.today, "reported_at"),
                                      ("today_closed", board.today, "closed_at"),
                                      ("yesterday_intake", board.yesterday, "reported_at"),
                                      ("yesterday_closed", board.yesterday, "closed_at")):
            for row in q.hourly_side(conn, where, TOWNSHIP, window, column,
                                     engine.dialect.name):
                if row[n] is not None:
                    board.add_hour(tuple(row[:n]), which, int(row[n]), int(row[n + 1]))
        lists: dict[tuple, tuple[list, list]] = {}
        for chain, row in q.top_per_group(conn, q.overdue_where(where, now), TOWNSHIP,
                                          q.OVERDUE_ORDER, top):
            lists.setdefault(chain, ([], []))[0].append(row)
        for chain, row in q.top_per_group(conn, q.urgent_where(where), TOWNSHIP,
                                          q.URGENT_ORDER, top):
            lists.setdefault(chain, ([], []))[1].append(row)
        for chain, (overdue, urgent) in lists.items():
            board.add_listed(chain, overdue, urgent)
    return board.finish(q.to_kpi_counts)

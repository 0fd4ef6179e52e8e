"""The live board's one pass per tick: today's and the open cases of a whole root,
grouped by community (the KPI sides) and township (the rest), into a
dashboard.domain.live_board.LiveBoard that every region's wall reads.

The queries are the per-region ones of case_queries.py, grouped instead of filtered, so
the figures are the same by construction (tests/test_live_board.py checks every region
anyway). Their cost follows today's cases and the open ones, not the number of regions;
a followed tick's follows the cases that changed (BoardFollower).
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa

from dashboard.domain.live_board import (
    CHAIN,
    CLOSED_LEVEL,
    COUNTERS,
    DEEPEST,
    HOUR,
    MIX,
    MIX_DIMENSIONS,
    PLACED,
    LiveBoard,
)
from dashboard.domain.live_cases import OVERDUE_LIST, URGENT_LIST, CaseShares
from dashboard.domain.periods import Window, today, yesterday
from dashboard.domain.scope import RegionScope
from data_sources import case_queries as q
from data_sources.redis_stream import StreamReader
from data_sources.schema import case

c = case.c
FINE = [c[level.column] for level in CHAIN]                    # down to the community
TOWNSHIP = [c[level.column] for level in CHAIN[:DEEPEST + 1]]  # down to the township


def live_board(engine: sa.Engine, scope: RegionScope, now: datetime, tz: str,
               top: int = 12) -> LiveBoard:
    """The board of `scope` at `now` from one full pass."""
    board = LiveBoard(root=scope.code, now=now, today=today(now, tz),
                      yesterday=yesterday(now, tz), top=top)
    collect(engine, q.scoped(scope), board)
    return board.finish(q.to_kpi_counts)


def period_board(engine: sa.Engine, scope: RegionScope, window: Window,
                 now: datetime) -> LiveBoard:
    """Every region's KPI counts over `window` (the walls' month so far) and its closures
    by settling level, from one pass grouped by community: the rankings of 1,345 walls
    from one computation instead of one per region and minute. The board holds the
    window as its "today"; it answers kpi_counts_by and closed_breakdown."""
    board = LiveBoard(root=scope.code, now=now, today=window, yesterday=window, top=0)
    where = q.scoped(scope)
    n = len(TOWNSHIP)
    w = window.utc
    with q.consistent(engine) as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")
        tally = q.Tally(len(FINE))
        q.tally_window(conn, tally, where, FINE, window, now, engine.dialect.name)
        for chain, counters in tally.acc.items():
            board.add_counters(chain, counters)
        for row in q.closed_mix_side(conn, where, TOWNSHIP, w.start, w.end,
                                     "resolution_level"):
            board.add_mix(tuple(row[:n]), CLOSED_LEVEL, row[n], int(row[n + 1]))
    return board.finish(q.to_kpi_counts)


def collect(engine: sa.Engine, where, board: LiveBoard,
            shares: CaseShares | None = None) -> None:
    """Add the rows of the cases matching `where` to an unfinished board, at its clock;
    with `shares`, each case's own rows to it as well (grouped by case too)."""
    with q.consistent(engine) as conn:
        if engine.dialect.name == "postgresql":
            # Grouping a province's open cases by community sorts ~150k rows: in memory,
            # not in temporary files (this transaction only).
            conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")
        for case_id, row in _rows(conn, where, board, engine.dialect.name,
                                  by_case=shares is not None):
            board.add_row(row)
            if shares is not None:
                shares.add(case_id, row)
        _lists(conn, where, board)


def _rows(conn, where, board: LiveBoard, dialect: str, by_case: bool):
    """(case id or None, row) for every row of the board's pass over `where` (the row
    kinds of dashboard.domain.live_board.add_row); by case, each case's own rows."""
    now, n = board.now, len(TOWNSHIP)
    ident = [c.id] if by_case else []
    k = n + len(ident)

    def split(row, width):
        return tuple(row[:width]), (row[width] if by_case else None)
    tally = q.Tally(len(FINE) + len(ident))
    q.tally_window(conn, tally, where, FINE + ident, board.today, now, dialect)
    for key, counters in tally.acc.items():
        chain, case_id = split(key, len(FINE))
        yield case_id, (COUNTERS, chain, counters)
    placed = (sa.select(*TOWNSHIP, *ident, c.state, c.handler_level, sa.func.count())
              .where(where, q.opened(now).condition)
              .group_by(*TOWNSHIP, *ident, c.state, c.handler_level))
    for row in conn.execute(placed):
        chain, case_id = split(row, n)
        yield case_id, (PLACED, chain, row[k], row[k + 1], int(row[k + 2]))
    w = board.today.utc
    for dim in MIX_DIMENSIONS:
        mix = (sa.select(*TOWNSHIP, *ident, c[dim], sa.func.count())
               .where(where, q.reported(w.start, w.end).condition)
               .group_by(*TOWNSHIP, *ident, c[dim]))
        for row in conn.execute(mix):
            chain, case_id = split(row, n)
            yield case_id, (MIX, chain, dim, row[k], int(row[k + 1]))
    for which, window, column in _hours(board):
        for row in q.hourly_side(conn, where, TOWNSHIP + ident, window, column, dialect):
            if row[k] is not None:
                chain, case_id = split(row, n)
                yield case_id, (HOUR, chain, which, int(row[k]), int(row[k + 1]))


def _hours(board: LiveBoard) -> tuple:
    """The board's hourly series: (which, window, column)."""
    return (("today_intake", board.today, "reported_at"),
            ("today_closed", board.today, "closed_at"),
            ("yesterday_intake", board.yesterday, "reported_at"),
            ("yesterday_closed", board.yesterday, "closed_at"))


def _case_rows(conn, where, board: LiveBoard, dialect: str):
    """(case id, row) for every row the pass (_rows, by case) gives the cases matching
    `where`, from one statement instead of one per side: each side's condition and
    counters, the mixes' and hours' conditions, evaluated for each case as columns (the
    same expressions, case_queries' sides). A followed tick asks a few hundred cases."""
    now, w = board.now, board.today.utc
    sides = q.window_sides(board.today, now, dialect)
    hours = [(which, *q.hour_of(window, column, dialect))
             for which, window, column in _hours(board)]
    head = [*FINE, c.id, c.state, c.handler_level, *(c[d] for d in MIX_DIMENSIONS),
            sa.case((q.reported(w.start, w.end).condition, 1), else_=0),
            sa.case((q.opened(now).condition, 1), else_=0),
            *(sa.case((inside, bucket), else_=None) for _, bucket, inside in hours)]
    fine, town, at = len(FINE), len(TOWNSHIP), len(head)
    for row in conn.execute(sa.select(*head, *q.side_columns(sides)).where(where)):
        case_id, state, level = row[fine], row[fine + 1], row[fine + 2]
        chain, k = tuple(row[:town]), fine + 3 + len(MIX_DIMENSIONS)
        counters, _ = q.case_counters(sides, row, at)
        if counters is not None:
            yield case_id, (COUNTERS, tuple(row[:fine]), counters)
        if row[k + 1]:
            yield case_id, (PLACED, chain, state, level, 1)
        if row[k]:
            for i, dim in enumerate(MIX_DIMENSIONS):
                yield case_id, (MIX, chain, dim, row[fine + 3 + i], 1)
        for i, (which, _, _) in enumerate(hours):
            if row[k + 2 + i] is not None:
                yield case_id, (HOUR, chain, which, int(row[k + 2 + i]), 1)


def _lists(conn, where, board: LiveBoard, which: tuple = (OVERDUE_LIST, URGENT_LIST)
           ) -> None:
    """The townships' first `top` overdue and supervised cases into the board."""
    lists: dict[tuple, tuple[list, list]] = {}
    if OVERDUE_LIST in which:
        for chain, row in q.top_per_group(conn, q.overdue_where(where, board.now), TOWNSHIP,
                                          q.OVERDUE_ORDER, board.top):
            lists.setdefault(chain, ([], []))[0].append(row)
    if URGENT_LIST in which:
        for chain, row in q.top_per_group(conn, q.urgent_where(where), TOWNSHIP,
                                          q.URGENT_ORDER, board.top):
            lists.setdefault(chain, ([], []))[1].append(row)
    for chain, (overdue, urgent) in lists.items():
        board.add_listed(chain, overdue, urgent)


class BoardFollower:
    """Keeps the live board of a root current with the event stream, at a cost that
    follows the events rather than the table: one full pass when it starts and when the
    local day turns, grouped by case as well, then each tick redoes only the cases that
    changed (dashboard/domain/live_cases.py: a case's old rows out, its new rows in).

    A case's rows change when it has an event (the stream says which case) or when the
    clock passes its deadline (overdue now, due today) or signing limit (及时签收): those
    cases are found by their deadline in [last tick, now). An entry is written after its
    row is committed (docs/data-contract.md), so the rows an entry points to are there
    when it is read. Entries trimmed from the stream before they were read, or an
    unreadable stream, mean a full pass: never a board that missed something.
    """

    def __init__(self, engine: sa.Engine, reader: Callable[[], StreamReader],
                 scope: RegionScope, tz: str, top: int = 12, max_entries: int = 100_000):
        # `reader` makes the stream reader when first needed (Redis may be down when the
        # worker starts; without a stream every tick is a full pass).
        self.engine, self._make_reader, self.scope, self.tz = engine, reader, scope, tz
        self._reader: StreamReader | None = None
        self.top, self.max_entries = top, max_entries
        self._leaves: LiveBoard | None = None   # unfinished: rows by community / township
        self._shares = CaseShares()             # each case's rows in _leaves
        self._sums: LiveBoard | None = None     # finished, with its sums kept (updated())
        self._roll_up_ms = 0.0
        self._position: str | None = None
        self.last_step: dict = {}

    def board(self, now: datetime) -> LiveBoard:
        started = time.perf_counter()
        if self._leaves is None or self._leaves.today != today(now, self.tz):
            step = self._full(now)
        else:
            try:
                step = self._follow(now)
            except StreamGap:
                step = self._full(now)
        self.last_step = {**step, "ms": (time.perf_counter() - started) * 1000}
        return self._sums.published()

    @property
    def leaves(self) -> LiveBoard | None:
        """The unfinished board it keeps (rows by community and township), read by the
        tests to compare with a pass's rows."""
        return self._leaves

    def reader(self) -> StreamReader:
        if self._reader is None:
            self._reader = self._make_reader()
        return self._reader

    def _fresh(self, now: datetime) -> LiveBoard:
        return LiveBoard(root=self.scope.code, now=now, today=today(now, self.tz),
                         yesterday=yesterday(now, self.tz), top=self.top)

    def _full(self, now: datetime) -> dict:
        try:
            position = self.reader().start_id_now()  # before the pass: nothing falls between
        except Exception:  # noqa: BLE001 - no stream: a full pass every tick
            self._reader, position = None, None
        leaves, shares = self._fresh(now), CaseShares()
        collect(self.engine, q.scoped(self.scope), leaves, shares)
        self._leaves, self._shares, self._position = leaves, shares, position
        self._sums = leaves.copy(now).finish(q.to_kpi_counts, keep=True)
        # A new chain of versions: nothing built from another pass (another worker's, or
        # this one's before a gap) is taken for this one's.
        self._sums.base = uuid.uuid4().hex
        return {"kind": "full", "townships": None}

    def _follow(self, now: datetime) -> dict:
        started = time.perf_counter()
        if self._position is None:
            raise StreamGap("no stream position")
        cases, position, entries = set(), self._position, 0
        try:
            reader = self.reader()
            if reader.trimmed_past(position):
                raise StreamGap(f"entries after {position} were trimmed")
            while entries < self.max_entries:
                named, last, n = reader.case_ids(position, count=1000)
                if not n:
                    break
                cases |= named
                entries, position = entries + n, last
        except StreamGap:
            raise
        except Exception as exc:  # noqa: BLE001 - Redis down: count everything again
            self._reader = None
            raise StreamGap(str(exc)) from exc
        if entries >= self.max_entries:
            raise StreamGap("too far behind the stream")
        crossed = self._crossed(self._leaves.now, now)
        streamed, cases = len(cases), cases | crossed
        # Every other case's rows are the same at `now`: nothing happened to it and none
        # of its deadlines passed.
        self._leaves.now = now
        before, redo, fetched = {}, set(), time.perf_counter()
        if cases:
            fresh, ids = CaseShares(), sorted(cases)
            with q.consistent(self.engine) as conn:
                # The changed cases' rows at the new clock, straight into their shares
                # (the board's windows are the day's: the day has not turned).
                for i in range(0, len(ids), 1000):
                    where = sa.and_(q.scoped(self.scope),
                                    q.among(c.id, ids[i:i + 1000], self.engine.dialect.name))
                    for case_id, row in _case_rows(conn, where, self._leaves,
                                                   self.engine.dialect.name):
                        fresh.add(case_id, row)
                fetched = time.perf_counter()
                towns, redo, relist = self._shares.replace(self._leaves, fresh, cases)
                self._relist(conn, towns, relist)
            before = self._leaves.rows_of(redo)
            self._leaves.replace_townships(redo, towns)
        counted = time.perf_counter()
        # Only the redone townships' ancestors are summed again.
        self._sums = self._sums.updated(now, before, self._leaves, q.to_kpi_counts)
        self._roll_up_ms = (time.perf_counter() - counted) * 1000
        self._position = position
        return {"kind": "follow", "entries": entries, "cases": streamed,
                "crossed": len(crossed),
                "townships": len(redo), "roll_up_ms": self._roll_up_ms,
                "lists": sum(map(len, relist.values())) if cases else 0,
                "cases_ms": (fetched - started) * 1000}

    def _relist(self, conn, towns: LiveBoard, relist: dict[str, set[str]]) -> None:
        """Ask again the lists a changed case could be on, before or after, of those
        townships only (the others' lists are the same: no case on them changed)."""
        for which, townships in relist.items():
            if not townships:
                continue
            for t in townships:
                (towns.overdue if which == OVERDUE_LIST else towns.urgent).pop(t, None)
            _lists(conn, sa.and_(q.scoped(self.scope),
                                 q.among(c.township_code, sorted(townships),
                                         self.engine.dialect.name)), towns, (which,))

    def _crossed(self, before: datetime, now: datetime) -> set[int]:
        """The cases whose deadline or signing limit the clock passed in [before, now):
        due and overdue now, or a dispatch now late to be signed."""
        if now <= before:
            return set()
        where = q.scoped(self.scope)
        day = self._leaves.today.utc
        deadline = (sa.select(c.id)
                    .where(where, c.deadline >= before, c.deadline < now,
                           c.state != "REJECTED",
                           sa.or_(c.closed_at.is_(None), c.closed_at >= day.end)))
        signing = (sa.select(c.id)
                   .where(where, c.state == "DISPATCHED",
                          c.reported_at >= day.start, c.reported_at < day.end,
                          c.sign_deadline >= before, c.sign_deadline < now))
        with self.engine.connect() as conn:
            return set(conn.execute(sa.union(deadline, signing)).scalars())


class StreamGap(Exception):
    """The stream cannot say what changed since the board's position."""

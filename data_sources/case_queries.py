"""The dashboard's read queries. Every function takes a RegionScope and aggregates in SQL:
nothing here loads the case table into Python.

Each KPI aggregation is split into index-friendly queries (by reported_at, by closed_at,
by deadline, open now) instead of one query with an OR over time columns, which no index
can serve.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from dashboard.domain.hierarchy import Level
from dashboard.domain.kpis import KpiCounts
from dashboard.domain.periods import Window
from dashboard.domain.scope import RegionScope
from data_sources.schema import OPEN_STATES_SQL, case

c = case.c
BREAKDOWN_DIMENSIONS = ("category", "source", "urgency", "resolution_level", "handler_level",
                        "state")


def scoped(scope: RegionScope):
    return c[scope.column] == scope.code


def among(column, values, dialect: str):
    """`column IN values`, as the same statement text whatever their number on PostgreSQL
    (`= ANY` of one array): a follower asks its ~16 statements by case id every tick with
    a different number of ids, and an IN list of each length was a new statement to
    compile and plan; one text is compiled once and prepared by the driver."""
    values = list(values)
    if dialect == "postgresql":
        return column == sa.any_(sa.bindparam("among", values, type_=sa.ARRAY(column.type),
                                             unique=True))
    return column.in_(values)


def consistent(engine: sa.Engine):
    """A connection whose statements all read one snapshot (PostgreSQL: REPEATABLE READ;
    SQLite's read transaction already is one). The sides of one count are separate
    statements: under READ COMMITTED a writer between them made a rate of 38 on time out
    of 37 due (bench.province_scale)."""
    conn = engine.connect()
    if engine.dialect.name == "postgresql":
        conn.execution_options(isolation_level="REPEATABLE READ")
    return conn


@contextmanager
def by_region_index(conn, scope: RegionScope | None):
    """Statements inside read a region's closures by its own index. Below the root,
    PostgreSQL's planner took the whole table's ix_case_closed for a region's span (a
    city's closures of a day: every closure of the province that day read to keep the
    city's) over the region's ix_case_city_closed, because closed_at lies in the table's
    physical order (correlation 0.99) and it expects a day's rows on adjacent pages; a
    day's closures are of cases reported over weeks, scattered. Without plain index scans
    it reads the region's index as a bitmap: 17 ms instead of 128 for a city's day at 10M
    (EXPLAIN ANALYZE, docs/benchmarks.md "First viewers"). Only around the closed side:
    index-only scans go too (the open side's, 12 ms, took 76 as a bitmap), and not at
    the root, whose rows are the whole table's (30% slower as a bitmap). The figures are
    the same: only the plan changes."""
    with by_own_index(conn, scope is not None and scope.level > Level.PROVINCE):
        yield


@contextmanager
def by_own_index(conn, on: bool = True):
    """by_region_index's hint for statements restricted to some regions by their codes
    (the aggregates follower's touched townships or counties of a day), which their own
    (code, closed_at) indexes serve. At 10M, through ix_case_closed: 124 townships'
    closures of a day 72 ms, 32 counties' 146 ms; by their indexes 15 and 39 ms (EXPLAIN
    ANALYZE, docs/benchmarks.md "Hours stored")."""
    with planned_without(conn, "indexscan", on):
        yield


@contextmanager
def planned_without(conn, plan: str, on: bool = True):
    """Statements inside are planned without `plan` (PostgreSQL's enable_<plan>: a
    hint where its estimate misleads it); the figures are the same, only the plan
    changes. Nothing on SQLite."""
    on = on and conn.dialect.name == "postgresql"
    if on:
        conn.exec_driver_sql(f"SET LOCAL enable_{plan} = off")
    yield
    if on:
        conn.exec_driver_sql(f"SET LOCAL enable_{plan} = on")


def _hours_between(dialect: str, later, earlier):
    if dialect == "postgresql":
        return sa.func.extract("epoch", later - earlier) / 3600.0
    return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 24.0


def _count_if(cond):
    return sa.func.coalesce(sa.func.sum(sa.case((cond, 1), else_=0)), 0)


def _group(scope: RegionScope, by_child: bool):
    if not by_child:
        return []
    if scope.child_level is None:
        raise ValueError("a grid has no children to group by")
    return [c[scope.child_level.column]]


# Each side of the KPI counts: one query over one index's time column, for a span of that
# column, grouped by `group` (none, or a code column). The full computation (kpi_counts_by)
# runs each side over the window; the aggregates (data_sources/aggregates.py) run the same
# sides over each finished day to store them, and over the unstored edges of a window, so
# that both paths count with the very same predicates. A side is a condition and its
# counters, each a per-case value and how a group sums it (Side): the grouped queries and
# the per-case rows of a live board's followed tick (case_sides) come from one definition.
REPORTED_SIDE = ("intake", "dispatches", "late", "returned", "waiting", "direct_resolved")
CLOSED_SIDE = ("closed", "closed_on_time", "close_hours_sum", "reworked", "verified",
               "reopened", "rated", "satisfied", "basically_satisfied")
CARD_SIDE = ("yellow_issued", "red_issued")
OPEN_SIDE = ("open", "overdue_open", "yellow_cards", "red_cards")
COUNT, SUM, IF = "count", "sum", "if"   # a counter: each case 1, its value, 1 if true


@dataclass(frozen=True)
class Side:
    condition: object            # the cases the side counts (besides the caller's `where`)
    counters: tuple              # (name, COUNT | SUM | IF, per-case expression or None)

    @property
    def names(self) -> list[str]:
        return [name for name, _, _ in self.counters]

    def grouped(self, where, group: list):
        """The side's rows of (*group, *counters)."""
        return (sa.select(*group, *(_summed(how, e) for _, how, e in self.counters))
                .where(where, self.condition).group_by(*group))

    def per_case(self) -> list:
        """Its columns for one case: 1 if the side counts it, then each counter's value
        but COUNT's (1)."""
        return [sa.case((self.condition, 1), else_=0),
                *(_one(how, e) for _, how, e in self.counters if how != COUNT)]


def _summed(how: str, expr):
    if how == COUNT:
        return sa.func.count()
    if how == IF:
        return _count_if(expr)
    return sa.func.coalesce(sa.func.sum(expr), 0)


def _one(how: str, expr):
    return sa.case((expr, 1), else_=0) if how == IF else expr


def _in(col, start: datetime, end: datetime):
    return sa.and_(col >= start, col < end)


def reported(start: datetime, end: datetime) -> Side:
    """Cases reported in [start, end). Each dispatch ends signed (ACCEPTED) or returned,
    or is the one a DISPATCHED case still waits to sign: signed = dispatches − returned −
    waiting (kpi_counts_by)."""
    return Side(_in(c.reported_at, start, end), (
        ("intake", COUNT, None), ("dispatches", SUM, c.dispatch_count),
        ("late", SUM, c.late_sign_count), ("returned", SUM, c.return_count),
        ("waiting", IF, c.state == "DISPATCHED"),
        ("direct_resolved", IF, sa.and_(c.closed_at.is_not(None),
                                        c.resolution_level == "网格"))))


def waiting(start: datetime, end: datetime) -> Side:
    """Dispatches reported in [start, end) still waiting to be signed (reported's
    "waiting", alone): few at any time, found through the partial index."""
    return Side(sa.and_(c.state == "DISPATCHED", _in(c.reported_at, start, end)),
                (("waiting", COUNT, None),))


def not_late(start: datetime, end: datetime, now: datetime) -> Side:
    """Dispatches reported in [start, end) still waiting to be signed whose limit has not
    passed (or has none): the waiting ones not (yet) late. Few: a sign limit is hours."""
    return Side(sa.and_(c.state == "DISPATCHED", _in(c.reported_at, start, end),
                        sa.or_(c.sign_deadline.is_(None), c.sign_deadline >= now)),
                (("waiting_not_late", COUNT, None),))


def closed(start: datetime, end: datetime, dialect: str) -> Side:
    """Cases closed in [start, end); ratings follow the closure they rate."""
    return Side(_in(c.closed_at, start, end), (
        ("closed", COUNT, None),
        # Settled at intake: there was never a deadline to miss.
        ("closed_on_time", IF, sa.or_(c.deadline.is_(None), c.closed_at <= c.deadline)),
        ("close_hours_sum", SUM, _hours_between(dialect, c.closed_at, c.reported_at)),
        ("reworked", SUM, c.rework_count), ("verified", IF, c.dispatch_count > 0),
        ("reopened", SUM, c.reopen_count), ("rated", IF, c.rating.is_not(None)),
        ("satisfied", IF, c.rating == "满意"),
        ("basically_satisfied", IF, c.rating == "基本满意")))


def due_unclosed(start: datetime, end: datetime, open_at: datetime) -> Side:
    """Cases whose deadline is in [start, end) and that were not closed before `open_at`
    (the window's end), rejected ones apart: due in a window but not closed in it."""
    return Side(sa.and_(_in(c.deadline, start, end), c.state != "REJECTED",
                        sa.or_(c.closed_at.is_(None), c.closed_at >= open_at)),
                (("due_unclosed", COUNT, None),))


def due_open(start: datetime, end: datetime) -> Side:
    """due_unclosed's cases that are open now: a case has no closing time exactly while it
    is open or rejected (projection: CLOSED sets it, REOPENED clears it), so these read
    the open partial indexes (index-only) instead of every case due in [start, end)."""
    return Side(sa.and_(c.state.in_(OPEN_STATES_SQL), _in(c.deadline, start, end)),
                (("due_unclosed", COUNT, None),))


def due_closed_since(start: datetime, end: datetime, open_at: datetime) -> Side:
    """due_unclosed's other cases: closed at or after `open_at`. With due_open, the whole
    of due_unclosed; cheap while `open_at` is recent (few closures since)."""
    return Side(sa.and_(c.closed_at >= open_at, _in(c.deadline, start, end),
                        c.state != "REJECTED"), (("due_unclosed", COUNT, None),))


def carded(column: str, name: str, start: datetime, end: datetime) -> Side:
    """Cards of one colour issued in [start, end), closed cases too (its partial index of
    the carded cases)."""
    return Side(_in(c[column], start, end), ((name, COUNT, None),))


CARDS = (("yellow_card_at", "yellow_issued"), ("red_card_at", "red_issued"))


def opened(now: datetime) -> Side:
    """Open now (not windowed). 挂起 cases are out of timeliness: open, never overdue."""
    return Side(c.state.in_(OPEN_STATES_SQL), (
        ("open", COUNT, None),
        ("overdue_open", IF, sa.and_(c.deadline < now, c.state != "SUSPENDED")),
        ("yellow_cards", IF, c.supervision_level == 2),
        ("red_cards", IF, c.supervision_level == 3)))


def reported_side(conn, where, group: list, start: datetime, end: datetime):
    """reported(): rows of (*group, *REPORTED_SIDE)."""
    return conn.execute(reported(start, end).grouped(where, group))


def waiting_side(conn, where, group: list, start: datetime, end: datetime):
    return conn.execute(waiting(start, end).grouped(where, group))


def waiting_not_late(conn, where, group: list, start: datetime, end: datetime, now: datetime):
    return conn.execute(not_late(start, end, now).grouped(where, group))


def closed_side(conn, where, group: list, start: datetime, end: datetime, dialect: str):
    return conn.execute(closed(start, end, dialect).grouped(where, group))


def due_unclosed_side(conn, where, group: list, start: datetime, end: datetime,
                      open_at: datetime, running: bool = False):
    """due_unclosed(); for a window still running (its end not passed: few closures since)
    as due_open + due_closed_since: a province's deadlines of today read through every
    case due today, closed ones too (110-150 ms at 10M), its open ones alone are ~5 ms.
    A past window (上期) keeps the one statement: it has a week's closures since."""
    if not running:
        return conn.execute(due_unclosed(start, end, open_at).grouped(where, group))
    return [*conn.execute(due_open(start, end).grouped(where, group)),
            *conn.execute(due_closed_since(start, end, open_at).grouped(where, group))]


def card_side(conn, where, group: list, start: datetime, end: datetime):
    """Cards issued in [start, end), one query per colour: (name, rows of (*group, n))."""
    for column, name in CARDS:
        yield name, conn.execute(carded(column, name, start, end).grouped(where, group))


def open_side(conn, where, group: list, now: datetime):
    return conn.execute(opened(now).grouped(where, group))


class Tally:
    """Sums side rows into named counters per key (a child's code, or None)."""

    def __init__(self, n_group: int):
        self.n = n_group
        self.acc: dict[str | None, dict] = {}

    def key(self, row):
        """None without a group, the code with one column, the tuple of codes with more
        (the live board groups by a community and its ancestors)."""
        if not self.n:
            return None
        return row[0] if self.n == 1 else tuple(row[:self.n])

    def add(self, rows, names, sign: int = 1) -> None:
        for row in rows:
            d = self.acc.setdefault(self.key(row), {})
            for name, value in zip(names, row[self.n:]):
                d[name] = d.get(name, 0) + sign * (value or 0)

    def add_dict(self, key, counters: dict) -> None:
        d = self.acc.setdefault(key, {})
        for name, value in counters.items():
            d[name] = d.get(name, 0) + (value or 0)

    def counts(self, with_total: bool) -> dict[str | None, KpiCounts]:
        out = {k: to_kpi_counts(d) for k, d in self.acc.items()}
        if with_total:
            out.setdefault(None, KpiCounts())
        return out


def to_kpi_counts(d: dict) -> KpiCounts:
    """KpiCounts from the sides' counters (unsigned_late: waiting − waiting_not_late)."""
    dispatches = int(d.get("dispatches", 0))
    late = int(d.get("late", 0))
    returned = int(d.get("returned", 0))
    waiting = int(d.get("waiting", 0))
    signed = max(dispatches - returned - waiting, 0)
    unsigned_late = waiting - int(d.get("waiting_not_late", 0))
    return KpiCounts(
        intake=int(d.get("intake", 0)), closed=int(d.get("closed", 0)),
        due=int(d.get("closed", 0)) + int(d.get("due_unclosed", 0)),
        closed_on_time=int(d.get("closed_on_time", 0)),
        open=int(d.get("open", 0)), overdue_open=int(d.get("overdue_open", 0)),
        dispatches=dispatches, signed_in_time=max(signed - late, 0),
        signs_due=signed + unsigned_late,
        returned=returned, rated=int(d.get("rated", 0)),
        satisfied=int(d.get("satisfied", 0)),
        basically_satisfied=int(d.get("basically_satisfied", 0)),
        verified=int(d.get("verified", 0)) + int(d.get("reworked", 0)),
        reworked=int(d.get("reworked", 0)),
        reopened=int(d.get("reopened", 0)), direct_resolved=int(d.get("direct_resolved", 0)),
        close_hours_sum=float(d.get("close_hours_sum", 0.0)),
        yellow_cards=int(d.get("yellow_cards", 0)), red_cards=int(d.get("red_cards", 0)),
        yellow_issued=int(d.get("yellow_issued", 0)), red_issued=int(d.get("red_issued", 0)),
    )


def kpi_counts_by(engine: sa.Engine, scope: RegionScope, window: Window, now: datetime,
                  by_child: bool = False, settled: bool = False) -> dict[str | None, KpiCounts]:
    """KpiCounts for the scope (key None) or for each of its children (key: child code),
    every side over the whole window from the case table; `settled`: without the open
    side (CaseStore.kpi_counts_by)."""
    group = _group(scope, by_child)
    tally = Tally(len(group))
    with consistent(engine) as conn:
        tally_window(conn, tally, scoped(scope), group, window, now, engine.dialect.name,
                     scope, settled)
    return tally.counts(with_total=not by_child)


def window_sides(window: Window, now: datetime, dialect: str,
                 settled: bool = False) -> list[Side]:
    """Every side of the KPI counts over a whole window at `now` (kpi_counts_by; the
    live board's pass over today); `settled`: all but the open side."""
    w = window.utc
    return [reported(w.start, w.end),
            # The one waiting is late once its limit has passed (及时签收率, DOMAIN.md §5).
            not_late(w.start, w.end, now),
            closed(w.start, w.end, dialect),
            # Due but not closed in the window: the deadline passed inside the window (a
            # deadline later today is not due yet, or every morning would open with a
            # collapsed rate) and the case was not closed before the window ended. A case
            # closed early, before the window, was settled in an earlier window; counting
            # it here again would make every finished case a failure on its deadline day.
            due_unclosed(w.start, min(w.end, now), w.end),
            *(carded(column, name, w.start, w.end) for column, name in CARDS),
            *(() if settled else (opened(now),))]


def tally_window(conn, tally: Tally, where, group: list, window: Window, now: datetime,
                 dialect: str, scope: RegionScope | None = None, settled: bool = False) -> None:
    """Every side over the window, grouped by `group`, into `tally`: one query a side.
    `scope`: the region `where` holds (its closures read by its own index)."""
    for side in window_sides(window, now, dialect, settled):
        with by_region_index(conn, scope if side.names == list(CLOSED_SIDE) else None):
            tally.add(conn.execute(side.grouped(where, group)), side.names)


def side_columns(sides: list[Side]) -> list:
    """The columns that give one case's counters on every side (case_counters)."""
    return [col for side in sides for col in side.per_case()]


def case_counters(sides: list[Side], row, at: int) -> tuple[dict | None, int]:
    """One case's counters from its side_columns, read from row[at:]: what the grouped
    queries would sum for it alone (None when no side counts it, as a grouped pass then
    has no row for it), and where its columns end."""
    out = None
    for side in sides:
        counted, at = row[at], at + 1
        if counted:
            out = {} if out is None else out
        for name, how, _ in side.counters:
            if how == COUNT:
                if counted:
                    out[name] = out.get(name, 0) + 1
                continue
            value, at = row[at], at + 1
            if counted:
                out[name] = out.get(name, 0) + (value or 0)
    return out, at


def kpi_counts(engine, scope: RegionScope, window: Window, now: datetime,
               settled: bool = False) -> KpiCounts:
    return kpi_counts_by(engine, scope, window, now, settled=settled)[None]


def open_by_state_and_level(engine, scope: RegionScope) -> dict[tuple[str, str | None], int]:
    """Where open cases sit: {(state, handler_level): count}."""
    q = (sa.select(c.state, c.handler_level, sa.func.count())
         .where(scoped(scope), c.state.in_(OPEN_STATES_SQL))
         .group_by(c.state, c.handler_level))
    with engine.connect() as conn:
        return {(s, lvl): int(n) for s, lvl, n in conn.execute(q)}


def breakdown(engine, scope: RegionScope, window: Window, dimension: str) -> dict[str, int]:
    """Intake in the window counted by one dimension (category, source, ...). By
    resolution_level, "" is the cases not closed, without the rejected (不予受理) ones."""
    if dimension not in BREAKDOWN_DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}")
    w = window.utc
    col = c[dimension]
    cond = [scoped(scope), c.reported_at >= w.start, c.reported_at < w.end]
    if dimension == "resolution_level":
        cond.append(c.state != "REJECTED")
    q = sa.select(col, sa.func.count()).where(*cond).group_by(col)
    with engine.connect() as conn:
        return {k if k is not None else "": int(n) for k, n in conn.execute(q)}


def closed_mix_side(conn, where, group: list, start: datetime, end: datetime, dimension: str):
    """Cases closed in [start, end) by one dimension: rows of (*group, value, count)."""
    if dimension not in BREAKDOWN_DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}")
    col = c[dimension]
    return conn.execute(sa.select(*group, col, sa.func.count())
                        .where(where, _in(c.closed_at, start, end)).group_by(*group, col))


def closed_breakdown(engine, scope: RegionScope, window: Window,
                     dimension: str) -> dict[str, int]:
    """Cases closed in the window counted by one dimension: by resolution_level, where the
    closures of the window (办结量, `kpi_counts`' closed) were settled."""
    w = window.utc
    out: dict[str, int] = {}
    with engine.connect() as conn:
        for k, n in closed_mix_side(conn, scoped(scope), [], w.start, w.end, dimension):
            key = k if k is not None else ""
            out[key] = out.get(key, 0) + int(n)
    return out


def hourly(engine, scope: RegionScope, window: Window, column: str = "reported_at") -> list[int]:
    """Counts per hour of the window (index 0 = first hour) of reported_at or closed_at."""
    hours = hours_in(window)
    out = [0] * hours
    with engine.connect() as conn:
        for b, n in hourly_side(conn, scoped(scope), [], window, column, engine.dialect.name):
            if b is not None and 0 <= int(b) < hours:
                out[int(b)] += int(n)
    return out


def hours_in(window: Window) -> int:
    w = window.utc
    return int((w.end - w.start).total_seconds() // 3600)


def hour_of(window: Window, column: str, dialect: str):
    """(a case's hour index from the window's start by `column`, reported_at or
    closed_at; the condition that it falls in the window)."""
    if column not in ("reported_at", "closed_at"):
        raise ValueError("column must be reported_at or closed_at")
    w = window.utc
    col = c[column]
    bucket = sa.cast(sa.func.floor(_hours_between(dialect, col, sa.literal(w.start))),
                     sa.Integer)
    if dialect == "sqlite":
        # SQLite compares the stored naive-UTC text; bind the same shape.
        bucket = sa.cast(sa.func.floor(
            (sa.func.julianday(col) - sa.func.julianday(w.start.replace(tzinfo=None))) * 24),
            sa.Integer)
    return bucket, sa.and_(col >= w.start, col < w.end)


def hourly_side(conn, where, group: list, window: Window, column: str, dialect: str):
    """Rows of (*group, hour index from the window's start, count) of reported_at or
    closed_at in the window."""
    bucket, inside = hour_of(window, column, dialect)
    return conn.execute(sa.select(*group, bucket, sa.func.count())
                        .where(where, inside).group_by(*group, bucket))


# The columns of a listed open case, and the orders of the wall's two lists. Each order
# ends with the id, so that equal deadlines list the same cases on every path (the live
# board merges its townships' lists by the same key: dashboard/domain/live_board.py).
LISTED = ("id", "case_no", "grid_code", "category", "urgency", "state", "deadline",
          "supervision_level", "reported_at")


def overdue_where(where, now: datetime):
    """Open cases past their deadline (超期在办: not 挂起 ones)."""
    return sa.and_(where, c.state.in_(OPEN_STATES_SQL), c.state != "SUSPENDED",
                   c.deadline < now)


def urgent_where(where):
    """Open cases under supervision (黄牌 or 红牌)."""
    return sa.and_(where, c.state.in_(OPEN_STATES_SQL), c.supervision_level >= 2)


OVERDUE_ORDER = (c.deadline, c.id)
# 红牌 before 黄牌, then by deadline (none last, on either database), then id.
URGENT_ORDER = (c.supervision_level.desc(), c.deadline.is_(None), c.deadline, c.id)


def overdue_cases(engine, scope: RegionScope, now: datetime, limit: int = 20) -> list[dict]:
    """Open cases past their deadline, oldest deadline first."""
    q = (sa.select(*(c[k] for k in LISTED)).where(overdue_where(scoped(scope), now))
         .order_by(*OVERDUE_ORDER).limit(limit))
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def urgent_open_cases(engine, scope: RegionScope, limit: int = 20) -> list[dict]:
    """Open cases under supervision (红牌 before 黄牌), then by deadline: the list a
    督办 desk works through."""
    q = (sa.select(*(c[k] for k in LISTED)).where(urgent_where(scoped(scope)))
         .order_by(*URGENT_ORDER).limit(limit))
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def top_per_group(conn, cond, group: list, order, limit: int):
    """The first `limit` cases of each group (a township and its ancestors' codes) in
    `order`: one pass with ROW_NUMBER instead of a query per group. Rows of (the group's
    codes, the case as a dict of LISTED)."""
    rank = sa.func.row_number().over(partition_by=group[-1], order_by=order).label("rn")
    inner = sa.select(*(c[k] for k in LISTED), *(g.label(f"g{i}") for i, g in enumerate(group)),
                      rank).where(cond).subquery()
    q = sa.select(inner).where(inner.c.rn <= limit)
    for r in conn.execute(q):
        m = r._mapping
        yield tuple(m[f"g{i}"] for i in range(len(group))), {k: m[k] for k in LISTED}


def case_summaries(engine, scope: RegionScope, case_ids: list[int]) -> dict[int, dict]:
    """case_no, category, urgency, deadline and grid of the given cases inside the scope."""
    if not case_ids:
        return {}
    q = (sa.select(c.id, c.case_no, c.category, c.urgency, c.deadline, c.grid_code)
         .where(c.id.in_(sorted(set(case_ids))), scoped(scope)))
    # On the live ticker's path (every batch of events): one statement needs no
    # transaction, and BEGIN and ROLLBACK were two of its four round trips, each a wait
    # for a turn of a busy gevent worker's loop (docs/benchmarks.md).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        return {r.id: dict(r._mapping) for r in conn.execute(q)}

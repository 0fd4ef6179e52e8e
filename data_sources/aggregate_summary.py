"""Aggregate-only days: stored daily aggregates older than the case table's first day.

A demo (or a platform that archived its old cases) can hold months of daily aggregates
for days whose cases are not in the case table: /kpi's 上期 and 去年同期 read them, the
case list says that only summaries exist there (docs/aggregates.md, "Aggregate-only
days"). Their bookkeeping is a gw_meta key of its own, "aggregates.summary", so that the
follower's writes of "aggregates" (read, merge, write) and a filler's never overwrite
each other:

    {tz, until: the first day with cases (the aggregate-only days end before it),
     filled: the day ranges [[start, end), ...] filled so far (ISO days, sorted, merged),
     first: the oldest day of the filled range that ends at `until` (the days
            [first, until) are stored, contiguous; `until` when that range is empty),
     target: the oldest day asked for, seed, scale, done_days, total_days, updated_at}

A filler may fill some months out of order (last year's first, for /kpi's 去年同期:
simulator/summary_history.py), so the filled days can be several ranges; the days of
[target, until) not filled yet are *pending*: a window touching one has no figures yet
(its KPIs read as none, "—"), never the part that happens to be filled. A record without
`filled` (written before) means [[first, until)].

The days before `until` are never recomputed from the case table (aggregates.rebuild*
skip them): the case table has nothing there, and a recomputation would wipe them.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from data_sources.schema import agg_day, agg_day_county, agg_due, agg_mix, agg_mix_city, meta

SUMMARY_KEY = "aggregates.summary"
# Tables keyed by local day, and the column holding it.
DAY_TABLES = ((agg_day, "day"), (agg_day_county, "day"), (agg_mix, "day"),
              (agg_mix_city, "day"), (agg_due, "deadline_day"))


def summary_info(engine: sa.Engine) -> dict:
    with engine.connect() as conn:
        raw = conn.execute(sa.select(meta.c.value).where(meta.c.key == SUMMARY_KEY)).scalar()
    return json.loads(raw) if raw else {}


def record_summary(engine: sa.Engine, **changes) -> dict:
    info = {**summary_info(engine), **changes,
            "updated_at": datetime.now(timezone.utc).isoformat()}
    with engine.begin() as conn:
        conn.execute(meta.delete().where(meta.c.key == SUMMARY_KEY))
        conn.execute(meta.insert().values(key=SUMMARY_KEY, value=json.dumps(info)))
    return info


def protected_until(engine: sa.Engine) -> date | None:
    """The first day a recomputation from the case table may touch (None: any)."""
    until = summary_info(engine).get("until")
    return date.fromisoformat(until) if until else None


DayRanges = tuple[tuple[date, date], ...]


def merge_ranges(ranges) -> DayRanges:
    """Day ranges [start, end) sorted, the overlapping and adjacent ones merged."""
    out: list[tuple[date, date]] = []
    for s, e in sorted((s, e) for s, e in ranges if s < e):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return tuple(out)


def subtract_ranges(ranges, minus) -> DayRanges:
    """The days of `ranges` not in `minus` (both lists of [start, end))."""
    out = []
    for s, e in merge_ranges(ranges):
        for ms, me in merge_ranges(minus):
            if me <= s or ms >= e:
                continue
            if ms > s:
                out.append((s, ms))
            s = max(s, me)
            if s >= e:
                break
        if s < e:
            out.append((s, e))
    return tuple(out)


def filled_ranges(info: dict) -> DayRanges:
    """The aggregate-only days filled so far, as the record says (sorted, merged)."""
    if not info.get("until"):
        return ()
    if "filled" in info:
        return merge_ranges((date.fromisoformat(s), date.fromisoformat(e))
                            for s, e in info["filled"])
    if info.get("first"):   # a record written before `filled`: [first, until), contiguous
        return merge_ranges([(date.fromisoformat(info["first"]),
                              date.fromisoformat(info["until"]))])
    return ()


def ranges_json(ranges) -> list[list[str]]:
    return [[s.isoformat(), e.isoformat()] for s, e in merge_ranges(ranges)]


def contiguous_first(filled, until: date) -> date:
    """The oldest day of the filled range that ends at `until` (`until` when none does)."""
    for s, e in merge_ranges(filled):
        if s <= until <= e:   # filled days never reach past until
            return s
    return until


def pending_ranges(info: dict) -> DayRanges:
    """The days asked for, [target, until), not filled yet: a window touching one of them
    has no figures until they are (() when the filler is done or none was asked)."""
    if not info.get("until") or not info.get("target"):
        return ()
    target, until = date.fromisoformat(info["target"]), date.fromisoformat(info["until"])
    return subtract_ranges([(target, until)], filled_ranges(info))


def summary_range(engine: sa.Engine, tz: str) -> tuple[date, date] | None:
    """The aggregate-only days [first, until) filled so far and contiguous with the days
    with cases, in zone `tz`; None if none."""
    info = summary_info(engine)
    if info.get("tz") != tz or not info.get("until"):
        return None
    until = date.fromisoformat(info["until"])
    first = contiguous_first(filled_ranges(info), until)
    return (first, until) if first < until else None


def summary_ranges(engine: sa.Engine, tz: str) -> DayRanges:
    """Every range of aggregate-only days filled so far, in zone `tz`."""
    info = summary_info(engine)
    return filled_ranges(info) if info.get("tz") == tz else ()


def details_from(engine: sa.Engine, tz: str, window_start: datetime) -> date | None:
    """The first day with cases when the window starts before it and days before it are
    kept as aggregates only: a case list over it must say that the cases before that day
    are not kept."""
    info = summary_info(engine)
    if info.get("tz") != tz or not info.get("until") or not filled_ranges(info):
        return None
    until = date.fromisoformat(info["until"])
    return until if window_start.astimezone(ZoneInfo(tz)).date() < until else None


class StoredDays(tuple):
    """The stored days readers may sum, `(first, horizon)` as before: the days built from
    the case table and the aggregate-only days contiguous with them. `islands`: other
    filled aggregate-only ranges (a filler that did last year's months first);
    `pending`: aggregate-only days asked for and not filled yet (a window touching one
    has no figures yet). Both empty once a filler is done, or without one. `hours`: the
    UTC hours [first, horizon) stored per hour (aggregates.stored_hours), `year_ago`: those
    of the day a year back (aggregates.stored_year_ago), None if none."""

    islands: DayRanges
    pending: DayRanges
    hours: tuple[datetime, datetime] | None
    year_ago: tuple[datetime, datetime] | None

    def __new__(cls, first: date, horizon: date, islands: DayRanges = (),
                pending: DayRanges = (), hours: tuple[datetime, datetime] | None = None,
                year_ago: tuple[datetime, datetime] | None = None):
        self = super().__new__(cls, (first, horizon))
        self.islands, self.pending = tuple(islands), tuple(pending)
        self.hours, self.year_ago = hours, year_ago
        return self

    def with_hours(self, hours: tuple[datetime, datetime] | None,
                   year_ago: tuple[datetime, datetime] | None = None) -> StoredDays:
        return StoredDays(self[0], self[1], self.islands, self.pending, hours, year_ago)

    def ranges(self) -> DayRanges:
        """Every range of stored days, the main one first."""
        return ((self[0], self[1]), *self.islands)


def coverage(cases: tuple[date, date], engine: sa.Engine, tz: str) -> StoredDays:
    """The stored days: the days built from the case table, extended by the aggregate-only
    ones when the two meet (a gap between them would read as days without cases); the
    other filled ranges as islands, and what is still pending."""
    info = summary_info(engine)
    if info.get("tz") != tz or not info.get("until"):
        return StoredDays(*cases)
    filled = filled_ranges(info)
    until = date.fromisoformat(info["until"])
    first = contiguous_first(filled, until)
    main = merge_range(cases, (first, until) if first < until else None)
    islands = tuple((s, e) for s, e in filled if e <= main[0] or s >= main[1])
    return StoredDays(main[0], main[1], islands, pending_ranges(info))


def filled_days(info: dict) -> int:
    return sum((e - s).days for s, e in filled_ranges(info))


def merge_range(cases: tuple[date, date], summary: tuple[date, date] | None
                ) -> tuple[date, date]:
    """The stored days: the aggregate-only ones extend the days built from the case table
    when the two meet (a gap between them would read as days without cases)."""
    if summary is None or cases[0] > summary[1]:
        return cases
    return min(cases[0], summary[0]), cases[1]


def copy_days(source: sa.Engine, target: sa.Engine, first: date, last: date) -> int:
    """Replace the target's aggregate rows of the local days [first, last) with the
    source's, in one transaction (a reader sees the days before or after, never half)."""
    lo, hi = first.isoformat(), last.isoformat()
    written = 0
    with source.connect() as src, target.begin() as dst:
        for table, column in DAY_TABLES:
            span = sa.and_(table.c[column] >= lo, table.c[column] < hi)
            rows = [dict(r._mapping) for r in src.execute(sa.select(table).where(span))]
            dst.execute(table.delete().where(span))
            for i in range(0, len(rows), 5000):
                dst.execute(table.insert(), rows[i:i + 5000])
            written += len(rows)
    return written

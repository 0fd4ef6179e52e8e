"""Aggregate-only days: stored daily aggregates older than the case table's first day.

A demo (or a platform that archived its old cases) can hold months of daily aggregates
for days whose cases are not in the case table: /kpi's 上期 and 去年同期 read them, the
case list says that only summaries exist there (docs/aggregates.md, "Aggregate-only
days"). Their bookkeeping is a gw_meta key of its own, "aggregates.summary", so that the
follower's writes of "aggregates" (read, merge, write) and a filler's never overwrite
each other:

    {tz, until: the first day with cases (the aggregate-only days end before it),
     first: the oldest day filled (the days [first, until) are stored, contiguous),
     target: the oldest day asked for, seed, scale, done_days, total_days, updated_at}

The days before `until` are never recomputed from the case table (aggregates.rebuild*
skip them): the case table has nothing there, and a recomputation would wipe them.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from data_sources.schema import agg_day, agg_day_county, agg_due, agg_mix, meta

SUMMARY_KEY = "aggregates.summary"
# Tables keyed by local day, and the column holding it.
DAY_TABLES = ((agg_day, "day"), (agg_day_county, "day"), (agg_mix, "day"),
              (agg_due, "deadline_day"))


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


def summary_range(engine: sa.Engine, tz: str) -> tuple[date, date] | None:
    """The aggregate-only days [first, until) filled so far, in zone `tz`; None if none."""
    info = summary_info(engine)
    if info.get("tz") != tz or not info.get("first") or not info.get("until"):
        return None
    first, until = date.fromisoformat(info["first"]), date.fromisoformat(info["until"])
    return (first, until) if first < until else None


def details_from(engine: sa.Engine, tz: str, window_start: datetime) -> date | None:
    """The first day with cases when the window starts on an aggregate-only day (filled
    ones): a case list over it must say that the cases before that day are not kept."""
    filled = summary_range(engine, tz)
    if filled is None:
        return None
    z = ZoneInfo(tz)
    return filled[1] if window_start.astimezone(z).date() < filled[1] else None


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

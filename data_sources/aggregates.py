"""Daily aggregates: the KPI counters of finished days, stored once per township and local
day, so that a window's counts cost a sum over its days instead of a pass over its cases.

docs/aggregates.md holds the design; in short:

- agg_day: every counter of a KPI side that adds across days (case_queries' reported,
  closed and card sides), per township and local day.
- agg_due: "due but not closed in the window" does not add across days. Per township and
  deadline day, the cases closed after their deadline (or not closed) are counted by the
  UTC hour they closed in, which answers "not closed before the window's end" for any
  hour-aligned end, and for any other end with a query over the rest of that hour.
- A window's counts: the stored days wholly inside it and before the horizon (the first
  day not aggregated), plus the same side queries over the edges that are not whole
  stored days, plus what is not windowed (open now, dispatches waiting to be signed).
  Both paths run the same predicates (case_queries' sides), so the figures are equal.

Days are computed by the very side queries of case_queries, grouped by township: a day is
rebuilt in full (delete, insert) in one transaction, so rebuilding twice changes nothing.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from dashboard.domain.hierarchy import Level
from dashboard.domain.kpis import KpiCounts
from dashboard.domain.periods import Window, day_window, local_today
from dashboard.domain.scope import RegionScope
from data_sources import aggregate_summary as summary
from data_sources import case_list
from data_sources import case_queries as q
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
    meta,
)

c = case.c
CODES = ("township_code", "province_code", "city_code", "county_code")
DAY_COUNTERS = (*q.REPORTED_SIDE, *q.CLOSED_SIDE, *q.CARD_SIDE)
STORED_COUNTERS = tuple(n for n in DAY_COUNTERS if n != "waiting")   # kpi_counts_by
MIX_DIMENSIONS = ("category", "source", "resolution_level")   # /region's breakdowns
CLOSED_LEVEL = "closed_level"   # agg_mix: closures by the level that settled them
OPEN = "open"      # agg_due.closed_hour of a case not closed: sorts after every hour
HOUR = timedelta(hours=1)


def hour_key(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%d %H")


def floor_hour(t: datetime) -> datetime:
    return t.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)


def ceil_hour(t: datetime) -> datetime:
    floor = floor_hour(t)
    return floor if floor == t else floor + HOUR


# -- building ------------------------------------------------------------------------------
def day_rows(conn, day: date, tz: str, only=None) -> tuple[list[dict], list[dict]]:
    """agg_day and agg_due rows of one local day, from the case table (of the cases
    matching `only`, default all)."""
    w = day_window(day, tz).utc
    group = [c[name] for name in CODES]
    acc: dict[tuple, dict] = {}

    def add(rows, names):
        for row in rows:
            d = acc.setdefault(tuple(row[:len(CODES)]), {})
            for name, value in zip(names, row[len(CODES):]):
                d[name] = d.get(name, 0) + (value or 0)

    where = sa.true() if only is None else only
    add(q.reported_side(conn, where, group, w.start, w.end), q.REPORTED_SIDE)
    with q.by_own_index(conn, only is not None):
        add(q.closed_side(conn, where, group, w.start, w.end, conn.dialect.name),
            q.CLOSED_SIDE)
    for name, rows in q.card_side(conn, where, group, w.start, w.end):
        add(rows, [name])
    days = [{"day": day.isoformat(), **dict(zip(CODES, key)),
             **{n: d.get(n, 0) for n in DAY_COUNTERS}} for key, d in acc.items()]

    # Only a case closed after its deadline, or not closed, can be due in a window without
    # being closed in it (the window ends after the deadline).
    late = (sa.select(*group, c.closed_at)
            .where(where, q._in(c.deadline, w.start, w.end), c.state != "REJECTED",
                   sa.or_(c.closed_at.is_(None), c.closed_at > c.deadline)))
    due: dict[tuple, int] = {}
    for row in conn.execute(late):
        key = (*row[:len(CODES)], OPEN if row.closed_at is None else hour_key(row.closed_at))
        due[key] = due.get(key, 0) + 1
    dues = [{"deadline_day": day.isoformat(), **dict(zip(CODES, key[:-1])),
             "closed_hour": key[-1], "cases": n} for key, n in due.items()]
    return days, dues


def rebuild(engine: sa.Engine, tz: str, first: date, last: date,
            progress: Callable[[date], None] | None = None) -> int:
    """Recompute the local days [first, last) from the case table; returns the rows
    written. Each day is replaced whole in its own transaction. Aggregate-only days (before
    the first day with cases, aggregate_summary) are skipped: the case table has nothing
    there, so recomputing them would wipe them."""
    written = 0
    protected = summary.protected_until(engine)
    if protected is not None:
        first = max(first, protected)
    for day in days_between(first, last):
        with engine.begin() as conn:
            days, dues = day_rows(conn, day, tz)
            conn.execute(agg_day.delete().where(agg_day.c.day == day.isoformat()))
            conn.execute(agg_due.delete().where(agg_due.c.deadline_day == day.isoformat()))
            if days:
                conn.execute(agg_day.insert(), days)
            if dues:
                conn.execute(agg_due.insert(), dues)
            _roll_up_day(conn, day, None)
            written += _write_mix(conn, day, tz, None)
        written += len(days) + len(dues)
        if progress:
            progress(day)
    return written


def rebuild_townships(engine: sa.Engine, tz: str,
                      pairs: Iterable[tuple[date, str, str]]) -> int:
    """Recompute only the given (local day, township, its county) triples: what a few
    events can have changed. Each day's townships are replaced in one transaction."""
    by_day: dict[date, set[tuple[str, str]]] = {}
    protected = summary.protected_until(engine)
    for day, township, county in pairs:
        if protected is not None and day < protected:
            continue   # aggregate-only: no cases to recompute it from (see rebuild)
        by_day.setdefault(day, set()).add((township, county))
    written = 0
    for day in sorted(by_day):
        townships = sorted(t for t, _ in by_day[day])
        # The county's (code, time) indexes find a township's rows; its own index covers
        # only reported_at.
        counties = sorted({cty for _, cty in by_day[day]})
        only = sa.and_(c.township_code.in_(townships), c.county_code.in_(counties))
        with engine.begin() as conn:
            days, dues = day_rows(conn, day, tz, only)
            conn.execute(agg_day.delete().where(agg_day.c.day == day.isoformat(),
                                                agg_day.c.township_code.in_(townships)))
            conn.execute(agg_due.delete().where(agg_due.c.deadline_day == day.isoformat(),
                                                agg_due.c.township_code.in_(townships)))
            if days:
                conn.execute(agg_day.insert(), days)
            if dues:
                conn.execute(agg_due.insert(), dues)
            _roll_up_day(conn, day, counties)
            written += _write_mix(conn, day, tz, counties)
        written += len(days) + len(dues)
    return written


def _write_mix(conn, day: date, tz: str, counties: list[str] | None) -> int:
    """agg_mix's rows of the day (of `counties`, default all), from the case table."""
    w = day_window(day, tz).utc
    key = day.isoformat()
    stale = agg_mix.delete().where(agg_mix.c.day == key)
    where = sa.true()
    if counties is not None:
        stale = stale.where(agg_mix.c.county_code.in_(counties))
        where = c.county_code.in_(counties)
    # The cities whose sums change: those of the counties' rows before and after (the
    # whole day's when every county is rewritten).
    cities = None if counties is None else {r[0] for r in conn.execute(
        sa.select(agg_mix.c.city_code).distinct().where(stale.whereclause))}
    conn.execute(stale)
    group = [c.county_code, c.province_code, c.city_code]
    mixes: dict[tuple, dict] = {}
    case_list.add_mix(mixes, case_list.mix_side(conn, where, group, w.start, w.end,
                                                MIX_DIMENSIONS), MIX_DIMENSIONS, len(group))
    # The closures of the day by the level that settled them (the wall's 处置层级 panel).
    with q.by_own_index(conn, counties is not None):
        closed = list(q.closed_mix_side(conn, where, group, w.start, w.end, "resolution_level"))
    for county, province, city, value, n in closed:
        by_dim = mixes.setdefault((county, province, city), {})
        values = by_dim.setdefault(CLOSED_LEVEL, {})
        values[value or ""] = values.get(value or "", 0) + int(n)
    rows = [{"day": key, "county_code": county, "province_code": province, "city_code": city,
             "dimension": d, "value": value, "cases": n}
            for (county, province, city), by_dim in mixes.items()
            for d, values in by_dim.items() for value, n in values.items()]
    if rows:
        conn.execute(agg_mix.insert(), rows)
    _roll_up_mix(conn, key, None if cities is None else
                 sorted(cities | {city for (_, _, city) in mixes}))
    return len(rows)


def _roll_up_mix(conn, day: str, cities: list[str] | None) -> None:
    """agg_mix_city's rows of the day for `cities` (default all), from agg_mix's."""
    if cities == []:
        return
    _roll_up(conn, agg_mix, agg_mix_city, "day", day,
             (date.fromisoformat(day) + timedelta(days=1)).isoformat(), cities,
             place="city_code", by=("dimension", "value", "province_code"), sums=("cases",))


def rebuild_hour_pairs(engine: sa.Engine, tz: str, pairs: Iterable[tuple[date, str, str]],
                      first: datetime, horizon: datetime) -> int:
    """Recompute the stored hours [first, horizon) of the given (local day, township, its
    county) triples: what a follower step's events can have changed. One transaction and
    one statement per side for all of them (a condition per day, which the townships'
    (code, time) indexes serve): a step touches the days of every case it saw, a
    statement set per day was ~70 statements a step at 10M."""
    by_day: dict[date, set[tuple[str, str]]] = {}
    for day, township, county in pairs:
        by_day.setdefault(day, set()).add((township, county))
    spans = []   # (from hour, to hour, townships, counties)
    for day, places in sorted(by_day.items()):
        w = day_window(day, tz)
        lo, hi = max(w.start, first), min(w.end, horizon)
        if lo < hi:
            spans.append((floor_hour(lo), ceil_hour(hi), sorted({t for t, _ in places}),
                          sorted({cty for _, cty in places})))
    if not spans:
        return 0

    def only(col):
        # The county's code too: the cases' indexes by county cover every time column.
        return sa.or_(*[sa.and_(c.township_code.in_(t), c.county_code.in_(cs), q._in(col, a, b))
                        for a, b, t, cs in spans])
    with engine.begin() as conn:
        rows = hour_rows(conn, min(a for a, *_ in spans), max(b for _, b, *_ in spans), only)
        # Each (hour, township) key listed: the primary key finds them, where a range of
        # hours read every township's rows of the span's days (60-90 ms a step at 10M).
        conn.execute(agg_hour.delete().where(sa.or_(*[
            sa.and_(agg_hour.c.hour.in_(_hour_keys(a, b)), agg_hour.c.township_code.in_(t))
            for a, b, t, _ in spans])))
        if rows:
            conn.execute(agg_hour.insert(), rows)
        for a, b, _, counties in spans:
            _roll_up(conn, agg_hour, agg_hour_county, "hour", hour_key(a), hour_key(b),
                     counties)
    return len(rows)


def _hour_keys(start: datetime, end: datetime) -> list[str]:
    return [hour_key(start + k * HOUR) for k in range(int((end - start) / HOUR))]


def _roll_up(conn, fine: sa.Table, coarse: sa.Table, key: str, lo: str, hi: str,
             places: list[str] | None, place: str = "county_code",
             by: tuple[str, ...] = ("province_code", "city_code"),
             sums: tuple[str, ...] = DAY_COUNTERS) -> None:
    """`coarse`'s rows (per `place`: a county, or a city) with `key` (the day or the hour)
    in [lo, hi), of `places` (default all), summed again from `fine`'s (per township, or
    per county): `sums` summed, grouped by the key, the place and `by`."""
    stale = coarse.delete().where(coarse.c[key] >= lo, coarse.c[key] < hi)
    source = sa.and_(fine.c[key] >= lo, fine.c[key] < hi)
    if places is not None:
        stale = stale.where(coarse.c[place].in_(places))
        source = sa.and_(source, fine.c[place].in_(places))
    conn.execute(stale)
    group = [fine.c[key], fine.c[place], *(fine.c[n] for n in by)]
    conn.execute(coarse.insert().from_select(
        [key, place, *by, *sums],
        sa.select(*group, *[sa.func.sum(fine.c[n]) for n in sums])
        .where(source).group_by(*group)))


def _roll_up_day(conn, day: date, counties: list[str] | None) -> None:
    _roll_up(conn, agg_day, agg_day_county, "day", day.isoformat(),
             (day + timedelta(days=1)).isoformat(), counties)


# -- hours ---------------------------------------------------------------------------------
# The hours of today and of the HOURS_KEPT_DAYS local days before it are kept per township
# and UTC hour (agg_hour, agg_hour_county), from the first whole hour of the first of those
# days to the last whole hour before the follower's last step (gw_meta: hours_first,
# hours_horizon). The previous periods' same elapsed parts end among them: yesterday's
# (上期 of today), last week's, last month's (up to 31 days back). At 10M: ~880k rows; the
# follower's step costs the same as with 8 days (one statement set for all touched days).
HOURS_KEPT_DAYS = 31


def hour_of_column(col, dialect: str):
    """A timestamp's UTC hour in SQL, as hour_key writes it ('YYYY-MM-DD HH'). Constants
    inline: PostgreSQL matches a grouped expression to the selected one by its text, and
    two bound copies of a parameter are two texts."""
    if dialect == "postgresql":
        return sa.func.to_char(sa.func.timezone(sa.literal_column("'UTC'"), col),
                               sa.literal_column("'YYYY-MM-DD HH24'"))
    # SQLite keeps naive UTC text, 'YYYY-MM-DD HH:MM:SS.ffffff' (schema.UTCDateTime).
    return sa.func.substr(col, sa.literal_column("1"), sa.literal_column("13"))


def hour_rows(conn, start: datetime, end: datetime, only=None) -> list[dict]:
    """agg_hour rows of the UTC hours [start, end) (whole hours), from the case table (of the
    cases matching `only`, default all: a function of a side's time column giving the
    condition): the day's sides, grouped by their own hour too."""
    dialect = conn.dialect.name
    codes = [c[name] for name in CODES]
    acc: dict[tuple, dict] = {}

    def add(side: q.Side, col, names) -> None:
        where = sa.true() if only is None else only(col)
        for row in conn.execute(side.grouped(where, [*codes, hour_of_column(col, dialect)])):
            d = acc.setdefault(tuple(row[:len(CODES) + 1]), {})
            for name, value in zip(names, row[len(CODES) + 1:]):
                d[name] = d.get(name, 0) + (value or 0)
    add(q.reported(start, end), c.reported_at, q.REPORTED_SIDE)
    with q.by_own_index(conn, only is not None):
        add(q.closed(start, end, dialect), c.closed_at, q.CLOSED_SIDE)
    for column, name in q.CARDS:
        add(q.carded(column, name, start, end), c[column], [name])
    return [{"hour": key[-1], **dict(zip(CODES, key[:-1])),
             **{n: d.get(n, 0) for n in DAY_COUNTERS}} for key, d in acc.items()]


def rebuild_hours(engine: sa.Engine, start: datetime, end: datetime) -> int:
    """Recompute the whole UTC hours [start, end) from the case table, a local day's worth
    per transaction; returns the rows written. Replaced whole, so recomputing twice
    changes nothing. (A step's touched townships: rebuild_hour_pairs.)"""
    written = 0
    lo = start
    while lo < end:
        hi = min(lo + timedelta(days=1), end)
        with engine.begin() as conn:
            rows = hour_rows(conn, lo, hi)
            conn.execute(agg_hour.delete().where(agg_hour.c.hour >= hour_key(lo),
                                                 agg_hour.c.hour < hour_key(hi)))
            if rows:
                conn.execute(agg_hour.insert(), rows)
            _roll_up(conn, agg_hour, agg_hour_county, "hour", hour_key(lo), hour_key(hi),
                     None)
        written += len(rows)
        lo = hi
    return written


def hours_wanted(now: datetime, tz: str) -> tuple[datetime, datetime]:
    """The hours a follower at `now` keeps: from the first whole hour of the day
    HOURS_KEPT_DAYS before today to the last whole hour."""
    first = day_window(local_today(now, tz) - timedelta(days=HOURS_KEPT_DAYS), tz).start
    return ceil_hour(first), floor_hour(now)


def year_ago_hours(now: datetime, tz: str) -> tuple[datetime, datetime]:
    """The other hours a follower at `now` keeps: the local day a year back and the one
    before it, whole. 去年同期 of a running period ends a year ago at this minute
    (url_state.last_year_window), inside that day (or, across a change of offset, the
    one before): its part of the day is read from these hours, not from the case table
    (a day of the province's rows, ~280 ms at 10M)."""
    today = local_today(now, tz)
    try:
        day = today.replace(year=today.year - 1)
    except ValueError:          # 29 February falls back to the 28th, as the window does
        day = today.replace(year=today.year - 1, day=28)
    return (ceil_hour(day_window(day - timedelta(days=1), tz).start),
            ceil_hour(day_window(day, tz).end))


def _stored_range(info: dict, first_key: str, horizon_key: str
                  ) -> tuple[datetime, datetime] | None:
    if not info.get(first_key) or not info.get(horizon_key):
        return None
    first = datetime.fromisoformat(info[first_key])
    horizon = datetime.fromisoformat(info[horizon_key])
    return (first, horizon) if first < horizon else None


def stored_hours(info: dict) -> tuple[datetime, datetime] | None:
    """The hours [first, horizon) the aggregates hold (gw_meta), None when none."""
    return _stored_range(info, "hours_first", "hours_horizon")


def stored_year_ago(info: dict) -> tuple[datetime, datetime] | None:
    """The hours a year back the aggregates hold (year_ago_hours), None when none."""
    return _stored_range(info, "hours_ly_first", "hours_ly_horizon")


def hours_info(main: tuple[datetime, datetime], year_ago: tuple[datetime, datetime]) -> dict:
    """gw_meta's record of the hours held."""
    return {"hours_first": main[0].isoformat(), "hours_horizon": main[1].isoformat(),
            "hours_ly_first": year_ago[0].isoformat(),
            "hours_ly_horizon": year_ago[1].isoformat()}


def prune_hours(engine: sa.Engine, before: datetime,
                keep: Iterable[tuple[datetime, datetime] | None] = ()) -> None:
    """Drop the hours before `before`, but those in a `keep` range (a year back)."""
    with engine.begin() as conn:
        for t in (agg_hour, agg_hour_county):
            kept = [sa.and_(t.c.hour >= hour_key(a), t.c.hour < hour_key(b))
                    for a, b in (r for r in keep if r)]
            old = t.c.hour < hour_key(before)
            conn.execute(t.delete().where(sa.and_(old, sa.not_(sa.or_(*kept))) if kept else old))


def vacuum_hours(engine: sa.Engine) -> None:
    """Dead rows out of the hour tables, and fresh statistics (PostgreSQL). The follower
    rewrites today's touched townships every step: ~200k live rows, and where autovacuum
    is off (this machine's PostgreSQL) the dead ones pile up, and every read goes through
    them (18,615 index entries for 2,124 rows after a few minutes at 10M). Once an hour
    when it stores the hour that ended: ~50 ms."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM (ANALYZE) agg_hour, agg_hour_county")


def touched(engine: sa.Engine, tz: str,
            case_ids: Iterable[int]) -> set[tuple[date, str, str]]:
    """Every (local day, township, county) whose stored counts the given cases may be in, now or
    before their latest events: the days of their report, of each of their events (a
    closure, a card, a reopening that took a closure back) and of every deadline they
    were given (an extension moves a case from one deadline day to another)."""
    ids = sorted(set(case_ids))
    z = ZoneInfo(tz)
    out: set[tuple[date, str, str]] = set()
    township: dict[int, tuple[str, str]] = {}
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        with engine.connect() as conn:
            for row in conn.execute(sa.select(c.id, c.township_code, c.county_code,
                                              c.reported_at, c.deadline)
                                    .where(c.id.in_(chunk))):
                township[row.id] = (row.township_code, row.county_code)
                for t in (row.reported_at, row.deadline):
                    if t is not None:
                        out.add((t.astimezone(z).date(), row.township_code, row.county_code))
            for row in conn.execute(sa.select(case_event.c.case_id, case_event.c.at,
                                              case_event.c.detail)
                                    .where(case_event.c.case_id.in_(chunk))):
                codes = township.get(row.case_id)
                if codes is None:
                    continue
                out.add((row.at.astimezone(z).date(), *codes))
                for t in _detail_times(row.detail):
                    out.add((t.astimezone(z).date(), *codes))
    return out


def _detail_times(detail: str | None) -> list[datetime]:
    if not detail:
        return []
    try:
        fields = json.loads(detail)
    except ValueError:
        return []
    out = []
    for key in ("deadline", "sign_deadline"):
        value = fields.get(key) if isinstance(fields, dict) else None
        if isinstance(value, str):
            try:
                t = datetime.fromisoformat(value)
            except ValueError:
                continue
            out.append(t if t.tzinfo else t.replace(tzinfo=timezone.utc))
    return out


def days_between(first: date, last: date) -> Iterable[date]:
    d = first
    while d < last:
        yield d
        d += timedelta(days=1)


# -- what is stored ---------------------------------------------------------------------
META_KEY = "aggregates"


def stored_info(engine: sa.Engine) -> dict:
    """What the aggregates hold: {tz, first, horizon (ISO days), built_at (ISO time the
    last full rebuild started), stream_pos (the last stream entry followed)}; {} if none."""
    with engine.connect() as conn:
        raw = conn.execute(sa.select(meta.c.value).where(meta.c.key == META_KEY)).scalar()
    return json.loads(raw) if raw else {}


def record_info(engine: sa.Engine, **changes) -> dict:
    info = {**stored_info(engine), **changes}
    with engine.begin() as conn:
        conn.execute(meta.delete().where(meta.c.key == META_KEY))
        conn.execute(meta.insert().values(key=META_KEY, value=json.dumps(info)))
    return info


def stored_range(engine: sa.Engine, tz: str) -> tuple[date, date] | None:
    """The local days [first, horizon) the aggregates hold, in zone `tz`; None when there
    are none (or they were built for another zone, whose days are not these)."""
    info = stored_info(engine)
    if not info or info.get("tz") != tz:
        return None
    return summary.coverage(exact_days(info), engine, tz)


def _case_days(info: dict) -> tuple[date, date]:
    """The days built from the case table (the follower keeps these current)."""
    return date.fromisoformat(info["first"]), date.fromisoformat(info["horizon"])


def recomputing_from(info: dict) -> date | None:
    """After a gap in the stream, the first day known exact again: the stored days
    before it are being recomputed (aggregates_follower), None when none are."""
    value = info.get("recomputing_from")
    return date.fromisoformat(value) if value else None


def exact_days(info: dict) -> tuple[date, date]:
    """The days built from the case table that readers may sum: all of them but those
    still suspect after a gap (their figures come from the case table until then)."""
    first, horizon = _case_days(info)
    suspect = recomputing_from(info)
    return (first if suspect is None else max(first, min(suspect, horizon))), horizon


FOLLOW_MAX_AGE = 300.0   # seconds: stored days not followed for longer are not read


def usable_range(engine: sa.Engine, tz: str, now: datetime,
                 max_age: float = FOLLOW_MAX_AGE) -> tuple[date, date] | None:
    """The stored days, if a follower keeps them current (it followed the stream in the
    last `max_age` seconds): stored days nobody follows would miss every change since,
    so the pages count from the case table instead."""
    info = stored_info(engine)
    if not info or info.get("tz") != tz or not info.get("followed_at"):
        return None
    age = (now - datetime.fromisoformat(info["followed_at"])).total_seconds()
    if not -max_age <= age <= max_age:
        return None
    return summary.coverage(exact_days(info), engine, tz).with_hours(
        stored_hours(info), stored_year_ago(info))


def health(engine: sa.Engine, now: datetime) -> dict:
    """For /healthz: what is stored and how far behind the stream the follower is."""
    info = stored_info(engine)
    if not info:
        return {"status": "not built"}
    out = {k: info.get(k) for k in ("tz", "first", "horizon", "followed_at")}
    if stored_hours(info):   # the hours kept per hour: today's and the last days'
        out["hours"] = {"first": info["hours_first"], "horizon": info["hours_horizon"]}
    if stored_year_ago(info):   # and the day a year back
        out["hours_year_ago"] = {"first": info["hours_ly_first"],
                                 "horizon": info["hours_ly_horizon"]}
    if recomputing_from(info):
        out["recomputing_from"] = info["recomputing_from"]   # days before: being recomputed
    filled = summary.summary_info(engine)
    if filled:
        # Aggregate-only days before `first` (and how far a filler has got).
        out["summary"] = {k: filled.get(k) for k in ("first", "until", "target", "done_days",
                                                     "total_days", "updated_at", "filled")}
    if not info.get("followed_at"):
        return {**out, "status": "not followed"}
    behind = (now - datetime.fromisoformat(info["followed_at"])).total_seconds()
    behind += float(info.get("lag_seconds") or 0.0)
    out["lag_seconds"] = round(max(behind, 0.0), 1)
    return {**out, "status": "following" if behind <= FOLLOW_MAX_AGE else "stale"}


def first_case_day(engine: sa.Engine, tz: str) -> date | None:
    with engine.connect() as conn:
        first = conn.execute(sa.select(sa.func.min(c.reported_at))).scalar()
    if first is None:
        return None
    if isinstance(first, str):   # SQLite's aggregate skips the column type: naive UTC text
        first = datetime.fromisoformat(first)
    if first.tzinfo is None:
        first = first.replace(tzinfo=timezone.utc)
    return first.astimezone(ZoneInfo(tz)).date()


def rebuild_all(engine: sa.Engine, tz: str, today: date, since: date | None = None,
                progress: Callable[[date], None] | None = None,
                now: datetime | None = None) -> tuple[date, date, int]:
    """Rebuild the finished days from `since` (default: the first case's day) to `today`
    (exclusive) and record what is stored. Days before `since` stay as they are when they
    were stored (in this zone); else the stored range starts at `since`. Aggregate-only
    days are never rebuilt (`rebuild` skips them): `since` starts at their end at the
    earliest. With `now`, the hours a follower keeps at `now` are rebuilt too
    (hours_wanted)."""
    first = since or first_case_day(engine, tz) or today
    protected = summary.protected_until(engine)
    if protected is not None:
        first = max(first, min(protected, today))
    info = stored_info(engine)
    before = _case_days(info) if info.get("tz") == tz and "first" in info else None
    started = datetime.now(timezone.utc)
    written = rebuild(engine, tz, first, today, progress)
    keep = before[0] if before and before[0] <= first <= before[1] else first
    # A follower without a stream position resumes from the rebuild's start: whatever
    # changed since may not be in the days just written.
    # Days still suspect after a gap stay so only before `first`: those from it on were
    # just recomputed.
    suspect = recomputing_from(info) if before else None
    if suspect is not None and first <= suspect:
        suspect = first if first > keep else None
    hours = {}
    if now is not None:
        main, year_ago = hours_wanted(now, tz), year_ago_hours(now, tz)
        written += rebuild_hours(engine, *main) + rebuild_hours(engine, *year_ago)
        prune_hours(engine, main[0], keep=[year_ago])
        hours = hours_info(main, year_ago)
    record_info(engine, tz=tz, first=keep.isoformat(), horizon=today.isoformat(),
                built_at=started.isoformat(),
                recomputing_from=suspect.isoformat() if suspect else None, **hours)
    analyze(engine)
    return keep, today, written


AGGREGATE_TABLES = (agg_day, agg_day_county, agg_mix, agg_mix_city, agg_due, agg_hour,
                    agg_hour_county)


def analyze(engine: sa.Engine) -> None:
    """Fresh planner statistics of the aggregates after a rebuild (PostgreSQL). A first
    rebuild fills tables the planner last saw empty: until autovacuum comes round (never,
    where it is off), a province's year of /region breakdowns was planned for 2 rows of
    agg_mix, not 247,045, and sorted them on disk: 254 ms against 56 (EXPLAIN ANALYZE at
    10M, docs/benchmarks.md "First viewers")."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE " + ", ".join(t.name for t in AGGREGATE_TABLES))


# -- reading --------------------------------------------------------------------------------
def stored_days(window: Window, tz: str, stored: tuple[date, date]) -> tuple[date, date]:
    """The local days [a, b) wholly inside the window and inside `stored`, the days the
    aggregates hold (a >= b: none)."""
    z = ZoneInfo(tz)
    start, end = window.start.astimezone(z), window.end.astimezone(z)
    a = start.date() if start == day_window(start.date(), z).start else start.date() + timedelta(days=1)
    return max(a, stored[0]), min(end.date(), stored[1])


def span_for(window: Window, tz: str, stored: tuple[date, date] | None
             ) -> tuple[date, date] | None:
    """The range of stored days to read `window` from: the main one (the days built from
    the case table and those contiguous with them) or a filled aggregate-only range
    apart from it (aggregate_summary.StoredDays), whichever holds most of the window's
    days. None when the window touches a day still pending (asked of a filler, not
    filled yet): it has no figures yet, and a sum of the filled part would be wrong."""
    if stored is None:
        return None
    islands = getattr(stored, "islands", ())
    pending = getattr(stored, "pending", ())
    if not islands and not pending:
        return stored
    days = local_days(window, tz)
    if not days:
        return stored
    lo, hi = days[0], days[-1] + timedelta(days=1)
    if any(s < hi and lo < e for s, e in pending):
        return None
    main = (stored[0], stored[1])
    return max((main, *islands), key=lambda r: (min(hi, r[1]) - max(lo, r[0])).days)


def _edges(window: Window, a: date, b: date, tz: str) -> list[tuple[datetime, datetime]]:
    """The parts of the window outside the stored days [a, b)."""
    w = window.utc
    if a >= b:
        return [(w.start, w.end)] if w.end > w.start else []
    lo, hi = day_window(a, tz).start, day_window(b, tz).start
    return [(s, e) for s, e in ((w.start, lo), (hi, w.end)) if e > s]


def _day_table(scope: RegionScope) -> sa.Table:
    """A province or a city sums its counties' rows (its children are cities or counties);
    a county its townships'."""
    return agg_day_county if scope.level < Level.COUNTY else agg_day


def _mix_table(scope: RegionScope) -> sa.Table:
    """A province sums its cities' rows, a city or a county its counties'."""
    return agg_mix_city if scope.level < Level.CITY else agg_mix


def _hour_table(scope: RegionScope) -> sa.Table:
    return agg_hour_county if scope.level < Level.COUNTY else agg_hour


def _hour_ranges(stored) -> tuple[tuple[datetime, datetime], ...]:
    """The ranges of stored hours that come with `stored` (usable_range)."""
    return tuple(r for r in (getattr(stored, "hours", None), getattr(stored, "year_ago", None))
                 if r)


def _hour_split(s: datetime, e: datetime, ranges: tuple[tuple[datetime, datetime], ...]
                ) -> tuple[tuple[datetime, datetime] | None, list[tuple[datetime, datetime]]]:
    """[s, e) as (the whole stored hours inside it, from the range of `ranges` holding
    most of them, or None; the parts left to count from the case table: at most the hour
    before and the hour after them, or all of [s, e) when no range holds a whole hour)."""
    spans = [(max(ceil_hour(s), a), min(floor_hour(e), b)) for a, b in ranges]
    spans = [(lo, hi) for lo, hi in spans if lo < hi]
    if not spans:
        return None, [(s, e)]
    lo, hi = max(spans, key=lambda x: x[1] - x[0])
    return (lo, hi), [(a, b) for a, b in ((s, lo), (hi, e)) if b > a]


def _sum_stored(conn, tally: q.Tally, t: sa.Table, key: str, scope: RegionScope,
                group: list, start: datetime, end: datetime, lo: str, hi: str) -> None:
    """The stored counters of `t`'s rows with `key` (a day or an hour) in [lo, hi), which
    cover [start, end)."""
    child = [t.c[group[0].name]] if group else []
    tally.add(conn.execute(
        sa.select(*child, *[sa.func.coalesce(sa.func.sum(t.c[n]), 0) for n in STORED_COUNTERS])
        .where(t.c[scope.column] == scope.code, t.c[key] >= lo, t.c[key] < hi)
        .group_by(*child)), STORED_COUNTERS)
    # "Still waiting to be signed" is a state of now, not of the day reported: a stored
    # day holds it as of the follower's last pass, while waiting_not_late below is read
    # now, and a re-dispatch the follower had not seen yet made 及时签收率 exceed 100%
    # (bench.province_scale). Read now, from the few waiting dispatches (the partial
    # index ix_case_dispatched).
    tally.add(q.waiting_side(conn, q.scoped(scope), group, start, end), ["waiting"])


def _aggregated(scope: RegionScope) -> bool:
    # A township's children are communities, finer than the aggregates: its cases are few
    # enough (its own indexes) to count directly.
    return scope.level <= Level.COUNTY


def kpi_counts_by(engine: sa.Engine, scope: RegionScope, window: Window, now: datetime,
                  tz: str, stored: tuple[date, date], by_child: bool = False,
                  settled: bool = False) -> dict[str | None, KpiCounts]:
    """case_queries.kpi_counts_by, equal figure for figure, from the aggregates of the
    `stored` days [first, horizon) and the case table for the rest."""
    if not _aggregated(scope):
        return q.kpi_counts_by(engine, scope, window, now, by_child=by_child, settled=settled)
    span = span_for(window, tz, stored)
    if span is None:
        # Days of the window are still being filled (aggregate-only, pending): no
        # figures yet rather than those of the filled part. The counts of no time at
        # all keep what is not windowed (open now) and read as "no data" (—).
        return q.kpi_counts_by(engine, scope, Window(window.start, window.start), now,
                               by_child=by_child, settled=settled)
    hours = _hour_ranges(stored)
    stored = span
    w = window.utc
    group = q._group(scope, by_child)
    where = q.scoped(scope)
    tally = q.Tally(len(group))
    a, b = stored_days(window, tz, stored)
    partial, edges = _partial_days(_edges(window, a, b, tz), tz,
                                   summary.summary_ranges(engine, tz))
    with q.consistent(engine) as conn:
        t = _day_table(scope)
        if a < b:
            _sum_stored(conn, tally, t, "day", scope, group, day_window(a, tz).start,
                        day_window(b, tz).start, a.isoformat(), b.isoformat())
        child = [t.c[group[0].name]] if group else []
        for day, share in partial:
            rows = conn.execute(sa.select(*child, *[sa.func.coalesce(sa.func.sum(t.c[n]), 0)
                                                    for n in DAY_COUNTERS])
                                .where(t.c[scope.column] == scope.code,
                                       t.c.day == day.isoformat()).group_by(*child))
            tally.add([_prorated(r, len(child), share) for r in rows], DAY_COUNTERS)
        for edge in edges:
            # The edge's whole stored hours (today up to the last one, the previous
            # period's same elapsed part), then at most an hour at each end counted.
            span_hours, counted = _hour_split(*edge, hours)
            if span_hours is not None:
                _sum_stored(conn, tally, _hour_table(scope), "hour", scope, group,
                            *span_hours, *map(hour_key, span_hours))
            for s, e in counted:
                tally.add(q.reported_side(conn, where, group, s, e), q.REPORTED_SIDE)
                with q.by_region_index(conn, scope):
                    tally.add(q.closed_side(conn, where, group, s, e, engine.dialect.name),
                              q.CLOSED_SIDE)
                for name, rows in q.card_side(conn, where, group, s, e):
                    tally.add(rows, [name])
        tally.add(q.waiting_not_late(conn, where, group, w.start, w.end, now),
                  ["waiting_not_late"])
        _due(conn, tally, scope, group, window, now, tz, stored)
        if not settled:   # a past period's open-now figures are 0 (CaseStore.kpi_counts_by)
            tally.add(q.open_side(conn, where, group, now), q.OPEN_SIDE)
    return tally.counts(with_total=not by_child)


def _partial_days(edges: list[tuple[datetime, datetime]], tz: str,
                  only: summary.DayRanges
                  ) -> tuple[list[tuple[date, float]], list[tuple[datetime, datetime]]]:
    """Splits off the edges that are part of one aggregate-only day: there are no cases to
    count such a part from (a window ending at the current minute a month or a year ago:
    上期, 去年同期), so it is the day's stored counts times the part of the day it covers,
    an estimate (docs/aggregates.md). Returns ([(day, share)], the other edges)."""
    if not only:
        return [], edges
    partial, rest = [], []
    for s, e in edges:
        day = s.astimezone(ZoneInfo(tz)).date()
        whole = day_window(day, tz)
        if any(a <= day < b for a, b in only) and e <= whole.end:
            partial.append((day, (e - s) / (whole.end - whole.start)))
        else:
            rest.append((s, e))
    return partial, rest


def _prorated(row, n_group: int, share: float) -> tuple:
    """A stored day's counters times `share`: whole cases rounded down, which keeps every
    sum of parts no larger than its whole (satisfied + basically satisfied <= rated: each
    rounded alone, 2 + 2 of 3 + 3 rated at a half made 4 of 3), the hours' sum as it is."""
    values = [v * share if n.endswith("_sum") else math.floor((v or 0) * share)
              for n, v in zip(DAY_COUNTERS, row[n_group:])]
    return (*row[:n_group], *values)


def breakdowns(engine: sa.Engine, scope: RegionScope, window: Window,
               dimensions: tuple[str, ...], tz: str,
               stored: tuple[date, date] | None) -> dict[str, dict[str, int]]:
    """case_list.breakdowns, equal: the stored days from agg_mix, the edges counted."""
    if not stored or not _aggregated(scope) or not set(dimensions) <= set(MIX_DIMENSIONS):
        return case_list.breakdowns(engine, scope, window, dimensions)
    out: dict[str, dict[str, int]] = {d: {} for d in dimensions}
    stored = span_for(window, tz, stored)
    if stored is None:
        return out   # days still being filled: no figures yet (span_for)
    a, b = stored_days(window, tz, stored)
    m = _mix_table(scope)
    with engine.connect() as conn:
        if a < b:
            for d, value, n in conn.execute(
                    sa.select(m.c.dimension, m.c.value, sa.func.sum(m.c.cases))
                    .where(m.c[scope.column] == scope.code,
                           m.c.day >= a.isoformat(), m.c.day < b.isoformat(),
                           m.c.dimension.in_(dimensions))
                    .group_by(m.c.dimension, m.c.value)):
                out[d][value] = out[d].get(value, 0) + int(n)
        for s, e in _edges(window, a, b, tz):
            case_list.add_mix(out, case_list.mix_side(conn, q.scoped(scope), [], s, e,
                                                      dimensions), dimensions)
    return out


def closed_by_level(engine: sa.Engine, scope: RegionScope, window: Window, tz: str,
                    stored: tuple[date, date] | None) -> dict[str, int]:
    """case_queries.closed_breakdown(..., "resolution_level"), equal."""
    if not stored or not _aggregated(scope):
        return q.closed_breakdown(engine, scope, window, "resolution_level")
    out: dict[str, int] = {}
    stored = span_for(window, tz, stored)
    if stored is None:
        return out   # days still being filled: no figures yet (span_for)
    a, b = stored_days(window, tz, stored)
    m = _mix_table(scope)
    with engine.connect() as conn:
        rows = []
        if a < b:
            rows = list(conn.execute(
                sa.select(m.c.value, sa.func.sum(m.c.cases))
                .where(m.c[scope.column] == scope.code, m.c.dimension == CLOSED_LEVEL,
                       m.c.day >= a.isoformat(), m.c.day < b.isoformat())
                .group_by(m.c.value)))
        for s, e in _edges(window, a, b, tz):
            rows += list(q.closed_mix_side(conn, q.scoped(scope), [], s, e, "resolution_level"))
    for value, n in rows:
        out[value or ""] = out.get(value or "", 0) + int(n)
    return out


def local_days(window: Window, tz: str) -> list[date]:
    """The local days the window touches, from the day it starts in."""
    z = ZoneInfo(tz)
    day, out = window.start.astimezone(z).date(), []
    while day_window(day, z).start < window.end:
        out.append(day)
        day += timedelta(days=1)
    return out


def daily(engine: sa.Engine, scope: RegionScope, window: Window, tz: str, column: str,
          stored: tuple[date, date] | None) -> list[int | None]:
    """Counts of reported_at or closed_at per local day of the window: stored days from
    agg_day (intake, closed), the others from the case table (_counted_days). None for a
    day still being filled (StoredDays.pending): its count is not known yet, and a trend
    must show a gap there, not a zero."""
    if column not in ("reported_at", "closed_at"):
        raise ValueError("column must be reported_at or closed_at")
    days = local_days(window, tz)
    index = {d: i for i, d in enumerate(days)}
    counts: list[int | None] = [0] * len(days)
    read: list[tuple[date, date]] = []     # the window's days summed from agg_day
    pending: tuple = ()
    if stored and _aggregated(scope):
        # A window touching days still being filled reads every filled range it meets
        # (a sum over the window would be wrong, a day's count is not); its pending days
        # are None: not known yet.
        span = span_for(window, tz, stored)
        pending = () if span else getattr(stored, "pending", ())
        ranges = [span] if span else list(getattr(stored, "ranges", lambda: [stored[:2]])())
        read = [r for r in (stored_days(window, tz, r) for r in ranges) if r[0] < r[1]]
    for i, d in enumerate(days):
        if any(s <= d < e for s, e in pending):
            counts[i] = None

    def from_cases(d: date) -> bool:
        return counts[index[d]] is not None and not any(a <= d < b for a, b in read)
    counter = "intake" if column == "reported_at" else "closed"
    hours = _hour_ranges(stored) if stored and _aggregated(scope) else ()
    z = ZoneInfo(tz)
    w = window.utc
    with engine.connect() as conn:
        t = _day_table(scope)
        for a, b in read:
            for day, n in conn.execute(
                    sa.select(t.c.day, sa.func.sum(t.c[counter]))
                    .where(t.c[scope.column] == scope.code,
                           t.c.day >= a.isoformat(), t.c.day < b.isoformat())
                    .group_by(t.c.day)):
                counts[index[date.fromisoformat(day)]] += int(n or 0)
        for first, last in _runs([d for d in days if from_cases(d)]):
            lo = max(day_window(first, tz).utc.start, w.start)
            hi = min(day_window(last, tz).utc.end, w.end)
            if hi <= lo:
                continue
            span, counted = _hour_split(lo, hi, hours)
            if span is not None:   # today's hours, and the recent days' (HOURS_KEPT_DAYS)
                for hour, n in _stored_hours_of(conn, scope, counter, span):
                    counts[index[hour.astimezone(z).date()]] += n
            for s, e in counted:
                for day, n in _counted_days(conn, scope, column, s, e, tz,
                                            engine.dialect.name):
                    counts[index[day]] += n
    return counts


def _stored_hours_of(conn, scope: RegionScope, counter: str,
                     span: tuple[datetime, datetime]) -> Iterable[tuple[datetime, int]]:
    """(UTC hour, `counter` summed over the scope) for each stored hour of `span`."""
    t = _hour_table(scope)
    for hour, n in conn.execute(
            sa.select(t.c.hour, sa.func.sum(t.c[counter]))
            .where(t.c[scope.column] == scope.code,
                   t.c.hour >= hour_key(span[0]), t.c.hour < hour_key(span[1]))
            .group_by(t.c.hour)):
        yield datetime.strptime(hour, "%Y-%m-%d %H").replace(tzinfo=timezone.utc), int(n or 0)


def hourly(engine: sa.Engine, scope: RegionScope, window: Window, column: str,
           stored: tuple[date, date] | None) -> list[int]:
    """case_queries.hourly, equal: the window's whole stored hours from agg_hour, the
    rest (at most an hour at each end) from the case table."""
    if column not in ("reported_at", "closed_at"):
        raise ValueError("column must be reported_at or closed_at")
    hours = _hour_ranges(stored) if stored and _aggregated(scope) else ()
    w = window.utc
    span, counted = _hour_split(w.start, w.end, hours)
    # A window starting inside a UTC hour (a zone half an hour off) has buckets that are
    # not stored hours.
    if span is None or floor_hour(w.start) != w.start:
        return q.hourly(engine, scope, window, column)
    out = [0] * q.hours_in(window)
    counter = "intake" if column == "reported_at" else "closed"
    with engine.connect() as conn:
        for hour, n in _stored_hours_of(conn, scope, counter, span):
            i = int((hour - w.start).total_seconds() // 3600)
            if 0 <= i < len(out):
                out[i] += n
        for s, e in counted:
            inside = sa.and_(q.scoped(scope), q._in(c[column], s, e))
            for b, n in q.hourly_side(conn, inside, [], window, column, engine.dialect.name):
                if b is not None and 0 <= int(b) < len(out):
                    out[int(b)] += int(n)
    return out


def _runs(days: list[date]) -> list[tuple[date, date]]:
    """Consecutive days as (first, last) runs: a window's days before and after the stored
    ones are two runs, each counted by one statement."""
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _counted_days(conn, scope: RegionScope, column: str, lo: datetime, hi: datetime,
                  tz: str, dialect: str) -> Iterable[tuple[date, int]]:
    """(local day, cases) with `column` in [lo, hi), from the case table. PostgreSQL groups
    by the local date in one statement: a township's year (not aggregated) was a
    statement per day and column, ~700 for one trend (bench.first_views: 250-380 ms).
    SQLite has no time zones: a statement per day, as before."""
    col = c[column]
    if dialect == "postgresql":
        local = sa.cast(sa.func.timezone(tz, col), sa.Date)
        yield from ((day, int(n)) for day, n in conn.execute(
            sa.select(local, sa.func.count()).where(q.scoped(scope), q._in(col, lo, hi))
            .group_by(local)))
        return
    day = lo.astimezone(ZoneInfo(tz)).date()
    while day_window(day, tz).start < hi:
        dw = day_window(day, tz).utc
        n = conn.execute(sa.select(sa.func.count()).where(
            q.scoped(scope), q._in(col, max(dw.start, lo), min(dw.end, hi)))).scalar()
        yield day, int(n or 0)
        day += timedelta(days=1)


def _due(conn, tally: q.Tally, scope: RegionScope, group: list, window: Window,
         now: datetime, tz: str, stored: tuple[date, date]) -> None:
    """due_unclosed: deadlines passed by `now` in the window, not closed before its end
    (a window whose end is still to come reads them as q.due_unclosed_side's running
    one; 上期 and 去年同期 are counted at their end)."""
    w = window.utc
    due_end = min(w.end, now)
    if due_end <= w.start:
        return
    where = q.scoped(scope)
    deadlines = Window(w.start, due_end)
    a, b = stored_days(deadlines, tz, stored)
    for s, e in _edges(deadlines, a, b, tz):
        tally.add(q.due_unclosed_side(conn, where, group, s, e, w.end, w.end > now),
                  ["due_unclosed"])
    if a >= b:
        return
    # Stored: closed in the hour the window ends in or later (or not closed)...
    first_hour = ceil_hour(w.end)
    child = [agg_due.c[group[0].name]] if group else []
    # The province's (no index by its code) through ix_agg_due_closed, whose range is the
    # closures since the window's end: PostgreSQL expected five times the rows it finds
    # (the two ranges are correlated) and read the whole table in parallel instead, 50 ms
    # for 89 days at 10M against 29 (EXPLAIN ANALYZE), and growing with the table.
    with q.planned_without(conn, "seqscan", scope.level == Level.PROVINCE):
        tally.add(conn.execute(
            sa.select(*child, sa.func.coalesce(sa.func.sum(agg_due.c.cases), 0))
            .where(agg_due.c[scope.column] == scope.code,
                   agg_due.c.deadline_day >= a.isoformat(),
                   agg_due.c.deadline_day < b.isoformat(),
                   agg_due.c.closed_hour >= hour_key(first_hour))
            .group_by(*child)), ["due_unclosed"])
    if first_hour != w.end:
        # ...and, when the window ends inside an hour, those closed in the rest of it.
        lo, hi = day_window(a, tz).start, day_window(b, tz).start
        tally.add(conn.execute(
            sa.select(*group, sa.func.count())
            .where(where, q._in(c.deadline, lo, hi), c.state != "REJECTED",
                   q._in(c.closed_at, w.end, first_hour))
            .group_by(*group)), ["due_unclosed"])

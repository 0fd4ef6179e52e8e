"""Keeps the daily aggregates current with the event stream (docs/aggregates.md).

Each step reads the stream entries after the stored position, finds the (day, township)
pairs the cases behind them may count in (aggregates.touched) and recomputes just those
from the case table; when the local day has turned, the day that ended is stored whole.
Recomputing is idempotent, so an entry read twice (after a restart, or again on the next
step in case its row was not yet committed) is never counted twice, and the position is
stored after the work it covers, so nothing is lost either. Entries trimmed from the
stream before they were followed cannot be read: the stored days are then recomputed, newest
first, while the stream is followed again (readers count the suspect days from the case table).
"""
from __future__ import annotations

import logging
import time
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from dashboard.domain.periods import local_today
from data_sources import aggregates as agg
from data_sources.redis_stream import StreamReader, id_time

log = logging.getLogger(__name__)
RESUME_MARGIN_MS = 60_000   # clock skew between the app and Redis, for built_at


class Follower:
    def __init__(self, engine: sa.Engine, reader: StreamReader, tz: str, batch: int = 1000,
                 max_entries: int = 100_000, recompute_seconds: float = 2.0):
        self.engine, self.reader, self.tz = engine, reader, tz
        self.batch, self.max_entries = batch, max_entries
        self.recompute_seconds = recompute_seconds
        self._last_cases: set[int] = set()

    def step(self, now: datetime) -> dict:
        """Follow the stream up to its end (at most max_entries); returns what was done."""
        info = agg.stored_info(self.engine)
        if info.get("tz") != self.tz or "horizon" not in info:
            return {"status": "not built"}
        first, horizon = date.fromisoformat(info["first"]), date.fromisoformat(info["horizon"])
        today = local_today(now, self.tz)
        position = info.get("stream_pos") or self._resume_from(info)
        stats = {"status": "following", "entries": 0, "cases": 0, "pairs": 0, "rows": 0}

        if self._trimmed_past(position):
            # What the missing entries changed is unknown: every stored day is suspect.
            # They are recomputed newest first, a few a step, while the stream is followed
            # from here on; readers count the suspect days from the case table meanwhile
            # (aggregates.exact_days). Recomputing all of them before following again
            # took minutes at 10M cases, during which every page counted a month from the
            # case table and the platform stalled (bench.province_scale).
            log.warning("aggregates: stream entries after %s were trimmed before they were "
                        "followed; recomputing the stored days, newest first", position)
            position = self.reader.start_id_now()
            info = agg.record_info(self.engine, stream_pos=position,
                                   recomputing_from=horizon.isoformat())
            stats["status"] = "recomputing"

        cases: set[int] = set()
        while stats["entries"] < self.max_entries:
            result = self.reader.read(position, count=self.batch)
            if result.last_id == position:
                break
            cases.update(e.case_id for e in result.events)
            stats["entries"] += len(result.events) + sum(result.rejected.values())
            position = result.last_id
        if horizon < today:
            # The day turned: the day(s) that ended are stored whole, and the two before
            # them again, a safety net for an upstream change that reached no stream.
            stats["rows"] += agg.rebuild(self.engine, self.tz,
                                         max(first, horizon - timedelta(days=2)), today)
            horizon = today
        # A suspect day's pairs are left to its recomputation (which reads the case table
        # later, so it sees these changes too).
        suspect = agg.recomputing_from(info)
        exact = max(first, suspect or first)
        touched = agg.touched(self.engine, self.tz, cases | self._last_cases)
        pairs = {p for p in touched if exact <= p[0] < horizon}
        stats["rows"] += agg.rebuild_townships(self.engine, self.tz, pairs)
        started = time.perf_counter()
        hours = self._follow_hours(info, now, touched, whole=stats["status"] == "recomputing",
                                   stats=stats)
        stats["hours_ms"] = round((time.perf_counter() - started) * 1000, 1)
        self._last_cases = cases
        recomputing = self._recompute(first, exact, horizon, stats) if suspect else None
        # Behind by the age of the oldest entry left unread (max_entries reached), else 0.
        left = lag_seconds(self.engine, self.reader, now, position)
        agg.record_info(self.engine, horizon=horizon.isoformat(), stream_pos=position,
                        followed_at=now.isoformat(), lag_seconds=left,
                        recomputing_from=recomputing, **hours)
        stats.update(cases=len(cases), pairs=len(pairs), position=position)
        if recomputing:
            stats.update(status="recomputing", recomputing_from=recomputing)
        return stats

    def _follow_hours(self, info: dict, now: datetime, touched, whole: bool,
                      stats: dict) -> dict:
        """Keeps the hours of today and the recent days (aggregates.HOURS_KEPT_DAYS) as
        the days are kept: the hours that ended since the last step stored whole (and
        the one before again, for an entry read before its row was committed), the
        (day, township) pairs the step's cases touched recomputed, the hours too old
        for the window dropped (a step later). All of them built whole the first time,
        or after a gap in the stream (`whole`: what the missing entries changed is
        unknown). The day a year back is kept as well (aggregates.year_ago_hours).
        Returns gw_meta's record of the hours now stored."""
        first, horizon = agg.hours_wanted(now, self.tz)
        year_ago = agg.year_ago_hours(now, self.tz)
        held, held_ago = agg.stored_hours(info), agg.stored_year_ago(info)
        # The day a year back: built whole when it changes (once a day), else its touched
        # pairs recomputed like the recent days'.
        if whole or held_ago != year_ago:
            stats["rows"] += agg.rebuild_hours(self.engine, *year_ago)
        else:
            stats["rows"] += agg.rebuild_hour_pairs(self.engine, self.tz, touched, *year_ago)
        # Only the hours before the recorded first are dropped, and never a recorded or
        # wanted year-ago range: readers sum the recorded ranges until this step records
        # the new ones, and would find dropped hours empty.
        keep = [held_ago, year_ago]
        if whole or held is None or held[1] <= first or held[0] > first:
            stats["rows"] += agg.rebuild_hours(self.engine, first, horizon)
            agg.prune_hours(self.engine, first if held is None else min(first, held[0]), keep)
            return agg.hours_info((first, horizon), year_ago)
        held_first, held_horizon = held
        if held_horizon < horizon:
            stats["rows"] += agg.rebuild_hours(self.engine, max(first, held_horizon - agg.HOUR),
                                               horizon)
            agg.vacuum_hours(self.engine)
        stats["rows"] += agg.rebuild_hour_pairs(self.engine, self.tz, touched, first,
                                                min(held_horizon, horizon))
        agg.prune_hours(self.engine, held_first, keep)   # left out of the range a step ago
        return agg.hours_info((first, horizon), year_ago)

    def _recompute(self, first: date, exact: date, horizon: date, stats: dict) -> str | None:
        """After a gap: the suspect days before `exact` recomputed newest first, at least
        one and then as many as `recompute_seconds` allow (a month's days come back in
        the first steps: the windows leaders ask most). Returns the first exact day while
        some remain suspect, else None."""
        started = time.monotonic()
        day = min(exact, horizon)
        while day > first:
            day -= timedelta(days=1)
            stats["rows"] += agg.rebuild(self.engine, self.tz, day, day + timedelta(days=1))
            if time.monotonic() - started >= self.recompute_seconds:
                break
        return day.isoformat() if day > first else None

    def _resume_from(self, info: dict) -> str:
        """No position yet: the entries since the last full rebuild began."""
        built = datetime.fromisoformat(info["built_at"]) if info.get("built_at") else None
        if built is None:
            return "0-0"
        return f"{max(int(built.timestamp() * 1000) - RESUME_MARGIN_MS, 0)}-0"

    def _trimmed_past(self, position: str) -> bool:
        return self.reader.trimmed_past(position)


def lag_seconds(engine: sa.Engine, reader: StreamReader, now: datetime,
                position: str | None = None) -> float | None:
    """How far the aggregates are behind the stream: the age of the oldest entry not yet
    followed (0 when caught up), None when they are not built."""
    position = position or agg.stored_info(engine).get("stream_pos")
    if not position:
        return None
    nxt = reader.stream.client.xrange(reader.stream.key, min=f"({position}", count=1)
    if not nxt:
        return 0.0
    entry_id = nxt[0][0].decode() if isinstance(nxt[0][0], bytes) else nxt[0][0]
    return max((now - id_time(entry_id)).total_seconds(), 0.0)


"""Time windows in the region's zone: "today" in Nanjing is today in Nanjing, whatever
zone the server's clock is in. Windows are half-open [start, end) in aware datetimes.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    def __post_init__(self):
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("window bounds must be timezone-aware")
        if self.end < self.start:
            raise ValueError("window end is before its start")

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    @property
    def utc(self) -> "Window":
        return Window(self.start.astimezone(timezone.utc), self.end.astimezone(timezone.utc))


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def local_today(now: datetime, tz: str | ZoneInfo) -> date:
    tz = ZoneInfo(tz) if isinstance(tz, str) else tz
    return now.astimezone(tz).date()


def day_window(day: date, tz: str | ZoneInfo) -> Window:
    tz = ZoneInfo(tz) if isinstance(tz, str) else tz
    return Window(_midnight(day, tz), _midnight(day + timedelta(days=1), tz))


# Memoised: a builder asks both for each of a tick's ~200 walls, at the tick's clock.
@functools.lru_cache(maxsize=256)
def today(now: datetime, tz: str) -> Window:
    return day_window(local_today(now, tz), tz)


@functools.lru_cache(maxsize=256)
def yesterday(now: datetime, tz: str) -> Window:
    return day_window(local_today(now, tz) - timedelta(days=1), tz)


def this_week(now: datetime, tz: str) -> Window:
    d = local_today(now, tz)
    monday = d - timedelta(days=d.weekday())
    z = ZoneInfo(tz)
    return Window(_midnight(monday, z), _midnight(monday + timedelta(days=7), z))


def this_month(now: datetime, tz: str) -> Window:
    d = local_today(now, tz)
    z = ZoneInfo(tz)
    first = d.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return Window(_midnight(first, z), _midnight(nxt, z))


def last_month(now: datetime, tz: str) -> Window:
    current = this_month(now, tz)
    z = ZoneInfo(tz)
    prev_last_day = current.start.date() - timedelta(days=1)
    return Window(_midnight(prev_last_day.replace(day=1), z), current.start)

"""Working days (工作日) on China's official calendar, with 调休 weekends.

`chinese_calendar` knows the State Council's published schedule year by year; for a year
it does not cover yet, fall back to Monday–Friday and say so once in the log rather than
failing every deadline computation.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from functools import lru_cache

import chinese_calendar

log = logging.getLogger(__name__)
_warned_years: set[int] = set()


@lru_cache(maxsize=8192)
def is_workday(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            log.warning("no official holiday schedule for %s; counting Mon-Fri as working days",
                        day.year)
        return day.weekday() < 5


def add_working_days(start: datetime, days: float) -> datetime:
    """The moment `days` working days after `start` (a local, tz-aware datetime).

    Time of day is kept; a start on a rest day counts from the next working day's
    opening (09:00), the way a case reported on Saturday is due relative to Monday.
    Fractional days are added as hours of a 24-hour working day.
    """
    if days < 0:
        raise ValueError("days must be >= 0")
    whole = int(days)
    frac = days - whole
    d, opened = _advance(start.date(), whole)
    if opened:
        result = start.replace(year=d.year, month=d.month, day=d.day, hour=9, minute=0,
                               second=0, microsecond=0)
    else:
        # combine(), not replace(year=, month=, day=): the same datetime (time, zone and
        # fold kept) for a tenth of the cost; the backfill asks ~2 per case.
        result = start.combine(d, start.timetz())
    # Positional: timedelta's keyword parsing costs more than its arithmetic (same value).
    return result + timedelta(0, 0, 0, 0, 0, 24 * frac) if frac else result


@lru_cache(maxsize=65536)
def _advance(start: date, whole: int) -> tuple[date, bool]:
    """The date `whole` working days after `start`, and whether `start` was a rest day
    (then counting starts at the next working day's opening). Cached: the simulator asks
    for the same few dates and counts for every case."""
    d = start
    opened = not is_workday(d)
    while not is_workday(d):
        d += timedelta(days=1)
    for _ in range(whole):
        d += timedelta(days=1)
        while not is_workday(d):
            d += timedelta(days=1)
    return d, opened


def working_days_between(start: date, end: date) -> int:
    """Working days in (start, end]; 0 when end <= start."""
    n, d = 0, start
    while d < end:
        d += timedelta(days=1)
        n += is_workday(d)
    return n

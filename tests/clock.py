"""The clock of the tests that read figures out of a seeded history.

A seeded history ends when it was seeded, and CI runs at any hour. Just after midnight in
Asia/Shanghai (16:00 UTC) "today" holds minutes of cases; on a Monday so does "this
week", on the 1st "this month". A test whose check needs cases in those windows reads
the history at `settled_now()`: the last 15:00 there, when the day, the week and the
month each hold at least 15 hours of it. The cases seeded after that instant stay in the
database; every path a test compares is handed the same instant, and they must agree at
any clock time (the live board's tests compare at hours back as well).
"""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

TZ = "Asia/Shanghai"
SETTLED_HOUR = 15


def settled_now(now: datetime | None = None, tz: str = TZ) -> datetime:
    """The last SETTLED_HOUR:00 in `tz` at or before `now` (default: the real clock), in UTC."""
    local = (now or datetime.now(timezone.utc)).astimezone(ZoneInfo(tz))
    at = datetime.combine(local.date(), time(SETTLED_HOUR), tzinfo=ZoneInfo(tz))
    if at > local:
        at -= timedelta(days=1)
    return at.astimezone(timezone.utc)


def past_days(days: int, now: datetime | None = None, tz: str = TZ) -> tuple[str, str]:
    """(from, to) ISO dates of the `days` whole days before today in `tz`: a custom range
    that holds seeded cases at any hour the real clock shows (the browser tests' server
    runs on it)."""
    local = (now or datetime.now(timezone.utc)).astimezone(ZoneInfo(tz)).date()
    return (local - timedelta(days=days)).isoformat(), (local - timedelta(days=1)).isoformat()

"""The query string is the page's state: period, metric, case-list filters, sort, page and
language. Parsing is strict and explained: a malformed date or a range that ends before it
starts becomes a BadInput whose message (`error.<code>` in dashboard/domain/text.py) a
user reads in their language, never an exception a user sees as a 500. `encode` writes
the same state back, so links round-trip.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from dashboard.domain import periods
from dashboard.domain.case_query import BASES, FILTERS, SORTS
from dashboard.domain.language import language
from dashboard.domain.periods import Window
from dashboard.domain.text import t

# The periods a page offers, in the picker's order; each is named `page.period.<key>`.
PERIODS = ("today", "this_week", "this_month", "last_month", "custom")
DEFAULT_PERIOD = "this_month"
MAX_CUSTOM_DAYS = 366  # a year of hourly buckets is the most one trend chart draws
MAX_PAGE = 100_000


class BadInput(ValueError):
    """A request the page cannot honour: its code names the message (`error.<code>` in
    the text catalogue), `fmt` fills it in."""

    def __init__(self, code: str, /, **fmt):
        self.code, self.fmt = code, fmt
        super().__init__(self.message("en"))

    def message(self, lang: str) -> str:
        return t(f"error.{self.code}", lang, **self.fmt)


@dataclass(frozen=True)
class PageState:
    lang: str = "zh"
    period: str = DEFAULT_PERIOD
    start: date | None = None       # custom range, inclusive local dates
    end: date | None = None
    metric: str = "on_time"
    region: str | None = None       # /kpi's region (the path carries it on /region)
    basis: str = "reported"
    filters: dict = field(default_factory=dict)   # name -> value, only the valid ones
    sort: str = "-reported_at"
    page: int = 1

    def t(self, key: str, **fmt) -> str:
        """The page's word for `key` (dashboard/domain/text.py) in its language."""
        return t(key, self.lang, **fmt)

    def with_(self, **changes) -> "PageState":
        return replace(self, **changes)


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
# Dates a period may cover: wide enough for any real history, and far enough from year 1
# and 9999 that a window, its previous period and last year stay representable in any
# time zone.
FIRST_DATE, LAST_DATE = date(2000, 1, 1), date(2099, 12, 31)


def _date(text: str, name: str) -> date:
    shown = text[:40]
    try:
        if not _DATE.fullmatch(text):
            raise ValueError(text)
        value = date.fromisoformat(text)
    except ValueError:
        raise BadInput("bad-date", name=name, shown=shown) from None
    if not FIRST_DATE <= value <= LAST_DATE:
        raise BadInput("date-out-of-range", name=name, shown=shown, first=FIRST_DATE,
                       last=LAST_DATE)
    return value


def period_of(query: dict[str, str]) -> str:
    """The period a query asks for, as it is written (not checked): a `from` or `to`
    without a `period` asks for a custom range."""
    return query.get("period") or (
        "custom" if query.get("from") or query.get("to") else DEFAULT_PERIOD)


def parse(query: dict[str, str], metrics: tuple[str, ...] = (),
          default_lang: str = "zh") -> PageState:
    """PageState from a parsed query string; BadInput for what cannot be read.

    Unknown filter values and unknown metrics are not errors a user can act on in a
    link they received, so they fall back to defaults; dates and ranges are errors
    because silently showing another period would misreport the numbers.
    """
    lang = language(query.get("lang"), default_lang)
    period = period_of(query)
    if period not in PERIODS:
        raise BadInput("bad-period", period=period[:40])
    start = end = None
    if period == "custom":
        if not query.get("from") or not query.get("to"):
            raise BadInput("bad-range")
        start, end = _date(query["from"], "from"), _date(query["to"], "to")
        if end < start:
            raise BadInput("range-reversed", start=start, end=end)
        if (end - start).days + 1 > MAX_CUSTOM_DAYS:
            raise BadInput("range-too-long", days=MAX_CUSTOM_DAYS)
    raw_page = query.get("page", "1")
    # ASCII digits, bounded: the case list stops far below this, and no OFFSET overflows.
    page = min(int(raw_page), MAX_PAGE) if re.fullmatch(r"[0-9]{1,9}", raw_page, re.ASCII) else 1
    page = max(1, page)
    filters = {k: query[k] for k in FILTERS if query.get(k) in FILTERS[k]}
    metric = query.get("metric", "on_time")
    return PageState(
        lang=lang, period=period, start=start, end=end,
        metric=metric if not metrics or metric in metrics else "on_time",
        region=query.get("region") or None,
        basis=query.get("basis") if query.get("basis") in BASES else "reported",
        filters=filters,
        sort=query.get("sort") if query.get("sort") in SORTS else "-reported_at",
        page=page)


def encode(state: PageState, **changes) -> str:
    """The query string ('?…') of a state, defaults left out so links stay short."""
    s = state.with_(**changes) if changes else state
    q: dict[str, str] = {}
    if s.region:
        q["region"] = s.region
    if s.period != DEFAULT_PERIOD:
        q["period"] = s.period
    if s.period == "custom" and s.start and s.end:
        q["from"], q["to"] = s.start.isoformat(), s.end.isoformat()
    if s.metric != "on_time":
        q["metric"] = s.metric
    if s.basis != "reported":
        q["basis"] = s.basis
    q.update({k: v for k, v in s.filters.items() if v})
    if s.sort != "-reported_at":
        q["sort"] = s.sort
    if s.page > 1:
        q["page"] = str(s.page)
    if s.lang == "en":
        q["lang"] = "en"
    return "?" + urlencode(q) if q else ""


# -- windows ----------------------------------------------------------------------------
def window(state: PageState, now: datetime, tz: str) -> Window:
    if state.period == "custom":
        z = ZoneInfo(tz)
        return Window(periods.day_window(state.start, z).start,
                      periods.day_window(state.end, z).end)
    return getattr(periods, state.period)(now, tz)


def previous_window(w: Window, state: PageState, now: datetime, tz: str) -> Window:
    """The period before, cut to the same elapsed length when the current one is still
    running: this month so far against the same days of last month (环比同期)."""
    z = ZoneInfo(tz)
    start = w.start.astimezone(z)
    if state.period in ("this_month", "last_month"):
        prev_start = (start.date().replace(day=1) - timedelta(days=1)).replace(day=1)
        prev_start = datetime.combine(prev_start, start.timetz())
    else:
        prev_start = start - (w.end - w.start)
    length = min(w.end, max(now, w.start)) - w.start
    if state.period == "last_month":
        length = min(length, start - prev_start)  # a 31-day month after a 30-day one
    return Window(prev_start, prev_start + length)


def last_year_window(w: Window, now: datetime) -> Window:
    """The same dates a year earlier (29 February falls back to the 28th)."""
    def back(d: datetime) -> datetime:
        try:
            return d.replace(year=d.year - 1)
        except ValueError:
            return d.replace(year=d.year - 1, day=28)
    return Window(back(w.start), back(min(w.end, max(now, w.start))))


def span(w: Window, tz: str) -> str:
    """What the window covers in local time: whole days as dates, last day inclusive
    ("2026-11-01 ~ 2026-11-30"); a window that ends inside a day says when
    ("2026-12-01 ~ 2026-12-02 14:05", "2026-12-02 00:00 ~ 14:05")."""
    z = ZoneInfo(tz)
    start, end = w.start.astimezone(z), w.end.astimezone(z)
    first = start.date()
    if end.time() == time(0):
        last = (end - timedelta(microseconds=1)).date()
        return first.isoformat() if first >= last else f"{first.isoformat()} ~ {last.isoformat()}"
    if end.date() == first:
        return f"{first.isoformat()} {start:%H:%M} ~ {end:%H:%M}"
    return f"{first.isoformat()} ~ {end.date().isoformat()} {end:%H:%M}"


def label(state: PageState, w: Window, tz: str, now: datetime) -> str:
    """The period's name and what its figures cover: a running period up to `now`, not
    to its end ("本月（2026-12-01 ~ 2026-12-02 14:05）" on the 2nd, not "~ 12-31")."""
    covered = Window(w.start, min(w.end, max(now, w.start)))
    return state.t("page.period_label", name=state.t(f"page.period.{state.period}"),
                   span=span(covered, tz))

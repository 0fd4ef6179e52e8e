"""What the views need from the outside world, as Protocols the data sources implement.

Views are built over these, never over a database engine or a Redis client: a view model
can be tested with an in-memory store, and a new backend is one module in data_sources/
that implements them.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from dashboard.domain.case_query import CasePage, CaseQuery
from dashboard.domain.events import StreamEvent
from dashboard.domain.kpis import KpiCounts
from dashboard.domain.live_board import LiveBoard
from dashboard.domain.periods import Window
from dashboard.domain.scope import RegionScope


class Busy(ConnectionError):
    """A source that is up but has no capacity left right now (its connection pool is
    exhausted): waiting or computing elsewhere would only add to the load."""


class CaseStore(Protocol):
    """The case database, read under a region scope."""

    def kpi_counts(self, scope: RegionScope, window: Window, now: datetime,
                   settled: bool = False) -> KpiCounts: ...

    def kpi_counts_by(self, scope: RegionScope, window: Window, now: datetime,
                      by_child: bool = False, settled: bool = False
                      ) -> dict[str | None, KpiCounts]:
        """The scope's counts (key None), or each child's (key: the child's code). With
        `settled`, a past period's: its open-now figures (open, overdue_open, the open
        cases' cards) are 0, as dashboard.domain.kpis.without_open makes them, and need not
        be counted."""

    def live_board(self, scope: RegionScope, now: datetime, tz: str, top: int = 12) -> LiveBoard:
        """Today's live state of every region of `scope` down to townships, from one pass
        (dashboard.domain.live_board); raises NotOnBoard when the store cannot make one."""

    def period_board(self, scope: RegionScope, window: Window, now: datetime) -> LiveBoard:
        """Every region's KPI counts over `window` and its closures by settling level,
        down to townships, from one pass; raises NotOnBoard when the store cannot."""

    def complete(self, window: Window) -> bool:
        """False while some days of `window` are still being filled (history kept as
        daily aggregates only, filled in the background): its windowed counts read as
        none until then, and a page shows "—" rather than zeros."""

    def history_filled(self) -> tuple[int, int] | None:
        """(days filled, days asked for) while history is being filled in the background
        (complete() is False for some windows); None when nothing is pending."""

    def open_by_state_and_level(self, scope: RegionScope) -> dict[tuple[str, str | None], int]: ...

    def breakdown(self, scope: RegionScope, window: Window, dimension: str) -> dict[str, int]:
        """Cases reported in the window, counted by one dimension."""

    def closed_breakdown(self, scope: RegionScope, window: Window,
                         dimension: str) -> dict[str, int]:
        """Cases closed in the window, counted by one dimension (they add up to
        kpi_counts' closed)."""

    def breakdowns(self, scope: RegionScope, window: Window,
                   dimensions: tuple[str, ...]) -> dict[str, dict[str, int]]: ...

    def hourly(self, scope: RegionScope, window: Window,
               column: str = "reported_at") -> list[int]: ...

    def daily(self, scope: RegionScope, window: Window, tz: str,
              column: str = "reported_at") -> list[int | None]:
        """Counts per local day of the window (index 0 = the day it starts in) of
        reported_at or closed_at; None for a day still being filled (complete())."""
        ...

    def overdue_cases(self, scope: RegionScope, now: datetime, limit: int = 20) -> list[dict]: ...

    def urgent_open_cases(self, scope: RegionScope, limit: int = 20) -> list[dict]: ...

    def case_summaries(self, scope: RegionScope, case_ids: Sequence[int]) -> dict[int, dict]: ...

    def case_page(self, scope: RegionScope, window: Window, now: datetime,
                  query: CaseQuery) -> CasePage: ...

    def case_export(self, scope: RegionScope, window: Window, now: datetime,
                    query: CaseQuery) -> list[dict]: ...

    def case_detail(self, scope: RegionScope, case_id: int) -> dict | None:
        """The case and its events; None when it does not exist or lies outside the scope."""


class SourceHealth(Protocol):
    def health(self) -> dict:
        """{"status": "up" | "down", ...}; never raises."""


class LabelStore(Protocol):
    """Where the wall maps' labels go, kept once placed (placing one region's takes up to
    a few hundred ms). `fingerprint` names what a layout was placed from."""

    def get(self, region: str, sample: str, fingerprint: str) -> dict | None: ...

    def put(self, region: str, sample: str, fingerprint: str, layout: dict) -> None: ...


class EventFeed(Protocol):
    """The event stream, read for the screens: its state and its newest events."""

    def health(self) -> dict:
        """Redis's state, with the stream's under "stream" (length, lag, skipped entries)."""

    def tail_id(self) -> str:
        """The newest entry's ID: a live feed that resumes after it misses nothing."""

    def latest(self, n: int, upto: str | None = None) -> list[StreamEvent]:
        """The valid events of the newest n entries (up to `upto`), oldest first, each
        (case_id, seq) once."""

"""The case database as a `dashboard.domain.stores.CaseStore`: the SQL of case_queries.py
and case_list.py behind the Protocol the views are written against."""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone

import sqlalchemy as sa

from dashboard.domain.case_query import CasePage, CaseQuery
from dashboard.domain.kpis import KpiCounts
from dashboard.domain.live_board import LiveBoard, NotOnBoard
from dashboard.domain.periods import Window
from dashboard.domain.scope import RegionScope
from data_sources import aggregate_summary, aggregates, case_list, case_queries, live_board
from data_sources.lazy_engine import LazyEngine

# s: how long a store trusts what it read of the aggregates' state (which days are
# stored and followed). A /kpi page asks it for each of its ~6 figures, two statements
# each: 4% of a web worker's time at a province's load, for a state that moves by the
# follower's steps (seconds) and is judged against a 5-minute limit.
STORED_SECONDS = 1.0


class SqlCaseStore(LazyEngine):
    def __init__(self, engine: sa.Engine | Callable[[], sa.Engine], tz: str | None = None,
                 stored_seconds: float = STORED_SECONDS):
        # With `tz`, KPI counts read the daily aggregates of that zone's days while a
        # follower keeps them current (docs/aggregates.md).
        super().__init__(engine)
        self.tz = tz
        self.stored_seconds = stored_seconds
        self._stored_read: tuple[float, object] | None = None

    def kpi_counts(self, scope: RegionScope, window: Window, now: datetime,
                   settled: bool = False) -> KpiCounts:
        return self.kpi_counts_by(scope, window, now, settled=settled)[None]

    def kpi_counts_by(self, scope: RegionScope, window: Window, now: datetime,
                      by_child: bool = False, settled: bool = False
                      ) -> dict[str | None, KpiCounts]:
        stored = self._stored()
        if stored is None:
            return case_queries.kpi_counts_by(self.engine, scope, window, now,
                                              by_child=by_child, settled=settled)
        return aggregates.kpi_counts_by(self.engine, scope, window, now, self.tz, stored,
                                        by_child=by_child, settled=settled)

    def daily(self, scope: RegionScope, window: Window, tz: str,
              column: str = "reported_at") -> list[int | None]:
        return aggregates.daily(self.engine, scope, window, tz, column,
                                self._stored() if tz == self.tz else None)

    def _stored(self):
        """The days the aggregates hold while they are followed (None: count the cases).
        Whether a follower keeps them current is a question for the real clock: a
        previous period's counts are asked "as of" its end."""
        if not self.tz:
            return None
        read = self._stored_read
        if read is not None and time.monotonic() - read[0] < self.stored_seconds:
            return read[1]
        stored = aggregates.usable_range(self.engine, self.tz, datetime.now(timezone.utc))
        self._stored_read = (time.monotonic(), stored)
        return stored

    def complete(self, window: Window) -> bool:
        # Without the aggregates (not followed) every day counts from the case table, as
        # it always has; with them, a window touching a day still pending has no figures.
        stored = self._stored()
        return stored is None or aggregates.span_for(window, self.tz, stored) is not None

    def history_filled(self) -> tuple[int, int] | None:
        info = aggregate_summary.summary_info(self.engine) if self.tz else {}
        if info.get("tz") != self.tz or not aggregate_summary.pending_ranges(info):
            return None
        return int(info.get("done_days") or 0), int(info.get("total_days") or 0)

    def live_board(self, scope: RegionScope, now: datetime, tz: str, top: int = 12) -> LiveBoard:
        return live_board.live_board(self.engine, scope, now, tz, top)

    def period_board(self, scope: RegionScope, window: Window, now: datetime) -> LiveBoard:
        # The board counts cases: a window reaching into days kept as aggregates only
        # (the demo's older history) is not on it, and each region asks on its own.
        if self.tz and aggregate_summary.details_from(self.engine, self.tz,
                                                      window.start) is not None:
            raise NotOnBoard("the window reaches days kept as aggregates only")
        return live_board.period_board(self.engine, scope, window, now)

    def open_by_state_and_level(self, scope: RegionScope) -> dict[tuple[str, str | None], int]:
        return case_queries.open_by_state_and_level(self.engine, scope)

    def breakdown(self, scope: RegionScope, window: Window, dimension: str) -> dict[str, int]:
        return case_queries.breakdown(self.engine, scope, window, dimension)

    def closed_breakdown(self, scope: RegionScope, window: Window,
                         dimension: str) -> dict[str, int]:
        if dimension == "resolution_level":
            return aggregates.closed_by_level(self.engine, scope, window, self.tz,
                                              self._stored())
        return case_queries.closed_breakdown(self.engine, scope, window, dimension)

    def breakdowns(self, scope: RegionScope, window: Window,
                   dimensions: tuple[str, ...]) -> dict[str, dict[str, int]]:
        return aggregates.breakdowns(self.engine, scope, window, dimensions, self.tz,
                                     self._stored())

    def hourly(self, scope: RegionScope, window: Window, column: str = "reported_at") -> list[int]:
        return aggregates.hourly(self.engine, scope, window, column, self._stored())

    def overdue_cases(self, scope: RegionScope, now: datetime, limit: int = 20) -> list[dict]:
        return case_queries.overdue_cases(self.engine, scope, now, limit)

    def urgent_open_cases(self, scope: RegionScope, limit: int = 20) -> list[dict]:
        return case_queries.urgent_open_cases(self.engine, scope, limit)

    def case_summaries(self, scope: RegionScope, case_ids: Sequence[int]) -> dict[int, dict]:
        return case_queries.case_summaries(self.engine, scope, list(case_ids))

    def case_page(self, scope: RegionScope, window: Window, now: datetime,
                  query: CaseQuery) -> CasePage:
        page = case_list.case_page(self.engine, scope, window, now, query)
        if query.basis in ("reported", "closed") and self.tz:
            # Open and overdue cases are now's: no window, nothing aggregate-only.
            since = aggregate_summary.details_from(self.engine, self.tz, window.start)
            if since is not None:
                page = dataclasses.replace(page, details_from=since)
        return page

    def case_export(self, scope: RegionScope, window: Window, now: datetime,
                    query: CaseQuery) -> list[dict]:
        return case_list.case_export(self.engine, scope, window, now, query)

    def case_detail(self, scope: RegionScope, case_id: int) -> dict | None:
        return case_list.case_detail(self.engine, scope, case_id)

"""The case list's query: which number it stands behind, filters, sort and page, and what
a page of it holds. Plain data shared by the page's URL state (views) and the store that
runs it (data_sources.case_list)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from dashboard.domain.catalog import CATEGORIES, SOURCES, URGENCIES
from dashboard.domain.states import STATE_ZH

PAGE_SIZE = 50
COUNT_CAP = 10_000     # the count stops here, and the screen says so
MAX_OFFSET = 10_000    # and so does paging

BASES = {  # which number the list stands behind
    "reported": ("本期受理", "Reported in period"),
    "closed": ("本期办结", "Closed in period"),
    "open": ("当前在办", "Open now"),
    "overdue": ("超期在办", "Overdue now"),
}
SORTS = {  # key -> (column, descending)
    "-reported_at": ("reported_at", True), "reported_at": ("reported_at", False),
    "-closed_at": ("closed_at", True), "closed_at": ("closed_at", False),
    "deadline": ("deadline", False), "-deadline": ("deadline", True),
}
FILTERS = {
    "state": tuple(s.value for s in STATE_ZH),
    "category": tuple(CATEGORIES),
    "source": tuple(SOURCES),
    "urgency": tuple(URGENCIES),
}


@dataclass(frozen=True)
class CaseQuery:
    basis: str = "reported"                # BASES
    filters: tuple[tuple[str, str], ...] = ()
    sort: str = "-reported_at"             # SORTS
    page: int = 1


@dataclass(frozen=True)
class CasePage:
    rows: list[dict]
    total: int            # exact when not capped
    capped: bool          # total is COUNT_CAP and there are more
    page: int
    pages: int            # pages reachable (MAX_OFFSET limits deep paging)
    # The window starts before the first day with cases: before this day only daily
    # summaries exist (aggregate-only days, docs/aggregates.md), the list has no rows there.
    details_from: date | None = None

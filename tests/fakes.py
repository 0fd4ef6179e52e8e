"""An in-memory CaseStore (dashboard.domain.stores) over a small region tree, for testing
view models and page callbacks without a database or a browser. It returns what it was
given: the tests check that pages show the store's figures, rank them and lay them out,
not SQL (which tests/test_database.py and tests/test_page_views.py check on real ones)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flask import Flask
from flask_caching import Cache

from dashboard.cache.shared_views import SharedViews
from dashboard.domain.accounts import Account, Role
from dashboard.domain.case_query import CasePage
from dashboard.domain.events import StreamEvent
from dashboard.domain.hierarchy import Level
from dashboard.domain.kpis import KpiCounts, without_open
from dashboard.domain.live_board import NotOnBoard
from dashboard.domain.states import OPEN_STATES, Event, State
from data_sources.regions import RegionTree

ROWS = {  # code: (parent, level, name, population, lon, lat)
    "320000": (None, Level.PROVINCE, "江苏省", 84_748_016, 119.5, 32.9),
    "320100": ("320000", Level.CITY, "南京市", 9_314_685, 118.8, 32.1),
    "320500": ("320000", Level.CITY, "苏州市", 12_748_262, 120.6, 31.3),
    "320700": ("320000", Level.CITY, "连云港市", 4_599_360, 119.2, 34.6),
    "320102": ("320100", Level.COUNTY, "玄武区", 540_000, 118.8, 32.0),
    "320102001": ("320102", Level.TOWNSHIP, "玄武门街道", 60_000, 118.8, 32.1),
    "320102001001": ("320102001", Level.COMMUNITY, "湖滨社区", 6_000, 118.8, 32.1),
    "320102001001001": ("320102001001", Level.GRID, "湖滨社区第1网格", 600, 118.8, 32.1),
    "320505": ("320500", Level.COUNTY, "虎丘区", 830_000, 120.5, 31.3),
    "320506": ("320500", Level.COUNTY, "吴中区", 1_390_000, 120.6, 31.2),
    "320505001": ("320505", Level.TOWNSHIP, "狮山街道", 90_000, 120.5, 31.3),
    "320505001001": ("320505001", Level.COMMUNITY, "金色社区", 9_000, 120.5, 31.3),
    "320505001001001": ("320505001001", Level.GRID, "金色社区第1网格", 900, 120.5, 31.3),
}


def small_tree() -> RegionTree:
    return RegionTree("320000", {c: (p, int(lv), n, pop, lon, lat)
                                 for c, (p, lv, n, pop, lon, lat) in ROWS.items()}, {})


def counts(intake: int, on_time_pct: float, satisfied_pct: float, due: int = 200,
           rated: int = 100) -> KpiCounts:
    closed = due
    return KpiCounts(intake=intake, closed=closed, due=due,
                     closed_on_time=round(due * on_time_pct / 100), open=intake // 3,
                     dispatches=due, signed_in_time=due, signs_due=due, rated=rated,
                     satisfied=round(rated * satisfied_pct / 100), verified=closed,
                     direct_resolved=intake // 2, close_hours_sum=closed * 20.0)


NOW = datetime(2026, 11, 25, 6, 0, tzinfo=timezone.utc)
CASE = {
    "case": {"id": 42, "case_no": "202611250000000042", "province_code": "320000",
             "city_code": "320500", "county_code": "320505", "township_code": "320505001",
             "community_code": "320505001001", "grid_code": "320505001001001",
             "category": "城市管理", "subcategory": "占道经营", "source": "12345热线",
             "urgency": "一般", "state": "IN_PROGRESS", "reported_at": NOW - timedelta(days=1),
             "registered_at": NOW - timedelta(days=1), "dispatched_at": None,
             "accepted_at": None, "handled_at": None, "closed_at": None, "rated_at": None,
             "sign_deadline": None, "deadline": NOW + timedelta(days=3),
             "handler_level": "村社", "resolution_level": None, "supervision_level": 2,
             "rating": None, "dispatch_count": 1, "late_sign_count": 0, "return_count": 0,
             "rework_count": 0, "reopen_count": 0, "suspended": 0, "updated_at": NOW},
    "events": [{"seq": 1, "event_type": "REPORTED", "at": NOW - timedelta(days=1),
                "state": "REPORTED", "actor_level": "网格", "actor_org": "320505001001001",
                "detail": None}],
}


class FakeCaseStore:
    """Counts per region code as given; a sub-region's counts are summed into its parent
    the way one grouped query does it. Cases (CASE's shape) answer the list queries under
    the scope. While `down` is set every query raises, as a database that went away does."""

    def __init__(self, tree: RegionTree, leaf_counts: dict[str, KpiCounts],
                 cases: dict[int, dict] | None = None):
        self.tree, self.leaf, self.cases = tree, leaf_counts, cases or {}
        self.calls: list[str] = []
        self.down = False

    def _ask(self, query: str) -> None:
        self.calls.append(query)
        if self.down:
            raise ConnectionError("the case database is down")

    def _total(self, code: str) -> KpiCounts:
        own = self.leaf.get(code, KpiCounts())
        return sum((self._total(c) for c in self.tree.child_codes(code)), own)

    def _in_scope(self, scope) -> list[dict]:
        return [c["case"] for c in self.cases.values() if c["case"][scope.column] == scope.code]

    def _open_in_scope(self, scope) -> list[dict]:
        return [c for c in self._in_scope(scope) if State(c["state"]) in OPEN_STATES]

    def kpi_counts(self, scope, window, now, settled=False):
        self._ask("kpi_counts")
        return self._settled(self._total(scope.code), settled)

    def kpi_counts_by(self, scope, window, now, by_child=False, settled=False):
        self._ask("kpi_counts_by")
        if not by_child:
            return {None: self._settled(self._total(scope.code), settled)}
        return {c: self._settled(self._total(c), settled) for c in self.tree.child_codes(scope.code)}

    @staticmethod
    def _settled(counts, settled: bool):
        return without_open(counts) if settled else counts

    def live_board(self, scope, now, tz, top=12):
        # Counts are given per region, not as the side counters a board sums: the wall
        # over this store counts per region (WallService falls back to that).
        raise NotOnBoard("the fake store counts per region")

    def period_board(self, scope, window, now):
        raise NotOnBoard("the fake store counts per region")

    def complete(self, window):
        return True

    def history_filled(self):
        return None

    def open_by_state_and_level(self, scope):
        self._ask("open_by_state_and_level")
        return {("IN_PROGRESS", "网格"): self._total(scope.code).open}

    def breakdown(self, scope, window, dimension):
        self._ask("breakdown")
        return {"城市管理": self._total(scope.code).intake}

    def closed_breakdown(self, scope, window, dimension):
        self._ask("closed_breakdown")
        return {"网格": self._total(scope.code).closed}

    def breakdowns(self, scope, window, dimensions):
        return {d: self.breakdown(scope, window, d) for d in dimensions}

    def hourly(self, scope, window, column="reported_at"):
        self._ask("hourly")
        hours = int((window.end - window.start).total_seconds() // 3600)
        return [1] * hours

    def daily(self, scope, window, tz, column="reported_at"):
        self._ask("daily")
        return [1] * -(-int((window.end - window.start).total_seconds()) // 86400)

    def overdue_cases(self, scope, now, limit=20):
        self._ask("overdue_cases")
        late = [c for c in self._open_in_scope(scope) if c["deadline"] and c["deadline"] < now
                and c["state"] != "SUSPENDED"]
        return sorted(late, key=lambda c: c["deadline"])[:limit]

    def urgent_open_cases(self, scope, limit=20):
        self._ask("urgent_open_cases")
        watched = [c for c in self._open_in_scope(scope) if c["supervision_level"] >= 2]
        return sorted(watched, key=lambda c: (-c["supervision_level"], c["deadline"]))[:limit]

    def case_summaries(self, scope, case_ids):
        self._ask("case_summaries")
        return {c["id"]: {k: c[k] for k in ("id", "case_no", "category", "urgency", "deadline",
                                            "grid_code")}
                for c in self._in_scope(scope) if c["id"] in set(case_ids)}

    def case_page(self, scope, window, now, query):
        self._ask("case_page")
        rows = self._in_scope(scope)
        return CasePage(rows=rows, total=len(rows), capped=False, page=1, pages=1)

    def case_export(self, scope, window, now, query):
        return self.case_page(scope, window, now, query).rows

    def case_detail(self, scope, case_id):
        self._ask("case_detail")
        found = self.cases.get(case_id)
        return found if found and found["case"][scope.column] == scope.code else None


class FakeSource:
    """A source whose health is what the test says."""

    def __init__(self, status: str = "up"):
        self.status = status

    def health(self) -> dict:
        return {"status": self.status}


class FakeEventFeed:
    """An in-memory EventFeed: the given events, newest last."""

    def __init__(self, events: list, status: str = "up"):
        self.events, self.status = events, status

    def health(self) -> dict:
        if self.status != "up":
            raise ConnectionError("Redis is down")
        return {"status": "up", "stream": {"status": "live", "length": len(self.events)}}

    def tail_id(self) -> str:
        return self.events[-1].entry_id if self.events else "0-0"

    def latest(self, n: int, upto: str | None = None) -> list:
        return self.events[-n:]


def stream_event(entry_id: str, grid: str, case_id: int = 42, at: datetime = NOW,
                 event: Event = Event.REPORTED, state: State = State.REPORTED) -> StreamEvent:
    """One event as the stream codec decodes it, with no optional fields."""
    return StreamEvent(entry_id, event, case_id, 1, at, grid, state)


def _no_redis():
    raise ConnectionError("no Redis in this test")


def in_process_views() -> SharedViews:
    """SharedViews as they run with Redis down: a SimpleCache on a throwaway Flask app and
    a Redis client that cannot be had, so every view is computed and kept in-process."""
    cache = Cache(Flask(__name__), config={"CACHE_TYPE": "SimpleCache"})
    return SharedViews(cache, _no_redis, "gwfake:")


def viewer(role: Role = Role.STAFF, regions: tuple[str, ...] = ("320000",)) -> Account:
    """A logged-in account for page callbacks run without the app (AppContext.viewer):
    staff of the province by default, who may open every page but /kpi."""
    return Account(id=1, username=role.value, display_name=role.value, role=role,
                   regions=regions, disabled=False, must_change_password=False,
                   password_changed_at=NOW, created_at=NOW, updated_at=NOW)

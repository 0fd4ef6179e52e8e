"""What every page of one app shares: settings, runtime, region tree and the cache.

Built once by `create_app`; pages receive it instead of reaching for globals, so two apps
with different settings can live in one process (tests do).
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_caching import Cache

from dashboard.app.runtime import Runtime
from dashboard.app.settings import Settings
from dashboard.cache.page_memo import PageMemo, direct
from dashboard.cache.shared_views import SharedViews
from dashboard.cache.warmer import Warmer
from dashboard.domain.accounts import Account
from dashboard.domain.stores import CaseStore, EventFeed, LabelStore
from dashboard.domain.walls import WallAccess


class Lazy:
    """A value built on first use and rebuilt after a failure (the database may be down
    when a worker starts and come back later)."""

    def __init__(self, build):
        self._build, self._value, self._lock = build, None, threading.Lock()

    def get(self):
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._build()
        return self._value


@dataclass
class AppContext:
    settings: Settings
    runtime: Runtime
    tree: Lazy                      # Lazy[data_sources.regions.RegionTree]
    cache: Cache                    # Redis-backed when Redis is configured
    cases: CaseStore                # the case database, behind the domain's Protocol
    events: EventFeed | None = None  # the event stream, likewise
    views: SharedViews | None = None
    warmer: Warmer | None = None     # the app's one warmer; pages register jobs with it
    labels: LabelStore | None = None  # placed map labels, kept (None: placed per worker)
    # The account of the request being served, once its session is complete (None: no
    # one; the pages then show nothing). Set by the app from the session (auth.py).
    viewer: Callable[[], Account | None] = lambda: None
    # What the request's wall may show: its wall device's region and privacy, or the
    # logged-in account's regions (dashboard/app/wall_gate.py); None: nothing.
    wall_access: Callable[[], WallAccess | None] = lambda: None
    # Appends to the audit trail (exports, unmasking: Auth.record); None: not recorded
    # (tests without a database), and then nobody may see personal information in full.
    record: Callable[..., None] | None = None
    # Runs a long Python computation (a map's label layout) where it does not hold the
    # worker's loop: a native thread in a gevent worker (data_sources/off_loop.py).
    compute: Callable[..., Any] = lambda fn, *args: fn(*args)
    # The same cases on connections of their own, for the live feed's reads: a live event
    # never waits for a connection behind the leaders' queries. None: `cases`.
    live_cases: CaseStore | None = None

    @property
    def root_code(self) -> str:
        return self.settings.region

    def page_memo(self, now: float):
        """The shared aggregates for one page build as of `now` (dashboard.cache.page_memo)."""
        if self.views is None:
            return direct
        return PageMemo(self.views, self.settings.page_cache_seconds,
                        self.settings.page_stale_seconds, now)

    # The landing views' warm-ups (/kpi, /region of the root): rebuilt a little more often
    # than page_stale_seconds, so a viewer always finds figures young enough to show at
    # once; the first leader of the morning does not wait seconds for a province's month.
    @property
    def warm_pages(self) -> bool:
        return self.settings.page_cache_seconds > 0 and self.views is not None

    @property
    def warm_every(self) -> float:
        s = self.settings
        return max(s.page_cache_seconds, s.page_stale_seconds - s.page_cache_seconds, 1.0)

    def warm_memo(self, now: float):
        """A memo for a warm-up build: figures older than one interval are not good enough
        here, since this build is what keeps them young for the viewers."""
        s = self.settings
        return PageMemo(self.views, s.page_cache_seconds, s.page_cache_seconds, now)

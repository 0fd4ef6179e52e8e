"""The aggregates behind /kpi and /region, shared by every viewer for a short while.

A month at province scale costs the database seconds (docs/benchmarks.md), and the pages
redraw from the URL: without sharing, every page turn of the case list, every back and
forward and every leader opening the same link paid it again. Aggregates (counts per
child, the hourly series, breakdowns) are stored through the shared view cache under
(aggregate, scope, window) for `seconds`; the case list itself is never cached.

A viewer gets a result at most `seconds` old at once, and one up to `stale_seconds` old
at once while a fresh one is built in the background. The page shows the time of its
oldest aggregate, so a cached figure never passes for a live one.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TypeVar

from dashboard.domain.periods import Window
from dashboard.domain.scope import RegionScope

log = logging.getLogger(__name__)
T = TypeVar("T")


def direct(_name: str, _scope: RegionScope, _window: Window, compute: Callable[[], T]) -> T:
    """No sharing: compute now (view-model tests, benchmarks, a cache turned off)."""
    return compute()


def region_key(scope_code: str, window: Window, seconds: float) -> str:
    """The cache's region part for a scope and window. The window is in it, so a last good
    copy is only ever one of the same scope and window. Its bounds are floored to the
    interval: a comparison window that ends "now" (the previous period's same elapsed
    part) is then one key per interval, not one per page load."""
    def stamp(t):
        return int(t.timestamp() // seconds * seconds)
    return f"{scope_code}:{stamp(window.start)}-{stamp(window.end)}"


class PageMemo:
    """One page build's view of the shared aggregates. `now` (epoch seconds) must be the
    time the build passes to its queries: an aggregate is stored as of that time, and
    `as_of` is the time of the oldest aggregate the build used."""

    def __init__(self, views, seconds: float, stale_seconds: float, now: float | None = None):
        self.views = views  # dashboard.cache.shared_views.SharedViews
        self.seconds = seconds
        self.stale_seconds = stale_seconds
        self.now = now if now is not None else time.time()
        self.as_of: float | None = None

    def __call__(self, name: str, scope: RegionScope, window: Window,
                 compute: Callable[[], T]) -> T:
        if self.seconds <= 0:
            return compute()
        region = region_key(scope.code, window, self.seconds)
        tick = int(self.now // self.seconds)
        fresh_enough = lambda entry: self.now - entry.get("at", 0) <= self.stale_seconds  # noqa: E731
        entry = self.views.get(f"page-{name}", region, tick, ttl=self.seconds * 2,
                               build=lambda _last: {"at": self.now, "value": compute()},
                               stale_ok=fresh_enough, lock_seconds=60,
                               keep_seconds=self.stale_seconds + self.seconds)
        if "value" not in entry or not fresh_enough(entry):
            # The builder of this tick outlived the lock wait: never show a stale figure.
            entry = {"at": self.now, "value": compute()}
        self.as_of = entry["at"] if self.as_of is None else min(self.as_of, entry["at"])
        return entry["value"]


class LandingWarmer:
    """Keeps the root region's landing views computed (/kpi this month and today, /region
    of the root this month), so the first leader of the morning does not wait seconds
    for a province's month either. It rebuilds them a little more often than
    `page_stale_seconds`, so a viewer always finds figures young enough to show at once.
    Every worker runs one; a Redis slot key lets one of them do each round."""

    def __init__(self, ctx):
        self.ctx = ctx
        s = ctx.settings
        self.every = max(s.page_cache_seconds, s.page_stale_seconds - s.page_cache_seconds, 1.0)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def ensure_started(self) -> None:
        if (self.ctx.settings.page_cache_seconds <= 0 or self.ctx.views is None
                or self._stop.is_set()):
            return
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="page-warmer")
                self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.warm_once()
            except Exception as exc:  # noqa: BLE001 - database down: try again next round
                log.warning("warming the landing pages failed: %s", str(exc).splitlines()[0])
            self._stop.wait(self.every - time.time() % self.every + 0.05)

    def warm_once(self, now: datetime | None = None) -> bool:
        """Build the landing views now unless another worker has this round; True if built."""
        from dashboard.views import kpi as kpi_view, region as region_view, url_state
        now = now or datetime.now(timezone.utc)
        slot = int(now.timestamp() // self.every)
        try:
            client = self.ctx.runtime.redis.client
            if not client.set(f"{self.ctx.settings.key_prefix}page-warm:{slot}", "1", nx=True,
                              ex=int(self.every) + 60):
                return False
        except Exception:  # noqa: BLE001 - Redis down: the views live in-process; warm ours
            pass
        s, engine, tree = self.ctx.settings, self.ctx.runtime.db.engine, self.ctx.tree.get()
        # Figures older than one interval are not good enough here: this build is what
        # keeps them young for the viewers.
        memo = lambda: PageMemo(self.ctx.views, s.page_cache_seconds, s.page_cache_seconds,  # noqa: E731
                                now.timestamp())
        for period in ("this_month", "today"):
            kpi_view.build(engine, tree, s, url_state.parse({"period": period}), now, memo())
        region_view.build(engine, tree, s, s.region, url_state.parse({}), now, memo())
        return True

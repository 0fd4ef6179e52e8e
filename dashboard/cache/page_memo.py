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
import time
from collections.abc import Callable
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

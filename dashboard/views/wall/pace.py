"""How often this worker's walls refresh: every tick while it keeps up, less often when not.

A province's walls are one screen per region (1,345 in Jiangsu), and each refresh builds
that region's components: past what the machine can build in a tick, answers queue behind
each other until every screen times out (bench.province_scale saw 0 of 1,345 walls answered
within 30 s). Degrading instead means skipping ticks: when this worker is saturated (its
process busy most of the time) or its refreshes take long, the interval every wall is told
to use doubles, up to MAX_FACTOR ticks; when it has room again it halves back. The
views are still computed per tick (a wall that asks gets the newest), and the warm-up
of every watched region runs once per interval rather than every tick.

Pure apart from the two clocks it is given, so the policy is tested with numbers.
"""
from __future__ import annotations

import hashlib
import random
import statistics
import threading
import time
from collections.abc import Callable

WINDOW_SECONDS = 10.0   # how much of the past one decision looks at
MAX_FACTOR = 12         # at most every 12th tick (a minute at the default 5 s)
BUSY_HIGH = 0.85        # share of one core this process used: saturated
BUSY_LOW = 0.5          # room to refresh more often again
SLOW_SHARE = 0.2        # a median refresh taking this share of a tick is slow
QUICK_SHARE = 0.05
JITTER = 0.1            # intervals spread ±10% so that screens drift apart


class Pace:
    def __init__(self, tick_seconds: float, cpu: Callable[[], float] = time.process_time,
                 clock: Callable[[], float] = time.monotonic, window: float = WINDOW_SECONDS):
        self.tick_seconds = tick_seconds
        self._cpu, self._clock, self.window = cpu, clock, window
        self._lock = threading.Lock()
        self._since = (clock(), cpu())
        self._durations: list[float] = []
        self.factor = 1
        self.busy: float | None = None       # the last window's share of one core

    def observe(self, seconds: float) -> None:
        """One refresh took `seconds` (wall clock from its arrival, its wait for a turn at
        the callback gate included: a worker whose refreshes queue is saturated even when
        its own CPU share is not, as when two workers and the database share two cores)."""
        with self._lock:
            self._durations.append(seconds)
            if len(self._durations) > 10_000:
                del self._durations[:5_000]

    def current(self) -> int:
        """Ticks between refreshes now, re-decided once per window."""
        with self._lock:
            now = self._clock()
            elapsed = now - self._since[0]
            if elapsed >= self.window:
                cpu = self._cpu()      # a system call: once per window, not per refresh
                self.busy = (cpu - self._since[1]) / elapsed
                slow = statistics.median(self._durations) / self.tick_seconds \
                    if self._durations else 0.0
                self.factor = next_factor(self.factor, self.busy, slow)
                self._since, self._durations = (now, cpu), []
            return self.factor

    def interval_ms(self) -> int:
        """The interval to tell a wall: the current pace, spread a little at random."""
        base = self.tick_seconds * 1000 * self.current()
        return int(base * random.uniform(1 - JITTER, 1 + JITTER)) if self.factor > 1 \
            else int(base)


def resync_ms(seconds: float, key: str, now: float) -> int:
    """Until a screen's next resynchronisation: the next time, at least half a period
    away, that falls on the key's own place in the period (a fixed offset drawn from the
    key). Screens that started together (after a restart, a network outage) otherwise
    resynchronise together every period for as long as they run: at a province, a
    thousand callbacks within a few seconds once a minute, p95 1.2 -> 3.9 s while they
    queued (docs/benchmarks.md). A period's screens of one region share a place, and
    with it the region's one drawing of that moment."""
    period = int(seconds * 1000)
    place = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=4).digest(), "big") % period
    wait = (place - int(now * 1000)) % period
    return wait + period if wait < period // 2 else wait


def next_factor(factor: int, busy: float, slow: float) -> int:
    """Double when the process is saturated or a median refresh takes a fifth of a tick;
    halve when it is idle enough and quick; otherwise keep."""
    if busy >= BUSY_HIGH or slow >= SLOW_SHARE:
        return min(MAX_FACTOR, factor * 2)
    if busy < BUSY_LOW and slow < QUICK_SHARE:
        return max(1, factor // 2)
    return factor

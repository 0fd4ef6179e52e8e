"""What holds a gevent web worker's loop, summarised in the log once a minute.

Under gevent every request, live feed and frame of a worker shares one thread: while one
greenlet computes, nothing else of that worker runs, and a live event waits behind it
(the province's live p95, docs/benchmarks.md). gevent's own monitor thread
(GEVENT_MONITOR_THREAD_ENABLE) prints every greenlet's stack at each stall: at a
province's load its reports took the workers down with them (200 MB of log in two
minutes). This watch only times each greenlet's turn on the loop (a greenlet tracer:
a clock read per switch) and, for the turns of `threshold_ms` or more, notes where the
greenlet gave the loop back (its suspended frame), gridwatch's own frames only. Once a
minute: how many such turns, their total and longest, and the places that held it most.

Beside it, a timer of LAG_EVERY that a greenlet sleeps on, over and over: how late it
wakes is what any wake-up of that worker waits (a live event's read from Redis, its
rows from the database, the feed that writes it), short turns piled up included, which
the turns above do not show. Its p50 / p95 / longest go in the same line.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from data_sources.stream_hub import percentile

log = logging.getLogger(__name__)

ROOT = str(Path(__file__).resolve().parents[2])
OWN = tuple(f"{ROOT}/{pkg}/" for pkg in ("dashboard", "callbacks", "layouts", "data_sources"))
DEPTH = 4           # gridwatch frames named per place
TOP = 5             # places named per summary
LAG_EVERY = 0.02    # s: the lag timer's period


class Stalls:
    """Turns on the loop of `threshold_ms` or more, by the place they ended; `summary`
    says it and starts over. Plain data: the tracer feeds it."""

    def __init__(self, threshold_ms: float):
        self.threshold = threshold_ms / 1000.0
        self.reset()

    def reset(self) -> None:
        self.count, self.total, self.longest = 0, 0.0, 0.0
        self.by_place: Counter = Counter()
        self.times: Counter = Counter()
        self.lags: list[float] = []

    def add(self, held: float, place: str) -> None:
        if held < self.threshold:
            return
        self.count += 1
        self.total += held
        self.longest = max(self.longest, held)
        self.by_place[place] += held
        self.times[place] += 1

    def lag(self, late: float) -> None:
        self.lags.append(late)

    def summary(self, seconds: float) -> str | None:
        """One line for the log (None: nothing held the loop that long and the timer was
        never late by as much), then resets."""
        lags = sorted(self.lags)
        late = lags[-1] if lags else 0.0
        if not self.count and late < self.threshold:
            self.reset()
            return None
        lag = (f"a {LAG_EVERY * 1000:g} ms timer woke late by p50 "
               f"{ms_at(lags, 50)} / p95 {ms_at(lags, 95)} / longest {late * 1000:,.0f} ms"
               if lags else "")
        if not self.count:
            line = f"in {seconds:.0f} s, {lag}"
        else:
            places = "; ".join(f"{place} ({self.times[place]}×, {held * 1000:,.0f} ms)"
                               for place, held in self.by_place.most_common(TOP))
            line = (f"the loop was held ≥ {self.threshold * 1000:g} ms {self.count} times "
                    f"in {seconds:.0f} s (total {self.total * 1000:,.0f} ms, longest "
                    f"{self.longest * 1000:,.0f} ms); {lag + '; ' if lag else ''}"
                    f"most by: {places}")
        self.reset()
        return line


def ms_at(values: list[float], q: int) -> str:
    """The q-th percentile of sorted seconds, in ms."""
    return f"{percentile(values, q) * 1000:,.0f}"


def place(frame) -> str:
    """Where a suspended greenlet stands: its innermost gridwatch frames, outermost first
    (`module.function`), and the call it is waiting in."""
    own: list[str] = []
    inner = frame.f_code.co_name if frame is not None else "?"
    while frame is not None and len(own) < DEPTH:
        path = frame.f_code.co_filename
        if path.startswith(OWN):
            module = path[len(ROOT) + 1:-3].replace("/", ".")
            own.append(f"{module}.{frame.f_code.co_name}")
        frame = frame.f_back
    return " < ".join(own) + f" [{inner}]" if own else f"[{inner}]"


def install(threshold_ms: float, every: float = 60.0,
            clock: Callable[[], float] = time.perf_counter) -> Stalls | None:
    """Watches this thread's greenlets when gevent has patched the process (a gunicorn
    gevent worker); None (nothing installed) otherwise, or with `threshold_ms` 0."""
    if threshold_ms <= 0:
        return None
    try:
        import greenlet
        from gevent import get_hub, monkey
    except ImportError:
        return None
    if not monkey.is_module_patched("socket"):
        return None
    hub = get_hub()
    stalls = Stalls(threshold_ms)
    last = [clock()]
    previous = greenlet.gettrace()

    def trace(event, args):
        if event in ("switch", "throw"):
            now = clock()
            origin = args[0]
            held, last[0] = now - last[0], now
            # The hub's turns hold its wait for I/O: idle, not a stall.
            if origin is not hub and held >= stalls.threshold:
                stalls.add(held, place(origin.gr_frame))
        if previous is not None:
            return previous(event, args)

    def report():
        # Logged from a greenlet of its own: the tracer runs inside a switch, where
        # taking the logging lock could switch again.
        since = clock()
        while True:
            time.sleep(every)
            now = clock()
            line = stalls.summary(now - since)
            since = now
            if line:
                log.warning("%s", line)

    def sample_lag():
        while True:
            t0 = clock()
            time.sleep(LAG_EVERY)
            stalls.lag(max(0.0, clock() - t0 - LAG_EVERY))

    greenlet.settrace(trace)
    threading.Thread(target=report, name="loop-watch", daemon=True).start()
    threading.Thread(target=sample_lag, name="loop-lag", daemon=True).start()
    return stalls
